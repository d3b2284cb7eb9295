// The Node-API surface of xfa: element descriptions, transfers, and a few probes for tests.
// Everything here runs on the JS thread; the engine does its work on its own worker threads.
#include <napi.h>

#include <stdexcept>

#include "glue/glue.h"
#include "xfa/buffer.h"
#include "bridge_port.h"
#include "crc32c.h"
#include "channels.h"
#include "device_host.h"
#include "media.h"
#include "message_pump.h"
#include "transfer.h"
#include "worker_pool.h"
#include "xfa/element.h"

namespace xfa::addon {

namespace {

const char* prop_type_name(PropType t) {
  switch (t) {
    case PropType::kBool: return "bool";
    case PropType::kInt: return "int";
    case PropType::kSize: return "size";
    case PropType::kDuration: return "duration";
    case PropType::kDouble: return "double";
    case PropType::kString: return "string";
    case PropType::kStrings: return "strings";
  }
  return "string";
}

Napi::Array pairs_to_js(Napi::Env env, const MechPairs& pairs) {
  Napi::Array arr = Napi::Array::New(env, pairs.size());
  for (size_t i = 0; i < pairs.size(); ++i) {
    Napi::Object p = Napi::Object::New(env);
    p.Set("in", mech_name(pairs[i].in));
    p.Set("out", mech_name(pairs[i].out));
    p.Set("copies", pairs[i].copies_per_byte);
    p.Set("allocs", pairs[i].allocs_per_block);
    p.Set("threads", pairs[i].threads);
    arr.Set(static_cast<uint32_t>(i), p);
  }
  return arr;
}

Napi::Object info_to_js(Napi::Env env, const ElementInfo& info) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("name", info.name);
  o.Set("role", info.role);
  o.Set("description", info.description);
  o.Set("longHelp", info.long_help);
  o.Set("example", info.example);
  o.Set("impl", "native");
  o.Set("pairs", pairs_to_js(env, info.pairs));
  Napi::Array props = Napi::Array::New(env, info.props.size());
  for (size_t i = 0; i < info.props.size(); ++i) {
    const PropSpec& ps = info.props[i];
    Napi::Object p = Napi::Object::New(env);
    p.Set("name", ps.name);
    p.Set("type", prop_type_name(ps.type));
    if (!ps.dflt.empty()) p.Set("default", ps.dflt);
    if (ps.min <= ps.max) {
      p.Set("min", ps.min);
      p.Set("max", ps.max);
    }
    p.Set("required", ps.required);
    p.Set("help", ps.help);
    props.Set(static_cast<uint32_t>(i), p);
  }
  o.Set("props", props);
  return o;
}

Napi::Value Elements(const Napi::CallbackInfo& info) {
  // Role "internal" (mux-input, demux-output): built by the graph runner by name, never listed.
  Napi::Array arr = Napi::Array::New(info.Env());
  uint32_t n = 0;
  for (const ElementInfo& e : Registry::instance().all())
    if (e.role != "internal") arr.Set(n++, info_to_js(info.Env(), e));
  return arr;
}

PropValue prop_from_js(const Napi::Value& v) {
  if (v.IsBoolean()) return v.As<Napi::Boolean>().Value();
  if (v.IsNumber()) {
    const double d = v.As<Napi::Number>().DoubleValue();
    if (d == static_cast<double>(static_cast<int64_t>(d))) return static_cast<int64_t>(d);
    return d;
  }
  if (v.IsArray()) {
    Napi::Array a = v.As<Napi::Array>();
    std::vector<std::string> out;
    for (uint32_t i = 0; i < a.Length(); ++i) out.push_back(a.Get(i).ToString().Utf8Value());
    return out;
  }
  return v.ToString().Utf8Value();
}

std::unique_ptr<Element> element_from_js(Napi::Env env, const Napi::Object& spec) {
  const std::string name = spec.Get("name").ToString().Utf8Value();
  if (spec.Has("port")) return make_bridge_element(env, name, spec);
  const ElementInfo* info = Registry::instance().find(name);
  if (!info) throw Napi::Error::New(env, "unknown element \"" + name + "\"");
  Props props;
  if (spec.Has("props") && spec.Get("props").IsObject()) {
    Napi::Object po = spec.Get("props").As<Napi::Object>();
    Napi::Array keys = po.GetPropertyNames();
    for (uint32_t i = 0; i < keys.Length(); ++i) {
      const std::string k = keys.Get(i).ToString().Utf8Value();
      props.set(k, prop_from_js(po.Get(k)));
    }
  }
  try {
    return info->create(props);
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, name + ": " + e.what());
  }
}

