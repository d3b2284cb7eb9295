// Child processes for process elements (filter-process and later ones): spawned without a shell,
// in their own process group (so a terminal's Ctrl-C reaches only xfa, which then cancels
// cleanly), with default signal dispositions and an empty signal mask (Node ignores SIGPIPE; a
// child must not inherit that).
//
// Threads: spawn() from the thread that starts the element; wait() from the element's worker
// (blocks until the child exits); kill() from any thread, never blocks, and is safe against a
// concurrent wait(): a reaped pid is never signalled.
#pragma once

#include <sys/types.h>

#include <mutex>
#include <string>
#include <vector>

#include "xfa/status.h"

namespace xfa {

// Splits "gzip -c --fast 'a b'" into words: whitespace separates, '…' and "…" quote, \ escapes.
// No expansion of any kind. Returns false on an unterminated quote.
bool split_command(const std::string& cmd, std::vector<std::string>* out);

class Child {
 public:
  Child() = default;
  ~Child();
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  // stdin/stdout/stderr become fds 0/1/2 of the child; -1 leaves /dev/null there.
  Status spawn(const std::vector<std::string>& argv, int in, int out, int err);
  bool running() const;
  void kill(int sig);
  // Waits for exit and reaps; returns the wait status (see WIFEXITED). -1 if never spawned.
  int wait();
  pid_t pid() const { return pid_; }

 private:
  mutable std::mutex mu_;
  pid_t pid_ = -1;
  bool reaped_ = true;
  int status_ = -1;
};

// "gzip exited with status 1", "gzip died on signal 9"
std::string describe_exit(const std::string& prog, int wait_status);

}  // namespace xfa
