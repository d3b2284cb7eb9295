// dest-taper: writes a dump as parts across volumes (Amanda's Dest::Taper::Splitter/Cacher driven
// by the Scribe, in one element). The data is cut into parts of `part-size` bytes (rounded up to a
// whole number of device blocks; 0 = one part); each part is one device file with a SPLIT_FILE
// header "part N/-1" (Amanda's taper never knows the total). Volumes come from `changer`
// (csrc/include/xfa/changer.h), slot after slot, starting at `slot`.
//
// End of a volume (Amanda's splitting decision table, Scribe::get_xfer_dest):
//   * LEOM (the device warns early, device property LEOM, true on vtapes): the part in progress
//     ends there as a shorter, successful part (reason "leom", eom true); the next part starts on
//     the next volume. Needs splitting (part-size > 0).
//   * PEOM (the volume is full: write_block kFull/kSpace): the part is removed from the volume
//     (abort_file), reported failed (reason "peom"), and retried whole on the next volume from
//       - part-cache=memory: the part kept in memory (part-size capped at part-cache-max-size),
//       - part-cache=disk: the part kept in an unlinked temporary file in part-cache-dir (same cap),
//       - part-cache=holding: the holding file the data came from (holding-file = its first
//         chunk, as fed to source-holding): the bytes are read back from the chunk chain and their
//         CRC must equal the part's (Amanda's cache_inform, without the side channel: the dump's
//         offsets are the holding file's).
//     Without a cache, PEOM is fatal (Amanda's "PEOM will be fatal"; NOT-RETRYING): a failed
//     part-done, then an error.
// The choice is announced by an `info` message at setup ("splitting: ...").
//
// Volumes. A slot whose volume is labeled with a label that does not match `labelstr` belongs to
// someone else and is refused (an `info` says why, the next slot is tried); so are missing or
// unreadable volumes. A labeled volume matching labelstr is appended to with mode=append (when
// the device allows; a labeled volume that cannot be appended to is refused), relabeled (ERASED,
// same label) with mode=write. A blank
// volume gets a label from `label-template` ("$s" = the slot number, a run of '%' = the slot number
// zero-padded to that width; no template = blank volumes are refused). Running out of slots fails.
//
// Messages: per part a `part-done` {successful, eom, eof, size, duration, partnum, fileno, reason
// (eof | part-size | leom | peom | error | cancelled), label, slot}; `crc` of all the data at EOF;
// `info` for each volume used or refused. A part is reported successful only once it is complete
// and durable (finish_file). A 0-byte part cut by LEOM in its header is removed and reported as
// Amanda does (successful, size 0, eom; the part number is not used up). An exact multiple of
// part-size gives no empty last part (Amanda's Splitter writes one).
//
// Threads: push() on upstream's thread, which also loads the next volumes; no threads of its own.
// Cancel: the part in progress is removed (part-done reason "cancelled"); every volume finished
// before stays readable.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <regex>
#include <vector>

#include "crc32c.h"
#include "media_util.h"
#include "unique_fd.h"
#include "xfa/changer.h"
#include "xfa/element.h"

