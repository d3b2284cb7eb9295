// The device bridge: Device objects whose work is done by a TypeScript device (src/devices/s3.ts,
// DESIGN.md §5 "s3 and sftp in TypeScript behind the device bridge"), so that the C++ media
// elements (dest-taper, dest-device, source-device, source-recovery) and changers naming such
// devices (chg-multi:{s3:b/p/slot-01/,s3:b/p/slot-02/}) drive them like any other device.
//
// Registration. TypeScript registers a device TYPE ("s3") with the addon
// (src/devices/bridge.ts: registerDeviceType); the addon gives the engine a JsDeviceHost for it
// (csrc/addon/device_host.cc). open_device("s3:...") looks the type up here when it is none of
// the C++ types; an unregistered type that TypeScript is known to provide ("s3", "sftp") fails
// with an error naming the device and the missing registration.
//
// Calls. Every Device call becomes one JsCall sent to the JavaScript thread through the host's
// thread-safe function; the JavaScript adapter runs the device's async method and answers with
// the outcome and the device's state (file, block, EOM/EOF, volume bytes, label), which this
// class mirrors into the Device base fields. Calls to one device are answered in order (the
// adapter chains them).
//
// Threads and blocking. A call made on an engine worker (or any thread other than the JavaScript
// thread) BLOCKS until the JavaScript promise settles. A call on the JavaScript thread cannot
// wait for the event loop it is holding, so there:
//   * `open` runs synchronously (S3Device.open touches nothing on the server);
//   * finish() and abort_file() (cleanup that must not be lost) are sent without waiting and
//     report success; JavaScript still runs them, in order, after any earlier call;
//   * every other call fails at once with EDEADLK ("... cannot be called on the JavaScript
//     thread"). Elements therefore touch such volumes on their worker threads: a device whose
//     needs_worker_thread() is true is loaded at the element's first push()/pull(), not in
//     setup() (device.h).
//
// Cancel. A blocked call also returns when the transfer whose worker job is running on this
// thread is cancelled (its cancel fd: thread_cancel_fd(), set by the transfer around each job)
// or when unblock() is called: it returns ECANCELED at once, and JavaScript is told to cut the
// device's requests in flight short (S3Device.interrupt()). Cleanup calls (finish, abort_file)
// are not interrupted: after a cancel they are exactly what must still run; they are bounded by
// the device's own timeouts and retries. Bytes: write_block's data is copied once, on the
// JavaScript thread, into a Buffer JavaScript owns, and read_block's answer into the caller's
// buffer — each only while the caller is still waiting (under the call's mutex), so an
// abandoned call never touches memory its caller has reused.
//
// Errors are values, as for every device: Error{op: "write_block s3:bucket/p/slot-01/", err:
// an errno-like code (EIO unless JavaScript said otherwise: ENOENT for a missing file, ENOSPC
// for a full volume, ECANCELED, EDEADLK), detail: the JavaScript message}. The element adds
// its name when it reports it (Element::fail).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "devices.h"
#include "xfa/device.h"

namespace xfa {

enum class JsOp { kOpen, kReadLabel, kStart, kFinish, kStartFile, kWriteBlock, kFinishFile, kAbortFile,
                  kSeekFile, kSeekBlock, kReadBlock, kErase, kInterrupt, kClose };
const char* js_op_name(JsOp op);  // "open", "readLabel", ... (the adapter's method names)

// The device state JavaScript reports with every answer.
struct JsDeviceState {
  int file = -1;
  uint64_t block = 0;
  bool in_file = false, is_eom = false, is_eof = false;
  uint64_t volume_bytes = 0, bytes_written = 0, bytes_read = 0;
  std::string label, time;
};

struct JsReply {
  bool ok = false;
  Error error;               // when !ok (op without the device; the device fills it in)
  unsigned status = 0;       // DeviceStatusFlags JavaScript reported with an error
  bool has_state = false;
  JsDeviceState state;
  std::string text;          // header text (readLabel, start, seekFile, startFile); "ok"/"full"
  uint64_t number = 0;       // startFile: the file number
  bool eof = false;          // readBlock: end of the file
  size_t size = 0;           // readBlock: bytes copied into the caller's buffer
  bool too_small = false;    // readBlock: the block is bigger than the caller's buffer
  DeviceProperties props;    // open
  bool has_props = false;
};

// One call, shared by the waiting thread and the JavaScript side.
struct JsCall {
  JsCall(JsOp o, uint64_t dev) : op(o), device(dev) {}
  ~JsCall();
  const JsOp op;
  const uint64_t device;       // the device's id (JavaScript keeps one adapter per id)
  std::string spec;            // open
  DeviceOptions options;       // open
  std::string a, b;            // start: mode, label / startFile: header text
  std::string c;               // start: timestamp
  uint64_t n = 0;              // seekFile: file; seekBlock: block
  const uint8_t* in = nullptr; // writeBlock: the caller's bytes, valid while !abandoned (the
  size_t in_len = 0;           // host copies them into a JavaScript Buffer under `mu`)
  size_t max = 0;              // readBlock: the caller's buffer size

  // JavaScript thread: copies a read block for the waiting caller (nothing if it gave up).
  void deliver(const uint8_t* p, size_t len, JsReply* r);
  // JavaScript thread (or any, for "the host is gone"): the answer. Exactly once.
  void complete(JsReply r);

  // Waiting side.
  std::mutex mu;
  bool done = false;
  bool abandoned = false;
  JsReply reply;
  uint8_t* out = nullptr;      // readBlock destination, valid while !abandoned
  int efd = -1;                // eventfd written at completion (while !abandoned)
};

// What the addon implements for each registered type.
class JsDeviceHost {
 public:
  virtual ~JsDeviceHost() = default;
  // True on the JavaScript thread the host belongs to.
  virtual bool on_js_thread() const = 0;
  // Delivers `call` to JavaScript, which completes it later. Any thread; never blocks. If the
  // JavaScript side is gone the call is completed at once with an error.
  virtual void send(std::shared_ptr<JsCall> call) = 0;
  // JavaScript thread only: runs `call` now and returns with it completed (open).
  virtual void call_now(const std::shared_ptr<JsCall>& call) = 0;
};

// Registers (host != nullptr) or removes a TypeScript device type. Any thread.
void register_js_device_type(const std::string& type, std::shared_ptr<JsDeviceHost> host);
std::shared_ptr<JsDeviceHost> find_js_device_type(const std::string& type);
// Types TypeScript provides when its module is loaded, for the "not registered" error.
const char* js_device_module(const std::string& type);  // "src/devices/s3.ts" or nullptr

// The cancel fd of the transfer whose worker job runs on this thread, -1 outside jobs.
int thread_cancel_fd();
class ThreadCancelFd {
 public:
  explicit ThreadCancelFd(int fd);
  ~ThreadCancelFd();
  ThreadCancelFd(const ThreadCancelFd&) = delete;
  ThreadCancelFd& operator=(const ThreadCancelFd&) = delete;

 private:
  int prev_;
};

namespace devices {
// TYPE:NODE for a registered TypeScript type: opens the JavaScript device with `options`.
DeviceOrError make_js(const std::string& spec, const std::string& type, const DeviceOptions& options);
}  // namespace devices

}  // namespace xfa
