// filter-crc: Amanda's Filter::Crc — passes data through unchanged and reports its CRC32C
// (crc:size) in a `crc` message at EOF.
#include "crc32c.h"
#include "xfa/element.h"

namespace xfa {
namespace {

class FilterCrc final : public Element {
 public:
  explicit FilterCrc(const Props&) : Element("filter-crc") {}

  MechPairs mech_pairs() const override {
    return {{Mech::kPullBuffer, Mech::kPullBuffer, 0, 0, 0}, {Mech::kPushBuffer, Mech::kPushBuffer, 0, 0, 0}};
  }

  BlockRef pull() override {
    BlockRef b = cancelled() ? BlockRef() : upstream()->pull();
    if (b) {
      add(*b);
    } else {
      report();
    }
    return b;
  }

  void push(BlockRef b) override {
    if (b) {
      if (cancelled()) return;
      add(*b);
    } else {
      report();
    }
    downstream()->push(std::move(b));
  }

 private:
  void add(const Block& b) {
    crc_ = crc32c_update(crc_, b.data(), b.size());
    size_ += b.size();
    count_in(b.size());
    count_out(b.size());
  }
  void report() {
    if (reported_ || cancelled()) return;
    reported_ = true;
    post(msg(MsgType::kCrc).set("crc", crc_hex(crc32c_final(crc_))).set("size", static_cast<int64_t>(size_)));
  }
  uint32_t crc_ = crc32c_init();
  uint64_t size_ = 0;
  bool reported_ = false;
};

const bool registered = register_element({
    "filter-crc",
    "filter",
    "Passes data through and reports its CRC32C",
    "Computes CRC32C (Castagnoli) of the stream with the CPU's crc32 instruction when it has one, and "
    "posts a `crc` message (crc, size) at EOF.",
    {},
    {{Mech::kPullBuffer, Mech::kPullBuffer, 0, 0, 0}, {Mech::kPushBuffer, Mech::kPushBuffer, 0, 0, 0}},
    "source-file path=/etc/hosts ! filter-crc ! dest-null",
    [](const Props& p) { return std::make_unique<FilterCrc>(p); },
});

}  // namespace
}  // namespace xfa