namespace xfa {
namespace {

using amanda::kHeaderSize;

enum class Cache { kNone, kMemory, kDisk, kHolding };

ssize_t pread_full(int fd, uint64_t off, void* buf, size_t n) {
  char* p = static_cast<char*>(buf);
  size_t done = 0;
  while (done < n) {
    const ssize_t r = ::pread(fd, p + done, n - done, static_cast<off_t>(off + done));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return -1;
    if (r == 0) break;
    done += static_cast<size_t>(r);
  }
  return static_cast<ssize_t>(done);
}

bool pwrite_full(int fd, uint64_t off, const void* buf, size_t n) {
  const char* p = static_cast<const char*>(buf);
  while (n > 0) {
    const ssize_t r = ::pwrite(fd, p, n, static_cast<off_t>(off));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r;
    off += static_cast<uint64_t>(r);
    n -= static_cast<size_t>(r);
  }
  return true;
}

class DestTaper final : public Element {
 public:
  explicit DestTaper(const Props& p)
      : Element("dest-taper"),
        changer_spec_(p.get_string("changer", "")),
        options_(media::device_options_prop(p, "device-properties")),
        header_(media::header_prop(p, "header")),
        part_size_(static_cast<uint64_t>(p.get_int("part-size", 0))),
        cache_max_(static_cast<uint64_t>(p.get_int("part-cache-max-size", 10 << 20))),
        cache_dir_(p.get_string("part-cache-dir", "/tmp")),
        holding_file_(p.get_string("holding-file", "")),
        labelstr_(p.get_string("labelstr", ".*")),
        template_(p.get_string("label-template", "")),
        timestamp_(p.get_string("timestamp", "")),
        next_slot_(static_cast<size_t>(p.get_int("slot", 1) - 1)) {
    const std::string cache = p.get_string("part-cache", "none");
    if (cache == "memory") cache_ = Cache::kMemory;
    else if (cache == "disk") cache_ = Cache::kDisk;
    else if (cache == "holding") cache_ = Cache::kHolding;
    else if (cache != "none") throw std::invalid_argument("property \"part-cache\": \"" + cache + "\" is not none, memory, disk or holding");
    const std::string mode = p.get_string("mode", "append");
    if (mode == "write") append_ = false;
    else if (mode != "append") throw std::invalid_argument("property \"mode\": \"" + mode + "\" is not append or write");
    if ((cache_ == Cache::kMemory || cache_ == Cache::kDisk) && part_size_ == 0)
      throw std::invalid_argument("property \"part-cache\": a " + cache + " cache needs a part-size");
    if (cache_ == Cache::kHolding && holding_file_.empty())
      throw std::invalid_argument("property \"holding-file\" is required with part-cache=holding");
    try {
      labelre_ = std::regex(labelstr_, std::regex::extended);
    } catch (const std::regex_error&) {
      throw std::invalid_argument("property \"labelstr\": \"" + labelstr_ + "\" is not a regular expression");
    }
    if (!p.get_bool("sync", true)) options_.emplace_back("SYNC", "false");
    auto c = open_changer(changer_spec_);
    if (auto* e = std::get_if<Error>(&c)) throw std::invalid_argument("property \"changer\": " + e->to_string());
    changer_ = std::move(std::get<std::unique_ptr<Changer>>(c));
    if (timestamp_.empty()) timestamp_ = header_.datestamp;
    header_.type = amanda::FileType::kSplitDumpFile;
    header_.totalparts = -1;
    header_.cont_filename.clear();
  }

  MechPairs mech_pairs() const override { return {{Mech::kPushBuffer, Mech::kNone, 1, 0, 0}}; }
  size_t preferred_block_size() const override { return media::option_block_size(options_); }
  std::string fd_label() const override { return changer_spec_; }

