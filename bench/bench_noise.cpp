// Noise generation speed per kind, one core: `wna_bench_noise [IMAGES [PIXELS]]` prints million
// pixel values (variates) per second, best of 5 rounds of IMAGES images (default 20000) of
// PIXELS pixels (default 784, an MNIST image). White kinds with the portable generator and, where
// the CPU has AVX2, with the AVX2 one, side by side in one run (include/wna/noise/white_noise.hpp);
// structured kinds through generate_noise: sinusoid (rcicr's basis, scales 1, 2, 4 of a square
// image) and a gabor_pca-sized basis (250 components; generation costs the same for any basis
// of that size, so random values stand in for a fitted one).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <vector>

#include "wna/noise/noise.hpp"
#include "wna/noise/structured_noise.hpp"
#include "wna/noise/white_noise.hpp"

namespace {

// Million variates per second of `generate(first_sample)` writing `variates` values, best of 5.
double rate(int64_t variates, int64_t images, const std::function<void(uint64_t)>& generate) {
  double best = 1e30;
  for (int round = 0; round < 6; ++round) {  // round 0 warms the buffer up
    const auto start = std::chrono::steady_clock::now();
    generate(static_cast<uint64_t>(round * images));
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (round > 0) best = std::min(best, seconds);
  }
  return static_cast<double>(variates) / best / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  const int64_t images = argc > 1 ? std::atoll(argv[1]) : 20000;
  const int64_t pixels = argc > 2 ? std::atoll(argv[2]) : 784;
  std::vector<float> out(static_cast<size_t>(images * pixels));
  const bool avx2 = wna::best_noise_instructions() == wna::NoiseInstructions::Avx2;
  std::printf("%-18s %10s %10s %7s   (M variates/s, one core, %lld images of %lld pixels)\n", "kind", "portable",
              avx2 ? "avx2" : "-", avx2 ? "ratio" : "", static_cast<long long>(images), static_cast<long long>(pixels));

  struct White {
    const char* name;
    wna::NoiseKind kind;
    wna::GaussianPrecision precision;
  };
  const White whites[] = {{"uniform", wna::NoiseKind::Uniform, wna::GaussianPrecision::Single},
                          {"binary", wna::NoiseKind::Binary, wna::GaussianPrecision::Single},
                          {"gaussian", wna::NoiseKind::Gaussian, wna::GaussianPrecision::Single},
                          {"gaussian (double)", wna::NoiseKind::Gaussian, wna::GaussianPrecision::Double}};
  for (const White& white : whites) {
    wna::NoiseSettings settings;
    settings.kind = white.kind, settings.gaussian_precision = white.precision;
    auto with = [&](wna::NoiseInstructions instructions) {
      return rate(images * pixels, images, [&](uint64_t first) {
        wna::generate_white_noise(settings, instructions, first, images, pixels, out.data());
      });
    };
    const double portable = with(wna::NoiseInstructions::Portable);
    const bool vectorised = avx2 && white.precision == wna::GaussianPrecision::Single;
    if (vectorised) {
      const double fast = with(wna::NoiseInstructions::Avx2);
      std::printf("%-18s %10.1f %10.1f %6.2fx\n", white.name, portable, fast, fast / portable);
    } else {
      std::printf("%-18s %10.1f %10s\n", white.name, portable, "-");
    }
  }

  const auto side = static_cast<int64_t>(std::lround(std::sqrt(static_cast<double>(pixels))));
  if (side * side != pixels) return 0;  // the structured bases below are for square images
  auto gabor_sized = std::make_shared<wna::NoiseBasis>();
  gabor_sized->pixels = pixels;
  gabor_sized->images.resize(static_cast<size_t>(250 * pixels));
  for (size_t i = 0; i < gabor_sized->images.size(); ++i) gabor_sized->images[i] = std::sin(static_cast<float>(i));
  gabor_sized->offset.assign(static_cast<size_t>(pixels), 0.0f);
  gabor_sized->low.assign(250, -1.0f), gabor_sized->high.assign(250, 1.0f);
  const std::pair<const char*, std::shared_ptr<const wna::NoiseBasis>> structured[] = {
      {"sinusoid", std::make_shared<wna::NoiseBasis>(wna::sinusoid_basis(1, side, side, {1, 2, 4}))},
      {"gabor_pca (250)", gabor_sized}};
  for (const auto& [name, basis] : structured) {
    wna::NoiseSettings settings;
    settings.kind = wna::NoiseKind::Sinusoid, settings.basis = basis;
    std::printf("%-18s %10.1f   (%lld basis images)\n", name, rate(images * pixels, images, [&](uint64_t first) {
                  wna::generate_noise(settings, first, images, pixels, out.data());
                }), static_cast<long long>(basis->latents()));
  }
  return 0;
}
