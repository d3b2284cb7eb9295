#include "message_pump.h"

#include <cctype>

namespace xfa::addon {


namespace {
// bytes_in -> bytesIn: C++ fields are snake_case, the TypeScript API is camelCase.
std::string camel(const std::string& s) {
  std::string out;
  bool up = false;
  for (char c : s) {
    if (c == '_') {
      up = true;
      continue;
    }
    out += up ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
    up = false;
  }
  return out;
}

Napi::Value field_to_js(Napi::Env env, const FieldValue& v) {
  if (const auto* b = std::get_if<bool>(&v)) return Napi::Boolean::New(env, *b);
  if (const auto* i = std::get_if<int64_t>(&v)) return Napi::Number::New(env, static_cast<double>(*i));
  if (const auto* d = std::get_if<double>(&v)) return Napi::Number::New(env, *d);
  return Napi::String::New(env, std::get<std::string>(v));
}
}  // namespace

Napi::Object message_to_js(Napi::Env env, const Message& m) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("type", msg_type_name(m.type));
  o.Set("elt", m.elt);
  o.Set("index", m.elt_index);
  o.Set("version", m.version);
  for (const auto& [k, v] : m.fields) o.Set(camel(k), field_to_js(env, v));
  return o;
}

std::shared_ptr<MessagePump> MessagePump::create(Napi::Env env, Napi::Function callback) {
  std::shared_ptr<MessagePump> p(new MessagePump());
  p->tsfn_ = Napi::ThreadSafeFunction::New(env, callback, "xfa-messages", 0, 1);
  p->tsfn_.Unref(env);
  p->self_ = p;
  return p;
}

void MessagePump::schedule_locked() {
  if (scheduled_ || released_) return;
  scheduled_ = true;
  MessagePump* self = this;
  tsfn_.NonBlockingCall([self](Napi::Env env, Napi::Function cb) { self->deliver(env, cb); });
}

void MessagePump::post(Message m) {
  std::lock_guard<std::mutex> lk(mu_);
  pending_.push_back(std::move(m));
  schedule_locked();
}

void MessagePump::close() {
  std::lock_guard<std::mutex> lk(mu_);
  closed_ = true;
  schedule_locked();
}

void MessagePump::deliver(Napi::Env env, Napi::Function cb) {
  std::vector<Message> batch;
  bool last;
  {
    std::lock_guard<std::mutex> lk(mu_);
    batch.swap(pending_);
    scheduled_ = false;
    last = closed_;
    if (last) released_ = true;
  }
  if (!batch.empty() && env != nullptr) {
    Napi::HandleScope scope(env);
    Napi::Array arr = Napi::Array::New(env, batch.size());
    for (size_t i = 0; i < batch.size(); ++i) arr.Set(static_cast<uint32_t>(i), message_to_js(env, batch[i]));
    try {
      cb.Call({arr});
    } catch (const Napi::Error& e) {
      // A throwing message handler must not take the transfer down; Node reports it.
      e.ThrowAsJavaScriptException();
    }
  }
  if (last) {
    tsfn_.Release();
    self_.reset();  // may destroy this object: nothing after this line
  }
}

}  // namespace xfa::addon
