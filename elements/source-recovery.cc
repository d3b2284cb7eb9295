// source-recovery: reads a dump back from its parts across volumes (Amanda's Source::Recovery as
// the Clerk drives it). The dump is named by `header` (host, disk, datestamp, level: its first
// line is enough); its parts come from `changer` (csrc/include/xfa/changer.h), either
//   * listed: parts=["LABEL:FILE[:SIZE]", ...] in part order (what dest-taper's part-done
//     messages or a catalog say); each volume is found by label in the changer; or
//   * scanned (no `parts`): the changer's volumes in slot order, every file of the dump taken in
//     partnum order (a retried part's duplicate is skipped; a gap is an error).
// Each part's header is verified before its data is used: a dump file (SPLIT_FILE, or FILE for a
// single-part dump) of the same host, disk, datestamp and level, with partnum = its place. A
// mismatch fails the transfer naming the part, the volume and file, and the field:
//   verify part 3 (TESTCONF02 file 1): disk is "/var", expected "/home"
// Byte range: offset/size (size 0 = to the end) select bytes of the reassembled dump; parts
// entirely before the offset are skipped without reading when their SIZE is listed, and the
// device seeks to the right block in the first part used (without sizes, the bytes before the
// offset are read and dropped). When the range is complete a
// `segment-done` {size, duration, fileno, partnum, successful} is posted, then EOF.
//
// Messages: `part-done` {successful, size, fileno, partnum, eof, label, reason "eof"} after each
// part read to its end; `crc` of the bytes delivered at EOF; `info` for each part opened.
// Threads: pull() on downstream's thread (which also finds and loads the volumes).
#include <cerrno>
#include <chrono>
#include <cstring>
#include <vector>

#include "crc32c.h"
#include "media_util.h"
#include "xfa/changer.h"
#include "xfa/element.h"

namespace xfa {
namespace {

struct PartRef {
  std::string label;
  uint32_t file = 0;
  int64_t size = -1;  // -1 = unknown
};

PartRef parse_part(const std::string& s, size_t index) {
  // LABEL:FILE[:SIZE]; the label may itself contain ':' — the numbers are taken from the end.
  auto bad = [&]() {
    return std::invalid_argument("property \"parts\": item " + std::to_string(index + 1) + " \"" + s + "\" is not LABEL:FILE or LABEL:FILE:SIZE");
  };
  auto num = [](const std::string& t, int64_t* out) {
    if (t.empty() || t.size() > 18 || t.find_first_not_of("0123456789") != std::string::npos) return false;
    *out = std::stoll(t);
    return true;
  };
  PartRef p;
  const size_t c1 = s.rfind(':');
  if (c1 == std::string::npos || c1 == 0) throw bad();
  int64_t a, b;
  if (!num(s.substr(c1 + 1), &a)) throw bad();
  const size_t c2 = s.rfind(':', c1 - 1);
  if (c2 != std::string::npos && c2 > 0 && num(s.substr(c2 + 1, c1 - c2 - 1), &b)) {
    p.label = s.substr(0, c2);
    p.file = static_cast<uint32_t>(b);
    p.size = a;
  } else {
    p.label = s.substr(0, c1);
    p.file = static_cast<uint32_t>(a);
  }
  if (p.file == 0) throw bad();
  return p;
}

class SourceRecovery final : public Element {
 public:
  explicit SourceRecovery(const Props& p)
      : Element("source-recovery"),
        changer_spec_(p.get_string("changer", "")),
        options_(media::device_options_prop(p, "device-properties")),
        want_(media::header_prop(p, "header")),
        offset_(static_cast<uint64_t>(p.get_int("offset", 0))),
        size_(static_cast<uint64_t>(p.get_int("size", 0))) {
    const auto items = p.get_strings("parts");
    for (size_t i = 0; i < items.size(); ++i) parts_.push_back(parse_part(items[i], i));
    auto c = open_changer(changer_spec_);
    if (auto* e = std::get_if<Error>(&c)) throw std::invalid_argument("property \"changer\": " + e->to_string());
    changer_ = std::move(std::get<std::unique_ptr<Changer>>(c));
    remaining_ = size_;
  }

