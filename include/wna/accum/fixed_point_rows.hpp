// The CPU's kernel under ExactBuffer: a row of float32 values rounded to fixed point and added
// into limb pairs (see include/wna/accum/exact_sum.hpp for the number format).
#pragma once

#include <cstddef>
#include <cstdint>

namespace wna {

// limb pairs j < n += round(values[j] (squared if `squared`) * scale), each q split into
// low += q mod 2^32 and high += floor(q / 2^32); the double product, then round-half-even.
void add_fixed_point_rows(int64_t* limb, const float* values, size_t n, double scale, bool squared);

}  // namespace wna
