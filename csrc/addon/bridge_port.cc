#include "bridge_port.h"

#include <deque>
#include <map>
#include <mutex>

namespace xfa::addon {

namespace {

enum class Ev { kStart, kBlock, kEnd, kCancel, kDrain };

struct Event {
  Ev kind;
  uint64_t id = 0;
  BlockRef block;
};

const char* method_of(Ev e) {
  switch (e) {
    case Ev::kStart: return "onStart";
    case Ev::kBlock: return "onBlock";
    case Ev::kEnd: return "onEnd";
    case Ev::kCancel: return "onCancel";
    case Ev::kDrain: return "onDrain";
  }
  return "onStart";
}

// State shared by the port (owned by the element, destroyed whenever the transfer is collected)
// and the callbacks still queued in the thread-safe function, which may run after that.
struct PortState {
  std::mutex mu;
  bool closed = false;
  Napi::ObjectReference port;             // JS thread only
  std::map<uint64_t, BlockRef*> hints;    // JS thread only: the finalizer hint of each chunk
  std::map<uint64_t, Napi::Reference<Napi::ArrayBuffer>> chunks;  // JS thread only: weak
  // JS thread: after the transfer ended, chunks JavaScript never released (a write that was
  // still queued in a library when the connection died) are detached, so their blocks return
  // to the pool now rather than whenever that library's objects are collected.
  void detach_unreleased(Napi::Env env) {
    for (auto& [id, ref] : chunks) {
      Napi::ArrayBuffer ab = ref.Value();
      auto h = hints.find(id);
      if (ab.IsEmpty() || ab.IsDetached() || h == hints.end()) continue;  // collected already
      if (napi_detach_arraybuffer(env, ab) == napi_ok) h->second->reset();
    }
    chunks.clear();
    hints.clear();
  }
  Napi::ThreadSafeFunction tsfn;
};

class JsBridgePort final : public BridgePort {
 public:
  JsBridgePort(Napi::Env env, Napi::Object port) : st_(std::make_shared<PortState>()) {
    st_->port = Napi::Persistent(port);
    st_->tsfn = Napi::ThreadSafeFunction::New(env, Napi::Function::New(env, [](const Napi::CallbackInfo&) {}),
                                              "xfa-bridge", 0, 1);
    st_->tsfn.Unref(env);  // the transfer's message pump keeps Node alive while it runs
  }

  ~JsBridgePort() override { close(); }

  // JS thread: JavaScript is done with block `id`. Detaching the chunk's ArrayBuffer makes any
  // copy JavaScript kept empty, so the block can go back to the pool at once instead of at the
  // next garbage collection (V8 does not see this memory and would not hurry).
  void released(uint64_t id, Napi::Value chunk) {
    auto it = st_->hints.find(id);
    if (it == st_->hints.end()) return;
    if (chunk.IsBuffer()) {
      Napi::ArrayBuffer ab = chunk.As<Napi::Buffer<uint8_t>>().ArrayBuffer();
      if (!ab.IsDetached() && napi_detach_arraybuffer(chunk.Env(), ab) == napi_ok) it->second->reset();
    }
    st_->hints.erase(it);
    st_->chunks.erase(id);
  }

  void start() override { send({Ev::kStart, 0, {}}); }
  void block(uint64_t id, const BlockRef& b) override { send({Ev::kBlock, id, b}); }
  void end() override { send({Ev::kEnd, 0, {}}); }
  void cancel() override { send({Ev::kCancel, 0, {}}); }
  void drain() override { send({Ev::kDrain, 0, {}}); }

  void close() override {
    std::lock_guard<std::mutex> lk(st_->mu);
    if (st_->closed) return;
    st_->closed = true;
    // The port object reference is dropped on the JS thread, after the last queued event.
    auto st = st_;
    st_->tsfn.NonBlockingCall([st](Napi::Env env, Napi::Function) {
      st->port.Reset();
      if (env != nullptr) {
        Napi::HandleScope scope(env);
        st->detach_unreleased(env);
      }
    });
    st_->tsfn.Release();
  }

