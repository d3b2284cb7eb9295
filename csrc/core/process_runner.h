// What every process element shares (filter-process, source-process, dest-process): the command
// from `cmd` or `argv`, a stderr pipe whose lines become `info` messages, and the exit policy:
// statuses in `ok-exit` succeed, those in `warn-exit` succeed with a warning (gzip's 2 =
// "trailing garbage ignored"), anything else or a signal fails the transfer with the last stderr
// lines in the error. Cancel kills the child with SIGKILL; it is always reaped.
//
// Threads: the constructor on main; setup()/spawn() from the element's setup()/start();
// supervise() on the element's worker thread (blocks until the child exits, cancel wakes it);
// kill() from any thread (unblock); close() from the finalizing worker.
#pragma once

#include <deque>
#include <string>
#include <vector>

#include "child.h"
#include "unique_fd.h"
#include "xfa/element.h"

namespace xfa {

// "0,2" (and lists of such words) → {0, 2}; throws std::invalid_argument for anything else.
std::vector<int> parse_exit_codes(const std::vector<std::string>& words);
// The argv from `argv`, or `cmd` split like a shell would (no expansion); throws
// std::invalid_argument when neither is usable.
std::vector<std::string> command_from_props(const Props& p);

class ProcessRunner {
 public:
  explicit ProcessRunner(const Props& p);  // throws std::invalid_argument for a bad command/policy
  static std::vector<PropSpec> prop_specs(const std::string& example_cmd);

  Status setup();
  // in/out: fds for the child's stdin/stdout; -1 = /dev/null, kStdoutToStderr = into the stderr
  // pipe (reported as info lines).
  static constexpr int kStdoutToStderr = -2;
  Status spawn(int in, int out);
  void supervise(Element& owner);
  void kill();
  void close();
  bool running() const { return child_.running(); }

 private:
  void read_stderr(Element& owner);
  void stderr_line(Element& owner, const std::string& line);
  void judge(Element& owner, int wait_status);

  std::vector<std::string> argv_;
  std::vector<int> ok_codes_, warn_codes_;
  Child child_;
  UniqueFd err_r_, err_w_;
  std::deque<std::string> tail_;
  size_t lines_ = 0;
};

}  // namespace xfa
