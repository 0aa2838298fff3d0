// Manifest decoding: YAML/JSON, lists, kinds, field paths and lines, and hostile input.
#include "api/decode.h"

#include <cctype>
#include <chrono>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace nanolet::api {
namespace {

using ::testing::HasSubstr;

std::string Messages(const std::vector<Diagnostic>& ds) {
  std::string s;
  for (const auto& d : ds) s += d.ToString() + "\n";
  return s;
}

TEST(Decode, PodFieldsAndLines) {
  const char* yaml = R"(apiVersion: v1
kind: Pod
metadata:
  name: web
  labels:
    app: web
spec:
  containers:
  - name: app
    image: busybox:1.35
    ports:
    - containerPort: 8080
      protocol: UDP
    env:
    - name: A
      value: "1"
    resources:
      requests:
        cpu: 250m
)";
  DecodeResult r = DecodeManifest(yaml, "pod.yaml");
  ASSERT_TRUE(r.errors.empty()) << Messages(r.errors);
  ASSERT_EQ(r.objects.size(), 1u);
  const DecodedObject& obj = r.objects[0];
  const Pod& pod = std::get<Pod>(obj.object);
  EXPECT_EQ(pod.metadata.name, "web");
  EXPECT_EQ(pod.metadata.labels.at("app"), "web");
  ASSERT_EQ(pod.spec.containers.size(), 1u);
  EXPECT_EQ(pod.spec.containers[0].image, "busybox:1.35");
  EXPECT_EQ(pod.spec.containers[0].ports[0].container_port, 8080);
  EXPECT_EQ(pod.spec.containers[0].ports[0].protocol, "UDP");
  EXPECT_EQ(pod.spec.containers[0].env[0].value, "1");
  EXPECT_EQ(pod.spec.containers[0].resources.requests.at("cpu").String(), "250m");
  EXPECT_EQ(obj.line, 1);
  EXPECT_EQ(obj.LineOf("metadata.name"), 4);
  EXPECT_EQ(obj.LineOf("spec.containers[0].image"), 10);
  EXPECT_EQ(obj.LineOf("spec.containers[0].ports[0].containerPort"), 12);
  EXPECT_EQ(obj.LineOf("spec.containers[0].ports[0].protocol"), 13);
  // Paths that were not written map to the nearest recorded ancestor.
  EXPECT_EQ(obj.LineOf("spec.containers[0].imagePullPolicy"), 9);
  EXPECT_EQ(obj.LineOf("spec.volumes[3].name"), 7);
}

TEST(Decode, StringWhereNumberBelongs_NamesFileLineAndPath) {
  const char* yaml = R"(apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
  - name: app
    image: busybox:1.35
    ports:
    - containerPort: eighty
)";
  DecodeResult r = DecodeManifest(yaml, "pod.yaml");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_TRUE(r.objects.empty());
  EXPECT_EQ(r.errors[0].ToString(),
            "pod.yaml:10: spec.containers[0].ports[0].containerPort: Invalid value: \"eighty\": "
            "must be an integer");
}

TEST(Decode, QuotedNumberIsAString) {
  DecodeResult r = DecodeManifest(
      "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  containers:\n  - name: a\n"
      "    image: b\n    ports:\n    - containerPort: \"80\"\n",
      "f.yaml");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].message, "Invalid value: \"80\": must be an integer");
}

TEST(Decode, NumberWhereStringBelongs) {
  DecodeResult r = DecodeManifest(
      "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  labels:\n    version: 1.5\n", "f.yaml");
  ASSERT_EQ(r.errors.size(), 1u) << Messages(r.errors);
  EXPECT_EQ(r.errors[0].ToString(),
            "f.yaml:6: metadata.labels[version]: Invalid value: 1.5: must be a string");
}

TEST(Decode, Int32Overflow) {
  DecodeResult r = DecodeManifest(
      "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  containers:\n  - name: a\n"
      "    ports:\n    - containerPort: 99999999999\n",
      "f.yaml");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].message, "Invalid value: 99999999999: must be a 32-bit integer");
}

