// Devices implemented in TypeScript, driven from engine threads: see js_device.h.
#include "js_device.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <map>

#include "amanda_header.h"

namespace xfa {

const char* js_op_name(JsOp op) {
  switch (op) {
    case JsOp::kOpen: return "open";
    case JsOp::kReadLabel: return "readLabel";
    case JsOp::kStart: return "start";
    case JsOp::kFinish: return "finish";
    case JsOp::kStartFile: return "startFile";
    case JsOp::kWriteBlock: return "writeBlock";
    case JsOp::kFinishFile: return "finishFile";
    case JsOp::kAbortFile: return "abortFile";
    case JsOp::kSeekFile: return "seekFile";
    case JsOp::kSeekBlock: return "seekBlock";
    case JsOp::kReadBlock: return "readBlock";
    case JsOp::kErase: return "erase";
    case JsOp::kInterrupt: return "interrupt";
    case JsOp::kClose: return "close";
  }
  return "?";
}

JsCall::~JsCall() {
  if (efd >= 0) ::close(efd);
}

void JsCall::deliver(const uint8_t* p, size_t len, JsReply* r) {
  std::lock_guard<std::mutex> lk(mu);
  if (abandoned || done) return;
  if (len > max) {
    r->too_small = true;
    r->size = len;
    return;
  }
  if (len > 0) std::memcpy(out, p, len);
  r->size = len;
}

void JsCall::complete(JsReply r) {
  std::lock_guard<std::mutex> lk(mu);
  if (done) return;
  done = true;
  reply = std::move(r);
  if (!abandoned && efd >= 0) {
    const uint64_t one = 1;
    if (::write(efd, &one, sizeof one) < 0) {
      // eventfd writes fail only on counter overflow; it is readable either way.
    }
  }
}

// ----- registry -----

namespace {

std::mutex registry_mu;
std::map<std::string, std::shared_ptr<JsDeviceHost>>& registry() {
  static auto* m = new std::map<std::string, std::shared_ptr<JsDeviceHost>>();
  return *m;
}

thread_local int tl_cancel_fd = -1;
std::atomic<uint64_t> next_device_id{1};

}  // namespace

void register_js_device_type(const std::string& type, std::shared_ptr<JsDeviceHost> host) {
  std::lock_guard<std::mutex> lk(registry_mu);
  if (host) registry()[type] = std::move(host);
  else registry().erase(type);
}

std::shared_ptr<JsDeviceHost> find_js_device_type(const std::string& type) {
  std::lock_guard<std::mutex> lk(registry_mu);
  auto it = registry().find(type);
  return it == registry().end() ? nullptr : it->second;
}

const char* js_device_module(const std::string& type) {
  if (type == "s3") return "src/devices/s3.ts";
  if (type == "sftp") return "src/devices/sftp.ts";
  return nullptr;
}

int thread_cancel_fd() { return tl_cancel_fd; }
ThreadCancelFd::ThreadCancelFd(int fd) : prev_(tl_cancel_fd) { tl_cancel_fd = fd; }
ThreadCancelFd::~ThreadCancelFd() { tl_cancel_fd = prev_; }

// ----- the device -----

namespace {

class JsDevice final : public Device {
 public:
  JsDevice(std::string spec, std::string type, std::shared_ptr<JsDeviceHost> host)
      : Device(std::move(spec)), type_(std::move(type)), host_(std::move(host)), id_(next_device_id.fetch_add(1)) {}

  ~JsDevice() override {
    // The adapter finishes the device (releasing its connections) and forgets it. A worker waits
    // for that, so a transfer leaves no socket behind at `done`; the JavaScript thread cannot.
    auto call = std::make_shared<JsCall>(JsOp::kClose, id_);
    if (host_->on_js_thread()) host_->send(call);
    else invoke(call, false);
  }

  const char* type() const override { return type_.c_str(); }
  bool needs_worker_thread() const override { return true; }

