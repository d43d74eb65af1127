// Structured noise (noise/structured_noise.hpp): samples are min-max scaled combinations of
// the basis, exactly the documented sum, the same whatever batch makes them; the sinusoid basis has rcicr's shape; Gabor-PCA
// fitted to images drawn from a planted 3-dimensional subspace of its dictionary spans exactly
// that subspace, and fitting is deterministic; generate_noise needs the basis.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include <torch/torch.h>

#include "wna/noise/noise.hpp"
#include "wna/noise/gabor_pca.hpp"
#include "wna/noise/structured_noise.hpp"

namespace wna {
namespace {

constexpr int64_t kSide = 12, kPixels = kSide * kSide;

std::vector<float> samples_of(const NoiseBasis& basis, uint64_t first, int64_t count) {
  std::vector<float> out(static_cast<size_t>(count * basis.pixels));
  generate_structured_noise(basis, 3, first, count, out.data());
  return out;
}

// The part of `vectors` (n x P) outside the span of `basis` (m x P), relative to their norm.
double outside_span(const torch::Tensor& vectors, const torch::Tensor& basis) {
  const auto q = std::get<0>(torch::linalg_qr(basis.t().to(torch::kFloat64)));  // P x m orthonormal
  const auto v = vectors.to(torch::kFloat64);
  const auto residual = v - torch::mm(torch::mm(v, q), q.t());
  return (residual.norm() / v.norm()).item<double>();
}

TEST(StructuredNoise, SinusoidBasisHasRcicrsShapeAndSamplesSpanZeroToOne) {
  const NoiseBasis basis = sinusoid_basis(1, kSide, kSide, {1, 2, 4});
  EXPECT_EQ(basis.latents(), (1 + 4 + 16) * 6 * 2) << "patches x 6 orientations x 2 phases";
  EXPECT_EQ(basis.pixels, kPixels);
  // The last latent is a sinusoid of the bottom-right 3 x 3 patch of scale 4: zero elsewhere.
  const float* last = basis.images.data() + (basis.latents() - 1) * kPixels;
  for (int64_t y = 0; y < kSide; ++y)
    for (int64_t x = 0; x < kSide; ++x)
      if (y < 9 || x < 9) {
        EXPECT_EQ(last[y * kSide + x], 0.0f) << y << ", " << x;
      }
  const auto samples = samples_of(basis, 0, 20);
  for (int64_t n = 0; n < 20; ++n) {
    const auto [low, high] = std::minmax_element(samples.begin() + n * kPixels, samples.begin() + (n + 1) * kPixels);
    EXPECT_EQ(*low, 0.0f);
    EXPECT_EQ(*high, 1.0f);
  }
}

TEST(StructuredNoise, ASampleIsTheSameWhateverBatchMakesItAndSamplesDiffer) {
  const NoiseBasis basis = sinusoid_basis(2, kSide, kSide, {1, 3});
  const auto together = samples_of(basis, 100, 6);
  for (int64_t n = 0; n < 6; ++n) {
    const auto alone = samples_of(basis, 100 + static_cast<uint64_t>(n), 1);
    EXPECT_TRUE(std::equal(alone.begin(), alone.end(), together.begin() + n * basis.pixels)) << "sample " << n;
  }
  EXPECT_FALSE(std::equal(together.begin(), together.begin() + basis.pixels, together.begin() + basis.pixels));
}

// The documented sample, written out plainly: c_k = low_k + (high_k - low_k) u_k with u_k
// Philox's uniform latent k, y = offset + sum_k c_k b_k in float with k ascending, then min-max
// scaled. The generator must give exactly these bits (batch independence alone would not catch a
// wrong order or term), for several pixel counts and a batch that crosses the counter's 2^32
// boundary.
TEST(StructuredNoise, SamplesAreTheDocumentedSumBitForBit) {
  for (const int64_t pixels : {int64_t{1}, int64_t{7}, int64_t{64}, int64_t{200}}) {
    NoiseBasis basis;
    basis.pixels = pixels;
    const int64_t D = 13;
    for (int64_t i = 0; i < D * pixels; ++i) basis.images.push_back(std::sin(0.37f * static_cast<float>(i)));
    for (int64_t p = 0; p < pixels; ++p) basis.offset.push_back(0.01f * static_cast<float>(p % 7));
    for (int64_t k = 0; k < D; ++k) basis.low.push_back(-1.0f - 0.1f * k), basis.high.push_back(0.5f + 0.2f * k);
    const int64_t count = 7;
    const uint64_t first = (uint64_t{1} << 32) - 3;
    std::vector<float> out(static_cast<size_t>(count * pixels));
    generate_structured_noise(basis, 11, first, count, out.data());
    for (int64_t n = 0; n < count; ++n) {
      std::vector<float> latents(static_cast<size_t>(D + 3));
      NoiseSettings uniform;
      uniform.kind = NoiseKind::Uniform, uniform.seed = 11;
      generate_noise(uniform, first + static_cast<uint64_t>(n), 1, D, latents.data());  // latent k = uniform pixel k
      std::vector<float> y(basis.offset);
      for (int64_t k = 0; k < D; ++k) {
        const float c = basis.low[k] + (basis.high[k] - basis.low[k]) * latents[k];
        for (int64_t p = 0; p < pixels; ++p) y[p] += c * basis.images[k * pixels + p];
      }
      const auto [lowest, highest] = std::minmax_element(y.begin(), y.end());
      const float low = *lowest, range = *highest - *lowest;
      for (int64_t p = 0; p < pixels; ++p) {
        const float expected = range > 0 ? (y[p] - low) / range : 0.5f;
        ASSERT_EQ(out[n * pixels + p], expected) << pixels << " pixels, sample " << n << ", pixel " << p;
      }
    }
  }
}

TEST(StructuredNoise, GaborPcaOfAPlantedSubspaceSpansItAndIsDeterministic) {
  torch::manual_seed(3);
  const auto dictionary = gabor_dictionary(1, kSide, kSide, {3, 6});
  EXPECT_EQ(dictionary.size(0), kPixels);
  EXPECT_EQ(dictionary.size(1), (16 + 4) * 4 * 2) << "grid positions x 4 orientations x 2 phases";
  // Training images: 0.5 + random combinations of three dictionary columns.
  const auto planted = dictionary.index_select(1, torch::tensor({5, 77, 150})).t();  // 3 x P
  const auto train = (0.5 + torch::mm(torch::randn({400, 3}, torch::kFloat64), planted)).to(torch::kFloat32);
  const NoiseBasis basis = fit_gabor_pca(train.reshape({400, 1, kSide, kSide}), dictionary, 3, 1e-9);
  ASSERT_EQ(basis.latents(), 3);
  const auto images = torch::from_blob(const_cast<float*>(basis.images.data()), {3, kPixels}).clone();
  EXPECT_LT(outside_span(planted, images), 1e-3) << "the components span the planted columns";
  EXPECT_LT(outside_span(images, planted), 1e-3) << "and nothing else";
  for (int64_t k = 0; k < 3; ++k) EXPECT_LT(basis.low[static_cast<size_t>(k)], basis.high[static_cast<size_t>(k)]);
  // A sample is an affine image of a combination: in the span of the components, the offset and 1.
  const auto samples = samples_of(basis, 0, 10);
  const auto offset = torch::from_blob(const_cast<float*>(basis.offset.data()), {1, kPixels}).clone();
  const auto span = torch::cat({images, offset, torch::ones({1, kPixels})});
  EXPECT_LT(outside_span(torch::from_blob(const_cast<float*>(samples.data()), {10, kPixels}).clone(), span), 1e-5);

  const NoiseBasis again = fit_gabor_pca(train.reshape({400, 1, kSide, kSide}), dictionary, 3, 1e-9);
  EXPECT_EQ(again.images, basis.images);
  EXPECT_EQ(again.low, basis.low);
  EXPECT_EQ(again.high, basis.high);
}

TEST(StructuredNoise, GenerateNoiseNeedsTheBasis) {
  NoiseSettings settings;
  settings.kind = NoiseKind::GaborPca;
  std::vector<float> out(kPixels);
  EXPECT_THROW(generate_noise(settings, 0, 1, kPixels, out.data()), std::logic_error);
  settings.kind = NoiseKind::Sinusoid;
  settings.basis = std::make_shared<NoiseBasis>(sinusoid_basis(1, kSide, kSide, {1}));
  generate_noise(settings, 0, 1, kPixels, out.data());
  EXPECT_EQ(*std::max_element(out.begin(), out.end()), 1.0f);
  EXPECT_EQ(parse_noise_kind("gabor_pca"), NoiseKind::GaborPca);
  EXPECT_FALSE(is_white(NoiseKind::Sinusoid));
  EXPECT_THROW(noise_pixel_mean(settings), std::logic_error);
}

}  // namespace
}  // namespace wna
