// Vectors of 8 floats through GCC's vector extensions, for the hand-written CPU kernels
// (inference convolutions, pooled STA products). Unaligned loads and stores; the kernels are
// compiled per instruction set with target_clones, so these become AVX2/AVX-512 or SSE code.
#pragma once

#include <cstring>

#pragma GCC diagnostic ignored "-Wpsabi"  // vector values passed between inlined helpers only

namespace wna {

using Floats8 = float __attribute__((vector_size(32)));
using Ints8 = int __attribute__((vector_size(32)));  // lane indices and comparison masks

inline Floats8 load8(const float* p) {
  Floats8 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

inline void store8(float* p, const Floats8& v) { std::memcpy(p, &v, sizeof v); }

inline float horizontal_sum(const Floats8& v) {
  return ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7]));
}

}  // namespace wna