  MechPairs mech_pairs() const override { return {{Mech::kNone, Mech::kPullBuffer, 0, 0, 0}}; }
  size_t preferred_block_size() const override { return media::option_block_size(options_); }
  std::string fd_label() const override { return changer_spec_; }

  Status setup() override {
    t0_ = std::chrono::steady_clock::now();
    // Devices that must not be called on this (the JavaScript) thread — s3: volumes behind the
    // device bridge (xfa/device.h) — are loaded at the first pull() instead.
    // Any slot: a listed part's volume is found by label among all of them.
    for (size_t i = 0; i < changer_->slot_count(); ++i) {
      auto d = changer_->open_slot(i, options_);
      if (auto* e = std::get_if<Error>(&d)) return *e;
      if (std::get<std::unique_ptr<Device>>(d)->needs_worker_thread()) return ok();
    }
    // The first part is found and verified now, so a missing volume or a wrong dump fails early.
    if (Status s = open_next()) return s;
    return ok();
  }

  BlockRef pull() override {
    if (cancelled() || done_) return {};
    BlockRef b = alloc_block();
    size_t filled = 0;
    bool finishing = false;
    const size_t cap = b->capacity();
    while (filled < cap && !done_ && !finishing) {
      if (size_ > 0 && remaining_ == 0) {
        finishing = true;
        break;
      }
      if (buf_pos_ < buf_len_) {
        size_t k = std::min(cap - filled, buf_len_ - buf_pos_);
        if (size_ > 0) k = static_cast<size_t>(std::min<uint64_t>(k, remaining_));
        std::memcpy(b->data() + filled, buf_.data() + buf_pos_, k);
        buf_pos_ += k;
        filled += k;
        if (size_ > 0) remaining_ -= k;
        continue;
      }
      if (!in_part_) {
        if (Status s = open_next()) return fail_now(*s);
        if (!in_part_) {  // no more parts
          if (size_ > 0 && remaining_ > 0) {
            return fail_now(plain_error("read the range", "the dump ends " + std::to_string(remaining_) +
                                                               " bytes before offset+size (" + std::to_string(offset_at_start() + size_) + ")"));
          }
          finishing = true;
          break;
        }
        continue;
      }
      ReadResult r = dev_->read_block(buf_.data(), buf_.size());
      if (r.kind == ReadResult::kData) {
        part_bytes_ += r.size;
        buf_len_ = r.size;
        buf_pos_ = 0;
        if (offset_ > 0) {
          const size_t skip = static_cast<size_t>(std::min<uint64_t>(offset_, r.size));
          buf_pos_ = skip;
          offset_ -= skip;
        }
        continue;
      }
      if (r.kind == ReadResult::kEof) {
        end_part();
        continue;
      }
      return fail_now(r.kind == ReadResult::kError ? r.error : plain_error("read_block " + dev_->spec(), "buffer too small"));
    }
    crc_ = crc32c_update(crc_, b->data(), filled);
    delivered_ += filled;
    count_out(filled);
    if (finishing) segment_done();
    if (filled == 0) return {};
    b->set_size(filled);
    return b;
  }

  void close() override {
    if (dev_) dev_->finish();
    dev_.reset();
    buf_ = {};
  }

 private:
  uint64_t offset_at_start() const { return offset_start_; }

  std::string where(const std::string& label, uint32_t file) const { return label + " file " + std::to_string(file); }

