// source-random: Amanda's Source::Random — deterministic bytes from the simpleprng LCG.
// Passive: the downstream pulls blocks on its own thread. length 0 = endless (cancel it).
#include <stdexcept>

#include "lcg.h"
#include "xfa/element.h"

namespace xfa {
namespace {

class SourceRandom final : public Element {
 public:
  explicit SourceRandom(const Props& p)
      : Element("source-random"), remaining_(p.get_int("length", 0)), endless_(remaining_ == 0),
        state_(static_cast<uint32_t>(p.get_int("seed", 0))) {
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
    count_out(n);
    return b;
  }

 private:
  int64_t remaining_;
  const bool endless_;
  uint32_t state_;
};

const bool registered = register_element({
    "source-random",
    "source",
    "Deterministic pseudo-random bytes (Amanda's simpleprng LCG)",
    "Generates the byte stream of Amanda's Source::Random: a 32-bit LCG s = 1664525*s + 1013904223, each "
    "byte the top 8 bits of the next state. The same seed gives the same bytes, so dest-null seed=N can "
    "verify them. length=0 never ends: cancel the transfer to stop it.",
    {{"length", PropType::kSize, "0", 0, 9.0e18, false, "bytes to produce; 0 = endless"},
     {"seed", PropType::kInt, "", 1, 4294967295.0, true, "LCG seed, non-zero"}},
    {{Mech::kNone, Mech::kPullBuffer, 0, 0, 0}},
    "source-random length=1GiB seed=42 ! dest-null seed=42",
    [](const Props& p) { return std::make_unique<SourceRandom>(p); },
});

}  // namespace
}  // namespace xfa
