// Media functions for TypeScript (src/media/): build and parse Amanda headers, scan and label
// volumes. All run on the JS thread and are quick (one header, or one header per volume file);
// errors become JavaScript Errors with the operation and cause.
#include "media.h"

#include <cstdio>

#include "amanda_header.h"
#include "xfa/device.h"

namespace xfa::addon {
namespace {

using amanda::Crc;
using amanda::FileType;
using amanda::Header;

std::string error_text(const Error& e) {
  Error copy = e;
  std::string s = copy.to_string();  // "xfa: op: ..."
  return copy.element.empty() && s.compare(0, 5, "xfa: ") == 0 ? s.substr(5) : s;
}

[[noreturn]] void throw_error(Napi::Env env, const Error& e) { throw Napi::Error::New(env, error_text(e)); }

std::string get_str(Napi::Env env, const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return "";
  if (!v.IsString()) throw Napi::TypeError::New(env, std::string("header.") + key + " must be a string");
  return v.As<Napi::String>().Utf8Value();
}

int64_t get_int(Napi::Env env, const Napi::Object& o, const char* key, int64_t dflt) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return dflt;
  if (!v.IsNumber()) throw Napi::TypeError::New(env, std::string("header.") + key + " must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (d != static_cast<double>(static_cast<int64_t>(d))) throw Napi::TypeError::New(env, std::string("header.") + key + " must be an integer");
  return static_cast<int64_t>(d);
}

bool get_bool(Napi::Env env, const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return false;
  if (!v.IsBoolean()) throw Napi::TypeError::New(env, std::string("header.") + key + " must be a boolean");
  return v.As<Napi::Boolean>().Value();
}

Crc get_crc(Napi::Env env, const Napi::Object& o, const char* key) {
  Crc c;
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return c;
  if (!v.IsObject()) throw Napi::TypeError::New(env, std::string("header.") + key + " must be {crc, size}");
  Napi::Object co = v.As<Napi::Object>();
  const std::string hex = get_str(env, co, "crc");
  char* end = nullptr;
  const unsigned long x = std::strtoul(hex.c_str(), &end, 16);
  if (hex.empty() || hex.size() > 8 || *end != '\0')
    throw Napi::TypeError::New(env, std::string("header.") + key + ".crc must be up to 8 hex digits");
  c.crc = static_cast<uint32_t>(x);
  c.size = get_int(env, co, "size", 0);
  return c;
}

Header header_from_js(Napi::Env env, const Napi::Object& o) {
  Header h;
  const std::string type = get_str(env, o, "type");
  h.type = amanda::file_type_from_token(type);
  if (h.type == FileType::kUnknown)
    throw Napi::TypeError::New(env, "header.type \"" + type + "\" is not TAPESTART, TAPEEND, FILE, CONT_FILE, SPLIT_FILE or NOOP");
  h.datestamp = get_str(env, o, "datestamp");
  h.name = get_str(env, o, "name");
  h.disk = get_str(env, o, "disk");
  h.dumplevel = static_cast<int>(get_int(env, o, "dumplevel", 0));
  h.compressed = get_bool(env, o, "compressed");
  h.comp_suffix = get_str(env, o, "compSuffix");
  h.encrypted = get_bool(env, o, "encrypted");
  h.encrypt_suffix = get_str(env, o, "encryptSuffix");
  h.program = get_str(env, o, "program");
  h.application = get_str(env, o, "application");
  h.srvcompprog = get_str(env, o, "srvcompprog");
  h.clntcompprog = get_str(env, o, "clntcompprog");
  h.srv_encrypt = get_str(env, o, "srvEncrypt");
  h.clnt_encrypt = get_str(env, o, "clntEncrypt");
  h.srv_decrypt_opt = get_str(env, o, "srvDecryptOpt");
  h.clnt_decrypt_opt = get_str(env, o, "clntDecryptOpt");
  h.recover_cmd = get_str(env, o, "recoverCmd");
  h.uncompress_cmd = get_str(env, o, "uncompressCmd");
  h.decrypt_cmd = get_str(env, o, "decryptCmd");
  h.cont_filename = get_str(env, o, "contFilename");
  h.dle_str = get_str(env, o, "dleStr");
  h.is_partial = get_bool(env, o, "isPartial");
  h.partnum = static_cast<int>(get_int(env, o, "partnum", 0));
  h.totalparts = static_cast<int>(get_int(env, o, "totalparts", 0));
  const int64_t bs = get_int(env, o, "blocksize", 0);
  if (bs < 0) throw Napi::TypeError::New(env, "header.blocksize must not be negative");
  h.blocksize = static_cast<size_t>(bs);
  h.orig_size = get_int(env, o, "origSize", 0);
  h.native_crc = get_crc(env, o, "nativeCrc");
  h.client_crc = get_crc(env, o, "clientCrc");
  h.server_crc = get_crc(env, o, "serverCrc");
  return h;
}

Napi::Value crc_to_js(Napi::Env env, const Crc& c) {
  if (c.crc == 0 && c.size == 0) return env.Undefined();
  Napi::Object o = Napi::Object::New(env);
  char hex[16];
  std::snprintf(hex, sizeof hex, "%08x", c.crc);
  o.Set("crc", hex);
  o.Set("size", static_cast<double>(c.size));
  return o;
}

Napi::Object header_to_js(Napi::Env env, const Header& h) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("type", amanda::file_type_token(h.type));
  o.Set("datestamp", h.datestamp);
  o.Set("name", h.name);
  if (h.type == FileType::kTapeStart || h.type == FileType::kTapeEnd || h.type == FileType::kNoop) return o;
  o.Set("disk", h.disk);
  o.Set("dumplevel", h.dumplevel);
  o.Set("compressed", h.compressed);
  o.Set("compSuffix", h.comp_suffix);
  o.Set("encrypted", h.encrypted);
  o.Set("encryptSuffix", h.encrypt_suffix);
  o.Set("program", h.program);
  o.Set("application", h.application);
  o.Set("srvcompprog", h.srvcompprog);
  o.Set("clntcompprog", h.clntcompprog);
  o.Set("srvEncrypt", h.srv_encrypt);
  o.Set("clntEncrypt", h.clnt_encrypt);
  o.Set("srvDecryptOpt", h.srv_decrypt_opt);
  o.Set("clntDecryptOpt", h.clnt_decrypt_opt);
  o.Set("recoverCmd", h.recover_cmd);
  o.Set("uncompressCmd", h.uncompress_cmd);
  o.Set("decryptCmd", h.decrypt_cmd);
  o.Set("contFilename", h.cont_filename);
  o.Set("dleStr", h.dle_str);
  o.Set("isPartial", h.is_partial);
  o.Set("partnum", h.partnum);
  o.Set("totalparts", h.totalparts);
  o.Set("blocksize", static_cast<double>(h.blocksize));
  o.Set("origSize", static_cast<double>(h.orig_size));
  for (auto [key, c] : {std::pair<const char*, const Crc*>{"nativeCrc", &h.native_crc}, {"clientCrc", &h.client_crc}, {"serverCrc", &h.server_crc}}) {
    Napi::Value v = crc_to_js(env, *c);
    if (!v.IsUndefined()) o.Set(key, v);
  }
  return o;
}

size_t size_arg(const Napi::CallbackInfo& info, size_t i, size_t dflt) {
  if (info.Length() <= i || info[i].IsUndefined()) return dflt;
  const double d = info[i].As<Napi::Number>().DoubleValue();
  if (d < 0 || d > (1u << 30)) throw Napi::RangeError::New(info.Env(), "header size out of range");
  return static_cast<size_t>(d);
}

// headerBuild(header, minSize = 32768, maxSize = 32768) -> Buffer
Napi::Value HeaderBuild(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject()) throw Napi::TypeError::New(env, "headerBuild(header, minSize?, maxSize?): header must be an object");
  const Header h = header_from_js(env, info[0].As<Napi::Object>());
  std::string out;
  if (Status s = amanda::build(h, &out, size_arg(info, 1, amanda::kHeaderSize), size_arg(info, 2, amanda::kHeaderSize)))
    throw_error(env, *s);
  return Napi::Buffer<char>::Copy(env, out.data(), out.size());
}

