// The JavaScript side of the device bridge (csrc/devices/js_device.h): one host per TypeScript
// device type, registered by src/devices/bridge.ts with
//
//     native.deviceBridgeRegister(type, dispatch)   // dispatch(request, reply)
//     native.deviceBridgeUnregister(type)
//
// Each JsCall becomes a request object {id, op, spec, props, mode, label, timestamp, header, n,
// data, max} passed to dispatch() on the JavaScript thread through one thread-safe function;
// JavaScript answers once with reply(error, result). write data is a Buffer over memory the
// waiting thread still owns, copied here (on the JavaScript thread) into a Buffer; read data is
// copied into the waiting thread's buffer here too.
#include "device_host.h"

#include <atomic>
#include <cerrno>
#include <mutex>
#include <map>
#include <thread>

#include "../devices/js_device.h"

namespace xfa::addon {
namespace {

int errno_of(const std::string& code) {
  static const struct {
    const char* name;
    int err;
  } kCodes[] = {{"ENOENT", ENOENT}, {"ENOSPC", ENOSPC}, {"ECANCELED", ECANCELED}, {"EINVAL", EINVAL}, {"EIO", EIO},
                {"EACCES", EACCES}, {"EEXIST", EEXIST}, {"ETIMEDOUT", ETIMEDOUT}, {"ECONNREFUSED", ECONNREFUSED},
                {"ECONNRESET", ECONNRESET}, {"ENOTSUP", ENOTSUP}, {"EBUSY", EBUSY}, {"EDEADLK", EDEADLK}};
  for (const auto& c : kCodes)
    if (code == c.name) return c.err;
  return EIO;
}

unsigned status_of(const Napi::Value& v) {
  unsigned s = 0;
  auto one = [&](const std::string& n) {
    if (n == "DEVICE_ERROR") s |= kDeviceError;
    else if (n == "DEVICE_BUSY") s |= kDeviceBusy;
    else if (n == "VOLUME_MISSING") s |= kVolumeMissing;
    else if (n == "VOLUME_UNLABELED") s |= kVolumeUnlabeled;
    else if (n == "VOLUME_ERROR") s |= kVolumeError;
  };
  if (v.IsString()) one(v.As<Napi::String>().Utf8Value());
  if (v.IsArray()) {
    Napi::Array a = v.As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); ++i)
      if (a.Get(i).IsString()) one(a.Get(i).As<Napi::String>().Utf8Value());
  }
  return s;
}

double num(const Napi::Object& o, const char* k, double d) {
  Napi::Value v = o.Get(k);
  return v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : d;
}
bool flag(const Napi::Object& o, const char* k, bool d) {
  Napi::Value v = o.Get(k);
  return v.IsBoolean() ? v.As<Napi::Boolean>().Value() : d;
}
std::string str(const Napi::Object& o, const char* k) {
  Napi::Value v = o.Get(k);
  return v.IsString() ? v.As<Napi::String>().Utf8Value() : std::string();
}

