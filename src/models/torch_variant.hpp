// LibTorch's module options hold their alternatives (a conv's padding, its padding mode) in
// c10::variant up to LibTorch 2.1 and in std::variant from 2.2 on: torch_variant::get and
// get_if read either, so the models build against Debian's 1.13 and a pip 2.x LibTorch alike.
#pragma once

#include <torch/version.h>

#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 2)
#include <variant>
namespace wna::torch_variant {
using std::get;
using std::get_if;
}  // namespace wna::torch_variant
#else
#include <c10/util/variant.h>
namespace wna::torch_variant {
using c10::get;
using c10::get_if;
}  // namespace wna::torch_variant
#endif
