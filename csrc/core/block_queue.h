// A bounded FIFO of blocks between a pusher and a puller on different threads (PUSH→PULL glue,
// element-internal hand-offs). put() blocks while full, take() while empty; close() marks EOF;
// cancel() (any thread, never blocks) makes both return at once from then on.
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>

#include "xfa/buffer.h"

namespace xfa {

class BlockQueue {
 public:
  explicit BlockQueue(size_t capacity) : capacity_(capacity) {}

  // false when cancelled (the block is dropped).
  bool put(BlockRef b) {
    std::unique_lock<std::mutex> lk(mu_);
    not_full_.wait(lk, [&] { return cancelled_ || q_.size() < capacity_; });
    if (cancelled_) return false;
    q_.push_back(std::move(b));
    not_empty_.notify_one();
    return true;
  }

  // An empty BlockRef at EOF or cancel.
  BlockRef take() {
    std::unique_lock<std::mutex> lk(mu_);
    not_empty_.wait(lk, [&] { return cancelled_ || closed_ || !q_.empty(); });
    if (cancelled_ || q_.empty()) return {};
    BlockRef b = std::move(q_.front());
    q_.pop_front();
    not_full_.notify_one();
    return b;
  }

  void close() {
    std::lock_guard<std::mutex> lk(mu_);
    closed_ = true;
    not_empty_.notify_all();
  }

  void cancel() {
    std::lock_guard<std::mutex> lk(mu_);
    cancelled_ = true;
    q_.clear();
    not_full_.notify_all();
    not_empty_.notify_all();
  }

 private:
  const size_t capacity_;
  std::mutex mu_;
  std::condition_variable not_full_;
  std::condition_variable not_empty_;
  std::deque<BlockRef> q_;
  bool closed_ = false;
  bool cancelled_ = false;
};

}  // namespace xfa