  // Checks a part's header against the dump; an error names the part, where it is and the field.
  Status verify(const amanda::Header& h, int partnum, const std::string& at) const {
    const std::string op = "verify part " + std::to_string(partnum) + " (" + at + ")";
    auto mismatch = [&](const char* field, const std::string& got, const std::string& want) {
      return plain_error(op, std::string(field) + " is \"" + got + "\", expected \"" + want + "\"");
    };
    if (h.type == amanda::FileType::kTapeEnd) return plain_error(op, "the volume ends before this file");
    if (h.type != amanda::FileType::kSplitDumpFile && h.type != amanda::FileType::kDumpFile)
      return mismatch("type", amanda::file_type_token(h.type), "SPLIT_FILE");
    if (h.name != want_.name) return mismatch("host", h.name, want_.name);
    if (h.disk != want_.disk) return mismatch("disk", h.disk, want_.disk);
    auto pad14 = [](std::string d) { return d.size() < 14 && d != "X" ? d + std::string(14 - d.size(), '0') : d; };
    if (pad14(h.datestamp) != pad14(want_.datestamp)) return mismatch("datestamp", h.datestamp, want_.datestamp);
    if (h.dumplevel != want_.dumplevel) return mismatch("level", std::to_string(h.dumplevel), std::to_string(want_.dumplevel));
    const int got = h.type == amanda::FileType::kDumpFile ? 1 : h.partnum;
    if (got != partnum) return mismatch("partnum", std::to_string(got), std::to_string(partnum));
    return ok();
  }

  bool same_dump(const amanda::Header& h) const {
    return (h.type == amanda::FileType::kSplitDumpFile || h.type == amanda::FileType::kDumpFile) && h.name == want_.name &&
           h.disk == want_.disk && h.datestamp == want_.datestamp && h.dumplevel == want_.dumplevel;
  }

  // Loads a volume by label (listed mode), reusing the current one when it is the same.
  Status load_label(const std::string& label) {
    if (dev_ && dev_->volume_label() == label) return ok();
    if (dev_) dev_->finish();
    dev_.reset();
    auto d = changer_->find_volume(label, options_);
    if (auto* e = std::get_if<Error>(&d)) return *e;
    dev_ = std::move(std::get<std::unique_ptr<Device>>(d));
    buf_.resize(std::max<size_t>(dev_->block_size(), 32768));
    return ok();
  }

  // Positions at the next part (in_part_ true), or leaves in_part_ false when there is none.
  Status open_next() {
    if (started_once_ && done_parts_) return ok();
    started_once_ = true;
    const int partnum = next_partnum_;
    if (!parts_.empty()) {
      // Skip whole parts before the offset when their size is known.
      while (next_index_ < parts_.size() && parts_[next_index_].size >= 0 &&
             offset_ >= static_cast<uint64_t>(parts_[next_index_].size) && offset_ > 0) {
        offset_ -= static_cast<uint64_t>(parts_[next_index_].size);
        ++next_index_;
        ++next_partnum_;
      }
      if (next_index_ >= parts_.size()) {
        done_parts_ = true;
        return ok();
      }
      const PartRef& ref = parts_[next_index_];
      if (Status s = load_label(ref.label)) return s;
      amanda::Header h;
      if (Status s = dev_->seek_file(ref.file, &h)) return s;
      if (Status s = verify(h, next_partnum_, where(ref.label, ref.file))) return s;
      ++next_index_;
      return begin_part(h, ref.label, ref.size >= 0);
    }
    // Scan mode: continue from (scan_slot_, scan_file_).
    (void)partnum;
    for (;;) {
      if (!dev_) {
        if (scan_slot_ >= changer_->slot_count()) {
          if (next_partnum_ == 1)
            return plain_error("find " + want_.name + ":" + want_.disk + " " + want_.datestamp + " level " + std::to_string(want_.dumplevel),
                               "no part of this dump on any volume of " + changer_spec_);
          done_parts_ = true;
          return ok();
        }
        auto d = changer_->open_slot(scan_slot_++, options_);
        if (auto* e = std::get_if<Error>(&d)) return *e;
        auto dev = std::move(std::get<std::unique_ptr<Device>>(d));
        if (dev->start(DeviceAccess::kRead, "", "")) continue;  // blank or missing volume: not ours
        dev_ = std::move(dev);
        buf_.resize(std::max<size_t>(dev_->block_size(), 32768));
        scan_file_ = 1;
      }
      amanda::Header h;
      const uint32_t file = scan_file_++;
      if (Status s = dev_->seek_file(file, &h)) {
        if (s->err != ENOENT) return s;
        post(msg(MsgType::kInfo).set("message", "skipping " + where(dev_->volume_label(), file) + ": " + s->to_string()));
        continue;
      }
      if (h.type == amanda::FileType::kTapeEnd) {
        dev_->finish();
        dev_.reset();
        continue;
      }
      if (!same_dump(h)) continue;
      const int got = h.type == amanda::FileType::kDumpFile ? 1 : h.partnum;
      if (got < next_partnum_) {
        post(msg(MsgType::kInfo).set("message", "skipping " + where(dev_->volume_label(), file) + ": part " + std::to_string(got) +
                                                    " again (already read)"));
        continue;
      }
      if (Status s = verify(h, next_partnum_, where(dev_->volume_label(), file))) {
        s->detail += " (part " + std::to_string(next_partnum_) + " is missing)";
        return s;
      }
      bool retried = false;
      if (Status s = retried_later(file, got, &retried)) return s;
      if (retried) {
        post(msg(MsgType::kInfo).set("message", "skipping " + where(dev_->volume_label(), file) + ": part " + std::to_string(got) +
                                                    " was cut off by the end of the volume and retried on the next one"));
        continue;
      }
      return begin_part(h, dev_->volume_label(), false);
    }
  }

