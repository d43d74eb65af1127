// White noise with AVX2: 8 Philox4x32-10 calls at once (the 8 lanes hold consecutive pixel
// groups of one sample), their words put back in pixel order, and the per-kind transforms of
// include/wna/noise/philox_pixels.hpp done on 8 lanes with the same IEEE operations in the same
// order, so every value is bitwise the portable generator's (tests/unit/test_white_noise.cpp). Built
// for every x86-64 CPU (the functions carry target("avx2")); used only where the CPU has AVX2.
#include "white_noise_avx2.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "wna/noise/philox_pixels.hpp"

#if defined(__x86_64__)
#include <immintrin.h>

namespace wna {
namespace {

#define WNA_AVX2 __attribute__((target("avx2"), always_inline)) inline

// The high and low 32 bits of m * a in each of 8 lanes (_mm256_mul_epu32 multiplies the even
// lanes; the odd ones are shifted down for a second multiply).
WNA_AVX2 void multiply_high_low(__m256i a, __m256i m, __m256i& high, __m256i& low) {
  const __m256i even = _mm256_mul_epu32(a, m), odd = _mm256_mul_epu32(_mm256_srli_epi64(a, 32), m);
  low = _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
  high = _mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA);
}

// Philox4x32-10 (Random123's rounds and key schedule) on counters {group + lane, sample low,
// sample high, 0}: words[k] holds word k of the 8 calls.
WNA_AVX2 void philox8(uint64_t seed, uint64_t sample, uint32_t group, __m256i words[4]) {
  __m256i c0 = _mm256_add_epi32(_mm256_set1_epi32(static_cast<int>(group)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  __m256i c1 = _mm256_set1_epi32(static_cast<int>(static_cast<uint32_t>(sample)));
  __m256i c2 = _mm256_set1_epi32(static_cast<int>(static_cast<uint32_t>(sample >> 32)));
  __m256i c3 = _mm256_setzero_si256();
  const __m256i m0 = _mm256_set1_epi32(static_cast<int>(0xD2511F53u)), m1 = _mm256_set1_epi32(static_cast<int>(0xCD9E8D57u));
  uint32_t k0 = static_cast<uint32_t>(seed), k1 = static_cast<uint32_t>(seed >> 32);
  for (int round = 0; round < 10; ++round) {
    __m256i high0, low0, high1, low1;
    multiply_high_low(c0, m0, high0, low0);
    multiply_high_low(c2, m1, high1, low1);
    c0 = _mm256_xor_si256(_mm256_xor_si256(high1, c1), _mm256_set1_epi32(static_cast<int>(k0)));
    c2 = _mm256_xor_si256(_mm256_xor_si256(high0, c3), _mm256_set1_epi32(static_cast<int>(k1)));
    c1 = low1, c3 = low0;
    k0 += 0x9E3779B9u, k1 += 0xBB67AE85u;
  }
  words[0] = c0, words[1] = c1, words[2] = c2, words[3] = c3;
}

// words[k] = word k of groups 0..7 -> pixels[j] = pixels 8j .. 8j + 7 (group g's word k is pixel 4g + k).
WNA_AVX2 void pixel_order(const __m256i words[4], __m256i pixels[4]) {
  const __m256i a = _mm256_unpacklo_epi32(words[0], words[1]), b = _mm256_unpackhi_epi32(words[0], words[1]);
  const __m256i c = _mm256_unpacklo_epi32(words[2], words[3]), d = _mm256_unpackhi_epi32(words[2], words[3]);
  const __m256i g04 = _mm256_unpacklo_epi64(a, c), g15 = _mm256_unpackhi_epi64(a, c);  // groups 0|4, 1|5
  const __m256i g26 = _mm256_unpacklo_epi64(b, d), g37 = _mm256_unpackhi_epi64(b, d);  // groups 2|6, 3|7
  pixels[0] = _mm256_permute2x128_si256(g04, g15, 0x20), pixels[1] = _mm256_permute2x128_si256(g26, g37, 0x20);
  pixels[2] = _mm256_permute2x128_si256(g04, g15, 0x31), pixels[3] = _mm256_permute2x128_si256(g26, g37, 0x31);
}

WNA_AVX2 __m256 splat(float value) { return _mm256_set1_ps(value); }

// philox_pixels::log_unit_float on 8 lanes.
WNA_AVX2 __m256 log_unit8(__m256 u) {
  namespace bm = philox_pixels::box_muller;
  const __m256i word = _mm256_castps_si256(u);
  __m256 exponent = _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_srli_epi32(word, 23), _mm256_set1_epi32(127)));
  __m256 m = _mm256_castsi256_ps(
      _mm256_or_si256(_mm256_and_si256(word, _mm256_set1_epi32(0x007FFFFF)), _mm256_set1_epi32(0x3F800000)));
  const __m256 above = _mm256_cmp_ps(m, splat(bm::kSqrtTwo), _CMP_GT_OQ);
  m = _mm256_blendv_ps(m, _mm256_mul_ps(m, splat(0.5f)), above);
  exponent = _mm256_blendv_ps(exponent, _mm256_add_ps(exponent, splat(1.0f)), above);
  const __m256 s = _mm256_div_ps(_mm256_sub_ps(m, splat(1.0f)), _mm256_add_ps(m, splat(1.0f)));
  const __m256 s2 = _mm256_mul_ps(s, s);
  __m256 series = _mm256_add_ps(splat(bm::kLog7), _mm256_mul_ps(s2, splat(bm::kLog9)));
  series = _mm256_add_ps(splat(bm::kLog5), _mm256_mul_ps(s2, series));
  series = _mm256_add_ps(splat(bm::kLog3), _mm256_mul_ps(s2, series));
  series = _mm256_add_ps(splat(bm::kLog1), _mm256_mul_ps(s2, series));
  series = _mm256_mul_ps(s, series);
  return _mm256_add_ps(_mm256_mul_ps(exponent, splat(bm::kLn2High)),
                       _mm256_add_ps(_mm256_mul_ps(exponent, splat(bm::kLn2Low)), series));
}

// philox_pixels::gaussian_pair on 8 lanes: the normals from cos and from sin.
WNA_AVX2 void gaussian8(__m256i first, __m256i second, __m256 mean, __m256 std, __m256& from_cos, __m256& from_sin) {
  namespace bm = philox_pixels::box_muller;
  const __m256 uniform = _mm256_mul_ps(
      _mm256_cvtepi32_ps(_mm256_add_epi32(_mm256_srli_epi32(first, 8), _mm256_set1_epi32(1))), splat(bm::kTwoToMinus24));
  const __m256 radius = _mm256_sqrt_ps(_mm256_mul_ps(splat(-2.0f), log_unit8(uniform)));
  const __m256i k = _mm256_srli_epi32(second, 8);
  const __m256i nearest = _mm256_srli_epi32(_mm256_add_epi32(k, _mm256_set1_epi32(1 << 21)), 22);
  const __m256 x = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(k, _mm256_slli_epi32(nearest, 22))),
                                 splat(bm::kPiOver2To23));
  const __m256i quarter = _mm256_and_si256(nearest, _mm256_set1_epi32(3));
  const __m256 x2 = _mm256_mul_ps(x, x);
  __m256 sine = _mm256_add_ps(splat(bm::kSin7), _mm256_mul_ps(x2, splat(bm::kSin9)));
  sine = _mm256_add_ps(splat(bm::kSin5), _mm256_mul_ps(x2, sine));
  sine = _mm256_add_ps(splat(bm::kSin3), _mm256_mul_ps(x2, sine));
  sine = _mm256_add_ps(x, _mm256_mul_ps(_mm256_mul_ps(x, x2), sine));
  __m256 cosine = _mm256_add_ps(splat(bm::kCos8), _mm256_mul_ps(x2, splat(bm::kCos10)));
  cosine = _mm256_add_ps(splat(bm::kCos6), _mm256_mul_ps(x2, cosine));
  cosine = _mm256_add_ps(splat(bm::kCos4), _mm256_mul_ps(x2, cosine));
  cosine = _mm256_add_ps(splat(bm::kCos2), _mm256_mul_ps(x2, cosine));
  cosine = _mm256_add_ps(splat(1.0f), _mm256_mul_ps(x2, cosine));
  const __m256 odd = _mm256_castsi256_ps(_mm256_cmpeq_epi32(_mm256_and_si256(quarter, _mm256_set1_epi32(1)),
                                                            _mm256_set1_epi32(1)));
  const __m256 swapped_cos = _mm256_blendv_ps(cosine, sine, odd), swapped_sin = _mm256_blendv_ps(sine, cosine, odd);
  // the sign bit: cos negative in quarters 1 and 2, sin in 2 and 3
  const __m256 cos_sign = _mm256_castsi256_ps(
      _mm256_slli_epi32(_mm256_and_si256(_mm256_add_epi32(quarter, _mm256_set1_epi32(1)), _mm256_set1_epi32(2)), 30));
  const __m256 sin_sign = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_and_si256(quarter, _mm256_set1_epi32(2)), 30));
  from_cos = _mm256_add_ps(mean, _mm256_mul_ps(std, _mm256_mul_ps(radius, _mm256_xor_ps(swapped_cos, cos_sign))));
  from_sin = _mm256_add_ps(mean, _mm256_mul_ps(std, _mm256_mul_ps(radius, _mm256_xor_ps(swapped_sin, sin_sign))));
}

