#include "stream_filter.h"

namespace xfa {

void StreamFilter::run(int) {
  while (!cancelled()) {
    BlockRef b = upstream()->pull();
    if (!b) break;
    count_in(b->size());
    consume(*b);
  }
  at_eof();
}

void StreamFilter::push(BlockRef b) {
  if (!b) return at_eof();
  if (cancelled()) return;
  count_in(b->size());
  consume(*b);
}

BlockRef StreamFilter::pull() {
  while (ready_.empty() && !eof_) {
    if (cancelled()) {
      eof_ = true;
      break;
    }
    BlockRef b = upstream()->pull();
    if (b) {
      count_in(b->size());
      consume(*b);
    } else {
      at_eof();
    }
  }
  if (cancelled() || ready_.empty()) return {};
  BlockRef b = std::move(ready_.front());
  ready_.pop_front();
  return b;
}

void StreamFilter::close() {
  held_.reset();
  cur_.reset();
  ready_.clear();
}

void StreamFilter::at_eof() {
  if (eof_) return;
  eof_ = true;
  if (!cancelled()) finish();
  if (held_ && !cancelled()) emit(std::move(held_));
  if (cur_ && cur_->size() > 0 && !cancelled()) emit(std::move(cur_));
  held_.reset();
  cur_.reset();
  if (output_mech() == Mech::kPushBuffer) downstream()->push({});
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
  if (output_mech() == Mech::kPushBuffer) {
    downstream()->push(std::move(b));
  } else {
    ready_.push_back(std::move(b));
  }
}

}  // namespace xfa
