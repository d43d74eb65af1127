// Noise generation speed per kind, one core: `wna_bench_noise [IMAGES [PIXELS]]` prints million
// pixel values (variates) per second for uniform, gaussian and binary noise, best of 5 rounds of
// IMAGES images (default 20000) of PIXELS pixels (default 784, an MNIST image).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "wna/noise/noise.hpp"

int main(int argc, char** argv) {
  const int64_t images = argc > 1 ? std::atoll(argv[1]) : 20000;
  const int64_t pixels = argc > 2 ? std::atoll(argv[2]) : 784;
  std::vector<float> out(static_cast<size_t>(images * pixels));
  for (const auto kind : {wna::NoiseKind::Uniform, wna::NoiseKind::Gaussian, wna::NoiseKind::Binary}) {
    wna::NoiseSettings settings;
    settings.kind = kind;
    double best = 1e30;
    for (int round = 0; round < 6; ++round) {  // round 0 warms the buffer up
      const auto start = std::chrono::steady_clock::now();
      wna::generate_noise(settings, static_cast<uint64_t>(round * images), images, pixels, out.data());
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (round > 0) best = std::min(best, seconds);
    }
    std::printf("%-8s %7.1f M variates/s\n", wna::noise_kind_name(kind).c_str(),
                static_cast<double>(images * pixels) / best / 1e6);
  }
  return 0;
}
