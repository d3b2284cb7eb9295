// Mechanisms: how two neighbouring elements hand bytes to each other.
//
// Every element class declares, as plain data, the (input, output) mechanism pairs it can work
// with and what each costs. The linker (csrc/core/linker.h) chooses one pair per element and, where
// neighbours disagree, one glue element between them, minimising the summed cost.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace xfa {

// Mechanism on one edge. The element that "acts" owns the loop; the other side is passive.
//  kNone        input of a source, output of a destination.
//  kReadFd      downstream read()s the fd that upstream exposes (Element::output_fd).
//               EOF: read() returns 0. The reader calls upstream->release_output() when done.
//  kWriteFd     upstream write()s the fd that downstream exposes (Element::input_fd).
//               EOF: the writer calls downstream->release_input() (a pipe's write end closes).
//  kPullBuffer  downstream calls upstream->pull() on its own thread; an empty BlockRef is EOF.
//  kPushBuffer  upstream calls downstream->push() on its own thread; an empty BlockRef is EOF.
enum class Mech : uint8_t { kNone = 0, kReadFd, kWriteFd, kPullBuffer, kPushBuffer };
constexpr int kMechCount = 5;

const char* mech_name(Mech m);  // "NONE", "READFD", "WRITEFD", "PULL_BUFFER", "PUSH_BUFFER"

// Lexicographic cost: copies of each byte first, then allocations per block, then threads, then
// the number of glue elements (so a useless glue never ties with no glue at all).
struct Cost {
  uint32_t copies = 0;
  uint32_t allocs = 0;
  uint32_t threads = 0;
  uint32_t glues = 0;

  Cost operator+(const Cost& o) const {
    return {copies + o.copies, allocs + o.allocs, threads + o.threads, glues + o.glues};
  }
  bool operator<(const Cost& o) const {
    if (copies != o.copies) return copies < o.copies;
    if (allocs != o.allocs) return allocs < o.allocs;
    if (threads != o.threads) return threads < o.threads;
    return glues < o.glues;
  }
  bool operator==(const Cost& o) const {
    return copies == o.copies && allocs == o.allocs && threads == o.threads && glues == o.glues;
  }
};

// One way an element can be linked. `threads` is how many worker threads the element needs when
// this pair is chosen; Element::run() is then called once per thread index.
struct MechPair {
  Mech in;
  Mech out;
  uint32_t copies_per_byte;
  uint32_t allocs_per_block;
  uint32_t threads;

  Cost cost() const { return {copies_per_byte, allocs_per_block, threads, 0}; }
};

using MechPairs = std::vector<MechPair>;

}  // namespace xfa
