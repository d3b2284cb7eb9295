// source-device: reads ONE file of a volume (Amanda's Source::Device after seek_file): the
// device is opened, started for reading and positioned at file `file` in setup(), so a missing
// volume, a wrong label, a missing file or a damaged header fails the transfer before any thread
// runs, with the device, file and cause in the message. The header is consumed (as Amanda's
// seek_file does) and announced in an `info` message {label, file, header}; header=keep also
// sends the header block as stored first (amrestore -r's RAW copy). Data blocks are read with
// the device's block size into the transfer's blocks (several per block).
//
// Outcome: `crc` (CRC32C and size of the data) at EOF.
// Threads: pull() on downstream's thread; no threads of its own. File-backed devices never wait,
// so cancel is seen at the next pull().
#include <algorithm>
#include <cstring>

#include "crc32c.h"
#include "media_util.h"
#include "xfa/element.h"

namespace xfa {
namespace {

class SourceDevice final : public Element {
 public:
  explicit SourceDevice(const Props& p)
      : Element("source-device"),
        spec_(p.get_string("device", "")),
        options_(media::device_options_prop(p, "device-properties")),
        file_(static_cast<uint32_t>(p.get_int("file", 1))),
        label_(p.get_string("label", "")) {
    const std::string h = p.get_string("header", "skip");
    if (h == "keep") keep_header_ = true;
    else if (h != "skip") throw std::invalid_argument("property \"header\": \"" + h + "\" is not skip or keep");
    dev_ = media::open_or_throw(spec_, options_);
  }

  MechPairs mech_pairs() const override { return {{Mech::kNone, Mech::kPullBuffer, 0, 0, 0}}; }
  // Blocks that hold a device block whole (an s3: volume's default is 10 MiB; file-backed devices'
  // are far below the transfer's default).
  size_t preferred_block_size() const override { return std::max(media::option_block_size(options_), dev_->block_size()); }
  std::string fd_label() const override { return spec_; }

  Status setup() override {
    if (dev_->needs_worker_thread()) {
      // An s3: volume (xfa/device.h): loaded by the first pull(), on a worker thread.
      if (block_size() < dev_->block_size()) return small_blocks();
      deferred_ = true;
      return ok();
    }
    return load();
  }

  Status small_blocks() const {
    return plain_error("setup", "the transfer's block size " + std::to_string(block_size()) + " is smaller than the device's " +
                                    std::to_string(dev_->block_size()) + " (set BLOCK_SIZE in device-properties)");
  }

  Status load() {
    if (Status s = dev_->start(DeviceAccess::kRead, "", "")) return s;
    started_ = true;
    const std::string where = "file " + std::to_string(file_) + " of volume " + dev_->volume_label();
    if (!label_.empty() && dev_->volume_label() != label_)
      return plain_error("start " + spec_, "the volume is labeled \"" + dev_->volume_label() + "\", not \"" + label_ + "\"");
    amanda::Header h;
    if (Status s = dev_->seek_file(file_, &h)) return s;
    if (h.type == amanda::FileType::kTapeEnd)
      return plain_error("seek_file " + std::to_string(file_) + " " + spec_, "no " + where + ": the volume ends before it");
    if (block_size() < dev_->block_size()) return small_blocks();
    if (keep_header_) pending_ = dev_->file_header_bytes();
    std::string text = dev_->file_header_bytes().c_str();  // up to the NUL padding
    post(msg(MsgType::kInfo).set("message", where + ": " + amanda::first_line(text.data(), text.size()))
             .set("label", dev_->volume_label()).set("file", int64_t{file_}).set("header", text));
    return ok();
  }

  BlockRef pull() override {
    if (cancelled() || done_) return {};
    if (deferred_) {
      deferred_ = false;
      if (Status s = load()) {
        done_ = true;
        fail(*s);
        return {};
      }
    }
    BlockRef b = alloc_block();
    size_t filled = 0;
    const size_t cap = b->capacity();
    if (pending_at_ < pending_.size()) {
      filled = std::min(cap, pending_.size() - pending_at_);
      std::memcpy(b->data(), pending_.data() + pending_at_, filled);
      pending_at_ += filled;
      b->set_size(filled);
      count_out(filled);
      return b;
    }
    const size_t bs = dev_->block_size();
    bool eof = false;
    while (!eof && filled + bs <= cap) {
      ReadResult r = dev_->read_block(b->data() + filled, cap - filled);
      switch (r.kind) {
        case ReadResult::kData:
          filled += r.size;
          break;
        case ReadResult::kEof:
          eof = true;
          break;
        case ReadResult::kTooSmall:
        case ReadResult::kError:
          done_ = true;
          fail(r.kind == ReadResult::kError ? r.error : plain_error("read_block " + spec_, "buffer too small"));
          return {};
      }
    }
    crc_ = crc32c_update(crc_, b->data(), filled);
    size_ += filled;
    if (filled == 0) {
      finish();
      return {};
    }
    b->set_size(filled);
    count_out(filled);
    return b;
  }

  void close() override {
    if (dev_) dev_->finish();  // also after a failed start: an s3: device drops its connection
    started_ = false;
  }

 private:
  void finish() {
    done_ = true;
    post(msg(MsgType::kCrc).set("crc", crc_hex(crc32c_final(crc_))).set("size", static_cast<int64_t>(size_)));
  }

  const std::string spec_;
  DeviceOptions options_;
  const uint32_t file_;
  const std::string label_;
  bool keep_header_ = false;
  std::unique_ptr<Device> dev_;
  bool started_ = false;
  bool deferred_ = false;
  bool done_ = false;
  std::string pending_;
  size_t pending_at_ = 0;
  uint32_t crc_ = crc32c_init();
  uint64_t size_ = 0;
};

const bool registered = register_element({
    "source-device",
    "source",
    "Reads one file of a volume (vtape, diskflat): its data after the Amanda header",
    "Opens DEVICE (file:/vtapes/slot1, diskflat:/srv/vol.img), checks the label if `label` is given, "
    "seeks to file `file` and streams its data to EOF. The header is parsed (a damaged one is an "
    "error) and reported in an `info` message {label, file, header}; header=keep also sends the "
    "stored header block first (a RAW copy, as amrestore -r). Reports the data's `crc` at EOF. "
    "device-properties: Amanda's device properties, e.g. BLOCK_SIZE=256k to read in bigger blocks.",
    {{"device", PropType::kString, "", 0, -1, true, "the device: file:DIR or diskflat:FILE"},
     {"file", PropType::kInt, "", 1, 99999999, true, "the file number on the volume (1 = first after the label)"},
     {"label", PropType::kString, "", 0, -1, false, "the label the volume must have"},
     {"header", PropType::kString, "skip", 0, -1, false, "skip (data only) or keep (the stored header block first)"},
     {"device-properties", PropType::kStrings, "", 0, -1, false, "NAME=VALUE device properties, e.g. BLOCK_SIZE=256k"}},
    {{Mech::kNone, Mech::kPullBuffer, 0, 0, 0}},
    "source-device device=file:/vtapes/slot1 file=3 ! dest-file path=/tmp/home.tar",
    [](const Props& p) { return std::make_unique<SourceDevice>(p); },
});

}  // namespace
}  // namespace xfa
