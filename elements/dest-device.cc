// dest-device: writes its input as ONE file on a volume (Amanda's Dest::Device with the
// start_file/finish_file around it): the given Amanda header, then the data re-blocked to the
// device's block size. The last block is written short where the medium keeps short blocks
// (vtapes, diskflat: the file holds exactly header + data) and zero-padded to a full block
// where it does not (tape) — never with stale bytes from an earlier block, as Amanda's did.
//
// Volume: mode=append (default) adds the file after the last one of a labeled volume (checking
// `label` if given); mode=write labels the volume `label` first, ERASING it. The device is opened
// and the file started in setup(), so a missing volume, a wrong label or a full volume fails the
// transfer before any data moves.
//
// Outcome: at EOF a `crc` message (CRC32C of the data) and, once the file is durable (commit:
// finish_file + finish, fsync unless sync=false), a `part-done` {successful, eom, eof, size,
// duration, partnum, fileno, reason "eof"}. The volume filling up (PEOM, or the filesystem) fails
// the transfer after a `part-done` with successful=false, eom=true, reason "peom" / "no-space":
// this element does not span volumes (dest-taper does). A failed or cancelled transfer removes
// the partial file where the medium allows (abort_file), so the volume ends with its last
// complete file.
//
// Threads: push() on upstream's thread; no threads of its own.
#include <chrono>
#include <cstring>
#include <vector>

#include "crc32c.h"
#include "media_util.h"
#include "xfa/element.h"

namespace xfa {
namespace {

class DestDevice final : public Element {
 public:
  explicit DestDevice(const Props& p)
      : Element("dest-device"),
        spec_(p.get_string("device", "")),
        options_(media::device_options_prop(p, "device-properties")),
        header_(media::header_prop(p, "header")),
        label_(p.get_string("label", "")),
        timestamp_(p.get_string("timestamp", "")) {
    const std::string mode = p.get_string("mode", "append");
    if (mode == "write") mode_ = DeviceAccess::kWrite;
    else if (mode != "append") throw std::invalid_argument("property \"mode\": \"" + mode + "\" is not append or write");
    if (mode_ == DeviceAccess::kWrite && label_.empty())
      throw std::invalid_argument("property \"label\" is required with mode=write (the volume is relabeled)");
    if (!p.get_bool("sync", true)) options_.emplace_back("SYNC", "false");
    dev_ = media::open_or_throw(spec_, options_);
  }

  MechPairs mech_pairs() const override { return {{Mech::kPushBuffer, Mech::kNone, 1, 0, 0}}; }
  size_t preferred_block_size() const override { return media::option_block_size(options_); }
  std::string fd_label() const override { return spec_; }

  Status setup() override {
    bs_ = dev_->block_size();
    stage_.resize(bs_);
    t0_ = std::chrono::steady_clock::now();
    if (dev_->needs_worker_thread()) {
      deferred_ = true;  // an s3: volume (xfa/device.h): started by the first push(), on a worker
      return ok();
    }
    return load();
  }

  Status load() {
    const std::string ts = !timestamp_.empty() ? timestamp_ : header_.datestamp;
    if (Status s = dev_->start(mode_, label_, ts)) return s;
    started_ = true;
    if (mode_ == DeviceAccess::kAppend && !label_.empty() && dev_->volume_label() != label_) {
      return plain_error("start " + spec_, "the volume is labeled \"" + dev_->volume_label() + "\", not \"" + label_ + "\"");
    }
    if (Status s = dev_->start_file(header_)) return s;
    return ok();
  }

  // The deferred load(), on the pushing thread; false (and the transfer failed) if it failed.
  bool loaded() {
    if (!deferred_) return true;
    deferred_ = false;
    if (Status s = load()) {
      failed_ = true;
      fail(*s);
      return false;
    }
    return true;
  }

  void push(BlockRef b) override {
    if (!b) return finish_data();
    if (cancelled() || failed_ || !loaded()) return;
    const uint8_t* p = b->data();
    size_t n = b->size();
    count_in(n);
    crc_ = crc32c_update(crc_, p, n);
    size_ += n;
    while (n > 0 && !failed_) {
      if (staged_ == 0 && n >= bs_) {
        write(p, bs_);
        p += bs_;
        n -= bs_;
        continue;
      }
      const size_t k = std::min(n, bs_ - staged_);
      std::memcpy(stage_.data() + staged_, p, k);
      staged_ += k;
      p += k;
      n -= k;
      if (staged_ == bs_) {
        write(stage_.data(), bs_);
        staged_ = 0;
      }
    }
  }

