// A transfer: one chain of elements, linked, started, run on pool workers, finished exactly once.
//
// States (posted as `state` messages):
//   INIT → START → RUNNING → DONE
//               ↘ CANCELLING → CANCELLED → DONE     (cancel from START or RUNNING)
// start() links and sets up on the calling (main) thread, then asks the worker pool for every
// thread the chain needs at once; elements are started destination first when they are granted.
// The last worker thread to finish finalizes: commit() (or abort() after a cancel/failure), then
// close() on every element, `stats` per element, state DONE and the single `done` message.
//
// cancel() and fail() may be called from any thread and never block. Once finalization has begun
// (every thread ended), cancel() is a no-op: the outcome is already decided.
// The Transfer is shared-owned (JS handle and worker jobs); elements live as long as it does, so
// results (dest-buffer contents) can be read after `done`.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "linker.h"
#include "xfa/element.h"
#include "xfa/message.h"

namespace xfa {

enum class XferState { kInit = 1, kStart, kRunning, kCancelling, kCancelled, kDone };
const char* state_name(XferState s);

struct TransferOptions {
  size_t block_size = 256 * 1024;  // for buffer edges, unless an element prefers another
  uint32_t progress_ms = 250;      // minimum interval between `progress` messages; 0 = none
  bool force_glue = false;         // tests: a glue between every two elements
  // Instance names for messages and errors, by chain position; empty or missing = kind#(i+1).
  // A graph (src/graph.ts) runs several transfers and names their elements as the pipeline does.
  std::vector<std::string> names;
};

class Transfer : public std::enable_shared_from_this<Transfer> {
 public:
  Transfer(std::vector<std::unique_ptr<Element>> chain, TransferOptions opts, std::shared_ptr<MessageSink> sink);
  ~Transfer();
  Transfer(const Transfer&) = delete;
  Transfer& operator=(const Transfer&) = delete;

  void start();                            // main thread, once; never throws
  void cancel();                           // any thread
  void fail(const Element* who, Error e);  // any thread
  void post(Message m);                    // any thread

  bool cancelled() const { return cancelled_.load(std::memory_order_acquire); }
  int cancel_fd() const { return cancel_fd_; }
  XferState state() const;
  size_t size() const { return user_.size(); }
  Element* element(size_t i) const { return i < user_.size() ? user_[i].get() : nullptr; }
  const std::string& linkage_text() const { return linkage_text_; }
  void note_progress();

 private:
  std::vector<std::function<void()>> launch();
  bool link_and_setup();
  void thread_finished();
  void finalize();
  void cancel_locked();
  void set_state(XferState s);
  void move_state_locked(XferState s);
  void post_progress(uint64_t now_ns);

  std::vector<std::unique_ptr<Element>> user_;
  std::vector<std::unique_ptr<Element>> glue_;
  std::vector<Element*> chain_;       // user and glue elements in data order
  std::vector<uint32_t> threads_of_;  // per chain_ entry
  TransferOptions opts_;
  std::shared_ptr<MessageSink> sink_;
  std::string linkage_text_;

  mutable std::mutex mu_;  // state_, finalizing_, failed_; leaf lock (never held across callbacks)
  XferState state_ = XferState::kInit;
  bool finalizing_ = false;
  bool failed_ = false;
  std::atomic<bool> cancelled_{false};
  std::atomic<bool> done_posted_{false};
  int cancel_fd_ = -1;
  std::atomic<uint64_t> ticket_{0};
  std::atomic<int> active_{0};
  std::atomic<uint64_t> last_progress_ns_{0};
  std::mutex progress_mu_;
  std::vector<uint64_t> progress_prev_;
};

}  // namespace xfa