  Status setup() override {
    // Volumes that must not be touched on this (the JavaScript) thread — s3: behind the device
    // bridge (xfa/device.h) — are loaded by the first push() instead; the block size and LEOM
    // come from the first slot's device properties, which opening it (no I/O) gives.
    std::unique_ptr<Device> probe;
    if (next_slot_ < changer_->slot_count()) {
      auto d = changer_->open_slot(next_slot_, options_);
      if (auto* e = std::get_if<Error>(&d)) return *e;
      probe = std::move(std::get<std::unique_ptr<Device>>(d));
    }
    if (probe && probe->needs_worker_thread()) {
      deferred_ = true;
      bs_ = probe->block_size();
      leom_ = probe->properties().leom;
    } else {
      probe.reset();
      if (Status s = next_volume()) return s;
      bs_ = dev_->block_size();
      leom_ = dev_->properties().leom;
    }
    if ((cache_ == Cache::kMemory || cache_ == Cache::kDisk) && part_size_ > cache_max_) {
      post(msg(MsgType::kInfo).set("message", "part-size " + std::to_string(part_size_) + " capped at part-cache-max-size " +
                                                  std::to_string(cache_max_)));
      part_size_ = cache_max_;
    }
    if (part_size_ % bs_) part_size_ += bs_ - part_size_ % bs_;
    if (cache_ == Cache::kMemory) mem_.reserve(part_size_);
    if (cache_ == Cache::kDisk) {
      int fd = ::open(cache_dir_.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
      if (fd < 0) {
        std::string tmpl = cache_dir_ + "/xfa-part-cache-XXXXXX";
        fd = ::mkostemp(tmpl.data(), O_CLOEXEC);
        if (fd < 0) return sys_error("create part cache in " + cache_dir_, errno);
        ::unlink(tmpl.c_str());
      }
      disk_.reset(fd);
    }
    std::string how;
    if (part_size_ == 0) how = "no splitting: one part; the end of the volume is fatal";
    else if (leom_ && cache_ == Cache::kHolding) how = "using LEOM (falling back to the holding file as cache)";
    else if (leom_ && cache_ == Cache::kNone) how = "using LEOM (no cache: PEOM will be fatal)";
    else if (leom_) how = std::string("using LEOM (falling back to the ") + (cache_ == Cache::kMemory ? "memory" : "disk") + " cache)";
    else if (cache_ == Cache::kHolding) how = "retrying failed parts from the holding file";
    else if (cache_ == Cache::kMemory) how = "retrying failed parts from a memory cache";
    else if (cache_ == Cache::kDisk) how = "retrying failed parts from a disk cache in " + cache_dir_;
    else how = "no LEOM and no cache: PEOM will be fatal";
    post(msg(MsgType::kInfo).set("message", "splitting: " + how + (part_size_ ? ", part-size " + std::to_string(part_size_) : "")));
    stage_.resize(bs_);
    t0_ = std::chrono::steady_clock::now();
    return ok();
  }

  void push(BlockRef b) override {
    if (!b) return finish_data();
    if (cancelled() || failed_) return;
    const uint8_t* p = b->data();
    size_t n = b->size();
    count_in(n);
    crc_ = crc32c_update(crc_, p, n);
    size_ += n;
    while (n > 0 && !failed_) {
      const size_t k = std::min(n, bs_ - staged_);
      if (staged_ == 0 && k == bs_) {
        emit(p, bs_);
      } else {
        std::memcpy(stage_.data() + staged_, p, k);
        staged_ += k;
        if (staged_ == bs_) {
          staged_ = 0;
          emit(stage_.data(), bs_);
        }
      }
      p += k;
      n -= k;
    }
  }

  Status commit() override {
    if (in_part_) {
      if (Status s = dev_->finish_file()) return s;
      in_part_ = false;
      part_done(true, dev_->is_eom(), true, part_written_, "eof");
    }
    if (dev_) {
      Status s = dev_->finish();
      dev_.reset();
      if (s) return s;
    }
    return ok();
  }

  void abort() override {
    if (!dev_) return;
    if (in_part_) {
      dev_->abort_file();
      in_part_ = false;
      part_done(false, false, false, part_written_, failed_ ? "error" : "cancelled");
    }
    dev_->finish();
    dev_.reset();
  }

  void close() override {
    disk_.reset();
    hold_fd_.reset();
    mem_ = {};
    stage_ = {};
  }

 private:
  // ----- volumes -----
  Status next_volume() {
    if (dev_) {
      Status s = dev_->finish();
      dev_.reset();
      if (s) return s;
    }
    std::string tried;
    while (next_slot_ < changer_->slot_count()) {
      const size_t i = next_slot_++;
      const std::string slot = "slot " + std::to_string(i + 1) + " (" + changer_->slot_device(i) + ")";
      auto d = changer_->open_slot(i, options_);
      if (auto* e = std::get_if<Error>(&d)) return *e;
      auto dev = std::move(std::get<std::unique_ptr<Device>>(d));
      auto refuse = [&](const std::string& why) {
        post(msg(MsgType::kInfo).set("message", slot + ": " + why + "; trying the next slot"));
        tried += (tried.empty() ? "" : "; ") + slot + ": " + why;
      };
      Status rl = dev->read_label();
      Status st;
      std::string label;
      if (!rl) {
        label = dev->volume_label();
        if (!std::regex_search(label, labelre_)) {
          refuse("volume \"" + label + "\" does not match labelstr \"" + labelstr_ + "\" (another configuration's)");
          continue;
        }
        if (append_ && !dev->properties().appendable) {
          refuse("volume \"" + label + "\" cannot be appended to (a " + std::string(dev->type()) + " device); mode=write relabels it");
          continue;
        }
        const bool app = append_;
        st = dev->start(app ? DeviceAccess::kAppend : DeviceAccess::kWrite, label, timestamp_);
        if (!st) post(msg(MsgType::kInfo).set("message", slot + ": " + (app ? "appending to" : "relabeled (erased)") + " volume \"" + label + "\""));
      } else if (dev->status() & kVolumeUnlabeled) {
        if (template_.empty()) {
          refuse("blank volume and no label-template");
          continue;
        }
        label = make_label(i + 1);
        st = dev->start(DeviceAccess::kWrite, label, timestamp_);
        if (!st) post(msg(MsgType::kInfo).set("message", slot + ": labeled a blank volume \"" + label + "\""));
      } else {
        refuse(rl->detail.empty() ? rl->op : rl->detail);
        continue;
      }
      if (st) {
        refuse("cannot start: " + st->to_string());
        continue;
      }
      dev_ = std::move(dev);
      label_ = label;
      slot_ = static_cast<int>(i + 1);
      fresh_volume_ = true;
      return ok();
    }
    return plain_error("load the next volume from " + changer_spec_,
                       "no usable volume left" + (tried.empty() ? std::string("") : " (" + tried + ")"));
  }

  std::string make_label(size_t slot) const {
    std::string out;
    for (size_t i = 0; i < template_.size();) {
      if (template_.compare(i, 2, "$s") == 0) {
        out += std::to_string(slot);
        i += 2;
      } else if (template_[i] == '%') {
        size_t w = 0;
        while (i < template_.size() && template_[i] == '%') ++w, ++i;
        std::string n = std::to_string(slot);
        if (n.size() < w) n.insert(0, w - n.size(), '0');
        out += n;
      } else {
        out += template_[i++];
      }
    }
    return out;
  }

  // ----- parts -----
  void part_done(bool ok, bool eom, bool eof, uint64_t size, const char* reason) {
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - part_t0_).count();
    post(msg(MsgType::kPartDone).set("successful", ok).set("eom", eom).set("eof", eof)
             .set("size", static_cast<int64_t>(size)).set("duration", secs).set("partnum", int64_t{partnum_})
             .set("fileno", int64_t{dev_ ? dev_->file() : -1}).set("reason", std::string(reason))
             .set("label", label_).set("slot", int64_t{slot_}));
  }

