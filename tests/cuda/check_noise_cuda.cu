// GPU check of the CUDA noise kernel (run by bench/gpu_check.sh on a machine with a GPU; built
// wherever nvcc is, so it cannot rot): the kernel against the CPU generator for every noise
// kind, several image sizes (a last pixel group of 1 to 4 pixels) and sample indices around the
// 2^32 boundary of the counter's low word. Uniform, binary and single-precision gaussian must be
// the same bits; double-precision gaussian (noise.gaussian_precision = double) may differ where
// CUDA's double log/sqrt/cos/sin round differently from the host's libm: the check reports how
// many values differ and by how many float ulps (fails above 2). Then the
// kernel's speed (M variates/s) beside one CPU core's, for 28 x 28 images.
//   check_noise_cuda [samples for the speed test = 1000000]
#include <cuda_runtime.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "wna/noise/noise.hpp"
#include "wna/noise/noise_cuda.hpp"

namespace {

void check(cudaError_t code, const char* what) {
  if (code != cudaSuccess) {
    std::fprintf(stderr, "check_noise_cuda: %s: %s\n", what, cudaGetErrorString(code));
    std::exit(1);
  }
}

// Distance in float ulps (both finite, same sign in practice).
int64_t ulps(float a, float b) {
  int32_t ia, ib;
  std::memcpy(&ia, &a, 4);
  std::memcpy(&ib, &b, 4);
  if (ia < 0) ia = INT32_MIN - ia;
  if (ib < 0) ib = INT32_MIN - ib;
  return ia > ib ? int64_t{ia} - ib : int64_t{ib} - ia;
}

struct Case {
  std::string name;
  wna::NoiseSettings settings;
  bool exact;
};

}  // namespace

int main(int argc, char** argv) {
  const int64_t speed_samples = argc > 1 ? std::atoll(argv[1]) : 1000000;
  std::vector<Case> cases;
  auto add = [&](std::string name, wna::NoiseKind kind, double mean, double std, double p, bool exact,
                 wna::GaussianPrecision precision = wna::GaussianPrecision::Single) {
    wna::NoiseSettings s;
    s.kind = kind, s.mean = mean, s.std = std, s.binary_p = p, s.seed = 0x9E3779B97F4A7C15ull;
    s.gaussian_precision = precision;
    cases.push_back({std::move(name), s, exact});
  };
  add("uniform", wna::NoiseKind::Uniform, 0, 1, 0.5, true);
  add("binary p=0.3", wna::NoiseKind::Binary, 0, 1, 0.3, true);
  add("binary p=1", wna::NoiseKind::Binary, 0, 1, 1.0, true);
  add("gaussian N(0.5, 0.2)", wna::NoiseKind::Gaussian, 0.5, 0.2, 0.5, true);
  add("gaussian double", wna::NoiseKind::Gaussian, 0.5, 0.2, 0.5, false, wna::GaussianPrecision::Double);

  const int64_t count = 600;
  const uint64_t firsts[] = {0, (uint64_t{1} << 32) - 300, (uint64_t{1} << 62) + 7};
  const int64_t sizes[] = {784, 3072, 5, 6, 7, 1};
  bool ok = true;
  float* device = nullptr;
  check(cudaMalloc(&device, sizeof(float) * count * 3072), "cudaMalloc");
  for (const Case& c : cases) {
    int64_t values = 0, differing = 0, worst = 0;
    for (const uint64_t first : firsts)
      for (const int64_t pixels : sizes) {
        std::vector<float> cpu(count * pixels), gpu(count * pixels);
        wna::generate_noise(c.settings, first, count, pixels, cpu.data());
        wna::generate_noise_cuda(c.settings, first, count, pixels, device, nullptr);
        check(cudaMemcpy(gpu.data(), device, sizeof(float) * gpu.size(), cudaMemcpyDeviceToHost), "copy to host");
        for (size_t i = 0; i < cpu.size(); ++i) {
          const int64_t d = ulps(cpu[i], gpu[i]);
          differing += std::memcmp(&cpu[i], &gpu[i], sizeof(float)) != 0;  // bits: -0 differs from +0
          worst = d > worst ? d : worst;
        }
        values += static_cast<int64_t>(cpu.size());
      }
    const bool passed = c.exact ? differing == 0 : worst <= 2;
    ok = ok && passed;
    std::printf("%-22s %s: %lld values, %lld differ from the CPU's (largest difference %lld ulp)%s\n", c.name.c_str(),
                passed ? "ok" : "FAILED", static_cast<long long>(values), static_cast<long long>(differing),
                static_cast<long long>(worst), c.exact ? ", bits required" : ", at most 2 ulp allowed");
  }
  check(cudaFree(device), "cudaFree");

  // Speed: 28 x 28 images, the kernel (after a warm-up) against one CPU core.
  const int64_t pixels = 784, cpu_samples = 20000;
  check(cudaMalloc(&device, sizeof(float) * speed_samples * pixels), "cudaMalloc (speed)");
  std::vector<float> host(cpu_samples * pixels);
  for (const Case& c : cases) {
    if (c.name == "binary p=1") continue;
    cudaEvent_t start, stop;
    check(cudaEventCreate(&start), "event");
    check(cudaEventCreate(&stop), "event");
    wna::generate_noise_cuda(c.settings, 0, speed_samples, pixels, device, nullptr);
    check(cudaEventRecord(start), "event");
    wna::generate_noise_cuda(c.settings, speed_samples, speed_samples, pixels, device, nullptr);
    check(cudaEventRecord(stop), "event");
    check(cudaEventSynchronize(stop), "event");
    float milliseconds = 0;
    check(cudaEventElapsedTime(&milliseconds, start, stop), "event");
    const auto begin = std::chrono::steady_clock::now();
    wna::generate_noise(c.settings, 0, cpu_samples, pixels, host.data());
    const double cpu_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
    const double gpu_rate = speed_samples * pixels / (milliseconds * 1e-3) / 1e6;
    const double cpu_rate = cpu_samples * pixels / cpu_seconds / 1e6;
    std::printf("speed %-22s GPU %10.0f M variates/s (%lld images of 28 x 28 in %.3f ms); one CPU core %7.0f M/s; "
                "ratio %.0fx\n", c.name.c_str(), gpu_rate, static_cast<long long>(speed_samples), milliseconds,
                cpu_rate, gpu_rate / cpu_rate);
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
  }
  check(cudaFree(device), "cudaFree");
  std::printf("%s\n", ok ? "check_noise_cuda: all cases passed" : "check_noise_cuda: FAILED");
  return ok ? 0 : 1;
}
