// source-pattern: Amanda's Source::Pattern — a byte pattern repeated up to `length` bytes.
#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "xfa/element.h"

namespace xfa {
namespace {

class SourcePattern final : public Element {
 public:
  explicit SourcePattern(const Props& p)
      : Element("source-pattern"), remaining_(p.get_int("length", 0)), endless_(remaining_ == 0),
        pattern_(p.get_string("pattern", "xfa")) {
    if (pattern_.empty()) throw std::invalid_argument("property \"pattern\" must not be empty");
  }

  MechPairs mech_pairs() const override { return {{Mech::kNone, Mech::kPullBuffer, 0, 0, 0}}; }

  BlockRef pull() override {
    if (cancelled() || (!endless_ && remaining_ == 0)) return {};
    BlockRef b = alloc_block();
    const size_t n = endless_ ? b->capacity() : static_cast<size_t>(std::min<int64_t>(remaining_, b->capacity()));
    for (size_t i = 0; i < n;) {
      const size_t k = std::min(n - i, pattern_.size() - pos_);
      std::memcpy(b->data() + i, pattern_.data() + pos_, k);
      i += k;
      pos_ = (pos_ + k) % pattern_.size();
    }
    b->set_size(n);
    if (!endless_) remaining_ -= static_cast<int64_t>(n);
    count_out(n);
    return b;
  }

 private:
  int64_t remaining_;
  const bool endless_;
  const std::string pattern_;
  size_t pos_ = 0;
};

const bool registered = register_element({
    "source-pattern",
    "source",
    "A byte pattern repeated to a given length",
    "Repeats `pattern` (its UTF-8 bytes) until `length` bytes have been produced; length=0 never ends.",
    {{"length", PropType::kSize, "0", 0, 9.0e18, false, "bytes to produce; 0 = endless"},
     {"pattern", PropType::kString, "xfa", 0, -1, false, "the bytes to repeat"}},
    {{Mech::kNone, Mech::kPullBuffer, 0, 0, 0}},
    "source-pattern length=1MiB pattern=abc ! dest-file path=/tmp/abc",
    [](const Props& p) { return std::make_unique<SourcePattern>(p); },
});

}  // namespace
}  // namespace xfa