  // Starts part partnum_ on the current volume, moving to the next volume while a part's header
  // does not fit (LEOM or PEOM in the header). False after fail().
  bool start_part() {
    for (;;) {
      header_.partnum = partnum_;
      part_t0_ = std::chrono::steady_clock::now();
      Status s = dev_->start_file(header_);
      if (!s && !(dev_->is_eom() && leom_ && part_size_ > 0)) break;
      if (s && !dev_->is_eom()) return fail_now(*s);
      // No room for this part here (Amanda: PART-n-0-OK, EOM): report, move on, same partnum.
      if (!s) dev_->abort_file();
      part_done(true, true, false, 0, "leom");
      if (fresh_volume_) return fail_now(plain_error("start_file " + dev_->spec(), "no room for a part on an empty volume"));
      if (Status v = next_volume()) return fail_now(*v);
    }
    in_part_ = true;
    part_written_ = 0;
    part_in_ = 0;
    part_start_ = dumped_;
    part_crc_ = crc32c_init();
    mem_.clear();
    return true;
  }

  // One block of the dump (bs_ bytes, or fewer at EOF).
  void emit(const uint8_t* p, size_t n) {
    if (in_part_ && part_size_ > 0 && part_in_ >= part_size_) end_part("part-size", false);
    if (failed_ || !loaded()) return;
    if (!in_part_ && !start_part()) return;
    if (!cache_add(p, n)) return;
    part_in_ += n;
    dumped_ += n;
    part_crc_ = crc32c_update(part_crc_, p, n);
    WriteResult r = put(p, n);
    if (is_peom(r)) {
      retry_part(r);
      return;
    }
    if (!r.ok()) {
      // A device that waits (s3: behind the bridge) returns ECANCELED when the transfer is cancelled.
      part_done(false, false, false, part_written_, cancelled() ? "cancelled" : "error");
      dev_->abort_file();
      in_part_ = false;
      fail_now(r.error);
      return;
    }
    part_written_ += n;
    count_out(n);
    fresh_volume_ = false;
    if (dev_->is_eom() && leom_ && part_size_ > 0) end_part("leom", true);
  }

  // PEOM: kFull/kSpace, or (devices without LEOM) a failed write with is_eom() set, as Amanda's
  // WRITE_FAILED + is_eom.
  bool is_peom(const WriteResult& r) const {
    return r.kind == WriteResult::kFull || r.kind == WriteResult::kSpace || (r.kind == WriteResult::kError && dev_->is_eom());
  }

  WriteResult put(const uint8_t* p, size_t n) {
    if (n < bs_ && !dev_->properties().short_blocks) {
      std::vector<uint8_t> pad(bs_, 0);
      std::memcpy(pad.data(), p, n);
      return dev_->write_block(pad.data(), bs_);
    }
    return dev_->write_block(p, n);
  }

