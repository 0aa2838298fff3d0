// nanolet-pause: size, SIGTERM/SIGINT exit 0, SIGCHLD keeps it running, zombies are reaped when it is the
// init of a PID namespace (unshare --pid --fork), SIGHUP keeps its default action as in upstream pause.c.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <dirent.h>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "util/subprocess.h"

namespace {

using namespace std::chrono_literals;

const std::string kPause = std::string(NANOLET_BINARY_DIR) + "/nanolet-pause";

// Polls cond every few milliseconds until it holds or the deadline passes.
bool WaitUntil(const std::function<bool()>& cond, std::chrono::milliseconds timeout = 10s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(2ms);
  }
  return cond();
}

pid_t Spawn(const std::vector<std::string>& argv) {
  pid_t pid = fork();
  if (pid == 0) {
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  return pid;
}

// waitpid with a deadline; nullopt when the child is still running at the deadline.
std::optional<int> WaitExit(pid_t pid, std::chrono::milliseconds timeout = 10s) {
  int status = 0;
  if (WaitUntil([&] { return waitpid(pid, &status, WNOHANG) == pid; }, timeout)) return status;
  return std::nullopt;
}

std::string StatusField(pid_t pid, const std::string& field) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind(field + ":", 0) == 0) {
      auto v = line.substr(field.size() + 1);
      return v.substr(v.find_first_not_of(" \t"));
    }
  }
  return "";
}

unsigned long long SigMask(pid_t pid, const std::string& field) {
  auto v = StatusField(pid, field);
  return v.empty() ? 0 : std::stoull(v, nullptr, 16);
}

constexpr unsigned long long Bit(int sig) { return 1ULL << (sig - 1); }
constexpr unsigned long long kHandled = Bit(SIGINT) | Bit(SIGTERM) | Bit(SIGCHLD);

// True once the pause program has installed its handlers (so a signal cannot hit the default action).
bool Ready(pid_t pid) { return (SigMask(pid, "SigCgt") & kHandled) == kHandled; }

// Parent pid from /proc/PID/stat (the command name may contain spaces and parentheses).
pid_t ParentOf(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  auto p = s.rfind(')');
  if (p == std::string::npos) return -1;
  std::istringstream in(s.substr(p + 2));
  char state;
  pid_t ppid = -1;
  in >> state >> ppid;
  return ppid;
}

std::vector<pid_t> ChildrenOf(pid_t parent) {
  std::vector<pid_t> out;
  DIR* d = opendir("/proc");
  if (!d) return out;
  while (dirent* e = readdir(d)) {
    char* end;
    long pid = strtol(e->d_name, &end, 10);
    if (*end == 0 && pid > 0 && ParentOf(pid) == parent) out.push_back(pid);
  }
  closedir(d);
  return out;
}

TEST(Pause, IsTiny) {
  struct stat st{};
  ASSERT_EQ(stat(kPause.c_str(), &st), 0) << kPause;
  std::printf("nanolet-pause size: %lld bytes\n", static_cast<long long>(st.st_size));
  RecordProperty("pause_bytes", static_cast<int>(st.st_size));
  EXPECT_LT(st.st_size, 2048);
}

TEST(Pause, SigtermExitsZero) {
  pid_t pid = Spawn({kPause});
  ASSERT_GT(pid, 0);
  ASSERT_TRUE(WaitUntil([&] { return Ready(pid); }));
  auto start = std::chrono::steady_clock::now();
  ASSERT_EQ(kill(pid, SIGTERM), 0);
  auto st = WaitExit(pid, 5s);
  ASSERT_TRUE(st.has_value()) << "pause ignored SIGTERM";
  EXPECT_TRUE(WIFEXITED(*st)) << "status " << *st;
  EXPECT_EQ(WEXITSTATUS(*st), 0);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
}

TEST(Pause, SigintExitsZero) {
  pid_t pid = Spawn({kPause});
  ASSERT_GT(pid, 0);
  ASSERT_TRUE(WaitUntil([&] { return Ready(pid); }));
  ASSERT_EQ(kill(pid, SIGINT), 0);
  auto st = WaitExit(pid, 5s);
  ASSERT_TRUE(st.has_value());
  EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 0) << "status " << *st;
}

