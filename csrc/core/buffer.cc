#include "xfa/buffer.h"

#include <cstdlib>
#include <map>

namespace xfa {

namespace {
constexpr size_t kAlign = 4096;
// Free blocks kept per pool before memory goes back to the system.
constexpr size_t kKeepBytes = 64u << 20;

std::mutex& pools_mu() {
  static std::mutex mu;
  return mu;
}
std::map<size_t, std::unique_ptr<BlockPool>>& pools() {
  static auto* p = new std::map<size_t, std::unique_ptr<BlockPool>>();  // never destroyed: blocks
  return *p;                                                           // may outlive statics
}
void destroy_block(Block* b);
}  // namespace

Block::Block(BlockPool* pool, size_t capacity)
    : pool_(pool), data_(static_cast<uint8_t*>(std::aligned_alloc(kAlign, capacity))), capacity_(capacity) {}

namespace {
void destroy_block(Block* b) {
  std::free(b->data());
  delete b;  // NOLINT: Block's destructor is private to BlockPool; this deleter is its only owner
}
}  // namespace

BlockRef::BlockRef(Block* b) : b_(b) { b_->refs_.fetch_add(1, std::memory_order_relaxed); }

BlockRef::BlockRef(const BlockRef& o) : b_(o.b_) {
  if (b_) b_->refs_.fetch_add(1, std::memory_order_relaxed);
}

void BlockRef::reset() {
  if (b_ && b_->refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) b_->pool_->release(b_);
  b_ = nullptr;
}

BlockPool::BlockPool(size_t block_size) : block_size_(block_size) {}
BlockPool::~BlockPool() = default;

BlockPool& BlockPool::for_size(size_t block_size) {
  const size_t sz = (block_size + kAlign - 1) / kAlign * kAlign;
  std::lock_guard<std::mutex> lk(pools_mu());
  auto& slot = pools()[sz];
  if (!slot) slot = std::make_unique<BlockPool>(sz);
  return *slot;
}

BlockRef BlockPool::acquire() {
  Block* b = nullptr;
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (!free_.empty()) {
      b = free_.back();
      free_.pop_back();
    } else {
      all_.emplace_back(new Block(this, block_size_), destroy_block);
      b = all_.back().get();
      ++allocated_;
    }
    ++outstanding_;
  }
  b->size_ = 0;
  b->slice_ = 0;
  b->slice_end_ = false;
  return BlockRef(b);
}

void BlockPool::release(Block* b) {
  std::lock_guard<std::mutex> lk(mu_);
  --outstanding_;
  if ((free_.size() + 1) * block_size_ <= kKeepBytes) {
    free_.push_back(b);
    return;
  }
  for (auto it = all_.begin(); it != all_.end(); ++it) {
    if (it->get() == b) {
      all_.erase(it);
      return;
    }
  }
}

BlockPool::Stats BlockPool::stats() const {
  std::lock_guard<std::mutex> lk(mu_);
  return {allocated_, outstanding_, free_.size()};
}

BlockPool::Stats BlockPool::total_stats() {
  Stats t{0, 0, 0};
  std::lock_guard<std::mutex> lk(pools_mu());
  for (auto& [sz, p] : pools()) {
    const Stats s = p->stats();
    t.allocated += s.allocated;
    t.outstanding += s.outstanding;
    t.free += s.free;
  }
  return t;
}

}  // namespace xfa
