#pragma once
// Runs a program and captures its output. Used for runc, CNI plugins and hooks: the only way nanolet starts
// other programs, so every child is waited for and killed (its whole process group) at its deadline.
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "util/result.h"

namespace nanolet {

struct RunOptions {
  std::string stdin_data;
  // Full environment when set; the parent's otherwise.
  std::optional<std::vector<std::string>> env;
  std::chrono::milliseconds timeout{0};  // 0: no deadline
  size_t max_output = 16 << 20;          // per stream; the rest is dropped
  // A new session (setsid) so the child survives us (used for long-lived monitors); else its own group.
  bool new_session = false;
  // Return as soon as the child exits, without waiting for stdout/stderr EOF (a daemonised grandchild may
  // hold the pipes open).
  bool stop_at_exit = false;
};

struct RunResult {
  int exit_code = -1;  // -1 when killed by a signal
  int signal = 0;
  bool timed_out = false;
  std::string out;
  std::string err;
  bool success() const { return exit_code == 0; }
  // "exit status 1: <stderr trimmed>" or "killed by signal 9" or "timed out after 10s".
  std::string Describe() const;
};

// Fails only when the program cannot be started; a non-zero exit is in the RunResult.
Result<RunResult> Run(const std::vector<std::string>& argv, const RunOptions& opts = {});

// Run that also fails on a non-zero exit, naming the program and its stderr.
Result<RunResult> RunChecked(const std::vector<std::string>& argv, const RunOptions& opts = {});

}  // namespace nanolet
