// dest-null: Amanda's Dest::Null — discards its input; with seed=N verifies that the bytes are
// source-random's stream for that seed and reports the first mismatching offset.
#include <cstring>

#include "crc32c.h"
#include "lcg.h"
#include "xfa/element.h"

namespace xfa {
namespace {

class DestNull final : public Element {
 public:
  explicit DestNull(const Props& p) : Element("dest-null"), state_(static_cast<uint32_t>(p.get_int("seed", 0))) {}

  MechPairs mech_pairs() const override {
    return {{Mech::kPushBuffer, Mech::kNone, 0, 0, 0}, {Mech::kPullBuffer, Mech::kNone, 0, 0, 1}};
  }

  void push(BlockRef b) override {
    if (!b) return finish();
    if (!cancelled()) consume(*b);
  }

  void run(int) override {
    while (BlockRef b = upstream()->pull()) consume(*b);
    finish();
  }

  void close() override { expected_.reset(); }

 private:
  void consume(const Block& b) {
    count_in(b.size());
    crc_ = crc32c_update(crc_, b.data(), b.size());
    if (state_ != 0 && !mismatch_) verify(b);
    offset_ += b.size();
  }

  void verify(const Block& b) {
    if (!expected_) expected_ = alloc_block();
    for (size_t done = 0; done < b.size();) {
      const size_t n = std::min(b.size() - done, expected_->capacity());
      lcg_fill(state_, expected_->data(), n);
      if (std::memcmp(expected_->data(), b.data() + done, n) != 0) {
        size_t i = 0;
        while (expected_->data()[i] == b.data()[done + i]) ++i;
        mismatch_ = true;
        fail(plain_error("verify", "verification of incoming bytestream failed at offset " +
                                       std::to_string(offset_ + done + i)));
        return;
      }
      done += n;
    }
  }

  void finish() {
    if (finished_) return;
    finished_ = true;
    if (cancelled()) return;
    post(msg(MsgType::kCrc).set("crc", crc_hex(crc32c_final(crc_))).set("size", static_cast<int64_t>(offset_)));
  }

  uint32_t state_;
  uint32_t crc_ = crc32c_init();
  uint64_t offset_ = 0;
  bool mismatch_ = false;
  bool finished_ = false;
  BlockRef expected_;
};

const bool registered = register_element({
    "dest-null",
    "dest",
    "Discards its input; optionally verifies source-random's bytes",
    "Throws the data away and reports its CRC32C. With seed=N (non-zero) every byte is checked against "
    "source-random seed=N; the first mismatch fails the transfer with its offset.",
    {{"seed", PropType::kInt, "0", 0, 4294967295.0, false, "verify against source-random with this seed; 0 = no check"}},
    {{Mech::kPushBuffer, Mech::kNone, 0, 0, 0}, {Mech::kPullBuffer, Mech::kNone, 0, 0, 1}},
    "source-random length=1GiB seed=7 ! dest-null seed=7",
    [](const Props& p) { return std::make_unique<DestNull>(p); },
});

}  // namespace
}  // namespace xfa