 private:
  void send(Event ev) {
    std::lock_guard<std::mutex> lk(st_->mu);
    if (st_->closed) return;
    auto st = st_;
    auto* e = new Event(std::move(ev));  // owned by the callback below
    st_->tsfn.NonBlockingCall([st, e](Napi::Env env, Napi::Function) {
      std::unique_ptr<Event> own(e);
      if (env == nullptr || st->port.IsEmpty()) return;
      deliver(env, *st, *own);
    });
  }

  static void deliver(Napi::Env env, PortState& st, const Event& e) {
    Napi::HandleScope scope(env);
    Napi::Object port = st.port.Value();
    Napi::Function fn = port.Get(method_of(e.kind)).As<Napi::Function>();
    if (e.kind != Ev::kBlock) {
      fn.Call(port, {});
      return;
    }
    // Zero copy: the Buffer points into the pooled block and holds a reference to it until it
    // is released (detached) or garbage-collected, so its memory can never be reused under it.
    auto* keep = new BlockRef(e.block);
    st.hints[e.id] = keep;
    Napi::Buffer<uint8_t> buf = Napi::Buffer<uint8_t>::New(
        env, (*keep)->data(), (*keep)->size(), [](Napi::Env, uint8_t*, BlockRef* k) { delete k; }, keep);
    st.chunks[e.id] = Napi::Weak(buf.ArrayBuffer());
    fn.Call(port, {buf, Napi::Number::New(env, static_cast<double>(e.id))});
  }

  std::shared_ptr<PortState> st_;
};

BridgeRole role_of(const std::string& r) {
  if (r == "source") return BridgeRole::kSource;
  if (r == "dest") return BridgeRole::kDest;
  return BridgeRole::kFilter;
}

Napi::Object make_handle(Napi::Env env, std::shared_ptr<Transfer> xfer, BridgeElement* el) {
  Napi::Object h = Napi::Object::New(env);
  h.Set("write", Napi::Function::New(env, [xfer, el](const Napi::CallbackInfo& info) {
    auto b = info[0].As<Napi::Buffer<uint8_t>>();
    return Napi::Number::New(info.Env(), el->js_write(b.Data(), b.Length()));
  }));
  h.Set("release", Napi::Function::New(env, [xfer, el](const Napi::CallbackInfo& info) {
    const auto id = static_cast<uint64_t>(info[0].As<Napi::Number>().Int64Value());
    static_cast<JsBridgePort*>(el->port())->released(id, info[1]);
    el->js_release(id);
  }));
  h.Set("end", Napi::Function::New(env, [xfer, el](const Napi::CallbackInfo&) { el->js_end(); }));
  h.Set("done", Napi::Function::New(env, [xfer, el](const Napi::CallbackInfo&) { el->js_done(); }));
  h.Set("error", Napi::Function::New(env, [xfer, el](const Napi::CallbackInfo& info) {
    el->js_error(info[0].ToString().Utf8Value(), info[1].ToString().Utf8Value());
  }));
  h.Set("blockSize", Napi::Number::New(env, static_cast<double>(el->block_size())));
  return h;
}

}  // namespace

std::unique_ptr<Element> make_bridge_element(Napi::Env env, const std::string& name, const Napi::Object& spec) {
  const std::string role = spec.Get("role").ToString().Utf8Value();
  const size_t window = spec.Get("window").IsNumber() ? spec.Get("window").As<Napi::Number>().Uint32Value() : 4;
  auto el = std::make_unique<BridgeElement>(name, role_of(role), window);
  el->set_port(std::make_unique<JsBridgePort>(env, spec.Get("port").As<Napi::Object>()));
  return el;
}

void attach_bridge_handles(Napi::Env env, const std::shared_ptr<Transfer>& xfer, const Napi::Array& specs) {
  for (uint32_t i = 0; i < specs.Length(); ++i) {
    Napi::Object spec = specs.Get(i).As<Napi::Object>();
    if (!spec.Has("port")) continue;
    auto* el = dynamic_cast<BridgeElement*>(xfer->element(i));
    if (!el) continue;
    Napi::Object port = spec.Get("port").As<Napi::Object>();
    port.Get("attach").As<Napi::Function>().Call(port, {make_handle(env, xfer, el)});
  }
}

}  // namespace xfa::addon
