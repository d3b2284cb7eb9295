// Elements: the sources, filters and destinations of a transfer, and the glue between them.
//
// Lifecycle (one transfer, see csrc/core/transfer.h):
//   construct(props) → [link] → setup() in chain order → start() destination first →
//   run(i) on worker threads → commit() or abort(), destination first → close() → destroyed.
//
// Threads. "main" below is the thread that calls Transfer::start (the JS thread for the addon).
// "worker" is an xfa-w-N thread from the worker pool (csrc/core/worker_pool.h). "any" means any
// thread, possibly concurrently with the data path.
//
// Cancel. Transfer::cancel() may come from any thread at any moment. It sets cancelled(), signals
// cancel_fd() (an eventfd that stays readable from then on) and calls unblock() on every element.
// Every blocking wait in an element must therefore either poll cancel_fd() (fd waits, see
// csrc/core/fdio.h) or wait on a condition that unblock() signals. No timeouts are ever needed.
// After a cancel, pull() returns EOF, push() drops its block, and run() returns promptly.
//
// Errors. An element that fails calls fail(Error): the transfer posts `error`, then cancels. Only
// the first failure is reported; failures caused by the cancel itself (EPIPE, killed children) are
// swallowed because cancelled() is already true by then.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "xfa/buffer.h"
#include "xfa/mech.h"
#include "xfa/message.h"
#include "xfa/status.h"

namespace xfa {

class Transfer;

// ----- Properties -------------------------------------------------------------------------------

// Values arrive validated by the TypeScript factories (type, range, unknown names), converted:
// sizes and durations become integers (bytes, milliseconds).
using PropValue = std::variant<bool, int64_t, double, std::string, std::vector<std::string>>;

class Props {
 public:
  Props() = default;
  void set(const std::string& key, PropValue v) { values_[key] = std::move(v); }
  bool has(const std::string& key) const { return values_.count(key) != 0; }
  int64_t get_int(const std::string& key, int64_t dflt) const;
  double get_double(const std::string& key, double dflt) const;
  bool get_bool(const std::string& key, bool dflt) const;
  std::string get_string(const std::string& key, const std::string& dflt) const;
  std::vector<std::string> get_strings(const std::string& key) const;
  const std::map<std::string, PropValue>& all() const { return values_; }

 private:
  std::map<std::string, PropValue> values_;
};

// Property schema, exported to TypeScript for validation, the DSL and `xfa inspect`.
enum class PropType { kBool, kInt, kSize, kDuration, kDouble, kString, kStrings };

struct PropSpec {
  std::string name;
  PropType type;
  std::string dflt;   // default as DSL text ("" = none / required when `required`)
  double min = 0;     // numeric range, inclusive; min > max means unbounded
  double max = -1;
  bool required = false;
  std::string help;
};

// ----- Elements -------------------------------------------------------------------------------

class Element {
 public:
  explicit Element(std::string kind) : kind_(std::move(kind)) {}
  virtual ~Element() = default;
  Element(const Element&) = delete;
  Element& operator=(const Element&) = delete;

  // Mechanism pairs this instance supports, cheapest first (ties keep table order). Pure; any
  // thread. May depend on properties (e.g. a file element on whether the path is a FIFO).
  virtual MechPairs mech_pairs() const = 0;

  // Preferred block size for buffer edges, 0 = no preference. Main thread, before setup().
  virtual size_t preferred_block_size() const { return 0; }

  // setup(): main thread, after linking, before any neighbour is connected: input_mech() and
  // output_mech() are known, upstream()/downstream() are not yet valid. Open files, create pipes,
  // check arguments. May block briefly (open). An error fails the transfer before any thread runs.
  virtual Status setup() { return ok(); }

  // start(): after every setup() succeeded, destination first, neighbours connected. Called on the
  // thread that obtained the transfer's workers (main or a worker). Must not block; spawn child
  // processes here. An error fails the transfer; run() is still called and must then return.
  virtual Status start() { return ok(); }

  // run(i): worker thread, once per thread the chosen MechPair declares. Moves data until EOF,
  // failure or cancel. May block, but only in waits that cancel wakes.
  virtual void run(int /*thread_index*/) {}

  // pull(): output kPullBuffer. Downstream's thread. May block. Empty BlockRef = EOF (also after
  // cancel); after EOF further calls keep returning EOF.
  virtual BlockRef pull() { return {}; }

  // push(): input kPushBuffer. Upstream's thread. Empty BlockRef = EOF, pushed exactly once. May
  // block for back-pressure. After cancel the block is dropped and push() returns at once.
  virtual void push(BlockRef /*block*/) {}

  // output_fd(): output kReadFd. The fd downstream reads; borrowed, valid from start() until
  // release_output(). The reader calls release_output() exactly once, at EOF, error or cancel.
  virtual int output_fd() { return -1; }
  virtual void release_output() {}

  // input_fd(): input kWriteFd. The fd upstream writes; borrowed. The writer calls
  // release_input() exactly once when it has written everything (or gives up): that is EOF.
  virtual int input_fd() { return -1; }
  virtual void release_input() {}

