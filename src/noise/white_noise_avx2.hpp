// The AVX2 white-noise generator (src/noise/white_noise_avx2.cpp), private to src/noise/: callers
// go through generate_white_noise (include/wna/noise/white_noise.hpp).
#pragma once

#include <cstdint>

#include "wna/noise/noise.hpp"

namespace wna {

// Whether this build targets x86-64 and the CPU has AVX2.
bool avx2_noise_supported();

// Uniform, binary and single-precision gaussian noise, bitwise the portable generator's values;
// only where avx2_noise_supported().
void generate_white_noise_avx2(const NoiseSettings& settings, uint64_t first_sample, int64_t count, int64_t pixels,
                               float* out);

}  // namespace wna
