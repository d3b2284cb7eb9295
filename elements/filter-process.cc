// filter-process: Amanda's Filter::Process — runs a program (no shell) with the upstream's fd as
// its stdin and the downstream's fd as its stdout. Its one thread reads the child's stderr and
// waits for the exit; the exit policy and cancel behaviour are ProcessRunner's.
#include "process_runner.h"
#include "xfa/element.h"

namespace xfa {
namespace {

class FilterProcess final : public Element {
 public:
  explicit FilterProcess(const Props& p) : Element("filter-process"), proc_(p) {}

  MechPairs mech_pairs() const override { return {{Mech::kReadFd, Mech::kWriteFd, 1, 0, 1}}; }
  Status setup() override { return proc_.setup(); }

  Status start() override {
    const Status s = proc_.spawn(upstream()->output_fd(), downstream()->input_fd());
    // The child holds its own copies now; ours would keep pipes open and hide EOF.
    upstream()->release_output();
    downstream()->release_input();
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
    "filter-process",
    "filter",
    "Runs a program as a filter (stdin → stdout), no shell",
    "Starts `cmd` (split into words like a shell would, but with no expansion) or `argv` with the "
    "upstream data on stdin and its stdout going downstream. stderr lines become info messages. Exit "
    "statuses in ok-exit succeed, those in warn-exit succeed with a warning, others fail the transfer. "
    "Cancel kills the program.",
    ProcessRunner::prop_specs("gzip -c"),
    {{Mech::kReadFd, Mech::kWriteFd, 1, 0, 1}},
    "source-file path=/etc/services ! filter-process cmd=\"gzip -c\" ! dest-file path=/tmp/services.gz",
    [](const Props& p) { return std::make_unique<FilterProcess>(p); },
});

}  // namespace
}  // namespace xfa
