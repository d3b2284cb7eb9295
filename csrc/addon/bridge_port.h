// The JavaScript side of a bridge element (csrc/core/bridge.h): events from C++ threads go to the
// TypeScript port object (src/bridge.ts) through one thread-safe function, in order; the
// TypeScript side calls back through a handle object (write/release/end/done/error).
#pragma once

#include <napi.h>

#include <memory>

#include "bridge.h"
#include "transfer.h"

namespace xfa::addon {

// Creates the BridgeElement for a TypeScript element spec {name, role, window, port}.
std::unique_ptr<Element> make_bridge_element(Napi::Env env, const std::string& name, const Napi::Object& spec);

// After the Transfer exists: gives every TypeScript port its handle (port.attach(handle)).
void attach_bridge_handles(Napi::Env env, const std::shared_ptr<Transfer>& xfer, const Napi::Array& specs);

}  // namespace xfa::addon
