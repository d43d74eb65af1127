// Fixed-point exact sums (see include/wna/accum/exact_sum.hpp). Rows are rounded and added
// with AVX-512 where the CPU has it (bitwise the same as the scalar loop), else one by one;
// on other architectures (aarch64) only the scalar loop is compiled.
#include "wna/accum/exact_sum.hpp"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <algorithm>
#include <stdexcept>

namespace wna {

namespace {

// limb pairs j < n += round(values[j] (squared if `squared`) * scale), one value at a time.
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

void add_rounded(int64_t* limb, const float* values, size_t n, double scale, bool squared) {
  static const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq");
  if (avx512)
    add_rounded_avx512(limb, values, n, scale, squared);
  else
    add_rounded_scalar(limb, values, n, scale, squared);
}
#else
void add_rounded(int64_t* limb, const float* values, size_t n, double scale, bool squared) {
  add_rounded_scalar(limb, values, n, scale, squared);
}
#endif

}  // namespace

void ExactBuffer::add_row(size_t offset, const float* values, size_t n, double weight) {
  add_rounded(limbs_.data() + 2 * offset, values, n, weight * kFixedPointScale, false);
}

void ExactBuffer::add_row_squared(size_t offset, const float* values, size_t n) {
  add_rounded(limbs_.data() + 2 * offset, values, n, kFixedPointScale, true);
}

void ExactBuffer::normalize() {
  for (size_t i = 0; i < limbs_.size(); i += 2) {
    const int64_t carry = limbs_[i] >> 32;  // arithmetic shift: floor division by 2^32
    limbs_[i] -= carry * 4294967296LL;
    limbs_[i + 1] += carry;
  }
  chunks_since_normalize_ = 0;
}

void ExactBuffer::merge(const ExactBuffer& other) {
  if (other.limbs_.size() != limbs_.size())
    throw std::invalid_argument("ExactBuffer::merge: buffers differ in size");
  for (size_t i = 0; i < limbs_.size(); ++i) limbs_[i] += other.limbs_[i];
  normalize();
}

void ExactBuffer::clear() { std::fill(limbs_.begin(), limbs_.end(), 0); }

double ExactBuffer::value(size_t i) const {
  // high + low / 2^32, with the carry folded in first so the low part is in [0, 1).
  const int64_t low = limbs_[2 * i];
  const int64_t high = limbs_[2 * i + 1] + (low >> 32);
  const int64_t low_part = low - ((low >> 32) * 4294967296LL);
  return static_cast<double>(high) + static_cast<double>(low_part) / kFixedPointScale;
}

}  // namespace wna