// The 32 pixels of 8 groups (in Philox word order) for one noise kind.
struct Transform {
  NoiseKind kind;
  uint32_t below;    // binary
  float mean, std;   // gaussian

  WNA_AVX2 void operator()(const __m256i words[4], __m256i values[4]) const {
    switch (kind) {
      case NoiseKind::Uniform:
        for (int k = 0; k < 4; ++k)
          values[k] = _mm256_castps_si256(_mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_srli_epi32(words[k], 8)),
                                                        splat(philox_pixels::box_muller::kTwoToMinus24)));
        return;
      case NoiseKind::Binary: {  // unsigned word < below, as a signed compare of both with the top bit flipped
        const __m256i flip = _mm256_set1_epi32(static_cast<int>(0x80000000u));
        const __m256i bound = _mm256_xor_si256(_mm256_set1_epi32(static_cast<int>(below)), flip);
        for (int k = 0; k < 4; ++k)
          values[k] = _mm256_and_si256(_mm256_cmpgt_epi32(bound, _mm256_xor_si256(words[k], flip)),
                                       _mm256_set1_epi32(0x3F800000));
        return;
      }
      default: {  // Gaussian (single precision)
        __m256 a, b, c, d;
        gaussian8(words[0], words[1], splat(mean), splat(std), a, b);
        gaussian8(words[2], words[3], splat(mean), splat(std), c, d);
        values[0] = _mm256_castps_si256(a), values[1] = _mm256_castps_si256(b);
        values[2] = _mm256_castps_si256(c), values[3] = _mm256_castps_si256(d);
      }
    }
  }
};

