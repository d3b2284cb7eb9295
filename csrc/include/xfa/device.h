// Devices: where dumps are stored. Amanda's Device API (device-src/device.h), in C++, with errors
// as values.
//
// A device is one volume slot of some medium: a vtape directory (`file:/vtapes/slot3`), a single
// flat file (`diskflat:/srv/vol1.img`), a tape drive (`tape:/dev/nst0`, part 2), a RAIT set
// (`rait:{...}`, part 2), or nothing (`null:`). A volume holds numbered files. File 0 is the
// volume label (a TAPESTART header). Files 1, 2, ... each start with an Amanda file header
// (csrc/core/amanda_header.h) followed by data blocks.
//
// The life of a device object:
//
//     auto dev = open_device("file:/vt/slot1", {{"MAX_VOLUME_USAGE", "100MiB"}});
//     dev->read_label();                               // optional: what is on the volume?
//     dev->start(DeviceAccess::kAppend, "", "");       // or kWrite (relabel, erases), kRead
//     dev->start_file(header);                         // file number: dev->file()
//     while (...) dev->write_block(data, n);           // check WriteResult and is_eom()
//     dev->finish_file();                              // or abort_file() after a failure
//     dev->finish();                                   // make the volume durable, release it
//
//     dev->start(DeviceAccess::kRead, "", "");
//     dev->seek_file(3, &header);                      // TAPEEND header past the last file
//     dev->seek_block(10);                             // optional
//     while ((r = dev->read_block(buf, dev->block_size())).kind == ReadResult::kData) ...
//     dev->finish();
//
// Threads. A Device is not thread-safe: one thread at a time drives it. An element typically
// opens and starts it in setup() on the main thread and then uses it from its worker or from
// pull()/push() on a neighbour's thread; the transfer's start-up orders those (happens-before).
// The only call allowed concurrently, from any thread, is unblock().
//
// Blocking. Every call may block for the medium's time (file I/O, a tape rewind) but never
// waits for something else to happen. Devices whose operations can take long (tape positioning,
// network) make unblock() cut them short: the interrupted call returns an error with ECANCELED.
// File-backed devices (vfs, diskflat) never wait on anything but the disk and ignore unblock().
// Devices written in TypeScript (`s3:`, behind the device bridge: csrc/devices/js_device.h) wait
// for the JavaScript event loop: their calls block an engine worker until JavaScript answers,
// return ECANCELED when the transfer running on that worker is cancelled, and cannot be made on
// the JavaScript thread at all. needs_worker_thread() says so; elements that would touch the
// volume in setup() (the JavaScript thread) do it at their first push()/pull() instead.
//
// Errors. Every operation returns a Status or a result with an Error; nothing throws or
// aborts. Error::op names the operation and the device ("write_block file:/vt/slot1 file 3"),
// err the errno if a system call failed, detail a sentence. status() keeps Amanda's status flags
// for changers and label checks (missing volume, unlabeled volume, ...).
//
// End of medium. A write-mode device reports two levels, as Amanda does:
//  * LEOM (logical end of medium, an early warning): write_block() succeeds but is_eom() turns
//    true. The writer should finish the current file (part) soon; a few more blocks still fit.
//    vfs raises it 4 blocks before MAX_VOLUME_USAGE or before the filesystem is full.
//  * PEOM (physical end): write_block() returns kFull (the volume cannot take the block: nothing
//    of it was written) or kSpace (the filesystem/medium ran out of space mid-write; the device
//    cut the file back to its last complete block, so nothing of this block remains either).
//    Both set is_eom(). Without LEOM support (property LEOM false) both are reported as kError,
//    as Amanda reports WRITE_FAILED. A part that hit PEOM is incomplete: the writer calls
//    abort_file() and retries the part on another volume (dest-taper, part 2).
//
// Blocks. Writers give blocks of block_size() bytes; a shorter block is allowed only as the last
// block of a file, and only when short_blocks() is true (file-backed media). A writer to a medium
// without short blocks (tape) pads the last block with zeros itself. Readers pass a buffer of at
// least block_size() bytes; read_block() returns one block (the last may be short), so a reader
// can use any block size on file-backed media, whatever block size wrote them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "amanda_header.h"
#include "xfa/status.h"

