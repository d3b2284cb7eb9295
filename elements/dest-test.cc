// dest-test: receives through ONE chosen mechanism, in seeded random read sizes, and verifies
// that the bytes are exactly source-random's stream for `seed`, `length` bytes long. The test
// destination of the generated glue matrix.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>

#include "crc32c.h"
#include "fdio.h"
#include "lcg.h"
#include "test_mech.h"
#include "unique_fd.h"
#include "xfa/element.h"

namespace xfa {
namespace {

class DestTest final : public Element {
 public:
  explicit DestTest(const Props& p)
      : Element("dest-test"), mech_(parse_test_mech(p.get_string("mech", "PUSH_BUFFER"))),
        length_(static_cast<uint64_t>(p.get_int("length", 1 << 20))), state_(static_cast<uint32_t>(p.get_int("seed", 1))),
        rng_(static_cast<uint32_t>(p.get_int("chunk-seed", 2))), max_chunk_(static_cast<size_t>(p.get_int("max-chunk", 100000))) {}

  MechPairs mech_pairs() const override {
    const uint32_t threads = mech_ == Mech::kPushBuffer ? 0 : 1;
    return {{mech_, Mech::kNone, 0, 0, threads}};
  }

  Status setup() override {
    if (mech_ != Mech::kWriteFd) return ok();
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) return sys_error("pipe", errno);
    r_.reset(p[0]);
    w_.reset(p[1]);
    set_nonblocking(p[0], true);
    return ok();
  }

  int input_fd() override { return w_.get(); }
  void release_input() override { w_.reset(); }

  void push(BlockRef b) override {
    if (!b) return finish();
    if (!cancelled()) check(b->data(), b->size());
  }

  void run(int) override {
    if (mech_ == Mech::kPullBuffer) {
      while (BlockRef b = upstream()->pull()) check(b->data(), b->size());
      return finish();
    }
    const int fd = mech_ == Mech::kReadFd ? upstream()->output_fd() : r_.get();
    BlockRef buf = alloc_block();
    for (;;) {
      const size_t want = std::uniform_int_distribution<size_t>(1, std::min(buf->capacity(), max_chunk_))(rng_);
      const IoResult r = read_some(fd, buf->data(), want, cancel_fd());
      if (r.status == IoStatus::kError) fail(sys_error("read", r.err));
      if (r.status != IoStatus::kOk) break;
      check(buf->data(), r.n);
    }
    if (mech_ == Mech::kReadFd) upstream()->release_output();
    else r_.reset();
    finish();
  }

  void close() override {
    r_.reset();
    w_.reset();
    expected_.reset();
  }

 private:
  void check(const uint8_t* data, size_t n) {
    count_in(n);
    crc_ = crc32c_update(crc_, data, n);
    if (bad_) return;
    if (!expected_) expected_ = alloc_block();
    for (size_t done = 0; done < n;) {
      const size_t k = std::min(n - done, expected_->capacity());
      lcg_fill(state_, expected_->data(), k);
      if (std::memcmp(expected_->data(), data + done, k) != 0) {
        bad_ = true;
        return fail(plain_error("verify", "bytes differ from the expected stream near offset " + std::to_string(got_ + done)));
      }
      done += k;
    }
    got_ += n;
  }

  void finish() {
    if (cancelled() || bad_) return;
    if (got_ != length_) {
      return fail(plain_error("verify", "received " + std::to_string(got_) + " bytes, expected " + std::to_string(length_)));
    }
    post(msg(MsgType::kCrc).set("crc", crc_hex(crc32c_final(crc_))).set("size", static_cast<int64_t>(got_)));
  }

  const Mech mech_;
  const uint64_t length_;
  uint32_t state_;
  std::mt19937 rng_;
  const size_t max_chunk_;
  UniqueFd r_, w_;
  BlockRef expected_;
  uint32_t crc_ = crc32c_init();
  uint64_t got_ = 0;
  bool bad_ = false;
};

const bool registered = register_element({
    "dest-test",
    "dest",
    "Test destination: verifies source-random's bytes received through one chosen mechanism",
    "Receives through the mechanism `mech` in random read sizes and checks every byte against the "
    "source-random stream for `seed` and the total against `length`; posts the CRC32C at the end.",
    {{"mech", PropType::kString, "PUSH_BUFFER", 0, -1, false, "READFD, WRITEFD, PULL_BUFFER or PUSH_BUFFER"},
     {"length", PropType::kSize, "1MiB", 0, 9.0e18, false, "bytes expected"},
     {"seed", PropType::kInt, "1", 1, 4294967295.0, false, "LCG seed"},
     {"chunk-seed", PropType::kInt, "2", 0, 4294967295.0, false, "seed of the read-size generator"},
     {"max-chunk", PropType::kSize, "100000", 1, 1073741824.0, false, "largest read"}},
    {{Mech::kReadFd, Mech::kNone, 0, 0, 1}, {Mech::kWriteFd, Mech::kNone, 0, 0, 1},
     {Mech::kPullBuffer, Mech::kNone, 0, 0, 1}, {Mech::kPushBuffer, Mech::kNone, 0, 0, 0}},
    "source-test mech=PULL_BUFFER length=1MiB seed=5 ! dest-test mech=WRITEFD length=1MiB seed=5",
    [](const Props& p) { return std::make_unique<DestTest>(p); },
});

}  // namespace
}  // namespace xfa