  // On media that cannot remove a failed part (tape: PARTIAL_DELETION false), a part cut off by
  // PEOM stays as the volume's last file and is written again on the next volume. Scanning, a
  // part that is the last file of its volume is skipped when the next volume's first file of
  // the dump has the same partnum. Leaves dev_ positioned at `file` again.
  Status retried_later(uint32_t file, int partnum, bool* retried) {
    *retried = false;
    if (dev_->properties().partial_deletion || scan_slot_ >= changer_->slot_count()) return ok();
    amanda::Header h;
    if (Status s = dev_->seek_file(file + 1, &h)) return s;
    const bool last = h.type == amanda::FileType::kTapeEnd;
    if (Status s = dev_->seek_file(file, &h)) return s;
    if (!last) return ok();
    auto d = changer_->open_slot(scan_slot_, options_);
    if (auto* e = std::get_if<Error>(&d)) return *e;
    auto next = std::move(std::get<std::unique_ptr<Device>>(d));
    if (next->start(DeviceAccess::kRead, "", "")) return ok();
    for (uint32_t f = 1;; ++f) {
      amanda::Header n;
      if (next->seek_file(f, &n) || n.type == amanda::FileType::kTapeEnd) break;
      if (!same_dump(n)) continue;
      *retried = (n.type == amanda::FileType::kDumpFile ? 1 : n.partnum) == partnum;
      break;
    }
    next->finish();
    return ok();
  }

  Status begin_part(const amanda::Header& h, const std::string& label, bool known_size) {
    in_part_ = true;
    part_bytes_ = 0;
    cur_partnum_ = next_partnum_++;
    cur_file_ = dev_->file();
    cur_label_ = label;
    buf_pos_ = buf_len_ = 0;
    post(msg(MsgType::kInfo).set("message", "part " + std::to_string(cur_partnum_) + ": " + where(label, static_cast<uint32_t>(cur_file_)) +
                                                ": " + h.name + " " + h.disk + " " + h.datestamp + " level " + std::to_string(h.dumplevel)));
    // Seek only when the part's size is listed (whole parts before the offset were skipped, so
    // the offset is inside this one); otherwise the bytes before the offset are read and dropped.
    const uint64_t bs = dev_->block_size();
    if (offset_ >= bs && known_size) {
      const uint64_t blocks = offset_ / bs;
      if (Status s = dev_->seek_block(blocks)) return s;
      part_bytes_ += blocks * bs;
      offset_ -= blocks * bs;
    }
    return ok();
  }

