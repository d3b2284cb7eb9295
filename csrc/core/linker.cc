#include "linker.h"

#include <array>
#include <optional>

namespace xfa {

const char* mech_name(Mech m) {
  switch (m) {
    case Mech::kNone: return "NONE";
    case Mech::kReadFd: return "READFD";
    case Mech::kWriteFd: return "WRITEFD";
    case Mech::kPullBuffer: return "PULL_BUFFER";
    case Mech::kPushBuffer: return "PUSH_BUFFER";
  }
  return "?";
}

namespace {

struct State {
  bool reached = false;
  Cost cost;
  int prev_mech = -1;  // mechanism arriving at the previous element
  LinkStep step;       // how the previous element was linked to get here
};

using Row = std::array<State, kMechCount>;

void relax(State& s, const Cost& c, int prev, const LinkStep& step) {
  if (s.reached && !(c < s.cost)) return;
  s = {true, c, prev, step};
}

std::string mech_list(const MechPairs& pairs, bool inputs) {
  std::string s;
  for (const auto& p : pairs) {
    const char* n = mech_name(inputs ? p.in : p.out);
    if (s.find(n) != std::string::npos) continue;
    if (!s.empty()) s += "|";
    s += n;
  }
  return s;
}

Error unlinkable(const std::vector<MechPairs>& pairs, const std::vector<std::string>& names, size_t i) {
  return plain_error("link", "cannot link " + names[i] + " (outputs " + mech_list(pairs[i], false) + ") to " +
                                 names[i + 1] + " (accepts " + mech_list(pairs[i + 1], true) +
                                 "): no glue joins these mechanisms");
}

}  // namespace

std::string Linkage::describe(const std::vector<std::string>& names) const {
  std::string s;
  for (size_t i = 0; i < steps.size(); ++i) {
    s += names[i];
    if (i + 1 == steps.size()) break;
    const LinkStep& st = steps[i];
    s += std::string(" -") + mech_name(st.pair.out) + "-> ";
    if (st.glue) s += std::string("glue -") + mech_name(st.glue_pair.out) + "-> ";
  }
  return s;
}

std::variant<Linkage, Error> link_chain(const std::vector<MechPairs>& pairs,
                                        const std::vector<std::string>& names,
                                        const MechPairs& glue_pairs, bool force_glue) {
  const size_t n = pairs.size();
  if (n < 2) return plain_error("link", "a transfer needs a source and a destination");
  for (size_t i = 0; i < n; ++i) {
    bool all_in_none = !pairs[i].empty(), all_out_none = !pairs[i].empty();
    for (const auto& p : pairs[i]) {
      all_in_none = all_in_none && p.in == Mech::kNone;
      all_out_none = all_out_none && p.out == Mech::kNone;
    }
    if (i > 0 && all_in_none) return plain_error("link", names[i] + " is a source and must come first");
    if (i + 1 < n && all_out_none) return plain_error("link", names[i] + " is a destination and must come last");
  }
  std::vector<Row> rows(n + 1);
  rows[0][static_cast<int>(Mech::kNone)] = {true, {}, -1, {}};
  for (size_t i = 0; i < n; ++i) {
    bool any = false;
    for (int m = 0; m < kMechCount; ++m) {
      const State& from = rows[i][m];
      if (!from.reached) continue;
      for (const MechPair& p : pairs[i]) {
        if (static_cast<int>(p.in) != m) continue;
        // The last element must end in NONE; inner elements must not.
        const bool last = i + 1 == n;
        if (last != (p.out == Mech::kNone)) continue;
        any = true;
        const Cost base = from.cost + p.cost();
        if (last || !force_glue) relax(rows[i + 1][static_cast<int>(p.out)], base, m, {p, false, {}});
        if (last) continue;
        for (const MechPair& g : glue_pairs) {
          if (g.in != p.out) continue;
          relax(rows[i + 1][static_cast<int>(g.out)], base + g.cost() + Cost{0, 0, 0, 1}, m, {p, true, g});
        }
      }
    }
    if (!any) {
      if (i == 0) return plain_error("link", names[0] + " is not a source (it needs an input)");
      return unlinkable(pairs, names, i - 1);
    }
  }
  const State& end = rows[n][static_cast<int>(Mech::kNone)];
  if (!end.reached) {
    return plain_error("link", names[n - 1] + " is not a destination (it has an output)");
  }
  Linkage lk;
  lk.cost = end.cost;
  lk.steps.resize(n);
  int m = static_cast<int>(Mech::kNone);
  for (size_t i = n; i > 0; --i) {
    const State& s = rows[i][m];
    lk.steps[i - 1] = s.step;
    m = s.prev_mech;
  }
  return lk;
}

}  // namespace xfa