  // unblock(): any thread, called once after cancel; must not block. Wake whatever run(), pull()
  // or push() may be waiting on that cancel_fd() does not already wake (condition variables,
  // child processes).
  virtual void unblock() {}

  // commit(): a worker, after every thread ended and only if the transfer was neither cancelled
  // nor failed; destination first. Make the output durable (fsync, rename). May block. An error
  // fails the transfer, and then abort() is called on every element.
  virtual Status commit() { return ok(); }

  // abort(): a worker, after every thread ended, if the transfer was cancelled or failed; remove
  // partial output (temporary files). Must not throw.
  virtual void abort() {}

  // close(): a worker, last call before destruction: close fds, reap children. Always called.
  virtual void close() {}

  // What the element's fd is, for errors a glue reports on its behalf ("fd 7", "/srv/x.tmp").
  // Any thread.
  virtual std::string fd_label() const { return ""; }

  // True when the element itself reports an early close of its input (a process element judges
  // its child's exit status): a writer that gets EPIPE then stops quietly instead of failing.
  virtual bool reports_early_close() const { return false; }

  // Bytes the element keeps for the caller, readable after `done` (dest-buffer). Main thread.
  virtual const std::vector<uint8_t>* result_bytes() const { return nullptr; }

  // ----- Provided to subclasses and the transfer -----
  const std::string& kind() const { return kind_; }
  const std::string& name() const { return name_; }
  int index() const { return index_; }
  Mech input_mech() const { return in_; }
  Mech output_mech() const { return out_; }
  Element* upstream() const { return up_; }
  Element* downstream() const { return down_; }
  size_t block_size() const { return block_size_; }
  bool is_glue() const { return index_ < 0; }

  bool cancelled() const;
  int cancel_fd() const;
  // Report the failure (first one wins), then cancel the transfer. Any thread.
  void fail(Error e);
  // The same, attributed to another element (a glue reporting a neighbour's fd error).
  void fail_as(const Element* who, Error e);
  // Cancel the transfer without an error, as Transfer::cancel(). Any thread; never blocks. For an
  // element that learns from outside its chain that the work is called off (the channel of a
  // cancelled multiplexing graph, csrc/core/mux_channel.h).
  void cancel_transfer();
  void post(Message m);
  Message msg(MsgType t) const { return Message(t, name_, index_); }
  // A `slice` message: input slice `slice` [in_offset, +in_length) became output bytes
  // [out_offset, +out_length) of this element.
  void post_slice(uint64_t slice, uint64_t in_offset, uint64_t in_length, uint64_t out_offset, uint64_t out_length);
  BlockRef alloc_block();

  // Byte counters for progress and stats; the element calls them for its own data.
  void count_in(uint64_t n) { bytes_in_.fetch_add(n, std::memory_order_relaxed); }
  void count_out(uint64_t n);
  uint64_t bytes_in() const { return bytes_in_.load(std::memory_order_relaxed); }
  uint64_t bytes_out() const { return bytes_out_.load(std::memory_order_relaxed); }
  void add_busy_ns(uint64_t ns) { busy_ns_.fetch_add(ns, std::memory_order_relaxed); }
  uint64_t busy_ns() const { return busy_ns_.load(std::memory_order_relaxed); }

  // Called by the transfer while linking and wiring (main thread).
  void attach(Transfer* t, int index, std::string name, Mech in, Mech out, size_t block_size);
  void connect(Element* up, Element* down) {
    up_ = up;
    down_ = down;
  }

 protected:
  Transfer* transfer() const { return xfer_; }

 private:
  std::string kind_;
  std::string name_;
  int index_ = -1;
  Transfer* xfer_ = nullptr;
  Element* up_ = nullptr;
  Element* down_ = nullptr;
  Mech in_ = Mech::kNone;
  Mech out_ = Mech::kNone;
  size_t block_size_ = 0;
  std::atomic<uint64_t> bytes_in_{0};
  std::atomic<uint64_t> bytes_out_{0};
  std::atomic<uint64_t> busy_ns_{0};
};

// ----- Registry -------------------------------------------------------------------------------

using ElementFactory = std::function<std::unique_ptr<Element>(const Props&)>;

// Everything `xfa inspect` shows about an element kind; registered once per elements/*.cc file.
struct ElementInfo {
  std::string name;         // "source-random" — same as the file, the DSL word, the test file
  std::string role;         // "source" | "filter" | "dest"
  std::string description;  // one line
  std::string long_help;    // paragraph(s)
  std::vector<PropSpec> props;
  MechPairs pairs;          // the class's table (instances may narrow it)
  std::string example;      // a DSL line using it
  ElementFactory create;    // may throw std::invalid_argument with a sentence for bad values
};

class Registry {
 public:
  static Registry& instance();
  void add(ElementInfo info);
  const ElementInfo* find(const std::string& name) const;
  const std::vector<ElementInfo>& all() const { return infos_; }

 private:
  std::vector<ElementInfo> infos_;
};

// In an element's .cc file: static const bool registered = register_element({...});
bool register_element(ElementInfo info);

}  // namespace xfa