TEST(Decode, WrongIndentationReportsTheLine) {
  const char* yaml =
      "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\nspec:\n  containers:\n"
      "  - name: app\n     image: busybox\n";
  DecodeResult r = DecodeManifest(yaml, "pod.yaml");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].line, 8);
  EXPECT_THAT(r.errors[0].ToString(), HasSubstr("pod.yaml:8: yaml: "));
}

TEST(Decode, TabIndentationIsExplained) {
  DecodeResult r = DecodeManifest("apiVersion: v1\nkind: Pod\nmetadata:\n\tname: tab\n", "t.yaml");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].ToString(),
            "t.yaml:4: yaml: mapping values are not allowed in this "
            "context (tabs are not allowed for indentation)");
}

TEST(Decode, JsonWithTabsAndCrlfYamlDecode) {
  DecodeResult r = DecodeManifest(
      "{\n\t\"apiVersion\": \"v1\",\n\t\"kind\": \"Pod\",\n\t\"metadata\": {\"name\": \"t\"}\n}\n",
      "t.json");
  EXPECT_TRUE(r.errors.empty());
  EXPECT_EQ(r.objects.size(), 1u);
  r = DecodeManifest("apiVersion: v1\r\nkind: Pod\r\nmetadata:\r\n  name: crlf\r\n", "c.yaml");
  EXPECT_TRUE(r.errors.empty());
  ASSERT_EQ(r.objects.size(), 1u);
  EXPECT_EQ(std::get<Pod>(r.objects[0].object).metadata.name, "crlf");
}

TEST(Decode, MisplacedFieldIsAnUnknownFieldWarning) {
  const char* yaml =
      "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\nspec:\n  containers:\n"
      "  - name: app\n  image: busybox\n";
  DecodeResult r = DecodeManifest(yaml, "pod.yaml");
  EXPECT_TRUE(r.errors.empty());
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_EQ(r.warnings[0].ToString(), "pod.yaml:8: warning: unknown field \"spec.image\"");
}

TEST(Decode, UnknownFieldWarningHasFullPath) {
  const char* yaml =
      "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\nspec:\n  containers:\n"
      "  - name: app\n    image: busybox\n    imagePullPolicyy: Always\n";
  DecodeResult r = DecodeManifest(yaml, "pod.yaml");
  EXPECT_TRUE(r.errors.empty());
  ASSERT_EQ(r.objects.size(), 1u);
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_EQ(r.warnings[0].message, "unknown field \"spec.containers[0].imagePullPolicyy\"");
  EXPECT_EQ(r.warnings[0].line, 9);
  EXPECT_TRUE(r.warnings[0].warning);
}

TEST(Decode, DuplicateKeyIsAWarningAndLastWins) {
  DecodeResult r =
      DecodeManifest("apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  name: b\n", "f.yaml");
  ASSERT_EQ(r.objects.size(), 1u);
  EXPECT_EQ(std::get<Pod>(r.objects[0].object).metadata.name, "b");
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_EQ(r.warnings[0].ToString(), "f.yaml:5: warning: duplicate field \"metadata.name\"");
}

TEST(Decode, MultipleDocumentsAndLists) {
  const char* yaml = R"(apiVersion: v1
kind: ConfigMap
metadata: {name: one}
data: {a: b}
---
---
apiVersion: v1
kind: PodList
items:
- apiVersion: v1
  kind: Pod
  metadata: {name: p1}
- apiVersion: v1
  kind: Pod
  metadata:
    name: p2
  spec:
    containers:
    - name: c
      image: 7
)";
  DecodeResult r = DecodeManifest(yaml, "f.yaml");
  ASSERT_EQ(r.objects.size(), 2u);
  EXPECT_EQ(std::get<ConfigMap>(r.objects[0].object).data.at("a"), "b");
  EXPECT_EQ(std::get<Pod>(r.objects[1].object).metadata.name, "p1");
  EXPECT_EQ(r.objects[1].line, 10);
  // The item's error path is relative to the item; its line is the file's.
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].ToString(),
            "f.yaml:20: spec.containers[0].image: Invalid value: 7: must be a string");
}

