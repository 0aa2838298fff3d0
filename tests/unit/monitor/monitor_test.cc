// nanolet-monitor against the real runc: CRI log lines and stream tags, partial lines, long lines, binary
// output, exit files (exit code, SIGKILL), failed creates, rotation, surviving its parent and signals, the
// container's signal dispositions, closed fds, and the resident size of a monitor while a container runs.
//
// Every test uses its own runc --root under a fresh temp dir and deletes its container (runc delete -f) at the
// end, so it never touches other containers on the machine.
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "util/subprocess.h"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;

const std::string kMonitor = std::string(NANOLET_BINARY_DIR) + "/nanolet-monitor";
const char* kRunc = "/usr/sbin/runc";
const char* kBusybox = "/bin/busybox";

bool WaitUntil(const std::function<bool()>& cond, std::chrono::milliseconds timeout = 10s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return cond();
}

std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

std::string StatusField(pid_t pid, const std::string& field) {
  std::istringstream in(ReadFile("/proc/" + std::to_string(pid) + "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) {
      auto v = line.substr(field.size() + 1);
      auto p = v.find_first_not_of(" \t");
      return p == std::string::npos ? "" : v.substr(p);
    }
  }
  return "";
}

pid_t ParentOf(pid_t pid) {
  auto s = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  auto p = s.rfind(')');
  if (p == std::string::npos) return -1;
  std::istringstream in(s.substr(p + 2));
  char state;
  pid_t ppid = -1;
  in >> state >> ppid;
  return ppid;
}

bool Alive(pid_t pid) {
  auto st = StatusField(pid, "State");
  return !st.empty() && st[0] != 'Z';
}

// Every process whose command line mentions s.
std::vector<pid_t> ProcessesMentioning(const std::string& s) {
  std::vector<pid_t> out;
  for (auto& e : fs::directory_iterator("/proc")) {
    auto name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    auto cmd = ReadFile(e.path().string() + "/cmdline");
    std::replace(cmd.begin(), cmd.end(), '\0', ' ');
    if (cmd.find(s) != std::string::npos) out.push_back(std::stoi(name));
  }
  return out;
}

struct Record {
  std::string time, stream, tag, content;
};

// Parses a CRI log; fails the test on a malformed line.
std::vector<Record> ParseLog(const std::string& data) {
  static const std::regex ts(R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$)");
  std::vector<Record> out;
  size_t pos = 0;
  while (pos < data.size()) {
    size_t nl = data.find('\n', pos);
    EXPECT_NE(nl, std::string::npos) << "log does not end with a newline";
    if (nl == std::string::npos) break;
    std::string line = data.substr(pos, nl - pos);
    pos = nl + 1;
    size_t a = line.find(' '), b = line.find(' ', a + 1), c = line.find(' ', b + 1);
    EXPECT_NE(c, std::string::npos) << "malformed line: " << line.substr(0, 100);
    if (c == std::string::npos) continue;
    Record r{line.substr(0, a), line.substr(a + 1, b - a - 1), line.substr(b + 1, c - b - 1), line.substr(c + 1)};
    EXPECT_TRUE(std::regex_match(r.time, ts)) << r.time;
    EXPECT_TRUE(r.stream == "stdout" || r.stream == "stderr") << r.stream;
    EXPECT_TRUE(r.tag == "F" || r.tag == "P") << r.tag;
    out.push_back(std::move(r));
  }
  return out;
}

// What the container wrote on one stream, rebuilt from the records (P: no newline, F: newline).
std::string Reassemble(const std::vector<Record>& recs, const std::string& stream) {
  std::string s;
  for (auto& r : recs) {
    if (r.stream != stream) continue;
    s += r.content;
    if (r.tag == "F") s += '\n';
  }
  return s;
}

class MonitorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0 || access(kRunc, X_OK) != 0 || access(kBusybox, X_OK) != 0)
      GTEST_SKIP() << "needs root, " << kRunc << " and " << kBusybox;
    ASSERT_EQ(access(kMonitor.c_str(), X_OK), 0) << kMonitor;
    char tmpl[] = "/tmp/nanolet-montest-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    root_ = dir_ + "/runc-root";
    bundle_ = dir_ + "/bundle";
    logs_ = dir_ + "/logs";
    log_ = logs_ + "/0.log";
    exit_ = dir_ + "/exit.json";
    pidfile_ = dir_ + "/container.pid";
    static int seq = 0;
    id_ = "nanolet-montest-" + std::to_string(getpid()) + "-" + std::to_string(++seq);
    fs::create_directories(bundle_ + "/rootfs/bin");
    fs::create_directories(logs_);
    fs::copy_file(kBusybox, bundle_ + "/rootfs/bin/busybox");
    for (const char* applet : {"sh", "echo", "sleep", "cat", "head", "tr", "printf", "seq"})
      fs::create_symlink("busybox", bundle_ + "/rootfs/bin/" + applet);
    auto r = nanolet::Run({kRunc, "spec", "--bundle", bundle_}, {.timeout = 10s});
    ASSERT_TRUE(r.ok() && r->success()) << (r.ok() ? r->Describe() : r.error().message());
  }

  void TearDown() override {
    if (dir_.empty()) return;
    if (created_) {
      auto r = nanolet::Run({kRunc, "--root", root_, "delete", "-f", id_}, {.timeout = 20s});
      // The container is gone: its monitor writes the exit file and exits.
      WaitUntil([&] { return fs::exists(exit_); });
      if (daemon_ > 0) WaitUntil([&] { return !Alive(daemon_); });
    }
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // Writes config.json: runc's default spec with these args, no terminal.
  void Config(const std::vector<std::string>& args, const std::function<void(json&)>& edit = nullptr) {
    json spec = json::parse(ReadFile(bundle_ + "/config.json"));
    spec["process"]["args"] = args;
    spec["process"]["terminal"] = false;
    spec["process"]["env"] = {"PATH=/bin"};
    spec["root"]["readonly"] = true;
    if (edit) edit(spec);
    std::ofstream(bundle_ + "/config.json") << spec.dump(2);
  }

  std::vector<std::string> MonitorArgs(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> a = {kMonitor,  "--runc",      kRunc,  "--runc-root", root_,    "--id",
                                  id_,       "--bundle",    bundle_, "--log",      log_,     "--exit-file",
                                  exit_,     "--pid-file",  pidfile_};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }

  // Runs the monitor (runc create); returns the container's PID printed on stdout.
  pid_t Create(const std::vector<std::string>& extra = {}) {
    auto r = nanolet::Run(MonitorArgs(extra), {.timeout = 30s});
    EXPECT_TRUE(r.ok()) << r.error().message();
    if (!r.ok()) return -1;
    EXPECT_EQ(r->exit_code, 0) << r->Describe();
    if (r->exit_code != 0) return -1;
    created_ = true;
    pid_t pid = std::atoi(r->out.c_str());
    EXPECT_GT(pid, 0) << r->out;
    EXPECT_EQ(r->out, std::to_string(pid) + "\n");
    EXPECT_EQ(ReadFile(pidfile_), std::to_string(pid));
    daemon_ = ParentOf(pid);
    return pid;
  }

  void Start() {
    auto r = nanolet::Run({kRunc, "--root", root_, "start", id_}, {.timeout = 20s});
    ASSERT_TRUE(r.ok() && r->success()) << (r.ok() ? r->Describe() : r.error().message());
  }

  json WaitExitFile() {
    EXPECT_TRUE(WaitUntil([&] { return fs::exists(exit_); })) << "no exit file " << exit_;
    if (!fs::exists(exit_)) return json();
    json j = json::parse(ReadFile(exit_));
    EXPECT_TRUE(j.contains("exitCode") && j.contains("signal") && j.contains("finishedAt")) << j.dump();
    EXPECT_TRUE(std::regex_match(j.value("finishedAt", ""),
                                 std::regex(R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$)")))
        << j.dump();
    EXPECT_FALSE(fs::exists(exit_ + ".tmp"));
    return j;
  }

  std::string dir_, root_, bundle_, logs_, log_, exit_, pidfile_, id_;
  bool created_ = false;
  pid_t daemon_ = -1;
};

TEST_F(MonitorTest, LogsStdoutAndStderrAndExitCode) {
  Config({"sh", "-c", "echo out1; echo err1 >&2; echo 'out 2  spaced'; echo; exit 3"});
  pid_t pid = Create();
  ASSERT_GT(pid, 0);
  EXPECT_NE(daemon_, getpid()) << "the container must be reparented to the monitor daemon";
  EXPECT_NE(getsid(daemon_), getsid(0)) << "the daemon runs in its own session";
  Start();
  json j = WaitExitFile();
  EXPECT_EQ(j["exitCode"], 3);
  EXPECT_EQ(j["signal"], 0);
  auto recs = ParseLog(ReadFile(log_));
  EXPECT_EQ(Reassemble(recs, "stdout"), "out1\nout 2  spaced\n\n");
  EXPECT_EQ(Reassemble(recs, "stderr"), "err1\n");
  for (auto& r : recs) EXPECT_EQ(r.tag, "F");
  // The two streams are separate pipes: order is kept within a stream, not across them.
  std::vector<std::string> out;
  for (auto& r : recs)
    if (r.stream == "stdout") out.push_back(r.content);
  EXPECT_EQ(out, (std::vector<std::string>{"out1", "out 2  spaced", ""}));
  EXPECT_EQ(recs.size(), 4u);
  EXPECT_TRUE(WaitUntil([&] { return !Alive(daemon_); })) << "monitor still running after the container exited";
  EXPECT_EQ(fs::status(log_).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
}

TEST_F(MonitorTest, PartialLastLineIsP) {
  Config({"sh", "-c", "echo first; printf 'no newline'"});
  ASSERT_GT(Create(), 0);
  Start();
  EXPECT_EQ(WaitExitFile()["exitCode"], 0);
  auto recs = ParseLog(ReadFile(log_));
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0].tag, "F");
  EXPECT_EQ(recs[0].content, "first");
  EXPECT_EQ(recs[1].tag, "P");
  EXPECT_EQ(recs[1].content, "no newline");
}

// A prompt without newline from a running container shows up (as P) once the stream is quiet.
TEST_F(MonitorTest, PendingPartialLineIsLoggedWhileRunning) {
  Config({"sh", "-c", "printf 'prompt: '; exec sleep 1000"});
  ASSERT_GT(Create(), 0);
  Start();
  EXPECT_TRUE(WaitUntil([&] { return ReadFile(log_).find(" stdout P prompt: \n") != std::string::npos; }))
      << ReadFile(log_);
}

TEST_F(MonitorTest, LongLineIsSplitIntoPartials) {
  Config({"sh", "-c", "head -c 100000 /dev/zero | tr '\\0' x; echo; echo short"});
  ASSERT_GT(Create(), 0);
  Start();
  EXPECT_EQ(WaitExitFile()["exitCode"], 0);
  auto recs = ParseLog(ReadFile(log_));
  EXPECT_EQ(Reassemble(recs, "stdout"), std::string(100000, 'x') + "\nshort\n");
  ASSERT_GE(recs.size(), 4u);
  for (size_t i = 0; i + 2 < recs.size(); i++) {
    EXPECT_EQ(recs[i].tag, "P");
    EXPECT_LE(recs[i].content.size(), 32u * 1024);
  }
  EXPECT_EQ(recs[recs.size() - 2].tag, "F");
  EXPECT_EQ(recs.back().content, "short");
}

TEST_F(MonitorTest, BinaryOutputIsCopiedIntact) {
  std::string garbage;
  for (uint32_t i = 0; i < 300000; i++) garbage += static_cast<char>((i * 7919u + i / 256) & 0xff);
  std::ofstream(bundle_ + "/rootfs/garbage", std::ios::binary) << garbage;
  Config({"sh", "-c", "cat /garbage; cat /garbage >&2"});
  ASSERT_GT(Create(), 0);
  Start();
  EXPECT_EQ(WaitExitFile()["exitCode"], 0);
  auto recs = ParseLog(ReadFile(log_));
  EXPECT_EQ(Reassemble(recs, "stdout"), garbage);
  EXPECT_EQ(Reassemble(recs, "stderr"), garbage);
}

TEST_F(MonitorTest, SigkillGives137) {
  Config({"sleep", "1000"});
  ASSERT_GT(Create(), 0);
  Start();
  auto r = nanolet::Run({kRunc, "--root", root_, "kill", id_, "KILL"}, {.timeout = 10s});
  ASSERT_TRUE(r.ok() && r->success()) << (r.ok() ? r->Describe() : r.error().message());
  json j = WaitExitFile();
  EXPECT_EQ(j["exitCode"], 137);
  EXPECT_EQ(j["signal"], 9);
}

// Started by a parent that ignores SIGCHLD/SIGTERM/SIGPIPE and blocks signals (a worker thread may): the
// monitor still gets exit statuses and the container still gets default dispositions and an empty mask.
TEST_F(MonitorTest, ContainerGetsDefaultSignalDispositions) {
  Config({"sleep", "1000"});
  int out[2];
  ASSERT_EQ(pipe(out), 0);
  auto args = MonitorArgs();
  pid_t child = fork();
  if (child == 0) {
    signal(SIGCHLD, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, nullptr);
    dup2(out[1], 1);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(out[1]);
  std::string printed;
  char buf[64];
  ssize_t n;
  while ((n = read(out[0], buf, sizeof buf)) > 0) printed.append(buf, n);
  close(out[0]);
  int st;
  ASSERT_EQ(waitpid(child, &st, 0), child);
  ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << st;
  created_ = true;
  pid_t pid = std::atoi(printed.c_str());
  ASSERT_GT(pid, 0) << printed;
  daemon_ = ParentOf(pid);
  Start();
  ASSERT_TRUE(WaitUntil([&] { return StatusField(pid, "Name") == "sleep"; }));
  auto ign = std::stoull(StatusField(pid, "SigIgn"), nullptr, 16);
  auto blk = std::stoull(StatusField(pid, "SigBlk"), nullptr, 16);
  for (int sig : {SIGTERM, SIGHUP, SIGINT, SIGPIPE, SIGCHLD})
    EXPECT_EQ(ign & (1ULL << (sig - 1)), 0u) << "signal " << sig << " ignored in the container";
  EXPECT_EQ(blk, 0u);
  auto r = nanolet::Run({kRunc, "--root", root_, "kill", id_, "KILL"}, {.timeout = 10s});
  ASSERT_TRUE(r.ok() && r->success());
  EXPECT_EQ(WaitExitFile()["exitCode"], 137);
}

TEST_F(MonitorTest, FailedCreateReportsRuncError) {
  Config({"sh"}, [](json& s) { s["process"]["args"] = 5; });
  auto r = nanolet::Run(MonitorArgs(), {.timeout = 30s});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 1);
  EXPECT_EQ(r->out, "");
  EXPECT_NE(r->err.find("cannot unmarshal"), std::string::npos) << r->err;
  std::printf("failed create reported: %s", r->err.c_str());
  EXPECT_TRUE(ProcessesMentioning(id_).empty()) << "a monitor or runc was left behind";
  EXPECT_FALSE(fs::exists(exit_));
  // Should runc have left any state behind, remove it (no monitor is left to write an exit file).
  (void)nanolet::Run({kRunc, "--root", root_, "delete", "-f", id_}, {.timeout = 20s});
}

TEST_F(MonitorTest, MissingRuncIsReported) {
  Config({"true"});
  auto args = MonitorArgs();
  args[2] = dir_ + "/no-such-runc";
  auto r = nanolet::Run(args, {.timeout = 30s});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 1);
  EXPECT_NE(r->err.find("no-such-runc"), std::string::npos) << r->err;
  EXPECT_TRUE(ProcessesMentioning(id_).empty());
}