class JsTransfer : public Napi::ObjectWrap<JsTransfer> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "Transfer",
                       {InstanceMethod("start", &JsTransfer::Start), InstanceMethod("cancel", &JsTransfer::Cancel),
                        InstanceMethod("state", &JsTransfer::State), InstanceMethod("linkage", &JsTransfer::Linkage),
                        InstanceMethod("result", &JsTransfer::Result)});
  }

  // new Transfer(specs: {name, props}[], options: {blockSize?, progressMs?}, onMessages)
  explicit JsTransfer(const Napi::CallbackInfo& info) : Napi::ObjectWrap<JsTransfer>(info) {
    Napi::Env env = info.Env();
    Napi::Array specs = info[0].As<Napi::Array>();
    std::vector<std::unique_ptr<Element>> chain;
    for (uint32_t i = 0; i < specs.Length(); ++i) chain.push_back(element_from_js(env, specs.Get(i).As<Napi::Object>()));
    TransferOptions opts;
    if (info[1].IsObject()) {
      Napi::Object o = info[1].As<Napi::Object>();
      if (o.Get("blockSize").IsNumber()) opts.block_size = o.Get("blockSize").As<Napi::Number>().Int64Value();
      if (o.Get("progressMs").IsNumber()) opts.progress_ms = o.Get("progressMs").As<Napi::Number>().Uint32Value();
      opts.force_glue = o.Get("forceGlue").ToBoolean().Value();
      if (o.Get("names").IsArray()) {
        Napi::Array names = o.Get("names").As<Napi::Array>();
        for (uint32_t i = 0; i < names.Length(); ++i) opts.names.push_back(names.Get(i).ToString().Utf8Value());
      }
    }
    pump_ = MessagePump::create(env, info[2].As<Napi::Function>());
    xfer_ = std::make_shared<Transfer>(std::move(chain), opts, pump_);
    attach_bridge_handles(env, xfer_, specs);
  }

 private:
  Napi::Value Start(const Napi::CallbackInfo& info) {
    pump_->activate(info.Env());
    xfer_->start();
    return info.Env().Undefined();
  }
  Napi::Value Cancel(const Napi::CallbackInfo& info) {
    xfer_->cancel();
    return info.Env().Undefined();
  }
  Napi::Value State(const Napi::CallbackInfo& info) {
    return Napi::String::New(info.Env(), state_name(xfer_->state()));
  }
  Napi::Value Linkage(const Napi::CallbackInfo& info) {
    return Napi::String::New(info.Env(), xfer_->linkage_text());
  }
  Napi::Value Result(const Napi::CallbackInfo& info) {
    const Element* e = xfer_->element(info[0].As<Napi::Number>().Uint32Value());
    const std::vector<uint8_t>* bytes = e ? e->result_bytes() : nullptr;
    if (!bytes) return info.Env().Undefined();
    return Napi::Buffer<uint8_t>::Copy(info.Env(), bytes->data(), bytes->size());
  }

  std::shared_ptr<MessagePump> pump_;
  std::shared_ptr<Transfer> xfer_;
};

// {linkage, cost: {copies, allocs, threads, glues}} or {error}
Napi::Object link_result_to_js(Napi::Env env, const std::variant<xfa::Linkage, xfa::Error>& linked,
                               const std::vector<std::string>& names) {
  Napi::Object out = Napi::Object::New(env);
  if (const auto* err = std::get_if<xfa::Error>(&linked)) {
    out.Set("error", err->detail.empty() ? err->to_string() : err->detail);
    return out;
  }
  const auto& lk = std::get<xfa::Linkage>(linked);
  out.Set("linkage", lk.describe(names));
  Napi::Object cost = Napi::Object::New(env);
  cost.Set("copies", lk.cost.copies);
  cost.Set("allocs", lk.cost.allocs);
  cost.Set("threads", lk.cost.threads);
  cost.Set("glues", lk.cost.glues);
  out.Set("cost", cost);
  return out;
}

