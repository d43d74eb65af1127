// The CPU's fixed-point row kernels (see include/wna/accum/fixed_point_rows.hpp): AVX-512 where
// the CPU has it, else AVX2, else one value at a time (the vector kernels bitwise the same as the
// scalar loop); on other architectures (aarch64) only the scalar loop is compiled.
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

// The same, 4 values at a time with AVX2, which has no double -> int64 conversion: for |x| < 2^51,
// x + 1.5 * 2^52 rounds x to an integer (to nearest-even, as llrint in the default rounding mode)
// in the low mantissa bits, and the bits of the sum minus the bits of 1.5 * 2^52 are that integer.
// A group of 4 with a value outside that range (or NaN) goes to the scalar loop. Like llrint it
// assumes the default rounding mode (to nearest), which wna never changes.
__attribute__((target("avx2"))) void add_rounded_avx2(int64_t* limb, const float* values, size_t n, double scale,
                                                       bool squared) {
  const __m256d scales = _mm256_set1_pd(scale), magic = _mm256_set1_pd(6755399441055744.0);  // 1.5 * 2^52
  const __m256d range = _mm256_set1_pd(2251799813685248.0);                                    // 2^51
  const __m256d sign_bit = _mm256_set1_pd(-0.0);
  const __m256i magic_bits = _mm256_castpd_si256(magic), low_mask = _mm256_set1_epi64x(0xFFFFFFFFLL);
  const __m256i sign_32 = _mm256_set1_epi64x(0x80000000LL);
  size_t j = 0;
  for (; j + 4 <= n; j += 4) {
    const __m256d v = _mm256_cvtps_pd(_mm_loadu_ps(values + j));
    const __m256d x = _mm256_mul_pd(squared ? _mm256_mul_pd(v, v) : v, scales);
    if (_mm256_movemask_pd(_mm256_cmp_pd(_mm256_andnot_pd(sign_bit, x), range, _CMP_LT_OQ)) != 0xF) {
      add_rounded_scalar(limb + 2 * j, values + j, 4, scale, squared);
      continue;
    }
    const __m256i q = _mm256_sub_epi64(_mm256_castpd_si256(_mm256_add_pd(x, magic)), magic_bits);
    const __m256i low = _mm256_and_si256(q, low_mask);
    // floor(q / 2^32): the top half shifted down, then sign-extended from 32 bits
    const __m256i high = _mm256_sub_epi64(_mm256_xor_si256(_mm256_srli_epi64(q, 32), sign_32), sign_32);
    const __m256i pairs_02 = _mm256_unpacklo_epi64(low, high), pairs_13 = _mm256_unpackhi_epi64(low, high);
    int64_t* out = limb + 2 * j;  // low0 high0 low1 high1 | low2 high2 low3 high3
    const __m256i first = _mm256_permute2x128_si256(pairs_02, pairs_13, 0x20);
    const __m256i second = _mm256_permute2x128_si256(pairs_02, pairs_13, 0x31);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out),
                        _mm256_add_epi64(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(out)), first));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 4),
                        _mm256_add_epi64(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(out + 4)), second));
  }
  add_rounded_scalar(limb + 2 * j, values + j, n - j, scale, squared);
}

#endif

}  // namespace

void add_fixed_point_rows(int64_t* limb, const float* values, size_t n, double scale, bool squared) {
#if defined(__x86_64__)
  static const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq");
  static const bool avx2 = __builtin_cpu_supports("avx2");
  if (avx512) {
    add_rounded_avx512(limb, values, n, scale, squared);
    return;
  }
  if (avx2) {
    add_rounded_avx2(limb, values, n, scale, squared);
    return;
  }
#endif
  add_rounded_scalar(limb, values, n, scale, squared);
}

}  // namespace wna
