#include "stream_filter.h"

namespace xfa {

void StreamFilter::run(int i) {
  if (input_mech() == Mech::kPullBuffer && i == 0) return transform_loop();
  writer_loop();
}

void StreamFilter::transform_loop() {
  while (!cancelled()) {
    BlockRef b = upstream()->pull();
    if (!b) break;
    count_in(b->size());
    consume(*b);
  }
  at_eof();
}

void StreamFilter::writer_loop() {
  while (BlockRef b = out_q_.take()) downstream()->push(std::move(b));
  downstream()->push({});
}

void StreamFilter::push(BlockRef b) {
  if (!b) return at_eof();
  if (cancelled()) return;
  count_in(b->size());
  consume(*b);
}

BlockRef StreamFilter::pull() { return out_q_.take(); }

void StreamFilter::unblock() { out_q_.cancel(); }

void StreamFilter::close() {
  held_.reset();
  cur_.reset();
  out_q_.cancel();  // drops any block still queued
}

void StreamFilter::at_eof() {
  if (eof_) return;
  eof_ = true;
  if (!cancelled()) finish();
  if (held_ && !cancelled()) emit(std::move(held_));
  if (cur_ && cur_->size() > 0 && !cancelled()) emit(std::move(cur_));
  held_.reset();
  cur_.reset();
  out_q_.close();
}

uint8_t* StreamFilter::room(size_t* n) {
  // A full block waits in held_ until a byte lands in the next one: if its slice ends first, it
  // is the block that must carry the slice_end mark.
  if (cur_ && cur_->size() == cur_->capacity()) held_ = std::move(cur_);
  if (!cur_) {
    cur_ = alloc_block();
    cur_->set_size(0);
    cur_->set_slice(out_slice_, false);
  }
  *n = cur_->capacity() - cur_->size();
  return cur_->data() + cur_->size();
}

void StreamFilter::commit(size_t n) {
  if (n > 0 && held_) emit(std::move(held_));
  cur_->set_size(cur_->size() + n);
  out_total_ += n;
}

void StreamFilter::end_slice(uint64_t slice) {
  BlockRef& last = cur_ && cur_->size() > 0 ? cur_ : held_;
  if (last) {
    last->set_slice(slice, true);
    emit(std::move(last));
  }
  held_.reset();
  cur_.reset();
  out_slice_ = slice + 1;
}

void StreamFilter::emit(BlockRef b) {
  count_out(b->size());
  out_q_.put(std::move(b));  // false after a cancel: the block is dropped
}

}  // namespace xfa