TEST(Pause, KeepsSleepingAfterSigchld) {
  pid_t pid = Spawn({kPause});
  ASSERT_GT(pid, 0);
  ASSERT_TRUE(WaitUntil([&] { return Ready(pid); }));
  for (int i = 0; i < 20; i++) ASSERT_EQ(kill(pid, SIGCHLD), 0);
  // Handled (nothing pending any more) and back asleep in pause(): still running.
  ASSERT_TRUE(WaitUntil([&] {
    return (SigMask(pid, "ShdPnd") & Bit(SIGCHLD)) == 0 && (SigMask(pid, "SigPnd") & Bit(SIGCHLD)) == 0 &&
           StatusField(pid, "State").rfind("S", 0) == 0;
  }));
  int status;
  EXPECT_EQ(waitpid(pid, &status, WNOHANG), 0) << "pause exited on SIGCHLD";
  ASSERT_EQ(kill(pid, SIGTERM), 0);
  auto st = WaitExit(pid, 5s);
  ASSERT_TRUE(st.has_value());
  EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 0);
}

// Upstream pause.c handles only SIGINT, SIGTERM and SIGCHLD; other signals keep their default action. (As the
// init of a PID namespace the kernel drops such signals anyway unless they come from an ancestor namespace.)
TEST(Pause, SighupKeepsDefaultActionLikeUpstream) {
  pid_t pid = Spawn({kPause});
  ASSERT_GT(pid, 0);
  ASSERT_TRUE(WaitUntil([&] { return Ready(pid); }));
  ASSERT_EQ(kill(pid, SIGHUP), 0);
  auto st = WaitExit(pid, 5s);
  ASSERT_TRUE(st.has_value());
  EXPECT_TRUE(WIFSIGNALED(*st) && WTERMSIG(*st) == SIGHUP) << "status " << *st;
}

TEST(Pause, ReapsOrphansAsPidNamespaceInit) {
  if (geteuid() != 0 || access("/usr/bin/unshare", X_OK) != 0 || access("/usr/bin/nsenter", X_OK) != 0)
    GTEST_SKIP() << "needs root, unshare and nsenter";
  pid_t unshare = Spawn({"/usr/bin/unshare", "--pid", "--fork", kPause});
  ASSERT_GT(unshare, 0);
  pid_t pause = -1;
  ASSERT_TRUE(WaitUntil([&] {
    auto c = ChildrenOf(unshare);
    if (c.size() == 1 && Ready(c[0])) pause = c[0];
    return pause > 0;
  })) << "pause did not start under unshare";
  EXPECT_EQ(StatusField(pause, "NSpid"), std::to_string(pause) + "\t1") << "pause is not PID 1 of its namespace";

  // A shell inside the namespace starts a background sleep and exits: the orphan is reparented to pause.
  auto r = nanolet::Run({"/usr/bin/nsenter", "--target", std::to_string(pause), "--pid", "--", "/bin/sh", "-c",
                         "/bin/sleep 1000 </dev/null >/dev/null 2>&1 & exit 0"},
                        {.timeout = 10s});
  ASSERT_TRUE(r.ok()) << r.error().message();
  ASSERT_EQ(r->exit_code, 0) << r->Describe();
  std::vector<pid_t> orphans;
  ASSERT_TRUE(WaitUntil([&] {
    orphans = ChildrenOf(pause);
    return !orphans.empty();
  })) << "the orphan was not reparented to pause";
  ASSERT_EQ(orphans.size(), 1u);
  pid_t orphan = orphans[0];
  ASSERT_EQ(kill(orphan, SIGKILL), 0);
  // Reaped: gone from /proc, not left as a zombie.
  EXPECT_TRUE(WaitUntil([&] { return access(("/proc/" + std::to_string(orphan)).c_str(), F_OK) != 0; }, 5s))
      << "zombie " << orphan << " not reaped, state " << StatusField(orphan, "State");

  ASSERT_EQ(kill(pause, SIGTERM), 0);
  auto st = WaitExit(unshare, 5s);
  ASSERT_TRUE(st.has_value()) << "pause (PID 1 of its namespace) ignored SIGTERM";
  EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 0) << "status " << *st;
}

}  // namespace