// When runc prints nothing on stderr, the error comes from its JSON log (--log FILE --log-format json).
TEST_F(MonitorTest, RuncJsonLogErrorIsReported) {
  std::string fake = dir_ + "/fake-runc";
  std::ofstream(fake) << "#!/bin/sh\n"
                         "while [ $# -gt 0 ]; do [ \"$1\" = --log ] && log=$2; shift; done\n"
                         "printf '%s\\n' '{\"level\":\"warning\",\"msg\":\"just a warning\",\"time\":\"t\"}' "
                         "'{\"level\":\"error\",\"msg\":\"boom \\\"quoted\\\" \\u0041\",\"time\":\"t\"}' >>\"$log\"\n"
                         "exit 1\n";
  fs::permissions(fake, fs::perms::owner_all);
  auto args = MonitorArgs();
  args[2] = fake;
  auto r = nanolet::Run(args, {.timeout = 30s});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 1);
  EXPECT_EQ(r->err, "boom \"quoted\" A\n");
}

TEST_F(MonitorTest, BadArgumentsFail) {
  auto r = nanolet::Run({kMonitor, "--runc", kRunc}, {.timeout = 10s});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 1);
  EXPECT_NE(r->err.find("missing --"), std::string::npos) << r->err;
  r = nanolet::Run(MonitorArgs({"--log-max-size", "abc"}), {.timeout = 10s});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 1);
}

