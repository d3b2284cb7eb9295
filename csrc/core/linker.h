// The linker: chooses one mechanism pair per element and the glue between neighbours.
//
// Dynamic programming over (element index, mechanism arriving at that element): for every pair of
// element i whose input matches, the next state is reached either directly (pair.out) or through
// exactly one glue pair (glue.in == pair.out). States are compared by the summed lexicographic
// Cost (mech.h). O(elements × mechanisms × (pairs + glue pairs)) — never the exponential search.
// Ties keep the earliest table entry, so results are deterministic.
//
// Main thread, pure: no element is modified. An unlinkable chain is an Error naming the first two
// neighbours that cannot be joined and their mechanisms.
#pragma once

#include <string>
#include <variant>
#include <vector>

#include "xfa/element.h"

namespace xfa {

struct LinkStep {
  MechPair pair;       // chosen pair of the element
  bool glue = false;   // a glue element follows this element
  MechPair glue_pair;  // valid when glue
};

struct Linkage {
  std::vector<LinkStep> steps;  // one per user element
  Cost cost;
  // "source-random#1 -PULL_BUFFER-> glue -PUSH_BUFFER-> dest-null#2"
  std::string describe(const std::vector<std::string>& names) const;
};

// `pairs[i]` are element i's pairs; `names[i]` its instance name (for errors). With
// `force_glue`, every pair of neighbours is joined through a glue (to test each glue strategy).
std::variant<Linkage, Error> link_chain(const std::vector<MechPairs>& pairs,
                                        const std::vector<std::string>& names,
                                        const MechPairs& glue_pairs, bool force_glue = false);

}  // namespace xfa
