// Validation as upstream pkg/apis/core/validation, with upstream wording and the file's lines.
#include "api/validation.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "api/defaults.h"

namespace nanolet::api {
namespace {

using ::testing::ElementsAreArray;

// Decodes one object from `yaml`, defaults it, and returns "LINE: field: message" for each problem.
std::vector<std::string> Problems(const std::string& yaml) {
  DecodeResult r = DecodeManifest(yaml, "t.yaml");
  std::vector<std::string> out;
  for (const auto& e : r.errors) out.push_back("decode error: " + e.ToString());
  for (auto& obj : r.objects) {
    std::visit(
        [](auto& o) {
          using T = std::decay_t<decltype(o)>;
          if constexpr (std::is_same_v<T, Pod> || std::is_same_v<T, Workload> ||
                        std::is_same_v<T, Secret>) {
            SetDefaults(o);
          }
        },
        obj.object);
    for (const auto& d : Validate(obj, "t.yaml")) {
      out.push_back(std::to_string(d.line) + ": " + d.field + ": " + d.message);
    }
  }
  return out;
}

std::string PodWith(const std::string& spec_body) {
  return "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n" + spec_body;
}

struct Case {
  const char* name;
  std::string yaml;
  std::vector<std::string> want;
};

class ValidationTable : public ::testing::TestWithParam<Case> {};

TEST_P(ValidationTable, ReportsUpstreamErrors) {
  EXPECT_THAT(Problems(GetParam().yaml), ElementsAreArray(GetParam().want));
}

const char* kLabelMsg =
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
    "must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex "
    "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

std::vector<Case> Cases() {
  return {
      {"ValidPod", PodWith("  containers:\n  - name: app\n    image: busybox:1.35\n"), {}},
      {"MissingName",
       "apiVersion: v1\nkind: Pod\nmetadata: {}\nspec:\n  containers:\n  - {name: a, image: b}\n",
       {"3: metadata.name: Required value: name or generateName is required"}},
      {"InvalidPodName",
       "apiVersion: v1\nkind: Pod\nmetadata:\n  name: My_Pod\nspec:\n  containers:\n"
       "  - {name: a, image: b}\n",
       {"4: metadata.name: Invalid value: \"My_Pod\": a lowercase RFC 1123 subdomain must consist "
        "of lower case alphanumeric characters, '-' or '.', and must start and end with an "
        "alphanumeric character (e.g. 'example.com', regex used for validation is "
        "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"}},
      {"NoContainers", PodWith("  restartPolicy: Never\n"), {"5: spec.containers: Required value"}},
      {"MissingImage",
       PodWith("  containers:\n  - name: app\n    command: [sh]\n"),
       {"7: spec.containers[0].image: Required value"}},
      {"InvalidContainerName",
       PodWith("  containers:\n  - name: App\n    image: b\n"),
       {std::string("7: spec.containers[0].name: Invalid value: \"App\": ") + kLabelMsg}},
      {"DuplicateAcrossInitAndApp",
       PodWith("  initContainers:\n  - name: app\n    image: b\n  containers:\n  - name: app\n"
               "    image: b\n  - name: side\n    image: b\n  - name: side\n    image: b\n"),
       {"10: spec.containers[0].name: Duplicate value: \"app\"",
        "14: spec.containers[2].name: Duplicate value: \"side\""}},
      {"Port70000",
       PodWith("  containers:\n  - name: a\n    image: b\n    ports:\n    - containerPort: 70000\n"
               "      hostPort: -1\n"),
       {"10: spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 "
        "and 65535, inclusive",
        "11: spec.containers[0].ports[0].hostPort: Invalid value: -1: must be between 1 and "
        "65535, inclusive"}},
      {"PortZeroAndBadProtocol",
       PodWith("  containers:\n  - name: a\n    image: b\n    ports:\n    - containerPort: 0\n"
               "      protocol: tcp\n"),
       {"10: spec.containers[0].ports[0].containerPort: Invalid value: 0: must be between 1 and "
        "65535, inclusive",
        "11: spec.containers[0].ports[0].protocol: Unsupported value: \"tcp\": supported values: "
        "\"SCTP\", \"TCP\", \"UDP\""}},
      {"RestartPolicySometimes",
       PodWith("  restartPolicy: Sometimes\n  containers:\n  - {name: a, image: b}\n"),
       {"6: spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", "
        "\"OnFailure\", \"Never\""}},
      {"NegativeGrace",
       PodWith("  terminationGracePeriodSeconds: -1\n  containers:\n  - {name: a, image: b}\n"),
       {"6: spec.terminationGracePeriodSeconds: Invalid value: -1: must be greater than or equal "
        "to 0"}},
      {"MountOfUndefinedVolume",
       PodWith("  containers:\n  - name: a\n    image: b\n    volumeMounts:\n    - name: data\n"
               "      mountPath: /data\n"),
       {"10: spec.containers[0].volumeMounts[0].name: Not found: \"data\""}},
      {"MountPaths",
       PodWith(
           "  volumes:\n  - name: v\n    emptyDir: {}\n  containers:\n  - name: a\n"
           "    image: b\n    volumeMounts:\n    - {name: v, mountPath: rel}\n"
           "    - {name: v, mountPath: /a/../b, subPath: ../up}\n    - {name: v, mountPath: ''}\n"
           "    - {name: v, mountPath: rel}\n"),
       {"13: spec.containers[0].volumeMounts[0].mountPath: Invalid value: \"rel\": must be an "
        "absolute path",
        "14: spec.containers[0].volumeMounts[1].mountPath: Invalid value: \"/a/../b\": must not "
        "contain '..'",
        "14: spec.containers[0].volumeMounts[1].subPath: Invalid value: \"../up\": must not "
        "contain '..'",
        "15: spec.containers[0].volumeMounts[2].mountPath: Required value",
        "16: spec.containers[0].volumeMounts[3].mountPath: Invalid value: \"rel\": must be an "
        "absolute path",
        "16: spec.containers[0].volumeMounts[3].mountPath: Invalid value: \"rel\": must be "
        "unique"}},
      {"DuplicateAndInvalidVolumes",
       PodWith(
           "  volumes:\n  - name: v\n    emptyDir: {}\n  - name: v\n    emptyDir: {}\n"
           "  - name: Bad\n    hostPath: {path: /x, type: Folder}\n  - name: two\n"
           "    emptyDir: {}\n    hostPath: {path: /y}\n  containers:\n  - {name: a, image: b}\n"),
       {"9: spec.volumes[1].name: Duplicate value: \"v\"",
        std::string("11: spec.volumes[2].name: Invalid value: \"Bad\": ") + kLabelMsg,
        "12: spec.volumes[2].hostPath.type: Unsupported value: \"Folder\": supported values: \"\", "
        "\"BlockDevice\", \"CharDevice\", \"Directory\", \"DirectoryOrCreate\", \"File\", "
        "\"FileOrCreate\", \"Socket\"",
        "15: spec.volumes[3].hostPath: Forbidden: may not specify more than 1 volume type"}},
      {"ItemPathBackstep",
       PodWith("  volumes:\n  - name: c\n    configMap:\n      name: cm\n      items:\n"
               "      - {key: a, path: ../x}\n      - {key: b, path: /abs}\n      - {key: c, path: "
               "..x, mode: 01000}\n"
               "  - name: s\n    secret:\n      secretName: s\n      items:\n      - {key: a, "
               "path: a/../../b}\n"
               "  - name: d\n    downwardAPI:\n      items:\n      - path: ../n\n"
               "        fieldRef: {fieldPath: metadata.name}\n"
               "  containers:\n  - {name: a, image: b}\n"),
       {"11: spec.volumes[0].configMap.items[0].path: Invalid value: \"../x\": must not contain "
        "'..'",
        "12: spec.volumes[0].configMap.items[1].path: Invalid value: \"/abs\": must be a relative "
        "path",
        "13: spec.volumes[0].configMap.items[2].path: Invalid value: \"..x\": must not start with "
        "'..'",
        "13: spec.volumes[0].configMap.items[2].mode: Invalid value: 512: must be a number "
        "between 0 and 0777 (octal), both inclusive",
        "18: spec.volumes[1].secret.items[0].path: Invalid value: \"a/../../b\": must not contain "
        "'..'",
        "22: spec.volumes[2].downwardAPI.items[0].path: Invalid value: \"../n\": must not contain "
        "'..'"}},
      {"ProbeHandlers",
       PodWith("  containers:\n  - name: a\n    image: b\n    livenessProbe:\n"
               "      exec: {command: [\"true\"]}\n      tcpSocket: {port: 80}\n"
               "    readinessProbe:\n      periodSeconds: -1\n    startupProbe:\n"
               "      httpGet: {port: 0}\n      successThreshold: 2\n"),
       {"11: spec.containers[0].livenessProbe.tcpSocket: Forbidden: may not specify more than 1 "
        "handler type",
        "12: spec.containers[0].readinessProbe: Required value: must specify a handler type",
        "13: spec.containers[0].readinessProbe.periodSeconds: Invalid value: -1: must be greater "
        "than or equal to 0",
        "15: spec.containers[0].startupProbe.httpGet.port: Invalid value: 0: must be between 1 and "
        "65535, inclusive",
        "16: spec.containers[0].startupProbe.successThreshold: Invalid value: 2: must be 1"}},
      {"InvalidQuantityRelations",
       PodWith("  containers:\n  - name: a\n    image: b\n    resources:\n"
               "      limits: {cpu: 500m}\n      requests: {cpu: \"1\", memory: -1Mi}\n"),
       {"11: spec.containers[0].resources.requests[memory]: Invalid value: \"-1Mi\": must be "
        "greater than or equal to 0",
        "11: spec.containers[0].resources.requests[cpu]: Invalid value: \"1\": must be less than "
        "or equal to cpu limit of 500m"}},
      {"EnvAndPullPolicy",
       PodWith("  containers:\n  - name: a\n    image: b\n    imagePullPolicy: Sometimes\n"
               "    env:\n    - name: ''\n      value: x\n    - name: A=B\n"),
       {"11: spec.containers[0].env[0].name: Required value",
        "13: spec.containers[0].env[1].name: Invalid value: \"A=B\": a valid environment "
        "variable name must consist only of printable ASCII characters other than '='",
        "9: spec.containers[0].imagePullPolicy: Unsupported value: \"Sometimes\": supported "
        "values: \"Always\", \"IfNotPresent\", \"Never\""}},
      {"DeploymentTemplateNeedsAlways",
       "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  template:\n"
       "    spec:\n      restartPolicy: Never\n      containers:\n      - {name: a, image: b}\n",
       {"7: spec.template.spec.restartPolicy: Unsupported value: \"Never\": supported values: "
        "\"Always\""}},
      {"JobWithAlways",
       "apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\nspec:\n  template:\n    spec:\n"
       "      restartPolicy: Always\n      containers:\n      - {name: a, image: b}\n",
       {"7: spec.template.spec.restartPolicy: Unsupported value: \"Always\": supported values: "
        "\"OnFailure\", \"Never\""}},
      {"JobWithoutRestartPolicy",
       "apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\nspec:\n  template:\n    spec:\n"
       "      containers:\n      - {name: a, image: b}\n",
       {"6: spec.template.spec.restartPolicy: Required value: valid values: \"OnFailure\", "
        "\"Never\""}},
      {"JobWithOnFailure",
       "apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\nspec:\n  template:\n    spec:\n"
       "      restartPolicy: OnFailure\n      containers:\n      - {name: a, image: b}\n",
       {}},
      {"ReplicationControllerDefaultsToAlways",
       "apiVersion: v1\nkind: ReplicationController\nmetadata: {name: rc}\nspec:\n  template:\n"
       "    spec:\n      containers:\n      - {name: a, image: b}\n",
       {}},
      {"ConfigMapKeys",
       "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n  'bad key': x\n  good.key: "
       "z\n",
       {"5: data[bad key]: Invalid value: \"bad key\": a valid config key must consist of "
        "alphanumeric "
        "characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used "
        "for validation is '[-._a-zA-Z0-9]+')"}},
      {"InitContainerProbesForbidden",
       PodWith("  initContainers:\n  - name: i\n    image: b\n    readinessProbe:\n"
               "      exec: {command: [x]}\n  - name: s\n    image: b\n    restartPolicy: Always\n"
               "    readinessProbe:\n      exec: {command: [x]}\n  containers:\n  - name: a\n"
               "    image: b\n    restartPolicy: Always\n"),
       {"9: spec.initContainers[0].readinessProbe: Forbidden: may not be set for init containers "
        "without restartPolicy=Always",
        "19: spec.containers[0].restartPolicy: Forbidden: may not be set for non-init "
        "containers"}},
  };
}

INSTANTIATE_TEST_SUITE_P(Upstream, ValidationTable, ::testing::ValuesIn(Cases()),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(Validate, DiagnosticsCarryFileAndLine) {
  DecodeResult r = DecodeManifest(PodWith("  containers:\n  - name: a\n"), "pod.yaml");
  ASSERT_EQ(r.objects.size(), 1u);
  auto ds = Validate(r.objects[0], "pod.yaml");
  ASSERT_EQ(ds.size(), 1u);
  EXPECT_EQ(ds[0].ToString(), "pod.yaml:7: spec.containers[0].image: Required value");
}

TEST(Validate, DirectCallsLeaveLinesZero) {
  Pod pod;
  pod.metadata.name = "p";
  auto ds = ValidatePod(pod);
  ASSERT_EQ(ds.size(), 1u);
  EXPECT_EQ(ds[0].line, 0);
  EXPECT_EQ(ds[0].ToString(), "spec.containers: Required value");
  Secret s;
  s.metadata.name = "tls";
  s.type = "kubernetes.io/tls";
  EXPECT_EQ(ValidateSecret(s).size(), 2u);
  ConfigMap cm;
  cm.metadata.name = "ok";
  cm.data["a"] = "b";
  EXPECT_TRUE(ValidateConfigMap(cm).empty());
}

}  // namespace
}  // namespace nanolet::api