__attribute__((target("avx2"))) void fill8(const NoiseSettings& settings, const Transform& transform,
                                            uint64_t first_sample, int64_t count, int64_t pixels, float* out) {
  const int64_t groups = (pixels + 3) / 4;
  for (int64_t n = 0; n < count; ++n) {
    const uint64_t sample = first_sample + static_cast<uint64_t>(n);
    float* image = out + n * pixels;
    for (int64_t group = 0; group < groups; group += 8) {
      __m256i words[4], values[4], in_order[4];
      philox8(settings.seed, sample, static_cast<uint32_t>(group), words);
      transform(words, values);
      pixel_order(values, in_order);
      float* at = image + group * 4;
      if (pixels - group * 4 >= 32) {
        for (int j = 0; j < 4; ++j) _mm256_storeu_si256(reinterpret_cast<__m256i*>(at + 8 * j), in_order[j]);
      } else {  // the image's last pixels: 8 groups made, the ones inside the image kept
        alignas(32) float rest[32];
        for (int j = 0; j < 4; ++j) _mm256_store_si256(reinterpret_cast<__m256i*>(rest + 8 * j), in_order[j]);
        std::memcpy(at, rest, static_cast<size_t>(pixels - group * 4) * sizeof(float));
      }
    }
  }
}

}  // namespace

bool avx2_noise_supported() { return __builtin_cpu_supports("avx2"); }

void generate_white_noise_avx2(const NoiseSettings& settings, uint64_t first_sample, int64_t count, int64_t pixels,
                               float* out) {
  Transform transform{settings.kind, 0, static_cast<float>(settings.mean), static_cast<float>(settings.std)};
  switch (settings.kind) {
    case NoiseKind::Uniform: break;
    case NoiseKind::Binary: {
      const uint64_t threshold = philox_pixels::binary_threshold(settings.binary_p);
      if (threshold > 0xFFFFFFFFull) return std::fill(out, out + count * pixels, 1.0f);
      transform.below = static_cast<uint32_t>(threshold);
      break;
    }
    case NoiseKind::Gaussian:
      if (settings.gaussian_precision == GaussianPrecision::Single) break;
      [[fallthrough]];
    default:
      throw std::logic_error("generate_white_noise_avx2: no AVX2 generator for " + noise_kind_name(settings.kind) +
                             " noise here");
  }
  fill8(settings, transform, first_sample, count, pixels, out);
}

}  // namespace wna

#else  // not x86-64: the portable generator only

namespace wna {

bool avx2_noise_supported() { return false; }

void generate_white_noise_avx2(const NoiseSettings&, uint64_t, int64_t, int64_t, float*) {
  throw std::logic_error("generate_white_noise_avx2: this build does not target x86-64");
}

}  // namespace wna

#endif