TEST(Decode, JsonInput) {
  const char* text =
      "{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"Pod\",\n"
      "  \"metadata\": {\"name\": \"j\"},\n  \"spec\": {\"containers\": [\n"
      "    {\"name\": \"a\", \"image\": \"b\", \"ports\": [{\"containerPort\": \"x\"}]}]}}\n";
  DecodeResult r = DecodeManifest(text, "pod.json");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].ToString(),
            "pod.json:6: spec.containers[0].ports[0].containerPort: Invalid value: \"x\": must be "
            "an integer");
}

TEST(Decode, SecretDataIsBase64DecodedAndStringDataMerged) {
  const char* yaml = R"(apiVersion: v1
kind: Secret
metadata: {name: s}
data:
  a: aGVsbG8=
  b: Ynll
stringData:
  b: override
  c: plain
)";
  DecodeResult r = DecodeManifest(yaml, "s.yaml");
  ASSERT_TRUE(r.errors.empty()) << Messages(r.errors);
  const Secret& s = std::get<Secret>(r.objects[0].object);
  EXPECT_EQ(s.data.at("a"), "hello");
  EXPECT_EQ(s.data.at("b"), "override");
  EXPECT_EQ(s.data.at("c"), "plain");
}

TEST(Decode, SecretBadBase64) {
  DecodeResult r =
      DecodeManifest("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata:\n  a: '%%%'\n", "s");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].ToString(),
            "s:5: data[a]: Invalid value: \"%%%\": illegal base64 data at input byte 0");
}

TEST(Decode, ConfigMapBinaryData) {
  DecodeResult r = DecodeManifest(
      "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\nbinaryData:\n  bin: AAEC/w==\n", "c");
  ASSERT_TRUE(r.errors.empty()) << Messages(r.errors);
  EXPECT_EQ(std::get<ConfigMap>(r.objects[0].object).binary_data.at("bin"),
            std::string("\x00\x01\x02\xff", 4));
}

TEST(Decode, OctalModesAndYamlScalars) {
  const char* yaml = R"(apiVersion: v1
kind: Pod
metadata: {name: m}
spec:
  hostNetwork: yes
  volumes:
  - name: v
    secret:
      secretName: s
      defaultMode: 0644
      items:
      - {key: k, path: p, mode: 0x1ff}
  containers:
  - name: c
    image: i
    ports:
    - containerPort: 80.0
)";
  DecodeResult r = DecodeManifest(yaml, "m.yaml");
  ASSERT_TRUE(r.errors.empty()) << Messages(r.errors);
  const Pod& p = std::get<Pod>(r.objects[0].object);
  EXPECT_TRUE(p.spec.host_network);
  EXPECT_EQ(p.spec.volumes[0].secret->default_mode, 0644);
  EXPECT_EQ(p.spec.volumes[0].secret->items[0].mode, 0777);
  EXPECT_EQ(p.spec.containers[0].ports[0].container_port, 80);
}

TEST(Decode, IntOrStringPortsAndQuantitiesFromNumbers) {
  const char* yaml = R"(apiVersion: v1
kind: Pod
metadata: {name: m}
spec:
  containers:
  - name: c
    image: i
    resources:
      limits: {cpu: 2, memory: 1e3}
    livenessProbe:
      httpGet: {port: http}
    readinessProbe:
      tcpSocket: {port: 8080}
)";
  DecodeResult r = DecodeManifest(yaml, "m.yaml");
  ASSERT_TRUE(r.errors.empty()) << Messages(r.errors);
  const Container& c = std::get<Pod>(r.objects[0].object).spec.containers[0];
  EXPECT_EQ(c.resources.limits.at("cpu").String(), "2");
  EXPECT_EQ(c.resources.limits.at("memory").String(), "1k");
  EXPECT_EQ(c.liveness_probe->handler.http_get->port, IntOrString::Str("http"));
  EXPECT_EQ(c.readiness_probe->handler.tcp_socket->port, IntOrString::Int(8080));
}