// headerParse(buffer) -> header
Napi::Value HeaderParse(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsBuffer()) throw Napi::TypeError::New(env, "headerParse(buffer): a Buffer is required");
  auto buf = info[0].As<Napi::Buffer<uint8_t>>();
  Header h;
  if (Status s = amanda::parse(buf.Data(), buf.Length(), &h)) throw_error(env, *s);
  return header_to_js(env, h);
}

// headerClassify(buffer) -> "empty" | "weird" | "amanda"
Napi::Value HeaderClassify(const Napi::CallbackInfo& info) {
  auto buf = info[0].As<Napi::Buffer<uint8_t>>();
  const FileType t = amanda::classify(buf.Data(), buf.Length());
  return Napi::String::New(info.Env(), t == FileType::kEmpty ? "empty" : t == FileType::kWeird ? "weird" : "amanda");
}

Napi::Value AmandaQuote(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), amanda::quote_string(info[0].As<Napi::String>().Utf8Value()));
}
Napi::Value AmandaUnquote(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), amanda::unquote_string(info[0].As<Napi::String>().Utf8Value()));
}
Napi::Value AmandaSanitise(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), amanda::sanitise_filename(info[0].As<Napi::String>().Utf8Value()));
}

DeviceOptions options_arg(const Napi::CallbackInfo& info, size_t i) {
  if (info.Length() <= i || info[i].IsUndefined()) return {};
  if (!info[i].IsArray()) throw Napi::TypeError::New(info.Env(), "device properties must be an array of \"NAME=VALUE\" strings");
  Napi::Array a = info[i].As<Napi::Array>();
  std::vector<std::string> items;
  for (uint32_t k = 0; k < a.Length(); ++k) items.push_back(a.Get(k).As<Napi::String>().Utf8Value());
  auto r = parse_device_options(items);
  if (auto* e = std::get_if<Error>(&r)) throw_error(info.Env(), *e);
  return std::get<DeviceOptions>(r);
}

