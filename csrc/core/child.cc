#include "child.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

extern char** environ;

namespace xfa {

bool split_command(const std::string& cmd, std::vector<std::string>* out) {
  std::string word;
  bool in_word = false;
  char quote = 0;
  for (size_t i = 0; i < cmd.size(); ++i) {
    const char c = cmd[i];
    if (quote) {
      if (c == quote) {
        quote = 0;
      } else if (c == '\\' && quote == '"' && i + 1 < cmd.size()) {
        word += cmd[++i];
      } else {
        word += c;
      }
    } else if (c == '\'' || c == '"') {
      quote = c;
      in_word = true;
    } else if (c == '\\' && i + 1 < cmd.size()) {
      word += cmd[++i];
      in_word = true;
    } else if (c == ' ' || c == '\t' || c == '\n') {
      if (in_word) out->push_back(word);
      word.clear();
      in_word = false;
    } else {
      word += c;
      in_word = true;
    }
  }
  if (in_word) out->push_back(word);
  return quote == 0;
}

Child::~Child() {
  if (running()) {
    kill(SIGKILL);
    wait();
  }
}

Status Child::spawn(const std::vector<std::string>& argv, int in, int out, int err) {
  if (argv.empty()) return plain_error("exec", "empty command");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  const int fds[3] = {in, out, err};
  for (int i = 0; i < 3; ++i) {
    if (fds[i] >= 0) {
      posix_spawn_file_actions_adddup2(&fa, fds[i], i);
    } else {
      posix_spawn_file_actions_addopen(&fa, i, "/dev/null", i == 0 ? O_RDONLY : O_WRONLY, 0);
    }
  }
  posix_spawnattr_t at;
  posix_spawnattr_init(&at);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&at, &none);
  posix_spawnattr_setsigdefault(&at, &all);
  posix_spawnattr_setpgroup(&at, 0);
  posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, args[0], &fa, &at, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&at);
  if (rc != 0) return sys_error("exec " + argv[0], rc);
  std::lock_guard<std::mutex> lk(mu_);
  pid_ = pid;
  reaped_ = false;
  return ok();
}

bool Child::running() const {
  std::lock_guard<std::mutex> lk(mu_);
  return pid_ > 0 && !reaped_;
}

void Child::kill(int sig) {
  std::lock_guard<std::mutex> lk(mu_);
  if (pid_ > 0 && !reaped_) ::kill(pid_, sig);
}

int Child::wait() {
  pid_t pid;
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (pid_ <= 0) return -1;
    if (reaped_) return status_;
    pid = pid_;
  }
  // Wait without reaping, so kill() can never hit a recycled pid; then reap under the lock.
  siginfo_t si;
  while (waitid(P_PID, pid, &si, WEXITED | WNOWAIT) != 0 && errno == EINTR) {
  }
  std::lock_guard<std::mutex> lk(mu_);
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  status_ = st;
  reaped_ = true;
  return st;
}

std::string describe_exit(const std::string& prog, int st) {
  if (WIFEXITED(st)) return prog + " exited with status " + std::to_string(WEXITSTATUS(st));
  if (WIFSIGNALED(st)) return prog + " died on signal " + std::to_string(WTERMSIG(st)) + " (" + strsignal(WTERMSIG(st)) + ")";
  return prog + " ended with wait status " + std::to_string(st);
}

}  // namespace xfa
