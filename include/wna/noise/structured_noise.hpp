// Structured noise: images that are random combinations of a fixed basis rather than
// independent pixels (methods.md section 1). Sample i draws D latent values u_k in [0, 1) from
// Philox (the counter scheme of noise.hpp, latent k where uniform noise has pixel k), maps them to
// coefficients c_k = low_k + (high_k - low_k) u_k, forms the image y = offset + sum_k c_k b_k
// (float, k ascending, so a sample's bits do not depend on its batch) and min-max scales it to
// [0, 1] (a constant image becomes 0.5). Two bases:
//
//   gabor_pca  Gabor kernels (sides `gabor_sizes`, 4 orientations, 2 phases) tiled on a grid of
//              their own side form a dictionary G; training images are ridge-regressed onto it
//              (alpha `ridge`), the coefficients' principal components V (the `components`
//              largest) and their observed ranges give b_k = G v_k, offset = G mean, [low, high]
//              the range of component k's scores over the training images (the authors' notebooks)
//   sinusoid   rcicr's sinusoid noise: the image cut into s x s patches for every scale s of
//              `sinusoid_scales`, in each patch sinusoids of 2 cycles per patch at 6 orientations
//              and 2 phases, each with a contrast in [-1, 1]; offset 0
//
// The basis is a function of the settings and (gabor_pca, fitted in gabor_pca.hpp) the training
// images; wna_mpi builds it once on rank 0, sends it to every rank and stores it in the archive
// (/noise_basis).
#pragma once

#include <cstdint>
#include <vector>

namespace wna {

inline constexpr double kPi = 3.14159265358979323846;

struct NoiseBasis {
  int64_t pixels = 0;               // P = C x H x W
  std::vector<float> images;        // D x P: b_k, row-major
  std::vector<float> offset;        // P
  std::vector<float> low, high;     // D: the range of each coefficient
  int64_t latents() const { return static_cast<int64_t>(low.size()); }
};

// Samples [first_sample, first_sample + count) into `out` (count x basis.pixels).
void generate_structured_noise(const NoiseBasis& basis, uint64_t seed, uint64_t first_sample, int64_t count,
                               float* out);

// rcicr's sinusoid basis for C x H x W images at patch scales `scales` (each channel alike).
NoiseBasis sinusoid_basis(int64_t channels, int64_t height, int64_t width, const std::vector<int64_t>& scales);

}  // namespace wna