  Status commit() override {
    if (Status s = dev_->finish_file()) return s;
    const int fileno = dev_->file();
    if (Status s = dev_->finish()) return s;
    started_ = false;
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
    post(msg(MsgType::kPartDone).set("successful", true).set("eom", dev_->is_eom()).set("eof", true)
             .set("size", static_cast<int64_t>(size_)).set("duration", secs)
             .set("partnum", int64_t{header_.type == amanda::FileType::kSplitDumpFile ? header_.partnum : 1})
             .set("fileno", int64_t{fileno}).set("reason", std::string("eof")));
    return ok();
  }

  void abort() override {
    if (!dev_ || !started_) return;
    dev_->abort_file();
    dev_->finish();
    started_ = false;
  }

  void close() override { stage_ = {}; }

 private:
  void write(const uint8_t* p, size_t n) {
    WriteResult r = dev_->write_block(p, n);
    if (r.ok()) {
      count_out(n);
      return;
    }
    failed_ = true;
    if (r.kind == WriteResult::kFull || r.kind == WriteResult::kSpace) {
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
      post(msg(MsgType::kPartDone).set("successful", false).set("eom", true).set("eof", false)
               .set("size", static_cast<int64_t>(dev_->bytes_written())).set("duration", secs)
               .set("partnum", int64_t{header_.type == amanda::FileType::kSplitDumpFile ? header_.partnum : 1})
               .set("fileno", int64_t{dev_->file()})
               .set("reason", std::string(r.kind == WriteResult::kFull ? "peom" : "no-space")));
    }
    fail(r.error);
  }

  void finish_data() {
    if (eof_ || cancelled() || failed_ || !loaded()) return;
    eof_ = true;
    if (staged_ > 0) {
      size_t n = staged_;
      if (!dev_->properties().short_blocks) {
        std::memset(stage_.data() + staged_, 0, bs_ - staged_);
        n = bs_;
      }
      write(stage_.data(), n);
      staged_ = 0;
    }
    if (failed_) return;
    post(msg(MsgType::kCrc).set("crc", crc_hex(crc32c_final(crc_))).set("size", static_cast<int64_t>(size_)));
  }

  const std::string spec_;
  DeviceOptions options_;
  amanda::Header header_;
  const std::string label_;
  const std::string timestamp_;
  DeviceAccess mode_ = DeviceAccess::kAppend;
  std::unique_ptr<Device> dev_;
  bool started_ = false;
  bool deferred_ = false;
  bool failed_ = false;
  bool eof_ = false;
  size_t bs_ = 0;
  std::vector<uint8_t> stage_;
  size_t staged_ = 0;
  uint64_t size_ = 0;
  uint32_t crc_ = crc32c_init();
  std::chrono::steady_clock::time_point t0_;
};

const bool registered = register_element({
    "dest-device",
    "dest",
    "Writes one file (Amanda header + data) to a volume: vtape, diskflat, null",
    "Opens DEVICE (file:/vtapes/slot1 = an Amanda vtape directory, diskflat:/srv/vol.img, null:), "
    "starts it (mode=append: after the last file of a labeled volume, checked against `label` if "
    "given; mode=write: relabels it `label`, erasing it), writes the Amanda `header` (full text or "
    "just its first line) and the data re-blocked to the device block size; the last block is short "
    "where the medium allows, else zero-padded. At EOF: `crc`; when durable: `part-done` with the "
    "file number. A full volume fails the transfer (no spanning: see dest-taper) and the partial "
    "file is removed. device-properties are Amanda's device properties (BLOCK_SIZE, "
    "MAX_VOLUME_USAGE, LEOM, ...).",
    {{"device", PropType::kString, "", 0, -1, true, "the device: file:DIR, diskflat:FILE or null:"},
     {"header", PropType::kString, "", 0, -1, true, "the Amanda file header (text, or its first line)"},
     {"mode", PropType::kString, "append", 0, -1, false, "append (after the last file) or write (relabel: erases the volume)"},
     {"label", PropType::kString, "", 0, -1, false, "append: the label the volume must have; write: the new label"},
     {"timestamp", PropType::kString, "", 0, -1, false, "write: the label's datestamp (default: the header's)"},
     {"device-properties", PropType::kStrings, "", 0, -1, false, "NAME=VALUE device properties, e.g. BLOCK_SIZE=64k,MAX_VOLUME_USAGE=1G"},
     {"sync", PropType::kBool, "true", 0, -1, false, "fsync the file and the volume before reporting success"}},
    {{Mech::kPushBuffer, Mech::kNone, 1, 0, 0}},
    "source-file path=/tmp/home.tar ! dest-device device=file:/vtapes/slot1 header=\"AMANDA: FILE 20240102030405 "
    "host /home lev 0 comp N program /bin/tar\"",
    [](const Props& p) { return std::make_unique<DestDevice>(p); },
});

}  // namespace
}  // namespace xfa