namespace xfa {

enum class DeviceAccess { kNull, kRead, kWrite, kAppend };
const char* access_name(DeviceAccess a);  // "NULL", "READ", "WRITE", "APPEND"

// STREAMING property: whether the medium needs a steady stream (tape) to avoid shoe-shining.
enum class Streaming { kNone, kDesired, kRequired };

// Amanda's DeviceStatusFlags (bitmask), for changers and label checks.
enum DeviceStatusFlags : unsigned {
  kDeviceSuccess = 0,
  kDeviceError = 1,        // the device itself failed (I/O error, bad configuration)
  kDeviceBusy = 2,         // in use by someone else
  kVolumeMissing = 4,      // no volume there (directory or file absent, no tape loaded)
  kVolumeUnlabeled = 8,    // a volume without an Amanda label (blank, or not Amanda's)
  kVolumeError = 16,       // the volume is there but unreadable
};

struct WriteResult {
  enum Kind {
    kOk,     // the whole block was written
    kFull,   // PEOM: MAX_VOLUME_USAGE would be exceeded; nothing written (Amanda WRITE_FULL)
    kSpace,  // the medium ran out of space; cut back, nothing of the block kept (WRITE_SPACE)
    kError,  // anything else, or kFull/kSpace on a device without LEOM (WRITE_FAILED)
  } kind = kOk;
  Error error;  // why, unless kOk
  bool ok() const { return kind == kOk; }
};

struct ReadResult {
  enum Kind {
    kData,      // `size` bytes were read (one block; the last block of a file may be short)
    kEof,       // end of the current file: nothing read; is_eof() is true
    kTooSmall,  // the buffer is smaller than a block; `size` is the size needed; nothing read
    kError,
  } kind = kData;
  size_t size = 0;
  Error error;
};

// Properties common to every device (Amanda's names in comments). Settable ones are set before
// start() with set_property(); the others describe the medium.
struct DeviceProperties {
  size_t block_size = 32768;         // BLOCK_SIZE: data block size for writing and reading
  size_t min_block_size = 1;         // MIN_BLOCK_SIZE
  size_t max_block_size = 1u << 30;  // MAX_BLOCK_SIZE
  size_t header_block_size = 32768;  // bytes each file's header takes on the medium (0: elsewhere)
  bool short_blocks = true;          // a file's last block may be shorter than block_size
  bool leom = true;                  // LEOM: is_eom() warns before the end, kFull/kSpace at PEOM
  uint64_t max_volume_usage = 0;     // MAX_VOLUME_USAGE in bytes, headers included; 0 = none
  bool enforce_max_volume_usage = true;  // ENFORCE_MAX_VOLUME_USAGE: PEOM at max_volume_usage
  bool appendable = true;            // APPENDABLE: start(kAppend) works
  bool partial_deletion = true;      // PARTIAL_DELETION: single files can be removed
  bool full_deletion = true;         // FULL_DELETION: erase() works
  Streaming streaming = Streaming::kNone;  // STREAMING
  bool sync = true;                  // SYNC (xfa): fsync files at finish_file and the volume at finish
};

class Device {
 public:
  virtual ~Device() = default;
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;

  // "file:/vt/slot1" as given to open_device, and the type word ("file", "diskflat", "null").
  const std::string& spec() const { return spec_; }
  virtual const char* type() const = 0;

  // ----- properties -----
  // By Amanda's property name, case-insensitive, '-' same as '_' ("block-size", "BLOCK_SIZE").
  // Sizes take suffixes (32k, 64KiB, 10MiB, 1G: binary multiples); booleans true/false/yes/no/on/
  // off/1/0. Only before start() (error otherwise). Unknown or read-only names are errors.
  virtual Status set_property(const std::string& name, const std::string& value);
  // The value as text, or nullopt for an unknown name.
  virtual std::optional<std::string> get_property(const std::string& name) const;
  const DeviceProperties& properties() const { return props_; }
  size_t block_size() const { return props_.block_size; }

  // ----- the volume -----
  // Reads the label (file 0) without starting: fills volume_label(), volume_time(),
  // volume_header(). Errors set status(): kVolumeMissing, kVolumeUnlabeled (blank or not an
  // Amanda volume), kVolumeError / kDeviceError.
  virtual Status read_label() = 0;

  // kRead: the volume must be labeled (read_label() is implied). kWrite: (re)labels the volume
  // with `label` and `timestamp` (TAPESTART DATE; "X" if empty), ERASING everything on it.
  // kAppend: the volume must be labeled and appendable; new files go after the last one.
  // `label` is ignored for kRead and kAppend: callers compare volume_label() themselves.
  virtual Status start(DeviceAccess mode, const std::string& label, const std::string& timestamp) = 0;

  // Ends the session: finishes an open file, makes a written volume durable (fsync) and
  // releases the medium. Safe to call more than once and after errors.
  virtual Status finish() = 0;

  // ----- writing (after start(kWrite|kAppend)) -----
  // Starts the next file (number: file() afterwards) and writes `header`, after setting the
  // fields the medium decides (blocksize: 32768 on vtapes, the block size on tape). Fails with
  // is_eom() set when the volume has no room for another file.
  virtual Status start_file(amanda::Header& header) = 0;
  // Writes one block of `size` bytes (1..block_size; short only as the last block of a file and
  // only if short_blocks()). See "End of medium" above.
  virtual WriteResult write_block(const void* data, size_t size) = 0;
  // Ends the file: it is complete and durable (when SYNC).
  virtual Status finish_file() = 0;
  // Ends the current file as failed (a cancelled dump, a part cut off at PEOM). Devices that can
  // remove it do (vfs and diskflat: the volume ends with its last complete file again, and the
  // file number is free for the next start_file); others leave the partial file, which readers
  // see as short. Never fails loudly: problems are left for finish() to report.
  virtual void abort_file() = 0;

