// Media functions of the addon (Amanda headers, volumes): csrc/addon/media.cc.
#pragma once

#include <napi.h>

namespace xfa::addon {

// Adds headerBuild, headerParse, headerClassify, amandaQuote, amandaUnquote, amandaSanitise,
// volumeScan and volumeLabel to `exports`.
void init_media(Napi::Env env, Napi::Object exports);

}  // namespace xfa::addon