  void end_part(const char* reason, bool eom) {
    if (Status s = dev_->finish_file()) {
      in_part_ = false;
      part_done(false, eom, false, part_written_, cancelled() ? "cancelled" : "error");
      fail_now(*s);
      return;
    }
    in_part_ = false;
    part_done(true, eom, false, part_written_, reason);
    ++partnum_;
    if (eom) {
      if (Status v = next_volume()) fail_now(*v);
    }
  }

  bool cache_add(const uint8_t* p, size_t n) {
    if (cache_ == Cache::kMemory) {
      mem_.insert(mem_.end(), p, p + n);
    } else if (cache_ == Cache::kDisk) {
      if (!pwrite_full(disk_.get(), part_in_, p, n)) return fail_now(sys_error("write the part cache in " + cache_dir_, errno));
    }
    return true;
  }

  // Reads part bytes [off, off+n) back from the cache.
  Status cache_read(uint64_t off, uint8_t* out, size_t n) {
    if (cache_ == Cache::kMemory) {
      std::memcpy(out, mem_.data() + off, n);
      return ok();
    }
    if (cache_ == Cache::kDisk) {
      const ssize_t r = pread_full(disk_.get(), off, out, n);
      if (r < 0) return sys_error("read the part cache in " + cache_dir_, errno);
      if (static_cast<size_t>(r) != n) return plain_error("read the part cache in " + cache_dir_, "short read");
      return ok();
    }
    return holding_read(part_start_ + off, out, n);
  }

  // The part hit PEOM: report it, and write it again on the next volume from the cache.
  void retry_part(const WriteResult& r) {
    for (;;) {
      part_done(false, true, false, part_written_, "peom");
      dev_->abort_file();
      in_part_ = false;
      if (cache_ == Cache::kNone) {
        Error e = r.error;
        e.detail = (e.detail.empty() ? "" : e.detail + "; ") + "part " + std::to_string(partnum_) +
                   " hit the end of the volume and there is no part cache to retry it from (NOT-RETRYING: PEOM is fatal without LEOM or a cache)";
        fail_now(e);
        return;
      }
      if (fresh_volume_) {
        fail_now(plain_error("write part " + std::to_string(partnum_) + " to " + dev_->spec(),
                             "the part (" + std::to_string(part_in_) + " bytes so far) does not fit on an empty volume"));
        return;
      }
      post(msg(MsgType::kInfo).set("message", "will retry part " + std::to_string(partnum_) + " on the next volume from the " +
                                                  (cache_ == Cache::kMemory ? "memory cache" : cache_ == Cache::kDisk ? "disk cache" : "holding file")));
      if (Status v = next_volume()) return (void)fail_now(*v);
      header_.partnum = partnum_;
      part_t0_ = std::chrono::steady_clock::now();
      if (Status s = dev_->start_file(header_)) return (void)fail_now(*s);
      in_part_ = true;
      part_written_ = 0;
      std::vector<uint8_t> buf(bs_);
      uint32_t crc = crc32c_init();
      bool again = false;
      while (part_written_ < part_in_) {
        const size_t n = static_cast<size_t>(std::min<uint64_t>(bs_, part_in_ - part_written_));
        if (Status s = cache_read(part_written_, buf.data(), n)) return (void)fail_now(*s);
        crc = crc32c_update(crc, buf.data(), n);
        WriteResult w = put(buf.data(), n);
        if (is_peom(w)) {
          again = true;
          break;
        }
        if (!w.ok()) {
          part_done(false, false, false, part_written_, "error");
          dev_->abort_file();
          in_part_ = false;
          return (void)fail_now(w.error);
        }
        part_written_ += n;
        count_out(n);
        fresh_volume_ = false;
      }
      if (again) continue;
      if (crc != part_crc_) {
        part_done(false, false, false, part_written_, "error");
        dev_->abort_file();
        in_part_ = false;
        return (void)fail_now(plain_error("retry part " + std::to_string(partnum_) + " from " + holding_file_,
                                          "the bytes read back differ from the part's (CRC32C " + crc_hex(crc32c_final(crc)) +
                                              ", expected " + crc_hex(crc32c_final(part_crc_)) + "): the holding file changed"));
      }
      if (dev_->is_eom() && leom_ && part_size_ > 0) end_part("leom", true);
      return;
    }
  }

