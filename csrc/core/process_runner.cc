#include "process_runner.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <stdexcept>

#include "fdio.h"

namespace xfa {

namespace {
constexpr size_t kTailLines = 5;
constexpr size_t kMaxInfoLines = 100;
constexpr size_t kMaxLine = 4096;

}  // namespace

std::vector<int> parse_exit_codes(const std::vector<std::string>& words) {
  std::vector<int> codes;
  for (const auto& w : words) {
    size_t start = 0;
    while (start <= w.size()) {
      const size_t comma = std::min(w.find(',', start), w.size());
      const std::string t = w.substr(start, comma - start);
      if (!t.empty()) {
        if (t.find_first_not_of("0123456789") != std::string::npos || t.size() > 3 || std::stoi(t) > 255)
          throw std::invalid_argument("exit status \"" + t + "\" is not a number 0-255");
        codes.push_back(std::stoi(t));
      }
      start = comma + 1;
    }
  }
  return codes;
}

std::vector<std::string> command_from_props(const Props& p) {
  std::vector<std::string> argv = p.get_strings("argv");
  if (argv.empty() && !split_command(p.get_string("cmd", ""), &argv))
    throw std::invalid_argument("property \"cmd\": unterminated quote");
  if (argv.empty()) throw std::invalid_argument("property \"cmd\" (or \"argv\") is required");
  return argv;
}

ProcessRunner::ProcessRunner(const Props& p) : argv_(command_from_props(p)) {
  ok_codes_ = p.has("ok-exit") ? parse_exit_codes(p.get_strings("ok-exit")) : std::vector<int>{0};
  warn_codes_ = parse_exit_codes(p.get_strings("warn-exit"));
}

std::vector<PropSpec> ProcessRunner::prop_specs(const std::string& example_cmd) {
  return {{"cmd", PropType::kString, "", 0, -1, false, "the command line, e.g. \"" + example_cmd + "\" (no shell)"},
          {"argv", PropType::kStrings, "", 0, -1, false, "the argument vector, instead of cmd"},
          {"ok-exit", PropType::kStrings, "0", 0, -1, false, "exit statuses that mean success, e.g. 0,1"},
          {"warn-exit", PropType::kStrings, "", 0, -1, false, "exit statuses that succeed with a warning, e.g. 2 for gzip -d"}};
}

Status ProcessRunner::setup() {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return sys_error("pipe", errno);
  err_r_.reset(p[0]);
  err_w_.reset(p[1]);
  set_nonblocking(p[0], true);
  return ok();
}

Status ProcessRunner::spawn(int in, int out) {
  const Status s = child_.spawn(argv_, in, out == kStdoutToStderr ? err_w_.get() : out, err_w_.get());
  err_w_.reset();
  return s;
}

void ProcessRunner::supervise(Element& owner) {
  if (!child_.running()) return;
  read_stderr(owner);
  const int st = child_.wait();
  err_r_.reset();
  judge(owner, st);
}

void ProcessRunner::kill() { child_.kill(SIGKILL); }

void ProcessRunner::close() {
  child_.kill(SIGKILL);
  child_.wait();
  err_r_.reset();
  err_w_.reset();
}

void ProcessRunner::read_stderr(Element& owner) {
  char buf[4096];
  std::string line;
  for (;;) {
    const IoResult r = read_some(err_r_.get(), buf, sizeof buf, owner.cancel_fd());
    if (r.status != IoStatus::kOk) break;
    for (size_t i = 0; i < r.n; ++i) {
      if (buf[i] != '\n') {
        if (line.size() < kMaxLine) line += buf[i];
        continue;
      }
      stderr_line(owner, line);
      line.clear();
    }
  }
  if (!line.empty()) stderr_line(owner, line);
}

void ProcessRunner::stderr_line(Element& owner, const std::string& line) {
  tail_.push_back(line);
  if (tail_.size() > kTailLines) tail_.pop_front();
  if (++lines_ <= kMaxInfoLines)
    owner.post(owner.msg(MsgType::kInfo).set("message", argv_[0] + ": " + line).set("stderr", true));
}

void ProcessRunner::judge(Element& owner, int st) {
  if (owner.cancelled()) return;  // the kill was ours
  const std::string what = describe_exit(argv_[0], st);
  const int code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  const auto has = [code](const std::vector<int>& v) { return std::find(v.begin(), v.end(), code) != v.end(); };
  if (code >= 0 && has(ok_codes_)) {
    owner.post(owner.msg(MsgType::kInfo).set("message", what).set("exit_status", int64_t{code}));
  } else if (code >= 0 && has(warn_codes_)) {
    owner.post(owner.msg(MsgType::kInfo).set("message", "warning: " + what).set("exit_status", int64_t{code}).set("warning", true));
  } else {
    std::string detail = what;
    for (const auto& l : tail_) detail += "\n  " + l;
    owner.fail(plain_error("run " + argv_[0], detail));
  }
}

}  // namespace xfa
