// source-test: source-random's byte stream delivered through ONE chosen mechanism, in seeded
// random chunk sizes — the test source of the generated glue matrix (Amanda's xfer-test.c had one
// per mechanism). mech=READFD|WRITEFD|PULL_BUFFER|PUSH_BUFFER.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <random>
#include <stdexcept>

#include "fdio.h"
#include "lcg.h"
#include "test_mech.h"
#include "unique_fd.h"
#include "xfa/element.h"

namespace xfa {
namespace {

class SourceTest final : public Element {
 public:
  explicit SourceTest(const Props& p)
      : Element("source-test"), mech_(parse_test_mech(p.get_string("mech", "PULL_BUFFER"))),
        remaining_(p.get_int("length", 1 << 20)), endless_(remaining_ == 0), state_(static_cast<uint32_t>(p.get_int("seed", 1))),
        rng_(static_cast<uint32_t>(p.get_int("chunk-seed", 1))), max_chunk_(static_cast<size_t>(p.get_int("max-chunk", 100000))) {
    if (state_ == 0) throw std::invalid_argument("property \"seed\" must be non-zero");
  }

  MechPairs mech_pairs() const override {
    const uint32_t threads = mech_ == Mech::kPullBuffer ? 0 : 1;
    return {{Mech::kNone, mech_, 0, 0, threads}};
  }

  Status setup() override {
    if (mech_ != Mech::kReadFd) return ok();
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) return sys_error("pipe", errno);
    r_.reset(p[0]);
    w_.reset(p[1]);
    set_nonblocking(p[1], true);
    return ok();
  }

  int output_fd() override { return r_.get(); }
  void release_output() override { r_.reset(); }

  BlockRef pull() override { return cancelled() ? BlockRef() : next(); }

  void run(int) override {
    if (mech_ == Mech::kPushBuffer) {
      while (BlockRef b = cancelled() ? BlockRef() : next()) downstream()->push(b);
      downstream()->push({});
      return;
    }
    const int fd = mech_ == Mech::kReadFd ? w_.get() : downstream()->input_fd();
    while (BlockRef b = cancelled() ? BlockRef() : next()) {
      const IoResult r = write_all(fd, b->data(), b->size(), cancel_fd());
      if (r.status == IoStatus::kError) fail(sys_error("write", r.err));
      if (r.status != IoStatus::kOk) break;
    }
    if (mech_ == Mech::kReadFd) w_.reset();
    else downstream()->release_input();
  }

  void close() override {
    r_.reset();
    w_.reset();
  }

 private:
  BlockRef next() {
    if (!endless_ && remaining_ <= 0) return {};
    BlockRef b = alloc_block();
    const size_t cap = std::min(b->capacity(), max_chunk_);
    size_t n = std::uniform_int_distribution<size_t>(1, cap)(rng_);
    if (!endless_) n = std::min<int64_t>(remaining_, n);
    lcg_fill(state_, b->data(), n);
    b->set_size(n);
    remaining_ -= static_cast<int64_t>(n);
    count_out(n);
    return b;
  }

  const Mech mech_;
  int64_t remaining_;
  const bool endless_;
  uint32_t state_;
  std::mt19937 rng_;
  const size_t max_chunk_;
  UniqueFd r_, w_;
};

const bool registered = register_element({
    "source-test",
    "source",
    "Test source: source-random's bytes through one chosen mechanism, random chunk sizes",
    "Produces the source-random stream for `seed` through the mechanism `mech`, in chunk sizes drawn "
    "from a generator seeded by chunk-seed. Used to test every glue path.",
    {{"mech", PropType::kString, "PULL_BUFFER", 0, -1, false, "READFD, WRITEFD, PULL_BUFFER or PUSH_BUFFER"},
     {"length", PropType::kSize, "1MiB", 0, 9.0e18, false, "bytes to produce; 0 = endless"},
     {"seed", PropType::kInt, "1", 1, 4294967295.0, false, "LCG seed"},
     {"chunk-seed", PropType::kInt, "1", 0, 4294967295.0, false, "seed of the chunk-size generator"},
     {"max-chunk", PropType::kSize, "100000", 1, 1073741824.0, false, "largest chunk"}},
    {{Mech::kNone, Mech::kReadFd, 0, 0, 1}, {Mech::kNone, Mech::kWriteFd, 0, 0, 1},
     {Mech::kNone, Mech::kPullBuffer, 0, 0, 0}, {Mech::kNone, Mech::kPushBuffer, 0, 0, 1}},
    "source-test mech=PUSH_BUFFER length=1MiB seed=5 ! dest-test mech=READFD length=1MiB seed=5",
    [](const Props& p) { return std::make_unique<SourceTest>(p); },
});

}  // namespace
}  // namespace xfa
