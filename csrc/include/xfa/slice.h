// Slices: how a stream is cut so that a restore can start in the middle (DESIGN.md §4).
//
// On a buffer edge every block belongs to one slice (Block::slice()), and the last block of a
// slice carries Block::slice_end(). EOF also ends the open slice. Who cuts:
//   - an indexer (filter-tar-index slice-on=member) cuts at application objects;
//   - a slicing filter with `slice-size=N` cuts every N input bytes, ignoring upstream marks;
//   - with `slice-size=0` (the default) a filter follows the marks it receives.
// A seekable filter turns each input slice into exactly one output slice (one zstd frame, one
// GCM frame), numbers it the same, and posts a `slice` message {slice, in_offset, in_length,
// out_offset, out_length} per slice, offsets counted on its own input and output streams. The
// TypeScript SliceIndex composes these messages along the chain.
//
// SliceCutter is the shared helper that turns incoming blocks into slice pieces either way.
#pragma once

#include <cstddef>
#include <cstdint>

#include "xfa/buffer.h"

namespace xfa {

class SliceCutter {
 public:
  // slice_size 0 = follow the upstream's marks.
  explicit SliceCutter(uint64_t slice_size) : size_(slice_size) {}

  struct Piece {
    const uint8_t* data;
    size_t size;
    bool end;  // this piece completes the current slice
  };

  // Calls fn(Piece) for each piece of `b` in order; after a piece with end=true, slice() has
  // advanced. Thread: the element's data thread; not thread-safe.
  template <class F>
  void cut(const Block& b, F&& fn) {
    const uint8_t* p = b.data();
    size_t left = b.size();
    if (size_ == 0) {
      in_slice_ += left;
      const bool end = b.slice_end();
      fn(Piece{p, left, end});
      if (end) next();
      return;
    }
    while (left > 0) {
      const size_t room = static_cast<size_t>(size_ - in_slice_);
      const size_t n = left < room ? left : room;
      in_slice_ += n;
      const bool end = in_slice_ == size_;
      fn(Piece{p, n, end});
      if (end) next();
      p += n;
      left -= n;
    }
  }

  // At EOF: true when a slice is still open (has bytes) and must be ended by the caller.
  bool open() const { return in_slice_ > 0; }
  uint64_t slice() const { return slice_; }
  uint64_t in_slice_bytes() const { return in_slice_; }
  // The caller ended the open slice at EOF.
  void end_at_eof() {
    if (in_slice_ > 0) next();
  }

 private:
  void next() {
    ++slice_;
    in_slice_ = 0;
  }
  const uint64_t size_;
  uint64_t slice_ = 0;
  uint64_t in_slice_ = 0;
};

}  // namespace xfa
