#include "util/subprocess.h"

#include <gtest/gtest.h>

namespace nanolet {
namespace {

TEST(Subprocess, CapturesOutputAndExitCode) {
  auto r = nanolet::Run({"/bin/sh", "-c", "echo out; echo err >&2; exit 3"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_EQ(r->out, "out\n");
  EXPECT_EQ(r->err, "err\n");
}

TEST(Subprocess, FeedsStdin) {
  auto r = nanolet::Run({"/bin/cat"}, {.stdin_data = "hello"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out, "hello");
}

TEST(Subprocess, KillsAtDeadline) {
  auto start = std::chrono::steady_clock::now();
  auto r = nanolet::Run({"/bin/sh", "-c", "sleep 30"}, {.timeout = std::chrono::milliseconds(200)});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->timed_out);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(Subprocess, MissingProgramIsAnError) {
  auto r = nanolet::Run({"/nonexistent/prog"});
  EXPECT_FALSE(r.ok());
}

TEST(RunChecked, NamesProgramAndStderr) {
  auto r = RunChecked({"/bin/sh", "-c", "echo boom >&2; exit 1"});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("boom"), std::string::npos);
  EXPECT_NE(r.error().message().find("exit status 1"), std::string::npos);
}

}  // namespace
}  // namespace nanolet