  // ----- reading (after start(kRead)) -----
  // Positions at the start of file `file`'s data and returns its header. File 0 is the label.
  // Past the last file: a synthesised TAPEEND header and is_eof() (not an error, as Amanda). A
  // file missing in the middle (vfs) is an error (ENOENT) naming the next file that exists.
  virtual Status seek_file(uint32_t file, amanda::Header* header) = 0;
  // Positions at data block `block` of the current file (0 = first data block).
  virtual Status seek_block(uint64_t block) = 0;
  // Reads the next block of the current file into buf (max >= block_size()).
  virtual ReadResult read_block(void* buf, size_t max) = 0;
  // The header block of the current file exactly as stored (header_block_size bytes; empty for
  // a synthesised TAPEEND). For `amrestore -r`-style raw copies.
  const std::string& file_header_bytes() const { return file_header_bytes_; }

  // ----- management -----
  // Removes every file and the label (FULL_DELETION). Only outside a session.
  virtual Status erase();
  // Wakes a blocked call (see Blocking). Any thread; never blocks.
  virtual void unblock() {}
  // True when calls must come from a thread other than the JavaScript thread (see Blocking).
  virtual bool needs_worker_thread() const { return false; }

  // ----- state -----
  DeviceAccess access() const { return access_; }
  int file() const { return file_; }         // current file number, -1 before any
  uint64_t block() const { return block_; }  // next data block number in the current file
  bool in_file() const { return in_file_; }
  bool is_eom() const { return is_eom_; }    // LEOM or PEOM reached (write modes)
  bool is_eof() const { return is_eof_; }    // the read position is at the end of a file/volume
  unsigned status() const { return status_; }
  const std::string& volume_label() const { return volume_label_; }
  const std::string& volume_time() const { return volume_time_; }
  const amanda::Header& volume_header() const { return volume_header_; }
  uint64_t bytes_written() const { return bytes_written_; }  // data bytes, this session
  uint64_t bytes_read() const { return bytes_read_; }
  // Bytes the volume holds, headers included (what MAX_VOLUME_USAGE limits).
  uint64_t volume_bytes() const { return volume_bytes_; }

 protected:
  explicit Device(std::string spec) : spec_(std::move(spec)) {}
  // An error for operation `op` on this device: "op file:/vt/slot1".
  Error dev_error(const std::string& op, int err, std::string detail = "") const;
  // Helpers for subclasses' set_property(): name normalised to "BLOCK_SIZE" form.
  static std::string norm_name(const std::string& name);
  static bool parse_size(const std::string& v, uint64_t* out);
  static bool parse_bool(const std::string& v, bool* out);
  // read_label()'s common end, for devices that read the label block themselves: the n bytes
  // (already known to be an Amanda header) must parse as a TAPESTART; `where` names the place in
  // the messages ("the volume", a path). Sets status_ and the volume_* fields. Caller's thread.
  Status accept_label(const char* buf, size_t n, const std::string& where);
  // start()'s common beginning: a second start is an error; position, flags and counters reset.
  Status begin_start();

  DeviceProperties props_;
  DeviceAccess access_ = DeviceAccess::kNull;
  int file_ = -1;
  uint64_t block_ = 0;
  bool in_file_ = false;
  bool is_eom_ = false;
  bool is_eof_ = false;
  unsigned status_ = kDeviceSuccess;
  std::string volume_label_;
  std::string volume_time_;
  amanda::Header volume_header_;
  std::string file_header_bytes_;
  uint64_t bytes_written_ = 0;
  uint64_t bytes_read_ = 0;
  uint64_t volume_bytes_ = 0;

 private:
  std::string spec_;
};

using DeviceOptions = std::vector<std::pair<std::string, std::string>>;

// Opens a device by spec, "TYPE:NODE" as Amanda names them, and applies `options` (property
// NAME, VALUE pairs) in order. Types: "file" (vfs vtape directory), "diskflat" (one flat file),
// "null", "tape", "rait", and the types TypeScript registered ("s3": csrc/devices/js_device.h;
// such a device is opened in JavaScript with the options, which validates them). Opening touches nothing on the medium: errors here are a bad spec or property; a missing
// volume shows at read_label()/start().
std::variant<std::unique_ptr<Device>, Error> open_device(const std::string& spec, const DeviceOptions& options = {});

// "NAME=VALUE" strings (element properties) to options; an error names the bad item.
std::variant<DeviceOptions, Error> parse_device_options(const std::vector<std::string>& items);

}  // namespace xfa