TEST(Decode, MergeKeysAndAnchors) {
  const char* yaml = R"(apiVersion: v1
kind: ConfigMap
metadata:
  name: c
  labels: &l {a: "1", b: "2"}
  annotations:
    <<: *l
    b: "3"
)";
  DecodeResult r = DecodeManifest(yaml, "c.yaml");
  ASSERT_TRUE(r.errors.empty()) << Messages(r.errors);
  const ConfigMap& cm = std::get<ConfigMap>(r.objects[0].object);
  EXPECT_EQ(cm.metadata.annotations.at("a"), "1");
  EXPECT_EQ(cm.metadata.annotations.at("b"), "3");
}

struct WorkloadCase {
  const char* api_version;
  const char* kind;
};

class DecodeWorkload : public ::testing::TestWithParam<WorkloadCase> {};

TEST_P(DecodeWorkload, TemplateIsDecoded) {
  std::string yaml =
      std::string("apiVersion: ") + GetParam().api_version + "\nkind: " + GetParam().kind +
      "\nmetadata: {name: w}\nspec:\n  replicas: 3\n  selector: {matchLabels: {a: b}}\n"
      "  template:\n    metadata: {labels: {a: b}}\n    spec:\n      containers:\n"
      "      - {name: c, image: busybox}\n";
  DecodeResult r = DecodeManifest(yaml, "w.yaml");
  ASSERT_TRUE(r.errors.empty()) << Messages(r.errors);
  EXPECT_TRUE(r.warnings.empty()) << Messages(r.warnings);
  ASSERT_EQ(r.objects.size(), 1u);
  const Workload& w = std::get<Workload>(r.objects[0].object);
  EXPECT_EQ(w.type_meta.kind, GetParam().kind);
  EXPECT_EQ(w.replicas, 3);
  EXPECT_EQ(w.template_.spec.containers[0].image, "busybox");
  EXPECT_EQ(r.objects[0].LineOf("spec.template.spec.containers[0].image"), 11);
}

INSTANTIATE_TEST_SUITE_P(
    Kinds, DecodeWorkload,
    ::testing::Values(WorkloadCase{"apps/v1", "Deployment"}, WorkloadCase{"apps/v1", "DaemonSet"},
                      WorkloadCase{"apps/v1", "ReplicaSet"}, WorkloadCase{"apps/v1", "StatefulSet"},
                      WorkloadCase{"v1", "ReplicationController"}, WorkloadCase{"batch/v1", "Job"},
                      WorkloadCase{"extensions/v1beta1", "Deployment"}),
    [](const auto& info) {
      std::string name = std::string(info.param.kind) + "_";
      for (char c : std::string(info.param.api_version)) {
        name += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
      }
      return name;
    });

TEST(Decode, OtherKinds) {
  const char* yaml = R"(apiVersion: v1
kind: Node
metadata: {name: n1}
status:
  capacity: {cpu: "4", memory: 8Gi}
  daemonEndpoints: {kubeletEndpoint: {Port: 10250}}
---
apiVersion: coordination.k8s.io/v1
kind: Lease
metadata: {name: n1, namespace: kube-node-lease}
spec: {holderIdentity: n1, leaseDurationSeconds: 40}
---
apiVersion: v1
kind: Event
metadata: {name: e}
involvedObject: {kind: Pod, name: p}
reason: Started
count: 2
)";
  DecodeResult r = DecodeManifest(yaml, "k.yaml");
  ASSERT_TRUE(r.errors.empty()) << Messages(r.errors);
  ASSERT_EQ(r.objects.size(), 3u);
  const Node& n = std::get<Node>(r.objects[0].object);
  EXPECT_EQ(n.status.capacity.at("memory").String(), "8Gi");
  EXPECT_EQ(n.status.kubelet_endpoint_port, 10250);
  EXPECT_EQ(std::get<Lease>(r.objects[1].object).lease_duration_seconds, 40);
  EXPECT_EQ(std::get<Event>(r.objects[2].object).count, 2);
}