std::unique_ptr<Device> open_arg(const Napi::CallbackInfo& info, size_t opts_index) {
  auto d = open_device(info[0].As<Napi::String>().Utf8Value(), options_arg(info, opts_index));
  if (auto* e = std::get_if<Error>(&d)) throw_error(info.Env(), *e);
  return std::move(std::get<std::unique_ptr<Device>>(d));
}

// volumeScan(spec, properties?) -> {label, datestamp, files: [{file, header, first}]}: the label
// and every file's header, in order, up to the end of the volume.
Napi::Value VolumeScan(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::unique_ptr<Device> dev = open_arg(info, 1);
  if (Status s = dev->start(DeviceAccess::kRead, "", "")) throw_error(env, *s);
  Napi::Object out = Napi::Object::New(env);
  out.Set("label", dev->volume_label());
  out.Set("datestamp", dev->volume_time());
  Napi::Array files = Napi::Array::New(env);
  for (uint32_t n = 1;; ++n) {
    Header h;
    if (Status s = dev->seek_file(n, &h)) {
      dev->finish();
      throw_error(env, *s);
    }
    if (h.type == FileType::kTapeEnd) break;
    Napi::Object f = Napi::Object::New(env);
    f.Set("file", n);
    f.Set("header", header_to_js(env, h));
    const std::string& raw = dev->file_header_bytes();
    f.Set("text", std::string(raw.c_str()));
    files.Set(files.Length(), f);
  }
  dev->finish();
  out.Set("files", files);
  return out;
}

// volumeLabel(spec, label, timestamp, properties?): labels (and so erases) a volume.
Napi::Value VolumeLabel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::unique_ptr<Device> dev = open_arg(info, 3);
  const std::string label = info[1].As<Napi::String>().Utf8Value();
  const std::string ts = info[2].IsString() ? info[2].As<Napi::String>().Utf8Value() : "";
  if (Status s = dev->start(DeviceAccess::kWrite, label, ts)) throw_error(env, *s);
  if (Status s = dev->finish()) throw_error(env, *s);
  return env.Undefined();
}

// volumeStatus(spec, properties?) -> {label?, datestamp?, status: [flags], error?}: read_label()
// without throwing, for changers and label checks.
Napi::Value VolumeStatus(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::unique_ptr<Device> dev = open_arg(info, 1);
  Napi::Object out = Napi::Object::New(env);
  const Status s = dev->read_label();
  Napi::Array flags = Napi::Array::New(env);
  const unsigned st = dev->status();
  const struct {
    unsigned bit;
    const char* name;
  } names[] = {{kDeviceError, "DEVICE_ERROR"}, {kDeviceBusy, "DEVICE_BUSY"}, {kVolumeMissing, "VOLUME_MISSING"},
               {kVolumeUnlabeled, "VOLUME_UNLABELED"}, {kVolumeError, "VOLUME_ERROR"}};
  for (const auto& n : names)
    if (st & n.bit) flags.Set(flags.Length(), n.name);
  out.Set("status", flags);
  if (s) {
    out.Set("error", error_text(*s));
  } else {
    out.Set("label", dev->volume_label());
    out.Set("datestamp", dev->volume_time());
  }
  return out;
}

}  // namespace

void init_media(Napi::Env env, Napi::Object exports) {
  exports.Set("headerBuild", Napi::Function::New(env, HeaderBuild));
  exports.Set("headerParse", Napi::Function::New(env, HeaderParse));
  exports.Set("headerClassify", Napi::Function::New(env, HeaderClassify));
  exports.Set("amandaQuote", Napi::Function::New(env, AmandaQuote));
  exports.Set("amandaUnquote", Napi::Function::New(env, AmandaUnquote));
  exports.Set("amandaSanitise", Napi::Function::New(env, AmandaSanitise));
  exports.Set("volumeScan", Napi::Function::New(env, VolumeScan));
  exports.Set("volumeLabel", Napi::Function::New(env, VolumeLabel));
  exports.Set("volumeStatus", Napi::Function::New(env, VolumeStatus));
}

}  // namespace xfa::addon
