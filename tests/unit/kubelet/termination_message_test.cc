#include "kubelet/termination_message.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include "runtime/runtime.h"
#include "util/fs.h"

namespace nanolet::kubelet {
namespace {

class TerminationMessageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/nanolet-tmsg-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { (void)RemoveAll(dir_); }

  runtime::ContainerStatus Exited(int code, const std::string& policy = "File") {
    runtime::ContainerStatus c;
    c.state = runtime::ContainerState::kExited;
    c.exit_code = code;
    c.annotations[std::string(kTerminationMessageFileAnnotation)] = dir_ + "/msg";
    c.annotations[std::string(kTerminationMessagePolicyAnnotation)] = policy;
    c.log_path = dir_ + "/0.log";
    return c;
  }
  std::string dir_;
};

TEST_F(TerminationMessageTest, FileContentIsTheMessage) {
  ASSERT_TRUE(WriteFile(dir_ + "/msg", "bye\n").ok());
  auto c = Exited(0);
  FillTerminationMessage(c);
  EXPECT_EQ(c.message, "bye\n");
}

TEST_F(TerminationMessageTest, LongFileKeepsItsLast4096Bytes) {
  std::string big(5000, 'a');
  big.replace(big.size() - 3, 3, "end");
  ASSERT_TRUE(WriteFile(dir_ + "/msg", big).ok());
  std::string m = ReadTerminationMessage(Exited(1));
  ASSERT_EQ(m.size(), 4096u);
  EXPECT_EQ(m.substr(m.size() - 3), "end");
}

TEST_F(TerminationMessageTest, AppendedToTheRuntimeMessage) {
  ASSERT_TRUE(WriteFile(dir_ + "/msg", "oops").ok());
  auto c = Exited(1);
  c.message = "runtime says";
  FillTerminationMessage(c);
  EXPECT_EQ(c.message, "runtime says: oops");
}

TEST_F(TerminationMessageTest, RunningContainerHasNone) {
  ASSERT_TRUE(WriteFile(dir_ + "/msg", "x").ok());
  auto c = Exited(0);
  c.state = runtime::ContainerState::kRunning;
  FillTerminationMessage(c);
  EXPECT_EQ(c.message, "");
}

TEST_F(TerminationMessageTest, FallbackToLogsOnlyOnErrorAndEmptyFile) {
  std::string log;
  for (int i = 0; i < 100; ++i) {
    log += "2026-01-01T00:00:00.000000000Z stdout F line " + std::to_string(i) + "\n";
  }
  ASSERT_TRUE(WriteFile(dir_ + "/0.log", log).ok());
  ASSERT_TRUE(WriteFile(dir_ + "/msg", "").ok());
  // File policy: no fallback.
  EXPECT_EQ(ReadTerminationMessage(Exited(1, "File")), "");
  // Exit 0: no fallback.
  EXPECT_EQ(ReadTerminationMessage(Exited(0, "FallbackToLogsOnError")), "");
  // Error exit: the last 80 lines.
  std::string m = ReadTerminationMessage(Exited(2, "FallbackToLogsOnError"));
  EXPECT_EQ(m.substr(0, 8), "line 20\n");
  EXPECT_EQ(m.substr(m.size() - 8), "line 99\n");
  // A written file wins over the logs.
  ASSERT_TRUE(WriteFile(dir_ + "/msg", "from file").ok());
  EXPECT_EQ(ReadTerminationMessage(Exited(2, "FallbackToLogsOnError")), "from file");
}

TEST(TailCriLog, PartialLinesJoinedAndCutTo2048Bytes) {
  std::string log =
      "t stdout P abc\n"
      "t stderr F def\n"
      "garbage\n"
      "t stdout F \n";
  EXPECT_EQ(TailCriLog(log, 80, 2048), "abcdef\n\n");
  std::string big;
  for (int i = 0; i < 50; ++i) big += "t stdout F " + std::string(99, 'x') + "\n";
  std::string m = TailCriLog(big, 80, 2048);
  EXPECT_EQ(m.size(), 2048u);
  EXPECT_EQ(TailCriLog(big, 3, 2048).size(), 300u);
}

}  // namespace
}  // namespace nanolet::kubelet
