// The st interface the tape device drives, so it can run against a real Linux st drive or an
// emulator that behaves like one (tests: no real drive was tested).
//
// Operations are those of st(4): read()/write() move whole records, MTIOCTOP operations position
// (MTREW, MTFSF, MTBSF, MTFSR, MTBSR, MTEOM, MTWEOF, MTSETBLK) and MTIOCGET reports the position.
// Errors are -1 with errno, as the system calls:
//   read:  0 at a filemark (consumed); -1 EIO past the end of data (blank check); -1 ENOMEM when
//          the buffer is smaller than the record (variable-block mode; the record is skipped).
//   write: -1 ENOSPC at the early warning (once, nothing written: write again to continue) and
//          at the physical end (every time); fixed-block mode needs a multiple of the block size.
//   MTFSF/MTFSR: -1 EIO when the end of data (or a filemark, for MTFSR) comes first.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>

namespace xfa::devices {

struct TapePosition {
  int64_t fileno = 0;  // filemarks before the position
  int64_t blkno = 0;   // records since the last filemark
  bool bot = false;    // at the beginning of the tape
  bool eod = false;    // at the end of recorded data
  bool eot = false;    // past the early warning
};

class TapeIo {
 public:
  virtual ~TapeIo() = default;
  // 0, or an errno (ENOENT: no such drive / no tape image; ENOMEDIUM: no tape loaded).
  virtual int open(bool write) = 0;
  virtual void close() = 0;
  virtual bool is_open() const = 0;
  virtual ssize_t read(void* buf, size_t n) = 0;
  virtual ssize_t write(const void* buf, size_t n) = 0;
  virtual int op(short mt_op, int count) = 0;  // MTIOCTOP
  virtual int position(TapePosition* out) = 0;  // MTIOCGET
};

// A real drive: open(2) with O_RDWR/O_RDONLY, read/write, ioctl(MTIOCTOP/MTIOCGET).
std::unique_ptr<TapeIo> make_st_io(const std::string& path);
// The emulator: a tape image file (see tape_emu.cc); created by xfa's tests.
std::unique_ptr<TapeIo> make_emulated_io(const std::string& image);

}  // namespace xfa::devices