TEST_F(MonitorTest, RotatesAndKeepsAtMostMaxFiles) {
  // 3000 lines of ~80 bytes (~240 KB) through a 16 KiB limit: many rotations, several within one second.
  Config({"sh", "-c", "i=0; while [ $i -lt 3000 ]; do echo line-$i-padding-padding-padding; i=$((i+1)); done"});
  ASSERT_GT(Create({"--log-max-size", "16384", "--log-max-files", "3"}), 0);
  Start();
  EXPECT_EQ(WaitExitFile()["exitCode"], 0);
  std::vector<std::string> rotated;
  for (auto& e : fs::directory_iterator(logs_)) {
    auto name = e.path().filename().string();
    EXPECT_LE(fs::file_size(e.path()), 16384u) << name;
    if (name != "0.log") {
      EXPECT_TRUE(std::regex_match(name, std::regex(R"(0\.log\.\d{8}-\d{6}(\.\d+)?)"))) << name;
      rotated.push_back(name);
    }
  }
  EXPECT_EQ(rotated.size(), 2u);
  // Oldest first: timestamp, then the numeric suffix of files rotated within the same second.
  std::sort(rotated.begin(), rotated.end(), [](const std::string& a, const std::string& b) {
    auto key = [](const std::string& s) {
      auto ts = s.substr(6, 15);
      long n = s.size() > 21 ? std::stol(s.substr(22)) : 0;
      return std::make_pair(ts, n);
    };
    return key(a) < key(b);
  });
  std::string all;
  for (auto& name : rotated) all += ReadFile(logs_ + "/" + name);
  all += ReadFile(log_);
  auto out = Reassemble(ParseLog(all), "stdout");
  // The newest lines, contiguous, ending with the last one.
  std::istringstream in(out);
  std::string line;
  int prev = -1, count = 0;
  while (std::getline(in, line)) {
    int n = std::stoi(line.substr(5));
    if (prev >= 0) {
      EXPECT_EQ(n, prev + 1) << "gap in the kept logs";
    }
    prev = n;
    count++;
  }
  EXPECT_EQ(prev, 2999);
  EXPECT_GT(count, 200);
  std::printf("rotation kept %d lines in %zu rotated files + current\n", count, rotated.size());
}