// Converts reply(error, result) into the call's answer and completes it.
void settle(const std::shared_ptr<JsCall>& call, const Napi::Value& err, const Napi::Value& res) {
  JsReply r;
  if (!err.IsUndefined() && !err.IsNull()) {
    r.ok = false;
    r.error.op = js_op_name(call->op);
    if (err.IsObject()) {
      Napi::Object e = err.As<Napi::Object>();
      r.error.detail = str(e, "message");
      r.error.err = errno_of(str(e, "code"));
      r.status = status_of(e.Get("status"));
      if (e.Get("state").IsObject()) {
        // The state after a failed call matters too (start_file: EOM in the header).
        Napi::Object s = e.Get("state").As<Napi::Object>();
        r.has_state = true;
        r.state.file = static_cast<int>(num(s, "file", -1));
        r.state.block = static_cast<uint64_t>(num(s, "block", 0));
        r.state.in_file = flag(s, "inFile", false);
        r.state.is_eom = flag(s, "isEom", false);
        r.state.is_eof = flag(s, "isEof", false);
        r.state.volume_bytes = static_cast<uint64_t>(num(s, "volumeBytes", 0));
        r.state.bytes_written = static_cast<uint64_t>(num(s, "bytesWritten", 0));
        r.state.bytes_read = static_cast<uint64_t>(num(s, "bytesRead", 0));
      }
    } else {
      r.error.detail = err.ToString().Utf8Value();
      r.error.err = EIO;
    }
    if (r.error.detail.empty()) r.error.detail = "failed (no message from JavaScript)";
    call->complete(std::move(r));
    return;
  }
  r.ok = true;
  if (res.IsObject()) {
    Napi::Object o = res.As<Napi::Object>();
    if (o.Get("state").IsObject()) {
      Napi::Object s = o.Get("state").As<Napi::Object>();
      r.has_state = true;
      r.state.file = static_cast<int>(num(s, "file", -1));
      r.state.block = static_cast<uint64_t>(num(s, "block", 0));
      r.state.in_file = flag(s, "inFile", false);
      r.state.is_eom = flag(s, "isEom", false);
      r.state.is_eof = flag(s, "isEof", false);
      r.state.volume_bytes = static_cast<uint64_t>(num(s, "volumeBytes", 0));
      r.state.bytes_written = static_cast<uint64_t>(num(s, "bytesWritten", 0));
      r.state.bytes_read = static_cast<uint64_t>(num(s, "bytesRead", 0));
    }
    r.text = str(o, "text");
    r.number = static_cast<uint64_t>(num(o, "number", 0));
    if (o.Get("props").IsObject()) {
      Napi::Object p = o.Get("props").As<Napi::Object>();
      r.has_props = true;
      DeviceProperties& d = r.props;
      d.block_size = static_cast<size_t>(num(p, "blockSize", static_cast<double>(d.block_size)));
      d.min_block_size = static_cast<size_t>(num(p, "minBlockSize", static_cast<double>(d.min_block_size)));
      d.max_block_size = static_cast<size_t>(num(p, "maxBlockSize", static_cast<double>(d.max_block_size)));
      d.header_block_size = static_cast<size_t>(num(p, "headerBlockSize", 0));
      d.short_blocks = flag(p, "shortBlocks", true);
      d.leom = flag(p, "leom", true);
      d.max_volume_usage = static_cast<uint64_t>(num(p, "maxVolumeUsage", 0));
      d.enforce_max_volume_usage = flag(p, "enforceMaxVolumeUsage", true);
      d.appendable = flag(p, "appendable", true);
      d.partial_deletion = flag(p, "partialDeletion", true);
      d.full_deletion = flag(p, "fullDeletion", true);
      d.sync = true;
      d.streaming = Streaming::kNone;
    }
    if (call->op == JsOp::kReadBlock) {
      Napi::Value data = o.Get("data");
      if (data.IsBuffer()) {
        auto b = data.As<Napi::Buffer<uint8_t>>();
        call->deliver(b.Data(), b.Length(), &r);
      } else {
        r.eof = true;
      }
    }
  }
  call->complete(std::move(r));
}

JsReply gone_reply(JsOp op, const std::string& why) {
  JsReply r;
  r.error.op = js_op_name(op);
  r.error.err = EIO;
  r.error.detail = why;
  return r;
}

// Whether the thread-safe function may still be called: false once released or finalized (the
// environment shutting down). Shared with the finalizer, which may outlive the host.
struct TsfnState {
  std::mutex mu;
  bool usable = true;
};

class Host final : public JsDeviceHost {
 public:
  Host(Napi::Env env, std::string type, Napi::Function dispatch)
      : type_(std::move(type)), js_thread_(std::this_thread::get_id()), st_(std::make_shared<TsfnState>()) {
    dispatch_ = Napi::Persistent(dispatch);
    auto* fin = new std::shared_ptr<TsfnState>(st_);
    tsfn_ = Napi::ThreadSafeFunction::New(env, dispatch, "xfa-device-" + type_, 0, 1, fin,
                                          [](Napi::Env, std::shared_ptr<TsfnState>* s) {
                                            {
                                              std::lock_guard<std::mutex> lk((*s)->mu);
                                              (*s)->usable = false;
                                            }
                                            delete s;
                                          });
    tsfn_.Unref(env);  // a blocked worker is waited for by its transfer, which keeps Node alive
  }

  bool on_js_thread() const override { return std::this_thread::get_id() == js_thread_; }

  void send(std::shared_ptr<JsCall> call) override {
    std::lock_guard<std::mutex> lk(st_->mu);
    if (!st_->usable) {
      call->complete(gone_reply(call->op, "the " + type_ + " device type was unregistered, or the JavaScript environment is gone"));
      return;
    }
    auto* holder = new std::shared_ptr<JsCall>(call);
    const napi_status st = tsfn_.NonBlockingCall(holder, [](Napi::Env env, Napi::Function fn, std::shared_ptr<JsCall>* h) {
      std::unique_ptr<std::shared_ptr<JsCall>> own(h);
      if (env == nullptr) {
        (*own)->complete(gone_reply((*own)->op, "the JavaScript environment is shutting down"));
        return;
      }
      Napi::HandleScope scope(env);
      dispatch(env, fn, *own);
    });
    if (st != napi_ok) {
      delete holder;
      call->complete(gone_reply(call->op, "the JavaScript environment is shutting down"));
    }
  }