  Status open(const DeviceOptions& options) {
    options_ = options;
    auto call = std::make_shared<JsCall>(JsOp::kOpen, id_);
    call->spec = spec();
    call->options = options_;
    JsReply r;
    if (host_->on_js_thread()) {
      host_->call_now(call);
      std::lock_guard<std::mutex> lk(call->mu);
      if (!call->done) return dev_error("open", EIO, "the JavaScript device did not answer synchronously");
      r = call->reply;
    } else {
      r = invoke(call, true);
    }
    if (!r.ok) return fix(r.error, "open");
    if (r.has_props) {
      props_ = r.props;
    }
    return ok();
  }

  Status set_property(const std::string& name, const std::string& value) override {
    if (access_ != DeviceAccess::kNull) return dev_error("set_property " + norm_name(name), 0, "properties can only be set before start()");
    DeviceOptions o = options_;
    o.emplace_back(name, value);
    return open(o);
  }

  std::optional<std::string> get_property(const std::string& name) const override {
    if (auto v = Device::get_property(name)) return v;
    const std::string n = norm_name(name);
    if (n.find("SECRET") != std::string::npos || n.find("TOKEN") != std::string::npos) return std::nullopt;
    std::optional<std::string> out;
    for (const auto& [k, v] : options_)
      if (norm_name(k) == n) out = v;
    return out;
  }

  Status read_label() override {
    auto call = std::make_shared<JsCall>(JsOp::kReadLabel, id_);
    JsReply r = invoke(call, true);
    status_ = kDeviceSuccess;
    if (!r.ok) {
      status_ = r.status ? r.status : kDeviceError;
      return fix(r.error, "read_label");
    }
    return take_label(r.text);
  }

  Status start(DeviceAccess mode, const std::string& label, const std::string& timestamp) override {
    if (access_ != DeviceAccess::kNull) return dev_error("start", EINVAL, std::string("already started (") + access_name(access_) + ")");
    auto call = std::make_shared<JsCall>(JsOp::kStart, id_);
    call->a = mode == DeviceAccess::kRead ? "read" : mode == DeviceAccess::kWrite ? "write" : mode == DeviceAccess::kAppend ? "append" : "";
    if (call->a.empty()) return dev_error("start", EINVAL, "mode NULL");
    call->b = label;
    call->c = timestamp;
    JsReply r = invoke(call, true);
    status_ = kDeviceSuccess;
    if (!r.ok) {
      status_ = r.status ? r.status : kDeviceError;
      return fix(r.error, "start");
    }
    if (Status s = take_label(r.text)) return s;
    access_ = mode;
    return ok();
  }

  Status finish() override {
    // Also when not started: the JavaScript device then drops its connection (after read_label).
    auto call = std::make_shared<JsCall>(JsOp::kFinish, id_);
    JsReply r = invoke(call, false);
    access_ = DeviceAccess::kNull;
    in_file_ = false;
    if (!r.ok) return fix(r.error, "finish");
    return ok();
  }

  Status start_file(amanda::Header& header) override {
    std::string text;
    if (Status s = amanda::build_text(header, &text)) return dev_error("start_file", EINVAL, s->detail);
    auto call = std::make_shared<JsCall>(JsOp::kStartFile, id_);
    call->b = text;
    JsReply r = invoke(call, true);
    if (!r.ok) return fix(r.error, "start_file");
    header.blocksize = 0;  // the header is an object of its own
    return ok();
  }

  WriteResult write_block(const void* data, size_t size) override {
    WriteResult w;
    auto call = std::make_shared<JsCall>(JsOp::kWriteBlock, id_);
    call->in = static_cast<const uint8_t*>(data);
    call->in_len = size;
    JsReply r = invoke(call, true);
    if (!r.ok) {
      w.kind = WriteResult::kError;
      w.error = fix(r.error, "write_block");
      return w;
    }
    if (r.text == "full") {
      w.kind = WriteResult::kFull;
      w.error = dev_error("write_block", ENOSPC, "the volume is full (MAX_VOLUME_USAGE)");
    }
    return w;
  }

  Status finish_file() override {
    auto call = std::make_shared<JsCall>(JsOp::kFinishFile, id_);
    JsReply r = invoke(call, true);
    if (!r.ok) return fix(r.error, "finish_file");
    return ok();
  }

