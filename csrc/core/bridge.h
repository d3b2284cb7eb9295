// The bridge: an element whose work is done by TypeScript (S3, SSH, users' own elements; DESIGN.md
// §2). C++ keeps the mechanics — blocks, windows, cancel — and a BridgePort (implemented by the
// addon with a thread-safe function) carries events to the JavaScript implementation.
//
// To JavaScript (dest and filter input): push() hands each block over whole, as an external
// Buffer, no copy; at most `window` blocks are in flight, so push() blocks (back-pressure) until
// JavaScript releases one. EOF is port->end().
// From JavaScript (source and filter output): js_write() copies the bytes into pooled blocks on a
// bounded queue that downstream pull()s; when the queue is full it refuses, and port->drain()
// later says there is room again. EOF is js_end().
//
// Mechanisms: source NONE→PULL, dest PUSH→NONE, filter PUSH→PULL. The element's one thread
// (run) waits until JavaScript reports it has finished (js_done), so `done` never comes before
// an upload is complete. Cancel wakes every wait, tells JavaScript (port->cancel), and run() then
// waits for JavaScript to finish aborting (js_done) — the wrapper in src/bridge.ts guarantees it.
//
// Threads: push()/pull()/run() on workers; js_*() on the JS thread; port calls from any thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "xfa/element.h"

namespace xfa {

class BridgePort {
 public:
  virtual ~BridgePort() = default;
  // Each is called from a C++ thread, must not block, and is delivered to JavaScript in order.
  virtual void start() = 0;
  virtual void block(uint64_t id, const BlockRef& b) = 0;
  virtual void end() = 0;
  virtual void cancel() = 0;
  virtual void drain() = 0;
  virtual void close() = 0;  // last call: nothing more will be delivered
};

enum class BridgeRole { kSource, kFilter, kDest };

class BridgeElement final : public Element {
 public:
  BridgeElement(std::string kind, BridgeRole role, size_t window);
  void set_port(std::unique_ptr<BridgePort> port) { port_ = std::move(port); }
  BridgePort* port() const { return port_.get(); }

  MechPairs mech_pairs() const override;
  Status start() override;
  void push(BlockRef b) override;
  BlockRef pull() override;
  void run(int) override;
  void unblock() override;
  void close() override;

  // From JavaScript (JS thread).
  void js_release(uint64_t id);
  // 1: queued; 0: queue full, wait for drain; -1: the transfer is cancelled or over (dropped).
  int js_write(const uint8_t* data, size_t n);
  void js_end();
  void js_done();
  void js_error(const std::string& op, const std::string& message);

 private:
  const BridgeRole role_;
  const size_t window_;
  std::unique_ptr<BridgePort> port_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<uint64_t, BlockRef> in_flight_;
  uint64_t next_id_ = 1;
  std::deque<BlockRef> out_;
  bool out_eof_ = false;
  bool want_drain_ = false;
  bool js_done_ = false;
  bool closed_ = false;
};

}  // namespace xfa