TEST(Decode, UnknownKindIsIgnoredWithWarning) {
  DecodeResult r = DecodeManifest("apiVersion: v1\nkind: Service\nmetadata: {name: s}\n", "s");
  EXPECT_TRUE(r.errors.empty());
  EXPECT_TRUE(r.objects.empty());
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_THAT(r.warnings[0].message, HasSubstr("\"Service\""));
}

TEST(Decode, KindInWrongVersionIsAnError) {
  DecodeResult r = DecodeManifest("apiVersion: apps/v1\nkind: Pod\nmetadata: {name: s}\n", "s");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].message, "no kind \"Pod\" is registered for version \"apps/v1\"");
}

TEST(Decode, MissingKindAndVersion) {
  DecodeResult r = DecodeManifest("metadata: {name: s}\n---\nkind: Pod\n---\n[1, 2]\n", "s");
  ASSERT_EQ(r.errors.size(), 3u);
  EXPECT_THAT(r.errors[0].message, HasSubstr("Object 'Kind' is missing in '{\"metadata\""));
  EXPECT_THAT(r.errors[1].message, HasSubstr("Object 'apiVersion' is missing"));
  EXPECT_EQ(r.errors[2].line, 5);
  EXPECT_THAT(r.errors[2].message, HasSubstr("must be an object"));
}

TEST(Decode, EmptyInputHasNoObjects) {
  DecodeResult r = DecodeManifest("", "e");
  EXPECT_TRUE(r.errors.empty());
  EXPECT_TRUE(r.objects.empty());
  r = DecodeManifest("# just a comment\n---\n", "e");
  EXPECT_TRUE(r.errors.empty());
  EXPECT_TRUE(r.objects.empty());
}

TEST(DecodeJson, PodFromApiserverJson) {
  auto j = nlohmann::json::parse(R"({"apiVersion":"v1","kind":"Pod",
    "metadata":{"name":"p","uid":"123","creationTimestamp":"2024-01-01T00:00:00Z","newField":1},
    "spec":{"containers":[{"name":"c","image":"i"}]},
    "status":{"phase":"Running","containerStatuses":[{"name":"c","ready":true,"restartCount":2,
      "image":"i","imageID":"","state":{"running":{"startedAt":"2024-01-01T00:00:01Z"}},
      "lastState":{}}]}})");
  auto pod = DecodePod(j);
  ASSERT_TRUE(pod.ok()) << pod.error().message();
  EXPECT_EQ(pod->metadata.uid, "123");
  EXPECT_EQ(pod->status.container_statuses[0].restart_count, 2);
  EXPECT_EQ(pod->status.container_statuses[0].state.running->started_at, "2024-01-01T00:00:01Z");
}

TEST(DecodeJson, ErrorNamesTheFieldPath) {
  auto j = nlohmann::json::parse(
      R"({"kind":"Pod","spec":{"containers":[{"name":"c","ports":[{"containerPort":"x"}]}]}})");
  auto pod = DecodePod(j);
  ASSERT_FALSE(pod.ok());
  EXPECT_EQ(pod.error().message(),
            "spec.containers[0].ports[0].containerPort: Invalid value: \"x\": must be an integer");
  EXPECT_FALSE(DecodePod(nlohmann::json::parse(R"({"kind":"Secret"})")).ok());
  EXPECT_FALSE(DecodePod(nlohmann::json::parse("[1]")).ok());
}