  void abort_file() override {
    auto call = std::make_shared<JsCall>(JsOp::kAbortFile, id_);
    invoke(call, false);
    in_file_ = false;
  }

  Status seek_file(uint32_t file, amanda::Header* header) override {
    auto call = std::make_shared<JsCall>(JsOp::kSeekFile, id_);
    call->n = file;
    JsReply r = invoke(call, true);
    if (!r.ok) return fix(r.error, "seek_file " + std::to_string(file));
    file_header_bytes_ = r.text;
    amanda::Header h;
    if (Status s = amanda::parse(r.text.data(), r.text.size(), &h))
      return dev_error("seek_file " + std::to_string(file), EIO, "the header is not an Amanda header: " + s->detail);
    if (h.type == amanda::FileType::kTapeEnd) file_header_bytes_.clear();
    if (header) *header = h;
    return ok();
  }

  Status seek_block(uint64_t block) override {
    auto call = std::make_shared<JsCall>(JsOp::kSeekBlock, id_);
    call->n = block;
    JsReply r = invoke(call, true);
    if (!r.ok) return fix(r.error, "seek_block " + std::to_string(block));
    return ok();
  }

  ReadResult read_block(void* buf, size_t max) override {
    ReadResult rr;
    if (max < props_.block_size) {
      rr.kind = ReadResult::kTooSmall;
      rr.size = props_.block_size;
      return rr;
    }
    auto call = std::make_shared<JsCall>(JsOp::kReadBlock, id_);
    call->out = static_cast<uint8_t*>(buf);
    call->max = max;
    JsReply r = invoke(call, true);
    if (!r.ok) {
      rr.kind = ReadResult::kError;
      rr.error = fix(r.error, "read_block");
      return rr;
    }
    if (r.too_small) {
      rr.kind = ReadResult::kTooSmall;
      rr.size = r.size;
      return rr;
    }
    if (r.eof) {
      rr.kind = ReadResult::kEof;
      return rr;
    }
    rr.size = r.size;
    return rr;
  }

  Status erase() override {
    auto call = std::make_shared<JsCall>(JsOp::kErase, id_);
    JsReply r = invoke(call, true);
    if (!r.ok) return fix(r.error, "erase");
    return ok();
  }

  void unblock() override {
    std::lock_guard<std::mutex> lk(mu_);
    unblocked_ = true;
    if (current_) {
      std::lock_guard<std::mutex> ck(current_->mu);
      const uint64_t one = 1;
      if (current_->efd >= 0 && !current_->abandoned && ::write(current_->efd, &one, sizeof one) < 0) {
      }
    }
  }

 private:
  // Sends the call and waits for its answer, or (interruptible) for the cancel of this thread's
  // transfer or unblock(). Applies the reported state.
  JsReply invoke(const std::shared_ptr<JsCall>& call, bool interruptible) {
    JsReply r;
    if (host_->on_js_thread()) {
      if (call->op == JsOp::kFinish || call->op == JsOp::kAbortFile) {
        host_->send(call);  // in order after every earlier call; nobody waits for it
        r.ok = true;
        return r;
      }
      r.error = plain_error(std::string(js_op_name(call->op)), "");
      r.error.err = EDEADLK;
      r.error.detail = "the " + type_ + " device is TypeScript (behind the device bridge) and cannot be called on the JavaScript thread; "
                       "use it from an element's worker thread or through the device's async TypeScript API";
      return r;
    }
    const int cfd = interruptible ? thread_cancel_fd() : -1;
    auto cancelled_now = [&] {
      if (!interruptible) return false;
      {
        std::lock_guard<std::mutex> lk(mu_);
        if (unblocked_) return true;
      }
      if (cfd < 0) return false;
      struct pollfd p = {cfd, POLLIN, 0};
      return ::poll(&p, 1, 0) > 0;
    };
    if (cancelled_now()) return cancelled(call->op);
    call->efd = ::eventfd(0, EFD_CLOEXEC);
    if (call->efd < 0) {
      r.error = sys_error(js_op_name(call->op), errno);
      return r;
    }
    {
      std::lock_guard<std::mutex> lk(mu_);
      current_ = call;
    }
    host_->send(call);
    bool gave_up = false;
    for (;;) {
      struct pollfd p[2] = {{call->efd, POLLIN, 0}, {cfd, POLLIN, 0}};
      const int n = ::poll(p, cfd >= 0 ? 2 : 1, -1);
      if (n < 0 && errno == EINTR) continue;
      {
        std::lock_guard<std::mutex> lk(call->mu);
        if (call->done) break;
      }
      if (cancelled_now() || (n < 0)) {
        gave_up = true;
        break;
      }
      // A spurious wake (unblock before this call was current): drain and wait again.
      uint64_t v;
      if (p[0].revents & POLLIN) (void)!::read(call->efd, &v, sizeof v);
    }
    {
      std::lock_guard<std::mutex> lk(mu_);
      current_.reset();
    }
    {
      // The call object may live on in JavaScript (its reply function) until a collection: its
      // eventfd must not.
      std::lock_guard<std::mutex> lk(call->mu);
      ::close(call->efd);
      call->efd = -1;
    }
    if (gave_up) {
      std::lock_guard<std::mutex> lk(call->mu);
      if (!call->done) {
        call->abandoned = true;
        call->out = nullptr;
        call->in = nullptr;
        host_->send(std::make_shared<JsCall>(JsOp::kInterrupt, id_));
        return cancelled(call->op);
      }
    }
    {
      std::lock_guard<std::mutex> lk(call->mu);
      r = call->reply;
    }
    if (r.has_state) apply(r.state);
    return r;
  }

