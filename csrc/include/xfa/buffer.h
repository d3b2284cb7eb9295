// Pooled, reference-counted blocks: the unit that PULL_BUFFER and PUSH_BUFFER edges carry.
//
// A Block is a fixed-capacity byte array owned by a BlockPool. BlockRef is an intrusive smart
// pointer; when the last reference goes, the block returns to its pool's free list, so the data
// path allocates nothing once the pool is warm. Blocks are 4 KiB aligned (O_DIRECT-friendly).
//
// Threads: any thread may acquire or drop blocks. A block is meant to be owned by one element at a
// time; a filter that holds the only reference may modify it in place.
// EOF on a buffer edge is an empty BlockRef (no block), never a block of size 0.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace xfa {

class BlockPool;

class Block {
 public:
  uint8_t* data() { return data_; }
  const uint8_t* data() const { return data_; }
  size_t capacity() const { return capacity_; }
  size_t size() const { return size_; }
  void set_size(size_t n) { size_ = n <= capacity_ ? n : capacity_; }

  // Slices (DESIGN.md §4): the stream on a buffer edge is cut into numbered slices, and a block
  // never spans two of them. `slice` is the number of the slice the block belongs to; the last
  // block of a slice has slice_end set. A stream whose producer does not cut has slice 0 and no
  // ends until EOF (EOF also ends the current slice). fd edges carry no slice marks.
  uint64_t slice() const { return slice_; }
  bool slice_end() const { return slice_end_; }
  void set_slice(uint64_t n, bool end) {
    slice_ = n;
    slice_end_ = end;
  }

 private:
  friend class BlockPool;
  friend class BlockRef;
  Block(BlockPool* pool, size_t capacity);
  BlockPool* pool_;
  uint8_t* data_;
  size_t capacity_;
  size_t size_ = 0;
  uint64_t slice_ = 0;
  bool slice_end_ = false;
  std::atomic<int> refs_{0};
};

class BlockRef {
 public:
  BlockRef() = default;
  BlockRef(const BlockRef& o);
  BlockRef(BlockRef&& o) noexcept : b_(o.b_) { o.b_ = nullptr; }
  BlockRef& operator=(BlockRef o) noexcept {
    std::swap(b_, o.b_);
    return *this;
  }
  ~BlockRef() { reset(); }

  explicit operator bool() const { return b_ != nullptr; }
  Block* operator->() const { return b_; }
  Block& operator*() const { return *b_; }
  Block* get() const { return b_; }
  void reset();

 private:
  friend class BlockPool;
  explicit BlockRef(Block* b);
  Block* b_ = nullptr;
};

// One pool per block size. acquire() never blocks: it reuses a free block or allocates a new one
// (that allocation is the pool warming up; back-pressure comes from bounded queues, not from the
// pool). Free blocks above `keep_bytes` are released to the system.
class BlockPool {
 public:
  // The process-wide pool for `block_size` bytes (rounded up to 4 KiB).
  static BlockPool& for_size(size_t block_size);

  BlockRef acquire();
  size_t block_size() const { return block_size_; }

  struct Stats {
    uint64_t allocated;    // blocks ever allocated from the system
    uint64_t outstanding;  // blocks currently referenced
    uint64_t free;         // blocks on the free list
  };
  Stats stats() const;
  // Summed over every pool.
  static Stats total_stats();

  explicit BlockPool(size_t block_size);
  ~BlockPool();
  BlockPool(const BlockPool&) = delete;
  BlockPool& operator=(const BlockPool&) = delete;

 private:
  friend class BlockRef;
  void release(Block* b);

  const size_t block_size_;
  mutable std::mutex mu_;
  std::vector<Block*> free_;
  std::vector<std::unique_ptr<Block, void (*)(Block*)>> all_;
  uint64_t allocated_ = 0;
  uint64_t outstanding_ = 0;
};

}  // namespace xfa
