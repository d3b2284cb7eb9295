// filter-xor: Amanda's Filter::Xor — XORs every byte with a key, in place (a test "cipher").
#include "xfa/element.h"

namespace xfa {
namespace {

class FilterXor final : public Element {
 public:
  explicit FilterXor(const Props& p) : Element("filter-xor"), key_(static_cast<uint8_t>(p.get_int("key", 0x55))) {}

  MechPairs mech_pairs() const override {
    return {{Mech::kPullBuffer, Mech::kPullBuffer, 1, 0, 0}, {Mech::kPushBuffer, Mech::kPushBuffer, 1, 0, 0}};
  }

  BlockRef pull() override {
    BlockRef b = cancelled() ? BlockRef() : upstream()->pull();
    if (b) apply(*b);
    return b;
  }

  void push(BlockRef b) override {
    if (b) {
      if (cancelled()) return;
      apply(*b);
    }
    downstream()->push(std::move(b));
  }

 private:
  void apply(Block& b) {
    count_in(b.size());
    uint8_t* d = b.data();
    for (size_t i = 0; i < b.size(); ++i) d[i] ^= key_;
    count_out(b.size());
  }
  const uint8_t key_;
};

const bool registered = register_element({
    "filter-xor",
    "filter",
    "XORs every byte with a key (Amanda's test filter)",
    "Applies byte ^= key in place. Applying it twice restores the input.",
    {{"key", PropType::kInt, "85", 0, 255, false, "the byte to XOR with"}},
    {{Mech::kPullBuffer, Mech::kPullBuffer, 1, 0, 0}, {Mech::kPushBuffer, Mech::kPushBuffer, 1, 0, 0}},
    "source-random length=1MiB seed=3 ! filter-xor key=7 ! filter-xor key=7 ! dest-null seed=3",
    [](const Props& p) { return std::make_unique<FilterXor>(p); },
});

}  // namespace
}  // namespace xfa