TEST_F(MonitorTest, SurvivesParentDeathAndSignals) {
  Config({"sh", "-c", "echo still-here; exit 7"});
  // The monitor's parent (standing in for nanolet) prints the PID, then gets killed.
  std::string out = dir_ + "/monitor.out";
  std::string cmd;
  for (auto& a : MonitorArgs()) cmd += "'" + a + "' ";
  pid_t parent = fork();
  if (parent == 0) {
    execl("/bin/sh", "sh", "-c", (cmd + "> '" + out + "' 2>&1; exec /bin/sleep 1000").c_str(), nullptr);
    _exit(127);
  }
  ASSERT_GT(parent, 0);
  ASSERT_TRUE(WaitUntil([&] { return ReadFile(out).find('\n') != std::string::npos; }, 30s));
  created_ = true;
  pid_t pid = std::atoi(ReadFile(out).c_str());
  ASSERT_GT(pid, 0) << ReadFile(out);
  daemon_ = ParentOf(pid);
  ASSERT_GT(daemon_, 1);
  ASSERT_EQ(kill(parent, SIGKILL), 0);
  int st;
  ASSERT_EQ(waitpid(parent, &st, 0), parent);
  for (int sig : {SIGTERM, SIGHUP, SIGINT, SIGPIPE}) ASSERT_EQ(kill(daemon_, sig), 0);
  // Ignored signals are discarded when sent: the daemon is still there and still the container's parent.
  EXPECT_TRUE(Alive(daemon_));
  EXPECT_EQ(ParentOf(pid), daemon_);
  Start();
  json j = WaitExitFile();
  EXPECT_EQ(j["exitCode"], 7);
  EXPECT_EQ(Reassemble(ParseLog(ReadFile(log_)), "stdout"), "still-here\n");
}

