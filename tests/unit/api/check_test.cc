// `nanolet check`: exit codes, one line per problem, and the defaulted objects with -o.
#include "api/check.h"

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace nanolet::api {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

const std::string kFixtures = std::string(NANOLET_SOURCE_DIR) + "/tests/fixtures/manifests/";

struct CheckRun {
  int code;
  std::string out;
  std::string err;
};

CheckRun Check(const std::vector<std::string>& files, const std::string& output = "") {
  std::ostringstream out, err;
  int code = RunCheck(files, output, out, err);
  return {code, out.str(), err.str()};
}

// A manifest written to a temporary file, removed with the object.
class TempManifest {
 public:
  explicit TempManifest(const std::string& text, const std::string& name = "m.yaml") {
    dir_ = std::filesystem::temp_directory_path() /
           ("nanolet-check-" + std::to_string(getpid()) + "-" + std::to_string(counter_++));
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / name).string();
    std::ofstream(path_) << text;
  }
  ~TempManifest() { std::filesystem::remove_all(dir_); }
  const std::string& path() const { return path_; }
  std::string dir() const { return dir_.string(); }

 private:
  static inline int counter_ = 0;
  std::filesystem::path dir_;
  std::string path_;
};

struct BadFixture {
  const char* file;
  std::vector<std::string> lines;  // expected stderr lines after the "FILE:" prefix
};

class CheckBadFixtures : public ::testing::TestWithParam<BadFixture> {};

TEST_P(CheckBadFixtures, ExitOneWithOneLinePerProblem) {
  std::string path = kFixtures + "bad/" + GetParam().file;
  CheckRun r = Check({path});
  EXPECT_EQ(r.code, 1);
  std::string want;
  for (const auto& l : GetParam().lines) want += path + ":" + l + "\n";
  EXPECT_EQ(r.err, want);
  EXPECT_EQ(r.out, "");
}

INSTANTIATE_TEST_SUITE_P(
    UserMistakes, CheckBadFixtures,
    ::testing::Values(
        BadFixture{"indentation.yaml", {"8: yaml: mapping values are not allowed in this context"}},
        BadFixture{"string_port.yaml",
                   {"11: spec.containers[0].ports[0].containerPort: Invalid value: \"eighty\": "
                    "must be an integer"}},
        BadFixture{"missing_image.yaml", {"7: spec.containers[0].image: Required value"}},
        BadFixture{"duplicate_names.yaml",
                   {"10: spec.containers[0].name: Duplicate value: \"app\"",
                    "12: spec.containers[1].name: Duplicate value: \"app\""}},
        BadFixture{"port_70000.yaml",
                   {"10: spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be "
                    "between 1 and 65535, inclusive"}},
        BadFixture{"restart_sometimes.yaml",
                   {"6: spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: "
                    "\"Always\", \"OnFailure\", \"Never\""}},
        BadFixture{"job_always.yaml",
                   {"8: spec.template.spec.restartPolicy: Unsupported value: \"Always\": supported "
                    "values: \"OnFailure\", \"Never\""}},
        BadFixture{"item_path.yaml",
                   {"18: spec.volumes[0].configMap.items[0].path: Invalid value: \"../x\": must "
                    "not contain '..'"}},
        BadFixture{"missing_volume.yaml",
                   {"10: spec.containers[0].volumeMounts[0].name: Not found: \"data\""}},
        BadFixture{"two_handlers.yaml",
                   {"12: spec.containers[0].livenessProbe.tcpSocket: Forbidden: may not specify "
                    "more than 1 handler type",
                    "14: spec.containers[0].readinessProbe: Required value: must specify a handler "
                    "type"}},
        BadFixture{"bad_quantity.yaml",
                   {"11: spec.containers[0].resources.limits[memory]: Invalid value: \"12 "
                    "parsecs\": quantities must match the regular expression "
                    "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"}}),
    [](const auto& info) {
      std::string name = info.param.file;
      return name.substr(0, name.find('.'));
    });

TEST(Check, BadNamesAndNegativeGrace) {
  CheckRun r = Check({kFixtures + "bad/bad_name.yaml"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr(":4: metadata.name: Invalid value: \"Web_Server\": a lowercase RFC "
                               "1123 subdomain must consist of"));
  EXPECT_THAT(r.err, HasSubstr(":8: spec.containers[0].name: Invalid value: \"App\": a lowercase "
                               "RFC 1123 label must consist of"));
  EXPECT_THAT(r.err, HasSubstr(":6: spec.terminationGracePeriodSeconds: Invalid value: -5: must "
                               "be greater than or equal to 0"));
}

TEST(Check, UnknownFieldIsAWarningNotAFailure) {
  std::string path = kFixtures + "bad/unknown_field.yaml";
  CheckRun r = Check({path});
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.err, path + ":9: warning: unknown field \"spec.containers[0].imagePullPolicyy\"\n");
}

TEST(Check, GoodFixturesPass) {
  for (const char* f : {"pod.yaml", "multi.yaml", "pod.json", "deployment.yaml"}) {
    CheckRun r = Check({kFixtures + "good/" + f});
    EXPECT_EQ(r.code, 0) << f << ": " << r.err;
    EXPECT_EQ(r.err, "") << f;
    EXPECT_EQ(r.out, "") << f;
  }
}

TEST(Check, ExamplesPass) {
  std::string dir = std::string(NANOLET_SOURCE_DIR) + "/examples/manifests";
  CheckRun r = Check({dir}, "json");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  json j = json::parse(r.out);
  EXPECT_EQ(j["kind"], "List");
  ASSERT_GE(j["items"].size(), 2u);
  for (const auto& item : j["items"]) {
    EXPECT_EQ(item["spec"]["containers"][0]["image"], "nanolet.local/busybox:1.35");
    EXPECT_EQ(item["spec"]["containers"][0]["imagePullPolicy"], "IfNotPresent");
  }
}

