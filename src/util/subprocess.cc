#include "util/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "util/fs.h"

extern char** environ;

namespace nanolet {

std::string RunResult::Describe() const {
  if (timed_out) return "timed out";
  std::string d = signal ? "killed by signal " + std::to_string(signal) : "exit status " + std::to_string(exit_code);
  std::string e = err.empty() ? out : err;
  while (!e.empty() && (e.back() == '\n' || e.back() == ' ')) e.pop_back();
  if (e.size() > 2000) e = e.substr(e.size() - 2000);
  if (!e.empty()) d += ": " + e;
  return d;
}

namespace {
struct Pipe {
  UniqueFd r, w;
  Result<void> Open() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return ErrnoError("pipe");
    r.reset(fds[0]);
    w.reset(fds[1]);
    return Ok();
  }
};
}  // namespace

Result<RunResult> Run(const std::vector<std::string>& argv, const RunOptions& opts) {
  if (argv.empty()) return Invalid("run: empty command");
  Pipe in, out, err;
  RETURN_IF_ERROR(in.Open());
  RETURN_IF_ERROR(out.Open());
  RETURN_IF_ERROR(err.Open());

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in.r.get(), 0);
  posix_spawn_file_actions_adddup2(&fa, out.w.get(), 1);
  posix_spawn_file_actions_adddup2(&fa, err.w.get(), 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
  if (opts.new_session) {
    flags |= POSIX_SPAWN_SETSID;
  } else {
    flags |= POSIX_SPAWN_SETPGROUP;
    posix_spawnattr_setpgroup(&attr, 0);
  }
  posix_spawnattr_setflags(&attr, flags);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);

  std::vector<char*> cargv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  std::vector<char*> cenv;
  char** envp = environ;
  if (opts.env) {
    for (const auto& e : *opts.env) cenv.push_back(const_cast<char*>(e.c_str()));
    cenv.push_back(nullptr);
    envp = cenv.data();
  }
  pid_t pid;
  int rc = argv[0].find('/') != std::string::npos
               ? posix_spawn(&pid, argv[0].c_str(), &fa, &attr, cargv.data(), envp)
               : posix_spawnp(&pid, argv[0].c_str(), &fa, &attr, cargv.data(), envp);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return ErrnoError("start " + argv[0], rc);
  in.r.reset();
  out.w.reset();
  err.w.reset();

  RunResult res;
  auto deadline = std::chrono::steady_clock::now() + opts.timeout;
  std::string_view to_write = opts.stdin_data;
  if (to_write.empty()) in.w.reset();
  else ::fcntl(in.w.get(), F_SETFL, O_NONBLOCK);
  bool exited = false;
  int status = 0;
  while (out.r.valid() || err.r.valid() || in.w.valid()) {
    if (opts.stop_at_exit && ::waitpid(pid, &status, WNOHANG) == pid) {
      exited = true;
      break;
    }
    pollfd pfds[3];
    int n = 0;
    if (out.r.valid()) pfds[n++] = {out.r.get(), POLLIN, 0};
    if (err.r.valid()) pfds[n++] = {err.r.get(), POLLIN, 0};
    if (in.w.valid()) pfds[n++] = {in.w.get(), POLLOUT, 0};
    int wait_ms = opts.stop_at_exit ? 20 : -1;
    if (opts.timeout.count() > 0) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        res.timed_out = true;
        break;
      }
      wait_ms = wait_ms < 0 ? static_cast<int>(left.count()) : std::min<int>(wait_ms, left.count());
    }
    int pr = ::poll(pfds, n, wait_ms);
    if (pr < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < n; ++i) {
      if (!pfds[i].revents) continue;
      if (in.w.valid() && pfds[i].fd == in.w.get()) {
        ssize_t w = ::write(in.w.get(), to_write.data(), to_write.size());
        if (w > 0) to_write.remove_prefix(w);
        if (w < 0 && errno != EAGAIN && errno != EINTR) to_write = {};
        if (to_write.empty()) in.w.reset();
        continue;
      }
      UniqueFd& fd = (out.r.valid() && pfds[i].fd == out.r.get()) ? out.r : err.r;
      std::string& dst = (&fd == &out.r) ? res.out : res.err;
      char buf[16384];
      ssize_t r = ::read(fd.get(), buf, sizeof buf);
      if (r > 0) {
        if (dst.size() < opts.max_output) dst.append(buf, std::min<size_t>(r, opts.max_output - dst.size()));
      } else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
        fd.reset();
      }
    }
  }
  if (res.timed_out) {
    ::kill(opts.new_session ? pid : -pid, SIGKILL);
  }
  if (!exited) {
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
  if (WIFEXITED(status)) {
    res.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    res.signal = WTERMSIG(status);
    res.exit_code = -1;
  }
  return res;
}

Result<RunResult> RunChecked(const std::vector<std::string>& argv, const RunOptions& opts) {
  ASSIGN_OR_RETURN(RunResult r, Run(argv, opts));
  if (r.timed_out) {
    return Error(argv[0] + " " + (argv.size() > 1 ? argv[1] : "") + ": timed out after " +
                     std::to_string(opts.timeout.count()) + "ms",
                 ErrorCode::kTimeout);
  }
  if (!r.success()) return Error(argv[0] + " " + (argv.size() > 1 ? argv[1] : "") + ": " + r.Describe());
  return r;
}

}  // namespace nanolet
