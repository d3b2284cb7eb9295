// The device types open_device() knows. Each type's factory takes the whole spec and its NODE
// (the part after "TYPE:") and returns a device that has not touched the medium yet, or an error
// for a malformed node. Adding a type (tape, rait: part 2) = a factory here + a row in the table
// in device.cc.
#pragma once

#include <memory>
#include <string>
#include <variant>

#include "xfa/device.h"

namespace xfa::devices {

using DeviceOrError = std::variant<std::unique_ptr<Device>, Error>;

DeviceOrError make_vfs(const std::string& spec, const std::string& node);       // file:DIR
DeviceOrError make_diskflat(const std::string& spec, const std::string& node);  // diskflat:FILE
DeviceOrError make_null(const std::string& spec, const std::string& node);      // null:
DeviceOrError make_tape(const std::string& spec, const std::string& node);      // tape:/dev/nst0, tape:emu:IMAGE
DeviceOrError make_rait(const std::string& spec, const std::string& node);      // rait:{dev1,dev2,...}

}  // namespace xfa::devices
