// The device bridge's JavaScript side (csrc/devices/js_device.h): csrc/addon/device_host.cc.
#pragma once

#include <napi.h>

namespace xfa::addon {

// Adds deviceBridgeRegister(type, dispatch) and deviceBridgeUnregister(type) to `exports`.
void init_device_host(Napi::Env env, Napi::Object exports);

}  // namespace xfa::addon
