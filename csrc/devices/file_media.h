// Shared by the file-backed devices (vfs, diskflat): Amanda's vfs rules for the end of a volume,
// and writes that leave no half block behind when the filesystem is full.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include <sys/types.h>

#include "xfa/device.h"

namespace xfa::devices {

// Blocks before the end at which LEOM warns (Amanda's EOM_EARLY_WARNING_ZONE_BLOCKS).
constexpr uint64_t kEarlyWarningBlocks = 4;

// LEOM/PEOM bookkeeping for one volume. The filesystem's free space is re-read with statvfs(2)
// every 5 s, every 100 MiB written, or when fewer than 128 blocks seem to be left (Amanda's
// MONITOR_FREE_SPACE rules); in between it is estimated from what was written.
class SpaceMonitor {
 public:
  void reset(std::string dir, bool monitor_free_space);
  // The write of `size` more bytes would pass MAX_VOLUME_USAGE (enforced): PEOM.
  static bool at_peom(const DeviceProperties& p, uint64_t volume_bytes, uint64_t size);
  // The write of `size` more bytes enters the early-warning zone of the volume limit or of the
  // filesystem's free space: LEOM.
  bool at_leom(const DeviceProperties& p, uint64_t volume_bytes, uint64_t size);
  void wrote(uint64_t n);

 private:
  void refresh();
  std::string dir_;
  bool monitor_ = true;
  bool known_ = false;
  uint64_t free_ = 0;          // bytes free at the last statvfs, minus what was written since
  uint64_t since_check_ = 0;   // bytes written since the last statvfs
  uint64_t checked_ns_ = 0;
};

enum class WriteOutcome { kOk, kNoSpace, kError };

// pwrite()s all `n` bytes at `offset`. When the filesystem runs out of space (ENOSPC, EDQUOT,
// EFBIG) part-way, the file is truncated back to `offset` (the last complete block) and fsynced:
// kNoSpace. Other failures: kError with *err set (the file is also cut back to `offset`).
WriteOutcome write_or_cut(int fd, uint64_t offset, const void* data, size_t n, int* err);

// pread()s up to n bytes at offset until n or EOF; returns the count or -1 with errno.
ssize_t read_at(int fd, uint64_t offset, void* buf, size_t n);

// fsyncs a directory (after creating, renaming or removing files in it); 0 or errno.
int fsync_dir(const std::string& dir);

}  // namespace xfa::devices
