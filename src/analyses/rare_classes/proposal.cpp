// Designing a rare class's proposal (see include/wna/analyses/rare_classes/proposal.hpp).
#include "wna/analyses/rare_classes/proposal.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <torch/autograd.h>

#include "wna/core/error.hpp"
#include "wna/core/runtime.hpp"
#include "wna/noise/tilted_noise.hpp"

namespace wna {
namespace {

// The pilot of the gradient direction lies in its own region of the class's stream.
constexpr uint64_t kGradientOffset = kPilotOffset * 60;

// The scales tried, smallest first: 0 (the noise itself), then 0.25 x 2^(k/4) up to 64.
std::vector<double> scale_grid() {
  std::vector<double> scales{0.0};
  for (int k = 0; k <= 32; ++k) scales.push_back(0.25 * std::pow(2.0, k / 4.0));
  return scales;
}

// A pilot: a stream of the defensive mixture at one tilt; how many of its images are in class
// `target`, and the effective sample size of their weights.
struct Pilot {
  int64_t hit_count = 0;
  double effective = 0;
};

Pilot run_pilot(Network& network, const NoiseSettings& noise, const std::vector<double>& tilt, int64_t target,
                uint64_t stream, const ProposalDesign& design) {
  const int64_t P = network.spec().pixels(), N = design.pilot_samples, B = design.forward_batch;
  const TiltedNoise mixture(noise, tilt, N, base_samples(N, design.base_fraction), stream);
  std::vector<float> images(static_cast<size_t>(B * P));
  std::vector<double> weights(static_cast<size_t>(B));
  Pilot pilot;
  double weight = 0, squared = 0;
  for (int64_t begin = 0; begin < N; begin += B) {
    const int64_t n = std::min(B, N - begin);
    mixture.generate(begin, n, images.data(), weights.data());
    const auto predicted = predicted_classes(class_probabilities(network, images.data(), n)).contiguous();
    for (int64_t i = 0; i < n; ++i) {
      if (predicted.data_ptr<int64_t>()[i] != target) continue;
      const double w = weights[static_cast<size_t>(i)];
      ++pilot.hit_count, weight += w, squared += w * w;
    }
  }
  pilot.effective = squared > 0 ? weight * weight / squared : 0.0;
  return pilot;
}

}  // namespace

int64_t base_samples(int64_t samples, double base_fraction) {
  return std::clamp<int64_t>(std::llround(base_fraction * static_cast<double>(samples)), 1, samples);
}

std::vector<double> tilt_along(const NoiseSettings& noise, const std::vector<double>& direction, double scale) {
  double norm = 0, largest = 0;
  for (const double d : direction) norm += d * d, largest = std::max(largest, std::abs(d));
  norm = std::sqrt(norm);
  std::vector<double> tilt(direction.size(), 0.0);
  if (scale == 0 || largest == 0) return tilt;
  const double factor = noise.kind == NoiseKind::Gaussian ? scale * noise.std / norm : scale / largest;
  for (size_t j = 0; j < tilt.size(); ++j) tilt[j] = factor * direction[j];
  return tilt;
}

std::vector<double> gradient_direction(Network& network, const NoiseSettings& noise, int64_t target, int64_t samples,
                                       uint64_t stream) {
  const ModelSpec& spec = network.spec();
  const int64_t P = spec.pixels(), batch = std::min<int64_t>(samples, 256);
  set_torch_threads(1);
  network.module().eval();
  const TiltedNoise plain(noise, std::vector<double>(static_cast<size_t>(P), 0.0), 1, 1, stream);
  std::vector<float> images(static_cast<size_t>(batch * P));
  auto total = torch::zeros({P}, torch::kFloat64);
  torch::AutoGradMode with_gradients(true);
  for (int64_t first = 0; first < samples; first += batch) {
    const int64_t n = std::min(batch, samples - first);
    plain.generate_tilted(static_cast<int64_t>(kGradientOffset) + first, n, images.data());
    auto x = torch::from_blob(images.data(), {n, spec.channels, spec.height, spec.width}, torch::kFloat32)
                 .clone()
                 .requires_grad_(true);
    const auto score = torch::log_softmax(network.forward(x), 1).select(1, target).sum();
    const auto gradient = torch::autograd::grad({score}, {x})[0];
    total += gradient.reshape({n, P}).to(torch::kFloat64).sum(0);
  }
  total /= static_cast<double>(samples);
  if (!torch::isfinite(total).all().item<bool>() || total.abs().max().item<double>() == 0)
    throw Error(fmt::format("rare_classes: the gradient of class {}'s log-probability vanishes (or is not finite) on "
                            "noise, so it gives no direction to tilt the noise; set rare_classes.tilt = mean_image",
                            spec.class_names[static_cast<size_t>(target)]));
  return std::vector<double>(total.data_ptr<double>(), total.data_ptr<double>() + P);
}

RareClassProposal design_proposal(Network& network, const NoiseSettings& noise, int64_t target,
                                  const std::vector<double>& direction, const ProposalDesign& design, uint64_t stream) {
  set_torch_threads(1);
  torch::InferenceMode inference;
  network.module().eval();
  // The scale whose pilot has the most effective samples of the class; the search ends once two
  // scales after the best have fallen below a quarter of it.
  RareClassProposal proposal;
  proposal.tilt.assign(direction.size(), 0.0);
  Pilot best;
  int64_t worse = 0;
  for (const double scale : scale_grid()) {
    auto tilt = tilt_along(noise, direction, scale);
    Pilot pilot = run_pilot(network, noise, tilt, target, stream + kPilotOffset, design);
    if (pilot.effective > best.effective) {
      proposal.tilt = std::move(tilt), proposal.scale = scale, worse = 0;
      best = std::move(pilot);
    } else if (best.effective > 0 && pilot.effective < best.effective / 4 && ++worse == 2) {
      break;
    }
  }
  proposal.pilot_hit_fraction = static_cast<double>(best.hit_count) / static_cast<double>(design.pilot_samples);
  proposal.pilot_effective_samples = best.effective;
  return proposal;
}

}  // namespace wna