TEST_F(MonitorTest, ResidentSizeAndOpenFiles) {
  // Measured after the monitor has copied lines, a long line on both streams (its buffers are in use).
  Config({"sh", "-c",
          "i=0; while [ $i -lt 500 ]; do echo line $i; i=$((i+1)); done; head -c 100000 /dev/zero | tr '\\0' y;"
          "head -c 100000 /dev/zero | tr '\\0' z >&2; echo; echo ready; exec sleep 1000"});
  // A leaked fd (nanolet might leak some): the daemon must not keep it.
  int leak[2];
  ASSERT_EQ(pipe(leak), 0);
  pid_t pid = Create();
  close(leak[0]);
  close(leak[1]);
  ASSERT_GT(pid, 0);
  Start();
  ASSERT_TRUE(WaitUntil([&] { return ReadFile(log_).find(" F ready\n") != std::string::npos; }));
  auto rss = StatusField(daemon_, "VmRSS");
  long kb = std::atol(rss.c_str());
  std::printf("nanolet-monitor VmRSS while a container runs: %ld kB (VmHWM %s)\n", kb,
              StatusField(daemon_, "VmHWM").c_str());
  RecordProperty("monitor_rss_kb", static_cast<int>(kb));
  EXPECT_GT(kb, 0);
  EXPECT_LE(kb, 1024);
  std::vector<std::string> fds;
  for (auto& e : fs::directory_iterator("/proc/" + std::to_string(daemon_) + "/fd"))
    fds.push_back(e.path().filename().string() + " -> " + fs::read_symlink(e.path()).string());
  std::string all;
  for (auto& f : fds) all += f + "\n";
  // stdin/stdout/stderr (/dev/null), the log, two pipes, the signalfd.
  EXPECT_EQ(fds.size(), 7u) << all;
  for (auto& f : fds) {
    bool ok = f.find("/dev/null") != std::string::npos || f.find(log_) != std::string::npos ||
              f.find("pipe:") != std::string::npos || f.find("signalfd") != std::string::npos;
    EXPECT_TRUE(ok) << f;
  }
}

}  // namespace