// Links a chain without running it: {linkage, cost} or {error}. For `xfa inspect` and tests.
Napi::Value LinkPreview(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array specs = info[0].As<Napi::Array>();
  std::vector<MechPairs> pairs;
  std::vector<std::string> names;
  for (uint32_t i = 0; i < specs.Length(); ++i) {
    auto e = element_from_js(env, specs.Get(i).As<Napi::Object>());
    pairs.push_back(e->mech_pairs());
    names.push_back(e->kind() + "#" + std::to_string(i + 1));
  }
  return link_result_to_js(env, link_chain(pairs, names, glue_pairs()), names);
}

Mech mech_from_name(const std::string& s) {
  for (int m = 0; m < kMechCount; ++m)
    if (s == mech_name(static_cast<Mech>(m))) return static_cast<Mech>(m);
  throw std::invalid_argument("unknown mechanism " + s);
}

// Links arbitrary pair tables (tests compare the DP with a brute-force search):
// linkTables([[{in, out, copies, allocs, threads}, ...], ...]) → {cost, steps} | {error}
Napi::Value LinkTables(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array tables = info[0].As<Napi::Array>();
  std::vector<MechPairs> pairs;
  std::vector<std::string> names;
  for (uint32_t i = 0; i < tables.Length(); ++i) {
    Napi::Array t = tables.Get(i).As<Napi::Array>();
    MechPairs ps;
    for (uint32_t j = 0; j < t.Length(); ++j) {
      Napi::Object o = t.Get(j).As<Napi::Object>();
      ps.push_back({mech_from_name(o.Get("in").ToString()), mech_from_name(o.Get("out").ToString()),
                    o.Get("copies").ToNumber().Uint32Value(), o.Get("allocs").ToNumber().Uint32Value(),
                    o.Get("threads").ToNumber().Uint32Value()});
    }
    pairs.push_back(ps);
    names.push_back("e" + std::to_string(i + 1));
  }
  return link_result_to_js(env, link_chain(pairs, names, glue_pairs(), info[1].ToBoolean().Value()), names);
}

Napi::Value GluePairs(const Napi::CallbackInfo& info) { return pairs_to_js(info.Env(), glue_pairs()); }

Napi::Value PoolStats(const Napi::CallbackInfo& info) {
  const auto s = WorkerPool::instance().stats();
  const auto b = BlockPool::total_stats();
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("maxThreads", s.max_threads);
  o.Set("threads", s.threads);
  o.Set("busy", s.busy);
  o.Set("reserved", s.reserved);
  o.Set("waiting", s.waiting);
  o.Set("blocksAllocated", static_cast<double>(b.allocated));
  o.Set("blocksOutstanding", static_cast<double>(b.outstanding));
  o.Set("blocksFree", static_cast<double>(b.free));
  return o;
}

Napi::Value Crc32c(const Napi::CallbackInfo& info) {
  auto buf = info[0].As<Napi::Buffer<uint8_t>>();
  return Napi::String::New(info.Env(), crc_hex(crc32c(buf.Data(), buf.Length())));
}

}  // namespace

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("elements", Napi::Function::New(env, Elements));
  exports.Set("Transfer", JsTransfer::Init(env));
  exports.Set("linkPreview", Napi::Function::New(env, LinkPreview));
  exports.Set("gluePairs", Napi::Function::New(env, GluePairs));
  exports.Set("linkTables", Napi::Function::New(env, LinkTables));
  exports.Set("poolStats", Napi::Function::New(env, PoolStats));
  exports.Set("crc32c", Napi::Function::New(env, Crc32c));
  init_media(env, exports);  // headerBuild, headerParse, volumeScan, ... (media.cc)
  init_channels(env, exports);  // channel, fletcher32, muxHeader... (channels.cc)
  init_device_host(env, exports);  // deviceBridgeRegister/Unregister (device_host.cc)
  return exports;
}

}  // namespace xfa::addon

static Napi::Object InitXfa(Napi::Env env, Napi::Object exports) { return xfa::addon::Init(env, exports); }

NODE_API_MODULE(xfa_native, InitXfa)
