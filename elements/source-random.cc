// source-random: Amanda's Source::Random — deterministic bytes from the simpleprng LCG.
// Passive: the downstream pulls blocks on its own thread. length 0 = endless (cancel it).
// rate=N (bytes/s) throttles it, for tests and benchmarks of slow sources: pull() sleeps until
// the bytes produced so far are due, in a poll() on the cancel fd, so a cancel still wakes it at
// once (the sleep is pacing, not a timeout).
#include <poll.h>

#include <chrono>
#include <stdexcept>

#include "lcg.h"
#include "xfa/element.h"

namespace xfa {
namespace {

class SourceRandom final : public Element {
 public:
  explicit SourceRandom(const Props& p)
      : Element("source-random"), remaining_(p.get_int("length", 0)), endless_(remaining_ == 0),
        state_(static_cast<uint32_t>(p.get_int("seed", 0))), rate_(p.get_int("rate", 0)) {
    if (state_ == 0) throw std::invalid_argument("property \"seed\" must be non-zero");
  }

  MechPairs mech_pairs() const override { return {{Mech::kNone, Mech::kPullBuffer, 0, 0, 0}}; }

  BlockRef pull() override {
    if (cancelled() || (!endless_ && remaining_ == 0)) return {};
    BlockRef b = alloc_block();
    const size_t n = endless_ ? b->capacity() : static_cast<size_t>(std::min<int64_t>(remaining_, b->capacity()));
    lcg_fill(state_, b->data(), n);
    b->set_size(n);
    if (!endless_) remaining_ -= static_cast<int64_t>(n);
    if (rate_ > 0 && !pace(n)) return {};
    count_out(n);
    return b;
  }

 private:
  // Waits until `produced_ + n` bytes are due at rate_; false when cancelled meanwhile.
  bool pace(size_t n) {
    using clock = std::chrono::steady_clock;
    if (produced_ == 0) t0_ = clock::now();
    produced_ += n;
    const auto due = t0_ + std::chrono::nanoseconds(static_cast<int64_t>(static_cast<double>(produced_) * 1e9 / static_cast<double>(rate_)));
    for (;;) {
      const auto now = clock::now();
      if (now >= due) return true;
      const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(due - now).count();
      const timespec ts{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
      pollfd pfd{cancel_fd(), POLLIN, 0};
      if (::ppoll(&pfd, 1, &ts, nullptr) > 0 || cancelled()) return false;
    }
  }

  int64_t remaining_;
  const bool endless_;
  uint32_t state_;
  const int64_t rate_;
  uint64_t produced_ = 0;
  std::chrono::steady_clock::time_point t0_;
};

const bool registered = register_element({
    "source-random",
    "source",
    "Deterministic pseudo-random bytes (Amanda's simpleprng LCG)",
    "Generates the byte stream of Amanda's Source::Random: a 32-bit LCG s = 1664525*s + 1013904223, each "
    "byte the top 8 bits of the next state. The same seed gives the same bytes, so dest-null seed=N can "
    "verify them. length=0 never ends: cancel the transfer to stop it. rate=50MB paces it to 50 MB/s.",
    {{"length", PropType::kSize, "0", 0, 9.0e18, false, "bytes to produce; 0 = endless"},
     {"seed", PropType::kInt, "", 1, 4294967295.0, true, "LCG seed, non-zero"},
     {"rate", PropType::kSize, "0", 0, 9.0e18, false, "bytes per second at most (a slow source for tests); 0 = as fast as asked"}},
    {{Mech::kNone, Mech::kPullBuffer, 0, 0, 0}},
    "source-random length=1GiB seed=42 ! dest-null seed=42",
    [](const Props& p) { return std::make_unique<SourceRandom>(p); },
});

}  // namespace
}  // namespace xfa
