// source-process: runs a program (no shell) and streams its stdout — e.g. `tar -cf - -C DIR .`.
// stdin is /dev/null. The stdout pipe is created here; downstream reads it directly.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "process_runner.h"
#include "unique_fd.h"
#include "xfa/element.h"

namespace xfa {
namespace {

class SourceProcess final : public Element {
 public:
  explicit SourceProcess(const Props& p) : Element("source-process"), proc_(p) {}

  MechPairs mech_pairs() const override { return {{Mech::kNone, Mech::kReadFd, 1, 0, 1}}; }

  Status setup() override {
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) return sys_error("pipe", errno);
    out_r_.reset(p[0]);
    out_w_.reset(p[1]);
    return proc_.setup();
  }

  Status start() override {
    const Status s = proc_.spawn(-1, out_w_.get());
    out_w_.reset();  // the child's copy is the only writer: its exit is EOF
    return s;
  }

  int output_fd() override { return out_r_.get(); }
  void release_output() override { out_r_.reset(); }
  void run(int) override { proc_.supervise(*this); }
  void unblock() override { proc_.kill(); }
  void close() override {
    proc_.close();
    out_r_.reset();
    out_w_.reset();
  }

 private:
  ProcessRunner proc_;
  UniqueFd out_r_, out_w_;
};

const bool registered = register_element({
    "source-process",
    "source",
    "Runs a program and streams its stdout (e.g. tar -cf -)",
    "Starts `cmd` or `argv` (no shell) with stdin from /dev/null and streams its stdout. stderr lines "
    "become info messages; the exit policy is filter-process's.",
    ProcessRunner::prop_specs("tar -cf - -C /etc ."),
    {{Mech::kNone, Mech::kReadFd, 1, 0, 1}},
    "source-process cmd=\"tar -cf - -C /etc .\" ! filter-process cmd=\"gzip -1\" ! dest-file path=/tmp/etc.tar.gz",
    [](const Props& p) { return std::make_unique<SourceProcess>(p); },
});

}  // namespace
}  // namespace xfa
