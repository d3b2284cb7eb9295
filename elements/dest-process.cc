// dest-process: Amanda's Dest::Application — feeds the stream to a program's stdin (no shell),
// e.g. `tar -xf - -C DIR`; its stdout and stderr lines become info messages.
#include "process_runner.h"
#include "xfa/element.h"

namespace xfa {
namespace {

class DestProcess final : public Element {
 public:
  explicit DestProcess(const Props& p) : Element("dest-process"), proc_(p) {}

  MechPairs mech_pairs() const override { return {{Mech::kReadFd, Mech::kNone, 1, 0, 1}}; }
  Status setup() override { return proc_.setup(); }

  Status start() override {
    const Status s = proc_.spawn(upstream()->output_fd(), ProcessRunner::kStdoutToStderr);
    upstream()->release_output();
    return s;
  }

  void run(int) override { proc_.supervise(*this); }
  void unblock() override { proc_.kill(); }
  bool reports_early_close() const override { return true; }
  void close() override { proc_.close(); }

 private:
  ProcessRunner proc_;
};

const bool registered = register_element({
    "dest-process",
    "dest",
    "Feeds the stream to a program's stdin (e.g. tar -xf -)",
    "Starts `cmd` or `argv` (no shell) with the data on stdin. Its stdout and stderr lines become info "
    "messages; the exit policy is filter-process's.",
    ProcessRunner::prop_specs("tar -xf - -C /restore"),
    {{Mech::kReadFd, Mech::kNone, 1, 0, 1}},
    "source-file path=/tmp/etc.tar ! dest-process cmd=\"tar -xf - -C /tmp/restore\"",
    [](const Props& p) { return std::make_unique<DestProcess>(p); },
});

}  // namespace
}  // namespace xfa
