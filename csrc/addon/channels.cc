#include "channels.h"

#include <memory>

#include "fletcher32.h"
#include "mux_channel.h"
#include "mux_format.h"

namespace xfa::addon {

namespace {

class JsChannel : public Napi::ObjectWrap<JsChannel> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "Channel",
                       {InstanceMethod("endpointDone", &JsChannel::EndpointDone),
                        InstanceMethod("cancel", &JsChannel::Cancel),
                        InstanceMethod("markCancelled", &JsChannel::MarkCancelled),
                        InstanceAccessor("id", &JsChannel::Id, nullptr), InstanceAccessor("kind", &JsChannel::Kind, nullptr),
                        InstanceAccessor("size", &JsChannel::Size, nullptr)});
  }

  // new Channel(kind, n, queueBlocks?)
  explicit JsChannel(const Napi::CallbackInfo& info) : Napi::ObjectWrap<JsChannel>(info) {
    Napi::Env env = info.Env();
    const std::string kind = info[0].ToString().Utf8Value();
    const int64_t n = info[1].ToNumber().Int64Value();
    const int64_t q = info[2].IsNumber() ? info[2].As<Napi::Number>().Int64Value() : 4;
    if (n < 1 || n > 65536) throw Napi::RangeError::New(env, "channel: 1 to 65536 streams");
    if (q < 1 || q > 4096) throw Napi::RangeError::New(env, "channel: queue of 1 to 4096 blocks");
    if (kind == "mux") ch_ = std::make_shared<MuxChannel>(static_cast<size_t>(n), static_cast<size_t>(q));
    else if (kind == "demux") ch_ = std::make_shared<DemuxChannel>(static_cast<size_t>(n), static_cast<size_t>(q));
    else throw Napi::TypeError::New(env, "channel: kind must be mux or demux");
    register_channel(ch_);
  }

 private:
  Napi::Value EndpointDone(const Napi::CallbackInfo& info) {
    ch_->endpoint_done(info[0].ToNumber().Int32Value());
    return info.Env().Undefined();
  }
  Napi::Value Cancel(const Napi::CallbackInfo& info) {
    ch_->cancel_graph();
    return info.Env().Undefined();
  }
  Napi::Value MarkCancelled(const Napi::CallbackInfo& info) {
    ch_->mark_cancelled();
    return info.Env().Undefined();
  }
  Napi::Value Id(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), static_cast<double>(ch_->id())); }
  Napi::Value Kind(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), ch_->kind()); }
  Napi::Value Size(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), static_cast<double>(ch_->size())); }

  std::shared_ptr<Channel> ch_;
};

Napi::Value Fletcher(const Napi::CallbackInfo& info) {
  auto buf = info[0].As<Napi::Buffer<uint8_t>>();
  return Napi::Number::New(info.Env(), fletcher32(buf.Data(), buf.Length()));
}

Napi::Value MuxHeader(const Napi::CallbackInfo& info) {
  Napi::Object o = info[0].As<Napi::Object>();
  auto num = [&](const char* k) { return o.Has(k) ? o.Get(k).ToNumber().Int64Value() : 0; };
  mux::PacketHeader h;
  h.flags = static_cast<uint8_t>(num("flags"));
  h.stream = static_cast<uint32_t>(num("stream"));
  h.length = static_cast<uint32_t>(num("length"));
  h.sequence = static_cast<uint64_t>(num("sequence"));
  h.checksum = static_cast<uint32_t>(num("checksum"));
  auto out = Napi::Buffer<uint8_t>::New(info.Env(), mux::kHeaderSize);
  mux::encode_header(h, out.Data());
  return out;
}

Napi::Value MuxHeaderParse(const Napi::CallbackInfo& info) {
  auto buf = info[0].As<Napi::Buffer<uint8_t>>();
  Napi::Object o = Napi::Object::New(info.Env());
  if (buf.Length() < mux::kHeaderSize) {
    o.Set("error", "short header");
    return o;
  }
  mux::PacketHeader h;
  const std::string err = mux::decode_header(buf.Data(), &h);
  if (!err.empty()) {
    o.Set("error", err);
    return o;
  }
  o.Set("flags", h.flags);
  o.Set("stream", h.stream);
  o.Set("length", h.length);
  o.Set("sequence", static_cast<double>(h.sequence));
  o.Set("checksum", h.checksum);
  return o;
}

}  // namespace

void init_channels(Napi::Env env, Napi::Object exports) {
  exports.Set("Channel", JsChannel::Init(env));
  exports.Set("fletcher32", Napi::Function::New(env, Fletcher));
  exports.Set("muxHeader", Napi::Function::New(env, MuxHeader));
  exports.Set("muxHeaderParse", Napi::Function::New(env, MuxHeaderParse));
}

}  // namespace xfa::addon