  void call_now(const std::shared_ptr<JsCall>& call) override {
    if (dispatch_.IsEmpty()) {
      call->complete(gone_reply(call->op, "the " + type_ + " device type was unregistered"));
      return;
    }
    Napi::Env env = dispatch_.Env();
    Napi::HandleScope scope(env);
    dispatch(env, dispatch_.Value(), call);
  }

  // JS thread.
  void release() {
    {
      std::lock_guard<std::mutex> lk(st_->mu);
      if (!st_->usable) return;
      st_->usable = false;
      tsfn_.Release();
    }
    dispatch_.Reset();
  }

 private:
  static void dispatch(Napi::Env env, Napi::Function fn, const std::shared_ptr<JsCall>& call) {
    Napi::Object req = Napi::Object::New(env);
    req.Set("id", static_cast<double>(call->device));
    req.Set("op", js_op_name(call->op));
    switch (call->op) {
      case JsOp::kOpen: {
        req.Set("spec", call->spec);
        Napi::Array props = Napi::Array::New(env);
        for (const auto& [k, v] : call->options) {
          Napi::Array kv = Napi::Array::New(env, 2);
          kv.Set(0u, k);
          kv.Set(1u, v);
          props.Set(props.Length(), kv);
        }
        req.Set("props", props);
        break;
      }
      case JsOp::kStart:
        req.Set("mode", call->a);
        req.Set("label", call->b);
        req.Set("timestamp", call->c);
        break;
      case JsOp::kStartFile: req.Set("header", call->b); break;
      case JsOp::kSeekFile:
      case JsOp::kSeekBlock: req.Set("n", static_cast<double>(call->n)); break;
      case JsOp::kReadBlock: req.Set("max", static_cast<double>(call->max)); break;
      case JsOp::kWriteBlock: {
        // The one copy, into memory V8 manages and accounts for; only while the caller waits.
        std::lock_guard<std::mutex> lk(call->mu);
        if (call->abandoned || call->in == nullptr) return;  // given up: it was answered already
        req.Set("data", Napi::Buffer<uint8_t>::Copy(env, call->in, call->in_len));
        break;
      }
      default: break;
    }
    std::shared_ptr<JsCall> keep = call;
    Napi::Function reply = Napi::Function::New(env, [keep](const Napi::CallbackInfo& info) {
      settle(keep, info.Length() > 0 ? info[0] : info.Env().Undefined(), info.Length() > 1 ? info[1] : info.Env().Undefined());
    });
    try {
      fn.Call({req, reply});
    } catch (const Napi::Error& e) {
      JsReply r = gone_reply(call->op, std::string("the device adapter threw: ") + e.Message());
      call->complete(std::move(r));
    }
  }

  const std::string type_;
  const std::thread::id js_thread_;
  Napi::FunctionReference dispatch_;
  Napi::ThreadSafeFunction tsfn_;
  std::shared_ptr<TsfnState> st_;
};

std::mutex hosts_mu;
std::map<std::string, std::shared_ptr<Host>>& hosts() {
  static auto* m = new std::map<std::string, std::shared_ptr<Host>>();
  return *m;
}

Napi::Value Register(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString() || !info[1].IsFunction()) throw Napi::TypeError::New(env, "deviceBridgeRegister(type, dispatch)");
  const std::string type = info[0].As<Napi::String>().Utf8Value();
  auto host = std::make_shared<Host>(env, type, info[1].As<Napi::Function>());
  std::shared_ptr<Host> old;
  {
    std::lock_guard<std::mutex> lk(hosts_mu);
    auto& slot = hosts()[type];
    old = slot;
    slot = host;
  }
  if (old) old->release();
  register_js_device_type(type, host);
  return env.Undefined();
}

Napi::Value Unregister(const Napi::CallbackInfo& info) {
  const std::string type = info[0].As<Napi::String>().Utf8Value();
  std::shared_ptr<Host> old;
  {
    std::lock_guard<std::mutex> lk(hosts_mu);
    auto it = hosts().find(type);
    if (it != hosts().end()) {
      old = it->second;
      hosts().erase(it);
    }
  }
  register_js_device_type(type, nullptr);
  if (old) old->release();
  return info.Env().Undefined();
}

}  // namespace

void init_device_host(Napi::Env env, Napi::Object exports) {
  exports.Set("deviceBridgeRegister", Napi::Function::New(env, Register));
  exports.Set("deviceBridgeUnregister", Napi::Function::New(env, Unregister));
}

}  // namespace xfa::addon