  JsReply cancelled(JsOp op) const {
    JsReply r;
    r.error = sys_error(js_op_name(op), ECANCELED);
    r.error.detail = "cancelled";
    return r;
  }

  void apply(const JsDeviceState& s) {
    file_ = s.file;
    block_ = s.block;
    in_file_ = s.in_file;
    is_eom_ = s.is_eom;
    is_eof_ = s.is_eof;
    volume_bytes_ = s.volume_bytes;
    bytes_written_ = s.bytes_written;
    bytes_read_ = s.bytes_read;
  }

  Status take_label(const std::string& text) {
    if (text.empty()) return ok();
    amanda::Header h;
    if (Status s = amanda::parse(text.data(), text.size(), &h)) {
      status_ = kVolumeUnlabeled;
      return dev_error("read_label", EIO, "the label is not an Amanda header: " + s->detail);
    }
    volume_header_ = h;
    volume_label_ = h.name;
    volume_time_ = h.datestamp;
    return ok();
  }

  // The error from JavaScript with this device's name in op: "write_block s3:b/p/".
  Error fix(Error e, const std::string& op) const {
    Error out = dev_error(op, e.err ? e.err : EIO, e.detail);
    return out;
  }

  const std::string type_;
  std::shared_ptr<JsDeviceHost> host_;
  const uint64_t id_;
  DeviceOptions options_;
  std::mutex mu_;  // current_, unblocked_
  std::shared_ptr<JsCall> current_;
  bool unblocked_ = false;
};

}  // namespace

namespace devices {

DeviceOrError make_js(const std::string& spec, const std::string& type, const DeviceOptions& options) {
  auto host = find_js_device_type(type);
  if (!host) {
    const char* mod = js_device_module(type);
    if (!mod) {
      std::string ts;
      {
        std::lock_guard<std::mutex> lk(registry_mu);
        for (const auto& [name, h] : registry()) ts += (ts.empty() ? "" : ", ") + name;
      }
      return plain_error("open device \"" + spec + "\"", "unknown device type \"" + type + "\" (known: file, diskflat, null, tape, rait)" +
                                                             (ts.empty() ? std::string() : "; TypeScript devices registered: " + ts));
    }
    return plain_error("open device \"" + spec + "\"", "the " + type + " device is written in TypeScript (" + mod +
                                                           ") and is not registered in this process: import 'xfa' (src/index.ts) or " + mod +
                                                           " before a C++ element opens it");
  }
  auto dev = std::make_unique<JsDevice>(spec, type, host);
  if (Status s = dev->open(options)) return *s;
  return std::unique_ptr<Device>(std::move(dev));
}

}  // namespace devices

}  // namespace xfa
