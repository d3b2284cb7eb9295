// Changers: where the next volume comes from (Amanda's Amanda::Changer, reduced to what a writer
// and a reader need). A changer is an ordered list of slots, each a device spec:
//
//   chg-disk:/vtapes                       slots are /vtapes/slot1, /vtapes/slot2, ... (numeric
//                                          order, as Amanda's chg-disk lays them out)
//   chg-multi:file:/vt/slot{1..4}          an explicit list, with brace expansion: {1..4},
//   chg-multi:{file:/a,file:/b}            {01..10} (zero-padded), {a,b,c}
//   file:/vt/slot1                         a single device is a changer of one slot
//
// Labels: find_volume() scans slots for a label (recovery); dest-taper walks slots in order and
// decides itself what it may write on (a volume with another configuration's label is refused).
// Slots are opened on demand: nothing is touched before a device is asked for. Pure data
// otherwise; any thread, one at a time.
#pragma once

#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "xfa/device.h"

namespace xfa {

class Changer {
 public:
  explicit Changer(std::string spec, std::vector<std::string> slots) : spec_(std::move(spec)), slots_(std::move(slots)) {}
  const std::string& spec() const { return spec_; }
  size_t slot_count() const { return slots_.size(); }
  // The device spec of slot `i` (0-based; Amanda's slot numbers are i + 1).
  const std::string& slot_device(size_t i) const { return slots_.at(i); }
  // Opens slot i's device with `options` (nothing read yet).
  std::variant<std::unique_ptr<Device>, Error> open_slot(size_t i, const DeviceOptions& options) const;
  // The first slot (from `from`) whose volume is labeled `label`, started for reading; an error
  // naming every slot looked at when none is.
  std::variant<std::unique_ptr<Device>, Error> find_volume(const std::string& label, const DeviceOptions& options,
                                                           size_t* slot_out = nullptr) const;

 private:
  std::string spec_;
  std::vector<std::string> slots_;
};

// chg-disk:DIR, chg-multi:LIST or a plain device spec. chg-disk lists DIR now (an error if it is
// missing or has no slotN directory).
std::variant<std::unique_ptr<Changer>, Error> open_changer(const std::string& spec);

// Amanda's expand_braced_alternates(): "a{1..3}b" -> a1b a2b a3b; "{x,y}{1,2}" -> x1 x2 y1 y2;
// "{08..10}" keeps the width. Commas outside braces separate items. An error for unbalanced
// braces.
std::variant<std::vector<std::string>, Error> expand_braces(const std::string& s);

}  // namespace xfa