TEST(DecodeJson, OtherKinds) {
  auto cm = DecodeConfigMap(nlohmann::json::parse(R"({"metadata":{"name":"c"},"data":{"a":"b"}})"));
  ASSERT_TRUE(cm.ok());
  EXPECT_EQ(cm->data.at("a"), "b");
  auto s = DecodeSecret(nlohmann::json::parse(R"({"data":{"a":"aGk="}})"));
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->data.at("a"), "hi");
  auto n = DecodeNode(nlohmann::json::parse(R"({"metadata":{"name":"n"}})"));
  ASSERT_TRUE(n.ok());
  auto l = DecodeLease(nlohmann::json::parse(R"({"spec":{"renewTime":"t"}})"));
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->renew_time, "t");
}

// ---- hostile input: every case ends with an error, quickly ----

template <typename F>
double Seconds(F&& f) {
  auto start = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

TEST(DecodeHostile, BinaryGarbage) {
  std::string garbage;
  uint32_t x = 12345;
  for (int i = 0; i < 200000; ++i) {
    x = x * 1103515245 + 12345;
    garbage.push_back(static_cast<char>(x >> 16));
  }
  DecodeResult r;
  double s = Seconds([&] { r = DecodeManifest(garbage, "garbage"); });
  EXPECT_LT(s, 2.0);
  ASSERT_FALSE(r.errors.empty());
  EXPECT_TRUE(r.objects.empty());
  // Garbage without NUL bytes reaches the YAML parser and fails there.
  for (auto& c : garbage) {
    if (c == 0) c = 'x';
  }
  s = Seconds([&] { r = DecodeManifest(garbage, "garbage"); });
  EXPECT_LT(s, 2.0);
  EXPECT_FALSE(r.errors.empty());
  EXPECT_TRUE(r.objects.empty());
}

TEST(DecodeHostile, FiftyMegabytesIsRefused) {
  std::string big(50u << 20, 'a');
  DecodeResult r;
  double s = Seconds([&] { r = DecodeManifest(big, "big.yaml"); });
  EXPECT_LT(s, 2.0);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].ToString(),
            "big.yaml: file is too large: 52428800 bytes (the limit is 16777216)");
}

TEST(DecodeHostile, DeepFlowNesting) {
  std::string deep = "apiVersion: v1\nkind: Pod\nmetadata: " + std::string(1000000, '[');
  DecodeResult r;
  double s = Seconds([&] { r = DecodeManifest(deep, "deep.yaml"); });
  EXPECT_LT(s, 2.0);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].ToString(), "deep.yaml:3: nesting depth exceeds 100");
}

TEST(DecodeHostile, DeepBlockNesting) {
  std::string deep;
  for (int i = 0; i < 5000; ++i) deep += std::string(i, ' ') + "a:\n";
  DecodeResult r;
  double s = Seconds([&] { r = DecodeManifest(deep, "deep.yaml"); });
  EXPECT_LT(s, 2.0);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_THAT(r.errors[0].message, HasSubstr("nesting depth exceeds 100"));
  std::string dashes = "a: " + std::string(0, ' ');
  for (int i = 0; i < 5000; ++i) dashes += "- ";
  dashes += "x\n";
  s = Seconds([&] { r = DecodeManifest(dashes, "dashes.yaml"); });
  EXPECT_LT(s, 2.0);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_THAT(r.errors[0].message, HasSubstr("nesting depth exceeds 100"));
}

TEST(DecodeHostile, NestingJustAboveTheLimitIsCaughtAfterParsing) {
  // Deeper than max_depth but below the pre-scan's margin: the converter reports it.
  std::string yaml =
      "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: " + std::string(150, '[') +
      std::string(150, ']') + "\n";
  DecodeResult r = DecodeManifest(yaml, "d.yaml");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].message, "nesting depth exceeds 100");
}

TEST(DecodeHostile, BillionLaughs) {
  const char* bomb = R"(apiVersion: v1
kind: ConfigMap
metadata: {name: lol}
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
)";
  DecodeResult r;
  double s = Seconds([&] { r = DecodeManifest(bomb, "lol.yaml"); });
  EXPECT_LT(s, 2.0);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_THAT(r.errors[0].ToString(), HasSubstr("lol.yaml:"));
  EXPECT_THAT(r.errors[0].message, HasSubstr("excessive aliasing"));
  EXPECT_TRUE(r.objects.empty());
}