  void end_part() {
    in_part_ = false;
    post(msg(MsgType::kPartDone).set("successful", true).set("eom", false).set("eof", false)
             .set("size", static_cast<int64_t>(part_bytes_)).set("duration", 0.0).set("partnum", int64_t{cur_partnum_})
             .set("fileno", int64_t{cur_file_}).set("reason", std::string("eof")).set("label", cur_label_));
  }

  void segment_done() {
    done_ = true;
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
    post(msg(MsgType::kCrc).set("crc", crc_hex(crc32c_final(crc_))).set("size", static_cast<int64_t>(delivered_)));
    post(msg(MsgType::kSegmentDone).set("size", static_cast<int64_t>(delivered_)).set("duration", secs)
             .set("fileno", int64_t{cur_file_}).set("partnum", int64_t{cur_partnum_}).set("successful", true));
  }

  BlockRef fail_now(Error e) {
    done_ = true;
    fail(std::move(e));
    return {};
  }

  const std::string changer_spec_;
  DeviceOptions options_;
  amanda::Header want_;
  std::vector<PartRef> parts_;
  std::unique_ptr<Changer> changer_;
  uint64_t offset_;
  const uint64_t offset_start_ = offset_;
  const uint64_t size_;
  uint64_t remaining_ = 0;

  std::unique_ptr<Device> dev_;
  std::vector<uint8_t> buf_;
  size_t buf_pos_ = 0, buf_len_ = 0;
  size_t next_index_ = 0;
  size_t scan_slot_ = 0;
  uint32_t scan_file_ = 1;
  int next_partnum_ = 1;
  bool in_part_ = false;
  bool started_once_ = false;
  bool done_parts_ = false;
  uint64_t part_bytes_ = 0;
  int cur_partnum_ = 0;
  int cur_file_ = -1;
  std::string cur_label_;
  bool done_ = false;
  uint64_t delivered_ = 0;
  uint32_t crc_ = crc32c_init();
  std::chrono::steady_clock::time_point t0_;
};

const bool registered = register_element({
    "source-recovery",
    "source",
    "Reads a dump back from its parts across volumes, verifying each part's header; optional byte range",
    "Finds the parts of the dump named by `header` (host, disk, datestamp, level) on the volumes of "
    "CHANGER: as listed in `parts` (LABEL:FILE or LABEL:FILE:SIZE, in part order; volumes found by "
    "label), or else by scanning the volumes in slot order. Every part's header must be a dump file of "
    "the same host, disk, datestamp and level with the expected partnum; a mismatch fails naming the "
    "part, volume, file and field. offset/size select a byte range of the dump (segment-done when it "
    "is complete). Messages: part-done per part, crc, segment-done.",
    {{"changer", PropType::kString, "", 0, -1, true, "chg-disk:DIR, chg-multi:LIST or one device"},
     {"header", PropType::kString, "", 0, -1, true, "the dump's header (its first line is enough)"},
     {"parts", PropType::kStrings, "", 0, -1, false, "LABEL:FILE[:SIZE] of each part, in order (default: scan the volumes)"},
     {"offset", PropType::kSize, "0", 0, 9.0e18, false, "first byte of the dump to deliver"},
     {"size", PropType::kSize, "0", 0, 9.0e18, false, "bytes to deliver (0 = to the end)"},
     {"device-properties", PropType::kStrings, "", 0, -1, false, "NAME=VALUE device properties"}},
    {{Mech::kNone, Mech::kPullBuffer, 0, 0, 0}},
    "source-recovery changer=chg-disk:/vtapes header=\"AMANDA: SPLIT_FILE 20240102030405 host /home part 1/-1 lev 0 comp N "
    "program /bin/tar\" ! dest-file path=/tmp/home.tar",
    [](const Props& p) { return std::make_unique<SourceRecovery>(p); },
});

}  // namespace
}  // namespace xfa
