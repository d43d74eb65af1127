// The white-noise generators behind generate_noise (uniform, gaussian, binary): a portable one
// and, on x86-64 CPUs with AVX2, one that runs 8 Philox calls at once. Both write the same bits
// for every kind, pixel count and sample (tests/unit/test_white_noise.cpp); bench/bench_noise.cpp
// times them side by side.
#pragma once

#include <cstdint>

#include "wna/noise/noise.hpp"

namespace wna {

enum class NoiseInstructions { Portable, Avx2 };

// Avx2 where this CPU has it (and the build targets x86-64), else Portable.
NoiseInstructions best_noise_instructions();

// generate_noise for a white kind with the given instructions. Gaussian noise in double precision
// has only the portable generator (any instructions give it). std::logic_error for a structured
// kind, or for Avx2 on a CPU without it.
void generate_white_noise(const NoiseSettings& settings, NoiseInstructions instructions, uint64_t first_sample,
                          int64_t count, int64_t pixels, float* out);

}  // namespace wna
