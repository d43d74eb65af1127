// The CPU's fixed-point row kernels (see include/wna/accum/fixed_point_rows.hpp): AVX-512 where
// the CPU has it (bitwise the same as the scalar loop), else one value at a time; on other
// architectures (aarch64) only the scalar loop is compiled.
#include "wna/accum/fixed_point_rows.hpp"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <cmath>

namespace wna {
namespace {

// One value at a time.
void add_rounded_scalar(int64_t* limb, const float* values, size_t n, double scale, bool squared) {
  for (size_t j = 0; j < n; ++j) {
    const double v = static_cast<double>(values[j]);
    const int64_t q = std::llrint((squared ? v * v : v) * scale);
    limb[2 * j] += q & 0xFFFFFFFFLL;
    limb[2 * j + 1] += q >> 32;
  }
}

#if defined(__x86_64__)
// The same, 8 values at a time with AVX-512: the same double products, and vcvtpd2qq rounds to
// nearest-even as llrint does, so the limbs are bitwise those of the scalar loop.
__attribute__((target("avx512f,avx512dq"))) void add_rounded_avx512(int64_t* limb, const float* values, size_t n,
                                                                     double scale, bool squared) {
  const __m512d scales = _mm512_set1_pd(scale);
  const __m512i low_mask = _mm512_set1_epi64(0xFFFFFFFFLL);
  const __m512i pairs_0_to_3 = _mm512_set_epi64(11, 3, 10, 2, 9, 1, 8, 0);  // low0 high0 low1 high1 ...
  const __m512i pairs_4_to_7 = _mm512_set_epi64(15, 7, 14, 6, 13, 5, 12, 4);
  size_t j = 0;
  for (; j + 8 <= n; j += 8) {
    const __m512d v = _mm512_cvtps_pd(_mm256_loadu_ps(values + j));
    const __m512i q = _mm512_cvtpd_epi64(_mm512_mul_pd(squared ? _mm512_mul_pd(v, v) : v, scales));
    const __m512i low = _mm512_and_si512(q, low_mask), high = _mm512_srai_epi64(q, 32);
    int64_t* out = limb + 2 * j;
    _mm512_storeu_si512(out, _mm512_add_epi64(_mm512_loadu_si512(out), _mm512_permutex2var_epi64(low, pairs_0_to_3, high)));
    _mm512_storeu_si512(out + 8,
                        _mm512_add_epi64(_mm512_loadu_si512(out + 8), _mm512_permutex2var_epi64(low, pairs_4_to_7, high)));
  }
  add_rounded_scalar(limb + 2 * j, values + j, n - j, scale, squared);
}

#endif

}  // namespace

void add_fixed_point_rows(int64_t* limb, const float* values, size_t n, double scale, bool squared) {
#if defined(__x86_64__)
  static const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq");
  if (avx512) {
    add_rounded_avx512(limb, values, n, scale, squared);
    return;
  }
#endif
  add_rounded_scalar(limb, values, n, scale, squared);
}

}  // namespace wna