TEST(DecodeHostile, NodeLimitBoundsPlainDocuments) {
  std::string many = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\nx: [";
  for (int i = 0; i < 2000; ++i) many += "1,";
  many += "1]\n";
  DecodeOptions opts;
  opts.max_nodes = 1000;
  DecodeResult r = DecodeManifest(many, "n.yaml", opts);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_THAT(r.errors[0].message, HasSubstr("too many nodes"));
}

TEST(DecodeHostile, ManyEmptyDocuments) {
  std::string docs;
  for (int i = 0; i < 200000; ++i) docs += "---\n";
  DecodeResult r;
  double s = Seconds([&] { r = DecodeManifest(docs, "docs.yaml"); });
  EXPECT_LT(s, 5.0);
  EXPECT_TRUE(r.errors.empty());
  EXPECT_TRUE(r.objects.empty());
}

TEST(DecodeHostile, WideObjectsStayLinear) {
  std::string wide = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: w}\nspec:\n";
  for (int i = 0; i < 20000; ++i) wide += "  k" + std::to_string(i) + ": 1\n";
  DecodeResult r;
  double s = Seconds([&] { r = DecodeManifest(wide, "wide.yaml"); });
  EXPECT_LT(s, 5.0);
  EXPECT_TRUE(r.errors.empty());
  EXPECT_EQ(r.objects.size(), 1u);
  std::string unknown = "apiVersion: v1\nkind: Pod\nmetadata: {name: w}\n";
  for (int i = 0; i < 20000; ++i) unknown += "k" + std::to_string(i) + ": 1\n";
  s = Seconds([&] { r = DecodeManifest(unknown, "unknown.yaml"); });
  EXPECT_LT(s, 5.0);
  EXPECT_EQ(r.warnings.size(), 20000u);
}

// yaml-cpp 0.7 alone loops forever on these (found by fuzz_decode).
TEST(DecodeHostile, FlowContentAfterTheDocumentEnds) {
  for (const char* text : {"[a], b", "{a: 1}\n, b", "{\"k\":1},\n \"s\"}]\n"}) {
    DecodeResult r;
    double s = Seconds([&] { r = DecodeManifest(text, "f.yaml"); });
    EXPECT_LT(s, 2.0) << text;
    ASSERT_FALSE(r.errors.empty()) << text;
    EXPECT_EQ(r.errors.back().message, "yaml: did not find expected <document start>") << text;
  }
}

TEST(DecodeHostile, RecursiveAliasEndsWithAnError) {
  DecodeResult r;
  double s = Seconds([&] { r = DecodeManifest("a: &a [*a, *a]\n", "r.yaml"); });
  EXPECT_LT(s, 2.0);
  EXPECT_FALSE(r.errors.empty());
}

TEST(DecodeHostile, InvalidUtf8IsReplacedSoItEncodes) {
  DecodeResult r = DecodeManifest(
      "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  annotations: {\"k\\xff\": "
      "\"v\xc3\x28\"}\n",
      "u");
  ASSERT_TRUE(r.errors.empty()) << Messages(r.errors);
  ASSERT_EQ(r.objects.size(), 1u);
  const auto& ann = std::get<Pod>(r.objects[0].object).metadata.annotations;
  ASSERT_EQ(ann.size(), 1u);
  EXPECT_EQ(ann.begin()->first, "k\xc3\xbf");  // "\xff" is a YAML escape for U+00FF
  EXPECT_EQ(ann.begin()->second, "v\xef\xbf\xbd(");
  EXPECT_NO_THROW(nlohmann::json(ann).dump());
}

TEST(DecodeHostile, NonFiniteNumbers) {
  DecodeResult r = DecodeManifest("apiVersion: v1\nkind: Pod\nmetadata: {generation: .nan}\n", "n");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].line, 3);
}

}  // namespace
}  // namespace nanolet::api
