// filter-process: Amanda's Filter::Process — runs a program (fork/exec, no shell) with the
// upstream's fd as its stdin and the downstream's fd as its stdout.
//
// Its one thread reads the child's stderr (each line becomes an `info` message, the last lines
// also go into the error text) and then waits for the exit. Exit policy: statuses in `ok-exit`
// succeed, those in `warn-exit` succeed with a warning (gzip's 2 = "trailing garbage ignored"),
// anything else, or death by a signal, fails the transfer. Cancel kills the child (SIGKILL: its
// output is being thrown away anyway) and it is always reaped — no zombies.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <deque>
#include <stdexcept>

#include "child.h"
#include "fdio.h"
#include "unique_fd.h"
#include "xfa/element.h"

namespace xfa {
namespace {

constexpr size_t kTailLines = 5;
constexpr size_t kMaxInfoLines = 100;

std::vector<int> parse_codes(const std::vector<std::string>& words) {
  std::vector<int> codes;
  for (const auto& w : words) {
    size_t start = 0;
    while (start <= w.size()) {
      const size_t comma = std::min(w.find(',', start), w.size());
      const std::string t = w.substr(start, comma - start);
      if (!t.empty()) {
        if (t.find_first_not_of("0123456789") != std::string::npos || t.size() > 3)
          throw std::invalid_argument("exit status \"" + t + "\" is not a number 0-255");
        codes.push_back(std::stoi(t));
      }
      start = comma + 1;
    }
  }
  return codes;
}

class FilterProcess final : public Element {
 public:
  explicit FilterProcess(const Props& p) : Element("filter-process") {
    argv_ = p.get_strings("argv");
    if (argv_.empty() && !split_command(p.get_string("cmd", ""), &argv_))
      throw std::invalid_argument("property \"cmd\": unterminated quote");
    if (argv_.empty()) throw std::invalid_argument("property \"cmd\" (or \"argv\") is required");
    ok_codes_ = p.has("ok-exit") ? parse_codes(p.get_strings("ok-exit")) : std::vector<int>{0};
    warn_codes_ = parse_codes(p.get_strings("warn-exit"));
  }

  MechPairs mech_pairs() const override { return {{Mech::kReadFd, Mech::kWriteFd, 1, 0, 1}}; }

  Status setup() override {
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) return sys_error("pipe", errno);
    err_r_.reset(p[0]);
    err_w_.reset(p[1]);
    set_nonblocking(p[0], true);
    return ok();
  }

  Status start() override {
    const Status s = child_.spawn(argv_, upstream()->output_fd(), downstream()->input_fd(), err_w_.get());
    err_w_.reset();
    // The child holds its own copies now; ours would keep pipes open and hide EOF.
    upstream()->release_output();
    downstream()->release_input();
    return s;
  }

  void run(int) override {
    if (!child_.running()) return;
    read_stderr();
    const int st = child_.wait();
    err_r_.reset();
    judge(st);
  }

  void unblock() override { child_.kill(SIGKILL); }

  void close() override {
    child_.kill(SIGKILL);
    child_.wait();
    err_r_.reset();
    err_w_.reset();
  }

 private:
  void read_stderr() {
    char buf[4096];
    std::string line;
    for (;;) {
      const IoResult r = read_some(err_r_.get(), buf, sizeof buf, cancel_fd());
      if (r.status != IoStatus::kOk) break;
      for (size_t i = 0; i < r.n; ++i) {
        if (buf[i] != '\n') {
          if (line.size() < 4096) line += buf[i];
          continue;
        }
        stderr_line(line);
        line.clear();
      }
    }
    if (!line.empty()) stderr_line(line);
  }

  void stderr_line(const std::string& line) {
    tail_.push_back(line);
    if (tail_.size() > kTailLines) tail_.pop_front();
    if (++lines_ <= kMaxInfoLines) post(msg(MsgType::kInfo).set("message", argv_[0] + ": " + line).set("stderr", true));
  }

  void judge(int st) {
    if (cancelled()) return;  // the kill was ours
    const std::string what = describe_exit(argv_[0], st);
    const int code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    const auto has = [code](const std::vector<int>& v) { return std::find(v.begin(), v.end(), code) != v.end(); };
    if (code >= 0 && has(ok_codes_)) {
      post(msg(MsgType::kInfo).set("message", what).set("exitStatus", int64_t{code}));
    } else if (code >= 0 && has(warn_codes_)) {
      post(msg(MsgType::kInfo).set("message", "warning: " + what).set("exitStatus", int64_t{code}).set("warning", true));
    } else {
      std::string detail = what;
      for (const auto& l : tail_) detail += "\n  " + l;
      fail(plain_error("run " + argv_[0], detail));
    }
  }

  std::vector<std::string> argv_;
  std::vector<int> ok_codes_, warn_codes_;
  Child child_;
  UniqueFd err_r_, err_w_;
  std::deque<std::string> tail_;
  size_t lines_ = 0;
};

const bool registered = register_element({
    "filter-process",
    "filter",
    "Runs a program as a filter (stdin → stdout), no shell",
    "Starts `cmd` (split into words like a shell would, but with no expansion) or `argv` with the "
    "upstream data on stdin and its stdout going downstream. stderr lines become info messages. Exit "
    "statuses in ok-exit succeed, those in warn-exit succeed with a warning, others fail the transfer. "
    "Cancel kills the program.",
    {{"cmd", PropType::kString, "", 0, -1, false, "the command line, e.g. \"zstd -1 -c\""},
     {"argv", PropType::kStrings, "", 0, -1, false, "the argument vector, instead of cmd"},
     {"ok-exit", PropType::kStrings, "0", 0, -1, false, "exit statuses that mean success, e.g. 0,1"},
     {"warn-exit", PropType::kStrings, "", 0, -1, false, "exit statuses that succeed with a warning, e.g. 2 for gzip -d"}},
    {{Mech::kReadFd, Mech::kWriteFd, 1, 0, 1}},
    "source-file path=/etc/services ! filter-process cmd=\"gzip -c\" ! dest-file path=/tmp/services.gz",
    [](const Props& p) { return std::make_unique<FilterProcess>(p); },
});

}  // namespace
}  // namespace xfa
