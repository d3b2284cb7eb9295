#include "mux_channel.h"

#include <map>

namespace xfa {

namespace {
std::mutex registry_mu;  // leaf lock
std::map<uint64_t, std::weak_ptr<Channel>>& registry() {
  static std::map<uint64_t, std::weak_ptr<Channel>> r;
  return r;
}
uint64_t next_id = 1;
}  // namespace

uint64_t register_channel(const std::shared_ptr<Channel>& c) {
  std::lock_guard<std::mutex> lk(registry_mu);
  auto& r = registry();
  for (auto it = r.begin(); it != r.end();) it = it->second.expired() ? r.erase(it) : std::next(it);
  c->id_ = next_id++;
  r[c->id_] = c;
  return c->id_;
}

std::shared_ptr<Channel> find_channel(uint64_t id) {
  std::lock_guard<std::mutex> lk(registry_mu);
  auto it = registry().find(id);
  return it == registry().end() ? nullptr : it->second.lock();
}

// ----- MuxChannel -----------------------------------------------------------------------------

MuxChannel::MuxChannel(size_t streams, size_t queue_blocks) : capacity_(queue_blocks ? queue_blocks : 1), streams_(streams) {}

bool MuxChannel::put(size_t k, BlockRef b, uint32_t checksum, std::string* why) {
  std::unique_lock<std::mutex> lk(mu_);
  Stream& s = streams_.at(k);
  cv_.wait(lk, [&] { return gone_ || s.cancelled || s.ended || s.q.size() < capacity_; });
  if (gone_) {
    if (why) *why = why_;
    return false;
  }
  if (s.cancelled || s.ended) return false;
  s.q.emplace_back(std::move(b), checksum);
  cv_.notify_all();
  return true;
}

void MuxChannel::producer_cancel(size_t k) {
  std::lock_guard<std::mutex> lk(mu_);
  streams_.at(k).cancelled = true;
  cv_.notify_all();
}

void MuxChannel::end(size_t k, bool ok) {
  std::lock_guard<std::mutex> lk(mu_);
  Stream& s = streams_.at(k);
  if (s.ended) return;
  s.ended = true;
  s.ok = ok;
  cv_.notify_all();
}

MuxChannel::Item MuxChannel::next() {
  std::unique_lock<std::mutex> lk(mu_);
  Item it;
  it.kind = Item::kCancelled;
  cv_.wait(lk, [&] {
    if (gone_) return true;
    if (emitted_ == streams_.size()) {
      it.kind = Item::kAllDone;
      return true;
    }
    for (size_t i = 0; i < streams_.size(); ++i) {
      const size_t k = (cursor_ + i) % streams_.size();
      Stream& s = streams_[k];
      if (!s.q.empty()) {
        it.kind = Item::kData;
        it.stream = k;
        it.block = std::move(s.q.front().first);
        it.checksum = s.q.front().second;
        s.q.pop_front();
        cursor_ = (k + 1) % streams_.size();
        return true;
      }
      if (s.ended && !s.emitted) {
        s.emitted = true;
        ++emitted_;
        it.kind = Item::kEnd;
        it.stream = k;
        it.ok = s.ok;
        cursor_ = (k + 1) % streams_.size();
        return true;
      }
    }
    return false;
  });
  if (gone_) {
    it = Item();
    it.kind = Item::kCancelled;
  }
  if (it.kind == Item::kData) cv_.notify_all();  // room in that stream's queue
  return it;
}

void MuxChannel::consumer_gone(const std::string& why) {
  std::lock_guard<std::mutex> lk(mu_);
  if (gone_) return;
  gone_ = true;
  why_ = why;
  for (Stream& s : streams_) s.q.clear();
  cv_.notify_all();
}

void MuxChannel::cancel_graph() {
  graph_cancelled_.store(true, std::memory_order_release);
  consumer_gone("the graph was cancelled");
}

void MuxChannel::endpoint_done(int endpoint) {
  if (endpoint < 0) {
    consumer_gone("the multiplexed stream stopped (mux failed or was cancelled)");
    return;
  }
  if (static_cast<size_t>(endpoint) >= streams_.size()) return;
  producer_cancel(static_cast<size_t>(endpoint));
  end(static_cast<size_t>(endpoint), false);
}

// ----- DemuxChannel ---------------------------------------------------------------------------

DemuxChannel::DemuxChannel(size_t slots, size_t queue_blocks) : capacity_(queue_blocks ? queue_blocks : 1), slots_(slots) {}

bool DemuxChannel::put(size_t j, BlockRef b) {
  std::unique_lock<std::mutex> lk(mu_);
  Slot& s = slots_.at(j);
  cv_.wait(lk, [&] { return cancelled_ || s.gone || s.q.size() < capacity_; });
  if (cancelled_) return false;
  if (s.gone || s.ended) return true;  // dropped: nobody takes this stream any more
  s.q.push_back(std::move(b));
  cv_.notify_all();
  return true;
}

void DemuxChannel::end(size_t j, const std::string& error) {
  std::lock_guard<std::mutex> lk(mu_);
  Slot& s = slots_.at(j);
  if (s.ended) return;
  s.ended = true;
  s.error = error;
  cv_.notify_all();
}

void DemuxChannel::fail_all(const std::string& error) {
  std::lock_guard<std::mutex> lk(mu_);
  for (Slot& s : slots_) {
    if (s.ended) continue;
    s.ended = true;
    s.error = error;
  }
  cv_.notify_all();
}

void DemuxChannel::producer_cancel() {
  std::lock_guard<std::mutex> lk(mu_);
  cancelled_ = true;
  cv_.notify_all();
}

bool DemuxChannel::consumer_alive(size_t j) {
  std::lock_guard<std::mutex> lk(mu_);
  return !slots_.at(j).gone;
}

DemuxChannel::Item DemuxChannel::take(size_t j) {
  std::unique_lock<std::mutex> lk(mu_);
  Slot& s = slots_.at(j);
  cv_.wait(lk, [&] { return s.gone || !s.q.empty() || s.ended; });
  Item it;
  if (s.gone) return it;
  if (!s.q.empty()) {
    it.block = std::move(s.q.front());
    s.q.pop_front();
    cv_.notify_all();
    return it;
  }
  it.end = true;
  it.error = s.error;
  return it;
}

void DemuxChannel::consumer_gone(size_t j) {
  std::lock_guard<std::mutex> lk(mu_);
  Slot& s = slots_.at(j);
  s.gone = true;
  s.q.clear();
  cv_.notify_all();
}

void DemuxChannel::cancel_graph() {
  std::lock_guard<std::mutex> lk(mu_);
  graph_cancelled_.store(true, std::memory_order_release);
  cancelled_ = true;
  for (Slot& s : slots_) {
    s.gone = true;
    s.q.clear();
  }
  cv_.notify_all();
}

void DemuxChannel::endpoint_done(int endpoint) {
  if (endpoint < 0) {
    fail_all("the multiplexed stream stopped before this stream ended (demux failed or was cancelled)");
    return;
  }
  if (static_cast<size_t>(endpoint) < slots_.size()) consumer_gone(static_cast<size_t>(endpoint));
}

}  // namespace xfa
