// StreamFilter: the base of single-threaded transforming filters (filter-unzstd, filter-gunzip)
// that run on whichever thread moves the data:
//   PULL → PUSH  its own run() thread pulls, transforms and pushes;
//   PUSH → PUSH  upstream's push() transforms and pushes on upstream's thread (no thread);
//   PULL → PULL  downstream's pull() pulls and transforms on downstream's thread (no thread).
// The subclass implements consume() and finish() and writes its output through room()/commit();
// end_slice() closes an output slice (the block carrying its last byte gets slice_end) so a
// decoder can turn each frame back into one slice. A full block leaves only once a byte has gone
// into the next one, so the last block of a slice can still be marked.
//
// EOF: finish() runs once at the upstream's EOF unless the transfer was cancelled or failed; then
// the partial block and EOF go downstream. Cancel: pull() returns EOF, push() drops its block, and
// run() returns; nothing here waits except inside the neighbours' own pull()/push().
#pragma once

#include <deque>

#include "xfa/element.h"

namespace xfa {

class StreamFilter : public Element {
 public:
  explicit StreamFilter(std::string kind) : Element(std::move(kind)) {}

  static MechPairs pairs() {
    return {{Mech::kPullBuffer, Mech::kPushBuffer, 1, 0, 1},
            {Mech::kPushBuffer, Mech::kPushBuffer, 1, 0, 0},
            {Mech::kPullBuffer, Mech::kPullBuffer, 1, 0, 0}};
  }
  MechPairs mech_pairs() const override { return pairs(); }

  void run(int) override;
  BlockRef pull() override;
  void push(BlockRef b) override;
  void close() override;

 protected:
  // The data thread: transform one input block. Report bad input with fail().
  virtual void consume(const Block& in) = 0;
  // The data thread, once, at the upstream's EOF: check for truncated input, flush.
  virtual void finish() = 0;

  // Output: free space in the current block (≥ 1 byte); commit(n) after writing n bytes of it.
  uint8_t* room(size_t* n);
  void commit(size_t n);
  // The output since the previous end_slice() is slice `slice`: mark its last block and send it.
  void end_slice(uint64_t slice);
  // Slice number given to output blocks from now on (until the next end_slice()).
  void set_out_slice(uint64_t slice) { out_slice_ = slice; }
  uint64_t out_total() const { return out_total_; }

 private:
  void emit(BlockRef b);
  void at_eof();

  BlockRef held_;  // the previous, full block (see room())
  BlockRef cur_;
  uint64_t out_slice_ = 0;
  uint64_t out_total_ = 0;
  std::deque<BlockRef> ready_;  // PULL output: blocks waiting for downstream's pull()
  bool eof_ = false;
};

}  // namespace xfa
