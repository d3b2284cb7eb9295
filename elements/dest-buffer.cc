// dest-buffer: Amanda's Dest::Buffer — keeps everything in memory for the caller, up to
// `max-size`; more than that is an error that fails the transfer.
#include "xfa/element.h"

namespace xfa {
namespace {

class DestBuffer final : public Element {
 public:
  explicit DestBuffer(const Props& p) : Element("dest-buffer"), max_(static_cast<uint64_t>(p.get_int("max-size", 1 << 20))) {}

  MechPairs mech_pairs() const override { return {{Mech::kPushBuffer, Mech::kNone, 1, 0, 0}}; }

  void push(BlockRef b) override {
    if (!b || cancelled() || over_) return;
    count_in(b->size());
    if (data_.size() + b->size() > max_) {
      over_ = true;
      fail(plain_error("push", "illegal attempt to transfer more than " + std::to_string(max_) + " bytes"));
      return;
    }
    data_.insert(data_.end(), b->data(), b->data() + b->size());
  }

  const std::vector<uint8_t>* result_bytes() const override { return &data_; }

 private:
  const uint64_t max_;
  std::vector<uint8_t> data_;
  bool over_ = false;
};

const bool registered = register_element({
    "dest-buffer",
    "dest",
    "Keeps the data in memory for the caller (up to max-size)",
    "Collects the stream in memory; read it with xfer.result() after the transfer. More than max-size "
    "bytes is an error.",
    {{"max-size", PropType::kSize, "1MiB", 0, 1073741824.0, false, "largest amount of data accepted"}},
    {{Mech::kPushBuffer, Mech::kNone, 1, 0, 0}},
    "source-pattern length=100 pattern=ab ! dest-buffer max-size=1KiB",
    [](const Props& p) { return std::make_unique<DestBuffer>(p); },
});

}  // namespace
}  // namespace xfa