TEST(Check, MissingFile) {
  CheckRun r = Check({"/nonexistent/pod.yaml"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "/nonexistent/pod.yaml: open: No such file or directory\n");
}

TEST(Check, EveryFileIsCheckedAndProblemsAccumulate) {
  CheckRun r = Check({kFixtures + "bad/missing_image.yaml", kFixtures + "good/pod.yaml",
                      kFixtures + "bad/port_70000.yaml"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("missing_image.yaml:7:"));
  EXPECT_THAT(r.err, HasSubstr("port_70000.yaml:10:"));
}

TEST(Check, UnknownOutputFormat) {
  CheckRun r = Check({kFixtures + "good/pod.yaml"}, "xml");
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("\"xml\""));
}

// The defaulting table of the issue, observed through `check -o json`.
TEST(Check, JsonOutputShowsDefaults) {
  TempManifest m(R"(apiVersion: v1
kind: Pod
metadata:
  name: d
spec:
  containers:
  - name: latest
    image: busybox
    ports:
    - containerPort: 80
    livenessProbe:
      exec: {command: ["true"]}
  - name: tagged
    image: busybox:1.35
  - name: digest
    image: busybox@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
  - name: registry-port
    image: localhost:5000/busybox
  - name: explicit-latest
    image: localhost:5000/busybox:latest
)");
  CheckRun r = Check({m.path()}, "json");
  ASSERT_EQ(r.code, 0) << r.err;
  json j = json::parse(r.out);
  EXPECT_EQ(j["kind"], "Pod");
  EXPECT_EQ(j["metadata"]["namespace"], "default");
  EXPECT_EQ(j["metadata"]["creationTimestamp"], nullptr);
  const json& spec = j["spec"];
  EXPECT_EQ(spec["restartPolicy"], "Always");
  EXPECT_EQ(spec["terminationGracePeriodSeconds"], 30);
  EXPECT_EQ(spec["dnsPolicy"], "ClusterFirst");
  EXPECT_EQ(spec["schedulerName"], "default-scheduler");
  EXPECT_EQ(spec["securityContext"], json::object());
  EXPECT_EQ(spec["enableServiceLinks"], true);
  const json& c = spec["containers"];
  EXPECT_EQ(c[0]["imagePullPolicy"], "Always");
  EXPECT_EQ(c[1]["imagePullPolicy"], "IfNotPresent");
  EXPECT_EQ(c[2]["imagePullPolicy"], "IfNotPresent");
  EXPECT_EQ(c[3]["imagePullPolicy"], "Always");
  EXPECT_EQ(c[4]["imagePullPolicy"], "Always");
  EXPECT_EQ(c[0]["ports"][0]["protocol"], "TCP");
  EXPECT_EQ(c[0]["terminationMessagePath"], "/dev/termination-log");
  EXPECT_EQ(c[0]["terminationMessagePolicy"], "File");
  const json& probe = c[0]["livenessProbe"];
  EXPECT_EQ(probe["periodSeconds"], 10);
  EXPECT_EQ(probe["timeoutSeconds"], 1);
  EXPECT_EQ(probe["successThreshold"], 1);
  EXPECT_EQ(probe["failureThreshold"], 3);
}

TEST(Check, YamlOutputReadsBack) {
  CheckRun r = Check({kFixtures + "good/pod.yaml"}, "yaml");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("imagePullPolicy: IfNotPresent"));
  EXPECT_THAT(r.out, HasSubstr("creationTimestamp: null"));
  EXPECT_THAT(r.out, HasSubstr("- \"8080\""));  // a string that looks like a number stays quoted
  TempManifest again(r.out);
  CheckRun r2 = Check({again.path()}, "json");
  EXPECT_EQ(r2.code, 0) << r2.err;
  CheckRun direct = Check({kFixtures + "good/pod.yaml"}, "json");
  EXPECT_EQ(json::parse(r2.out), json::parse(direct.out));
}

TEST(Check, SeveralDocumentsPrintAList) {
  CheckRun r = Check({kFixtures + "good/multi.yaml"}, "json");
  ASSERT_EQ(r.code, 0) << r.err;
  json j = json::parse(r.out);
  EXPECT_EQ(j["apiVersion"], "v1");
  EXPECT_EQ(j["kind"], "List");
  ASSERT_EQ(j["items"].size(), 4u);
  EXPECT_EQ(j["items"][1]["data"]["user"], "YWRtaW4=");
  EXPECT_EQ(j["items"][3]["kind"], "Job");
  EXPECT_EQ(j["items"][3]["spec"]["template"]["spec"]["restartPolicy"], "Never");
}

TEST(Check, DirectoryArgumentChecksManifestsInIt) {
  TempManifest m(
      "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  containers:\n"
      "  - {name: a}\n");
  CheckRun r = Check({m.dir()});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, m.path() + ":6: spec.containers[0].image: Required value\n");
}

TEST(Check, FiftyMegabyteFileIsRefusedQuickly) {
  TempManifest m("");
  {
    std::ofstream f(m.path(), std::ios::binary | std::ios::trunc);
    std::string chunk(1 << 20, '#');
    for (int i = 0; i < 50; ++i) f << chunk;
  }
  auto start = std::chrono::steady_clock::now();
  CheckRun r = Check({m.path()});
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(s, 2.0);
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, m.path() + ": file is too large: 52428800 bytes (the limit is 16777216)\n");
}

}  // namespace
}  // namespace nanolet::api
