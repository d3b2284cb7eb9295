// Channels: how the transfers of a multiplexing graph hand blocks to each other.
//
// The engine runs one linear chain per Transfer (transfer.h), and that stays so. A pipeline with
// several inputs or outputs (`mux`, `demux`; DESIGN.md §5) runs as a GRAPH of transfers that
// TypeScript starts together (src/graph.ts): every branch is its own Transfer — its own failure
// domain — joined to the trunk transfer (the one holding `mux` or `demux`) through a channel:
//
//   mux:    branch k = [source ..., filters ..., mux-input(channel, k)]   (one per input)
//           trunk    = [mux(channel), filters ..., dest]
//   demux:  trunk    = [source ..., filters ..., demux(channel)]
//           branch j = [demux-output(channel, j), filters ..., dest]   (one per chosen stream)
//
// `mux-input` and `demux-output` are internal elements (role "internal": registered so the addon
// can build them by name, never listed, never in the pipeline language). A channel is created by
// TypeScript (addon `channel(kind, n)`), found by id when the elements are constructed (the
// `channel` property the graph runner sets), and shared-owned by the JS handle and the elements;
// the registry below holds only weak references, so it never keeps one alive.
//
// Threads and blocking. Every call may come from any thread; none blocks except put()/next()/
// take(), which wait on the channel's condition variable, and every one of those waits is woken
// by the cancel hooks (producer_cancel, consumer_cancel/consumer_gone), which the elements call
// from Element::unblock(). No timeouts. Lock order: Channel::mu_ is a leaf lock; no element
// method or message post is called while holding it.
//
// Failure domains.
//   MuxChannel: a branch that fails or is cancelled ends its stream ABORTED (its data so far is
//   kept and the other streams go on); the mux's transfer failing or being cancelled makes every
//   branch still writing fail ("the multiplexed stream stopped").
//   DemuxChannel: a branch that fails or is cancelled stops taking data: the demux drops its
//   stream from then on and goes on with the others; the demux failing (or its input ending
//   early) fails every branch whose stream has not ended yet, with the reason.
// Cancelling the whole graph. cancel_graph() (TypeScript calls it first, before cancelling each
// transfer) wakes every wait on both sides for good; an element that then finds its channel
// cancelled cancels its own transfer (Transfer::cancel) instead of reporting an error, so every
// transfer of the graph ends cancelled — and a mux can never see all its inputs end and commit
// its output in the window between the branches' cancel and the trunk's.
// endpoint_done() is TypeScript's safety net for transfers that ended without their element ever
// running (a link or setup failure elsewhere in the chain): it does what the element's abort()
// would have done. Everything is idempotent; the first end of a stream wins.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "xfa/buffer.h"

namespace xfa {

class Channel {
 public:
  virtual ~Channel() = default;
  uint64_t id() const { return id_; }
  virtual const char* kind() const = 0;  // "mux" | "demux"
  virtual size_t size() const = 0;       // streams (mux) or slots (demux)
  // -1: the trunk transfer is done; k >= 0: the transfer of branch k is done.
  virtual void endpoint_done(int endpoint) = 0;
  // The graph is being cancelled (see above). Any thread; never blocks. A graph with several
  // channels marks them all before it wakes any (mark_cancelled, then cancel_graph on each), so
  // no element can see one channel stop while another does not yet say why.
  void mark_cancelled() { graph_cancelled_.store(true, std::memory_order_release); }
  virtual void cancel_graph() = 0;
  bool graph_cancelled() const { return graph_cancelled_.load(std::memory_order_acquire); }

 protected:
  std::atomic<bool> graph_cancelled_{false};

 private:
  friend uint64_t register_channel(const std::shared_ptr<Channel>& c);
  uint64_t id_ = 0;
};

uint64_t register_channel(const std::shared_ptr<Channel>& c);
std::shared_ptr<Channel> find_channel(uint64_t id);

class MuxChannel final : public Channel {
 public:
  MuxChannel(size_t streams, size_t queue_blocks);
  const char* kind() const override { return "mux"; }
  size_t size() const override { return streams_.size(); }
  void endpoint_done(int endpoint) override;
  void cancel_graph() override;

  // ---- producers: mux-input of branch k (0-based), on that branch's thread ----
  // Queues one payload block and its Fletcher-32. Waits while stream k's queue is full. false when
  // the block can go nowhere: the mux is gone (*why says so) or producer_cancel(k) was called.
  bool put(size_t k, BlockRef b, uint32_t checksum, std::string* why);
  // Wakes put(k) for good (the branch is cancelled). Never blocks.
  void producer_cancel(size_t k);
  // The stream's end: ok = EOS, else ABORTED. The first call wins; data queued before stays.
  void end(size_t k, bool ok);

  // ---- the consumer: mux, on the trunk's pulling thread ----
  struct Item {
    enum Kind { kData, kEnd, kAllDone, kCancelled } kind = kCancelled;
    size_t stream = 0;
    BlockRef block;
    uint32_t checksum = 0;
    bool ok = true;  // kEnd: EOS (true) or ABORTED (false)
  };
  // Waits for the next thing to send: a block of any stream that has one (round robin, so a slow
  // stream never holds up the others), a stream's end once its queue is empty, kAllDone when
  // every stream has ended, kCancelled after consumer_gone().
  Item next();
  // The mux will take nothing more (its transfer was cancelled or failed): wakes next() and every
  // producer, which then fail with `why`. Never blocks.
  void consumer_gone(const std::string& why);

 private:
  struct Stream {
    std::deque<std::pair<BlockRef, uint32_t>> q;
    bool ended = false;      // end() called
    bool ok = false;
    bool emitted = false;    // next() returned its kEnd
    bool cancelled = false;  // producer_cancel()
  };
  const size_t capacity_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Stream> streams_;
  size_t cursor_ = 0;
  size_t emitted_ = 0;
  bool gone_ = false;
  std::string why_;
};

class DemuxChannel final : public Channel {
 public:
  DemuxChannel(size_t slots, size_t queue_blocks);
  const char* kind() const override { return "demux"; }
  size_t size() const override { return slots_.size(); }
  void endpoint_done(int endpoint) override;
  void cancel_graph() override;

  // ---- the producer: demux, on the trunk's thread ----
  // Queues a verified block for slot j; waits while it is full. A slot whose branch is gone
  // drops the block (true: the demux goes on with the other streams). false after
  // producer_cancel().
  bool put(size_t j, BlockRef b);
  // Ends slot j: error "" = the stream ended well; else the branch fails with that sentence.
  // First call wins.
  void end(size_t j, const std::string& error);
  // Ends every slot not ended yet with `error`.
  void fail_all(const std::string& error);
  void producer_cancel();
  bool consumer_alive(size_t j);

  // ---- consumers: demux-output of branch j, on that branch's thread ----
  struct Item {
    BlockRef block;     // data, or empty at the end
    bool end = false;   // the stream ended (error says how)
    std::string error;  // "" = well
  };
  // Waits for data or the end; an empty Item (no block, end false) after consumer_gone(j).
  Item take(size_t j);
  // Branch j takes nothing more (cancelled, failed): wakes take(j) and the producer. Never blocks.
  void consumer_gone(size_t j);

 private:
  struct Slot {
    std::deque<BlockRef> q;
    bool ended = false;
    std::string error;
    bool gone = false;
  };
  const size_t capacity_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Slot> slots_;
  bool cancelled_ = false;
};

}  // namespace xfa
