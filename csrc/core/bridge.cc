#include "bridge.h"

#include <algorithm>
#include <cstring>

namespace xfa {

BridgeElement::BridgeElement(std::string kind, BridgeRole role, size_t window)
    : Element(std::move(kind)), role_(role), window_(std::max<size_t>(window, 1)) {}

MechPairs BridgeElement::mech_pairs() const {
  switch (role_) {
    case BridgeRole::kSource: return {{Mech::kNone, Mech::kPullBuffer, 1, 0, 1}};
    case BridgeRole::kDest: return {{Mech::kPushBuffer, Mech::kNone, 0, 0, 1}};
    case BridgeRole::kFilter: break;
  }
  return {{Mech::kPushBuffer, Mech::kPullBuffer, 1, 0, 1}};
}

Status BridgeElement::start() {
  if (port_) port_->start();
  return ok();
}

void BridgeElement::push(BlockRef b) {
  if (!b) {
    if (!cancelled() && port_) port_->end();
    return;
  }
  uint64_t id;
  {
    std::unique_lock<std::mutex> lk(mu_);
    cv_.wait(lk, [&] { return cancelled() || in_flight_.size() < window_; });
    if (cancelled()) return;
    id = next_id_++;
    in_flight_.emplace(id, b);
  }
  count_in(b->size());
  port_->block(id, b);
}

BlockRef BridgeElement::pull() {
  BlockRef b;
  bool drain = false;
  {
    std::unique_lock<std::mutex> lk(mu_);
    cv_.wait(lk, [&] { return cancelled() || out_eof_ || !out_.empty(); });
    if (cancelled() || out_.empty()) return {};
    b = std::move(out_.front());
    out_.pop_front();
    if (want_drain_ && out_.size() < window_) {
      want_drain_ = false;
      drain = true;
    }
  }
  if (drain && port_) port_->drain();
  count_out(b->size());
  return b;
}

void BridgeElement::run(int) {
  std::unique_lock<std::mutex> lk(mu_);
  cv_.wait(lk, [&] { return js_done_ || port_ == nullptr; });
}

void BridgeElement::unblock() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    out_.clear();
  }
  cv_.notify_all();
  if (port_) port_->cancel();
}

void BridgeElement::close() {
  std::lock_guard<std::mutex> lk(mu_);
  if (closed_) return;
  closed_ = true;
  in_flight_.clear();
  out_.clear();
  if (port_) port_->close();
}

void BridgeElement::js_release(uint64_t id) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    in_flight_.erase(id);
  }
  cv_.notify_all();
}

int BridgeElement::js_write(const uint8_t* data, size_t n) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    // Nobody will read it. Saying so matters: a producer told "accepted" forever would spin on
    // resolved promises and starve the event loop of the cancel event.
    if (closed_ || out_eof_ || cancelled()) return -1;
    if (out_.size() >= window_) {
      want_drain_ = true;
      return 0;
    }
    while (n > 0) {
      BlockRef b = alloc_block();
      const size_t k = std::min(n, b->capacity());
      std::memcpy(b->data(), data, k);
      b->set_size(k);
      out_.push_back(std::move(b));
      data += k;
      n -= k;
    }
  }
  cv_.notify_all();
  return 1;
}

void BridgeElement::js_end() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    out_eof_ = true;
  }
  cv_.notify_all();
}

void BridgeElement::js_done() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    js_done_ = true;
    out_eof_ = true;
  }
  cv_.notify_all();
}

void BridgeElement::js_error(const std::string& op, const std::string& message) {
  fail(plain_error(op, message));
}

}  // namespace xfa