  // ----- holding file as cache -----
  struct Chunk {
    std::string path;
    uint64_t start;  // offset in the dump's data
    uint64_t size;   // data bytes (after the 32 KiB header)
  };

  Status load_chunks() {
    if (!chunks_.empty()) return ok();
    std::string path = holding_file_;
    uint64_t start = 0;
    for (int guard = 0; !path.empty() && guard < 100000; ++guard) {
      UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
      if (!fd && errno == ENOENT && !chunks_.empty()) {
        const std::string& from = chunks_.back().path;
        const std::string alt = from.substr(0, from.rfind('/') + 1) + path.substr(path.rfind('/') + 1);
        fd.reset(::open(alt.c_str(), O_RDONLY | O_CLOEXEC));
        if (fd) path = alt;
        else errno = ENOENT;
      }
      if (!fd) return sys_error("open holding chunk " + path + " (part cache)", errno);
      struct stat st;
      if (::fstat(fd.get(), &st) != 0) return sys_error("stat " + path, errno);
      std::string buf(kHeaderSize, '\0');
      amanda::Header h;
      if (pread_full(fd.get(), 0, buf.data(), buf.size()) != static_cast<ssize_t>(kHeaderSize) ||
          amanda::parse(buf.data(), buf.size(), &h))
        return plain_error("read holding chunk " + path + " (part cache)", "no valid Amanda header");
      const uint64_t size = static_cast<uint64_t>(st.st_size) > kHeaderSize ? static_cast<uint64_t>(st.st_size) - kHeaderSize : 0;
      chunks_.push_back({path, start, size});
      start += size;
      path = h.cont_filename;
    }
    return ok();
  }

  Status holding_read(uint64_t off, uint8_t* out, size_t n) {
    if (Status s = load_chunks()) return s;
    while (n > 0) {
      const Chunk* c = nullptr;
      for (const auto& ch : chunks_)
        if (off >= ch.start && off < ch.start + ch.size) c = &ch;
      if (!c) return plain_error("read the holding file " + holding_file_ + " (part cache)", "offset " + std::to_string(off) + " is past its end");
      if (c->path != hold_path_) {
        hold_fd_.reset(::open(c->path.c_str(), O_RDONLY | O_CLOEXEC));
        if (!hold_fd_) return sys_error("open holding chunk " + c->path + " (part cache)", errno);
        hold_path_ = c->path;
      }
      const size_t k = static_cast<size_t>(std::min<uint64_t>(n, c->start + c->size - off));
      const ssize_t r = pread_full(hold_fd_.get(), kHeaderSize + (off - c->start), out, k);
      if (r < 0) return sys_error("read holding chunk " + c->path + " (part cache)", errno);
      if (static_cast<size_t>(r) != k) return plain_error("read holding chunk " + c->path + " (part cache)", "truncated");
      out += k;
      off += k;
      n -= k;
    }
    return ok();
  }

  // ----- EOF -----
  void finish_data() {
    if (eof_ || cancelled() || failed_) return;
    eof_ = true;
    if (staged_ > 0) {
      const size_t n = staged_;
      staged_ = 0;
      emit(stage_.data(), n);
    }
    if (failed_ || !loaded()) return;
    if (!in_part_ && partnum_ == 1 && !start_part()) return;  // an empty dump: one empty part
    post(msg(MsgType::kCrc).set("crc", crc_hex(crc32c_final(crc_))).set("size", static_cast<int64_t>(size_)));
  }

  // The first volume, when setup() deferred it (pushing thread). False after fail().
  bool loaded() {
    if (!deferred_) return true;
    deferred_ = false;
    if (Status v = next_volume()) return fail_now(*v);
    return true;
  }

  bool fail_now(Error e) {
    failed_ = true;
    fail(std::move(e));
    return false;
  }

  const std::string changer_spec_;
  DeviceOptions options_;
  amanda::Header header_;
  uint64_t part_size_;
  const uint64_t cache_max_;
  const std::string cache_dir_;
  const std::string holding_file_;
  const std::string labelstr_;
  std::regex labelre_;
  const std::string template_;
  std::string timestamp_;
  Cache cache_ = Cache::kNone;
  bool append_ = true;
  std::unique_ptr<Changer> changer_;
  size_t next_slot_;

