#include "parallel_filter.h"

#include <algorithm>
#include <cstring>

namespace xfa {

// ----- OutBlocks -------------------------------------------------------------------------------

uint8_t* OutBlocks::room(size_t* n) {
  if (blocks_.empty() || blocks_.back()->size() == blocks_.back()->capacity()) {
    blocks_.push_back(e_->alloc_block());
    blocks_.back()->set_size(0);
  }
  Block& b = *blocks_.back();
  *n = b.capacity() - b.size();
  return b.data() + b.size();
}

void OutBlocks::commit(size_t n) {
  Block& b = *blocks_.back();
  b.set_size(b.size() + n);
  bytes_ += n;
}

void OutBlocks::append(const void* p, size_t n) {
  const uint8_t* s = static_cast<const uint8_t*>(p);
  while (n > 0) {
    size_t room_n = 0;
    uint8_t* d = room(&room_n);
    const size_t k = std::min(n, room_n);
    std::memcpy(d, s, k);
    commit(k);
    s += k;
    n -= k;
  }
}

std::vector<BlockRef>& OutBlocks::blocks() {
  while (!blocks_.empty() && blocks_.back()->size() == 0) blocks_.pop_back();
  return blocks_;
}

void OutBlocks::tail(uint8_t* dst, size_t n) const {
  // Walk back over the blocks: the tail may straddle two.
  size_t need = n;
  for (size_t i = blocks_.size(); i-- > 0 && need > 0;) {
    const Block& b = *blocks_[i];
    const size_t k = std::min(need, b.size());
    std::memcpy(dst + need - k, b.data() + b.size() - k, k);
    need -= k;
  }
}

// ----- ParallelFilter --------------------------------------------------------------------------

ParallelFilter::ParallelFilter(std::string kind, ParallelConfig cfg)
    : Element(std::move(kind)), cfg_(cfg), cutter_(cfg.per_slice ? cfg.slice_size : 0) {}

ParallelFilter::~ParallelFilter() = default;

MechPairs ParallelFilter::pairs_for(uint32_t w) {
  return {{Mech::kPullBuffer, Mech::kPushBuffer, 1, 0, w + 2},
          {Mech::kPushBuffer, Mech::kPushBuffer, 1, 0, w + 1},
          {Mech::kPullBuffer, Mech::kPullBuffer, 1, 0, w + 1},
          {Mech::kPushBuffer, Mech::kPullBuffer, 1, 0, w}};
}

void ParallelFilter::run(int i) {
  if (input_mech() == Mech::kPullBuffer) {
    if (i == 0) return reader_loop();
    --i;
  }
  if (output_mech() == Mech::kPushBuffer) {
    if (i == 0) return writer_loop();
    --i;
  }
  compressor_loop(i);
}

void ParallelFilter::unblock() {
  std::lock_guard<std::mutex> lk(mu_);
  stopped_ = true;
  space_cv_.notify_all();
  work_cv_.notify_all();
  done_cv_.notify_all();
}

void ParallelFilter::close() {
  std::lock_guard<std::mutex> lk(mu_);
  jobs_.clear();
  cur_.reset();
  pending_.clear();
}

// ----- Reader ----------------------------------------------------------------------------------

void ParallelFilter::reader_loop() {
  while (!cancelled()) {
    BlockRef b = upstream()->pull();
    if (!b) break;
    feed(b);
  }
  finish_input();
}

void ParallelFilter::push(BlockRef b) {
  if (!b) return finish_input();
  if (cancelled()) return;
  feed(b);
}

void ParallelFilter::feed(const BlockRef& b) {
  count_in(b->size());
  const bool follow = cfg_.slice_size == 0;
  cutter_.cut(*b, [&](const SliceCutter::Piece& p) {
    add_piece(b, p.data, p.size, p.end, follow ? b->slice() : cutter_.slice());
  });
}

void ParallelFilter::add_piece(const BlockRef& b, const uint8_t* p, size_t n, bool end, uint64_t slice) {
  const bool slice_end = end && cfg_.per_slice;
  if (n == 0) {
    // An empty piece can only matter by ending a frame that is already open.
    if (slice_end && in_frame_ && (cur_ || open_job(slice))) close_job(true, true);
    return;
  }
  while (n > 0) {
    if (!cur_ && !open_job(slice)) return;
    size_t take = n;
    if (cfg_.max_frame_bytes) take = std::min<uint64_t>(take, cfg_.max_frame_bytes - frame_in_);
    cur_->in.push_back({b, p, take});
    cur_->in_bytes += take;
    frame_in_ += take;
    if (cfg_.dict_bytes) {
      tail_.insert(tail_.end(), p + (take > cfg_.dict_bytes ? take - cfg_.dict_bytes : 0), p + take);
      if (tail_.size() > 2 * cfg_.dict_bytes) tail_.erase(tail_.begin(), tail_.end() - cfg_.dict_bytes);
    }
    p += take;
    n -= take;
    if (slice_end && n == 0) {
      close_job(true, true);
    } else if (cfg_.max_frame_bytes && frame_in_ == cfg_.max_frame_bytes) {
      close_job(true, false);
    } else if (!cfg_.per_slice && cfg_.frame_bytes && frame_in_ >= cfg_.frame_bytes) {
      close_job(true, false);
    } else if (cur_->in_bytes >= cfg_.job_bytes) {
      close_job(false, false);
    }
  }
}

bool ParallelFilter::open_job(uint64_t slice) {
  const size_t limit = cfg_.max_inflight ? cfg_.max_inflight : 2 * cfg_.workers + 2;
  {
    std::unique_lock<std::mutex> lk(mu_);
    space_cv_.wait(lk, [&] { return stopped_ || inflight_ < limit; });
    if (stopped_) return false;
    ++inflight_;
  }
  cur_ = std::make_unique<CodecJob>(this);
  cur_->seq = next_seq_++;
  cur_->slice = slice;
  cur_->frame_start = !in_frame_;
  cur_->frame = frame_no_;
  if (!in_frame_) {
    in_frame_ = true;
    frame_in_ = 0;
    tail_.clear();
  } else if (cfg_.dict_bytes) {
    const size_t k = std::min(tail_.size(), cfg_.dict_bytes);
    cur_->dict.assign(tail_.end() - k, tail_.end());
  }
  last_slice_ = slice;
  any_job_ = true;
  return true;
}

void ParallelFilter::close_job(bool frame_end, bool slice_end) {
  cur_->frame_end = frame_end;
  cur_->slice_end = slice_end;
  if (frame_end) {
    in_frame_ = false;
    ++frame_no_;
  }
  std::lock_guard<std::mutex> lk(mu_);
  jobs_.push_back(std::move(cur_));
  work_cv_.notify_all();
}

void ParallelFilter::finish_input() {
  if (input_finished_) return;
  input_finished_ = true;
  if (!cancelled()) {
    if (cur_) {
      close_job(true, cfg_.per_slice);
    } else if (in_frame_ || (!any_job_ && cfg_.empty_frame_at_eof)) {
      // The open frame needs its end (its last job closed exactly at job_bytes), or an empty
      // stream still gets its one empty frame.
      if (open_job(in_frame_ ? last_slice_ : 0)) close_job(true, cfg_.per_slice);
    }
  }
  std::lock_guard<std::mutex> lk(mu_);
  input_done_ = true;
  work_cv_.notify_all();
  done_cv_.notify_all();
}

// ----- Compressors -----------------------------------------------------------------------------

CodecJob* ParallelFilter::take_job_locked(int w) {
  for (auto& jp : jobs_) {
    CodecJob& j = *jp;
    if (j.taken) continue;
    if (cfg_.pin_frames && !j.frame_start) {
      auto it = frame_owner_.find(j.frame);
      if (it == frame_owner_.end() || it->second != w) continue;
    }
    j.taken = true;
    if (cfg_.pin_frames) {
      if (j.frame_end) frame_owner_.erase(j.frame);
      else frame_owner_[j.frame] = w;
    }
    return &j;
  }
  return nullptr;
}

void ParallelFilter::compressor_loop(int w) {
  std::unique_lock<std::mutex> lk(mu_);
  for (;;) {
    CodecJob* j = nullptr;
    work_cv_.wait(lk, [&] { return stopped_ || (j = take_job_locked(w)) != nullptr || input_done_; });
    if (stopped_ || !j) return;  // stopped, or input ended and nothing left for this worker
    lk.unlock();
    const bool ok = encode(w, *j);
    lk.lock();
    if (!ok) return;  // encode() failed the transfer; unblock() stops the others
    j->done = true;
    done_cv_.notify_all();
  }
}

// ----- Writer ----------------------------------------------------------------------------------

void ParallelFilter::writer_loop() {
  while (BlockRef b = next_out()) downstream()->push(std::move(b));
  downstream()->push({});
}

BlockRef ParallelFilter::pull() { return next_out(); }

BlockRef ParallelFilter::next_out() {
  for (;;) {
    if (cancelled()) {
      out_finished_ = true;
      pending_.clear();
    }
    if (pending_pos_ < pending_.size()) return std::move(pending_[pending_pos_++]);
    pending_.clear();
    pending_pos_ = 0;
    if (out_finished_) return {};
    std::unique_ptr<CodecJob> j;
    {
      std::unique_lock<std::mutex> lk(mu_);
      done_cv_.wait(lk, [&] { return stopped_ || (!jobs_.empty() && jobs_.front()->done) || (input_done_ && jobs_.empty()); });
      if (stopped_) {
        out_finished_ = true;
        return {};
      }
      if (!jobs_.empty()) {
        j = std::move(jobs_.front());
        jobs_.pop_front();
      }
    }
    if (!j) {
      emit_trailer();
      out_finished_ = true;
      continue;
    }
    emit_job(*j);
    j.reset();  // releases the input blocks
    std::lock_guard<std::mutex> lk(mu_);
    --inflight_;
    space_cv_.notify_all();
  }
}

void ParallelFilter::emit_job(CodecJob& j) {
  ordered(j);
  std::vector<BlockRef>& bs = j.out.blocks();
  for (size_t i = 0; i < bs.size(); ++i) {
    const bool last = i + 1 == bs.size();
    bs[i]->set_slice(cfg_.per_slice ? j.slice : 0, cfg_.per_slice && last && j.slice_end);
    count_out(bs[i]->size());
    pending_.push_back(std::move(bs[i]));
  }
  in_pos_ += j.in_bytes;
  out_pos_ += j.out.bytes();
  if (cfg_.per_slice && j.slice_end) {
    post_slice(j.slice, slice_in0_, in_pos_ - slice_in0_, slice_out0_, out_pos_ - slice_out0_);
    slice_in0_ = in_pos_;
    slice_out0_ = out_pos_;
    next_out_slice_ = j.slice + 1;
  }
}

void ParallelFilter::emit_trailer() {
  OutBlocks t(this);
  trailer(t);
  if (t.bytes() == 0) return;
  std::vector<BlockRef>& bs = t.blocks();
  for (size_t i = 0; i < bs.size(); ++i) {
    bs[i]->set_slice(cfg_.per_slice ? next_out_slice_ : 0, cfg_.per_slice && i + 1 == bs.size());
    count_out(bs[i]->size());
    pending_.push_back(std::move(bs[i]));
  }
  if (cfg_.per_slice) post_slice(next_out_slice_, in_pos_, 0, out_pos_, t.bytes());
  out_pos_ += t.bytes();
}

}  // namespace xfa
