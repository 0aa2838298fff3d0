#pragma once
// tests/fixtures/grpc_health/server.py (python3-grpcio) in a child process, for grpc probe tests.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

namespace nanolet::prober::testing {

constexpr const char* kPython = "/usr/bin/python3";  // Debian's, where python3-grpcio lives

// tests/fixtures/grpc_health/server.py in a child process; the port it prints is read with a
// deadline. Killed (by its PID) and reaped on destruction.
class GrpcServer {
 public:
  explicit GrpcServer(const std::string& mode, const std::string& log = "", int port = 0,
                      const std::string& state_file = "") {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return;
    std::string script = std::string(NANOLET_SOURCE_DIR) + "/tests/fixtures/grpc_health/server.py";
    std::vector<std::string> args = {kPython, script,   "--mode",
                                     mode,    "--port", std::to_string(port)};
    if (!log.empty()) {
      args.push_back("--log");
      args.push_back(log);
    }
    if (!state_file.empty()) {
      args.push_back("--state-file");
      args.push_back(state_file);
    }
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ == 0) {  // only async-signal-safe calls from here
      ::dup2(fds[1], 1);
      ::execv(kPython, argv.data());
      ::_exit(127);
    }
    ::close(fds[1]);
    std::string out;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (out.find('\n') == std::string::npos && std::chrono::steady_clock::now() < deadline) {
      pollfd p{fds[0], POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      char buf[256];
      ssize_t n = ::read(fds[0], buf, sizeof buf);
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
    ::close(fds[0]);
    if (std::sscanf(out.c_str(), "port %d", &port_) != 1) port_ = 0;
  }
  ~GrpcServer() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  int port() const { return port_; }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
};

}  // namespace nanolet::prober::testing