  std::unique_ptr<Device> dev_;
  std::string label_;
  int slot_ = 0;
  bool fresh_volume_ = false;
  bool leom_ = true;
  size_t bs_ = 0;
  std::vector<uint8_t> stage_;
  size_t staged_ = 0;

  int partnum_ = 1;
  bool in_part_ = false;
  uint64_t part_in_ = 0;       // bytes of the dump given to this part
  uint64_t part_written_ = 0;  // of those, on the volume
  uint64_t part_start_ = 0;    // offset of the part in the dump
  uint64_t dumped_ = 0;
  uint32_t part_crc_ = crc32c_init();
  std::chrono::steady_clock::time_point part_t0_, t0_;

  std::vector<uint8_t> mem_;
  UniqueFd disk_;
  std::vector<Chunk> chunks_;
  UniqueFd hold_fd_;
  std::string hold_path_;

  bool failed_ = false;
  bool deferred_ = false;
  bool eof_ = false;
  uint64_t size_ = 0;
  uint32_t crc_ = crc32c_init();
};

const bool registered = register_element({
    "dest-taper",
    "dest",
    "Writes a dump as SPLIT_FILE parts across the volumes of a changer, retrying parts at the end of a volume",
    "Cuts the data into parts of part-size (rounded up to whole device blocks; 0 = one part), each a "
    "device file with a SPLIT_FILE header (part N/-1), on volumes taken in order from CHANGER "
    "(chg-disk:DIR with slotN directories, chg-multi:file:/vt/slot{1..4}, or one device). At LEOM "
    "the part ends early and the next one starts on the next volume; at PEOM the part is removed and "
    "retried on the next volume from part-cache (memory, disk, or holding = re-read from "
    "holding-file, the holding file the data comes from); without a cache PEOM is fatal. Volumes: "
    "labels must match labelstr (others are refused), blank ones are labeled from label-template "
    "($s = slot number, %%% = zero-padded slot number); mode=append appends to labeled volumes, "
    "mode=write relabels (erases) them. Messages: part-done per part (reason eof, part-size, leom, "
    "peom, error or cancelled; label and slot), crc at EOF, info for volume changes.",
    {{"changer", PropType::kString, "", 0, -1, true, "chg-disk:DIR, chg-multi:LIST (brace expansion) or one device"},
     {"header", PropType::kString, "", 0, -1, true, "the dump's Amanda header (FILE or SPLIT_FILE; text or first line)"},
     {"part-size", PropType::kSize, "0", 0, -1, false, "bytes per part (0 = no splitting)"},
     {"part-cache", PropType::kString, "none", 0, -1, false, "none, memory, disk or holding: where a part that hit PEOM is retried from"},
     {"part-cache-dir", PropType::kString, "/tmp", 0, -1, false, "part-cache=disk: directory of the (unlinked) cache file"},
     {"part-cache-max-size", PropType::kSize, "10MiB", 0, -1, false, "memory/disk cache: part-size is capped at this"},
     {"holding-file", PropType::kString, "", 0, -1, false, "part-cache=holding: the first chunk of the holding file being written"},
     {"labelstr", PropType::kString, ".*", 0, -1, false, "regular expression (POSIX extended) labels of this configuration match"},
     {"label-template", PropType::kString, "", 0, -1, false, "label for blank volumes: $s = slot number, %%% = zero-padded"},
     {"mode", PropType::kString, "append", 0, -1, false, "append to labeled volumes, or write (relabel, erasing them)"},
     {"slot", PropType::kInt, "1", 1, 1e9, false, "first slot to use"},
     {"timestamp", PropType::kString, "", 0, -1, false, "datestamp of new labels (default: the header's)"},
     {"device-properties", PropType::kStrings, "", 0, -1, false, "NAME=VALUE device properties, e.g. MAX_VOLUME_USAGE=2.5m"},
     {"sync", PropType::kBool, "true", 0, -1, false, "fsync each part before reporting it"}},
    {{Mech::kPushBuffer, Mech::kNone, 1, 0, 0}},
    "source-holding path=/holding/h._home.0 ! dest-taper changer=chg-disk:/vtapes part-size=1g part-cache=holding "
    "holding-file=/holding/h._home.0 label-template=DAILY-%%% header=\"AMANDA: FILE 20240102030405 host /home lev 0 comp N program /bin/tar\"",
    [](const Props& p) { return std::make_unique<DestTaper>(p); },
});

}  // namespace
}  // namespace xfa
