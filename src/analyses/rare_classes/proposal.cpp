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
// A refinement needs at least this many pilot images in the class.
constexpr int64_t kHitsToRefine = 20;

int64_t pixels_of(const ModelSpec& spec) { return spec.channels * spec.height * spec.width; }

// The scales tried, smallest first: 0 (the noise itself), then 0.25 x 2^(k/4) up to 64.
std::vector<double> scale_grid() {
  std::vector<double> scales{0.0};
  for (int k = 0; k <= 32; ++k) scales.push_back(0.25 * std::pow(2.0, k / 4.0));
  return scales;
}

// A pilot: images of the defensive mixture at one tilt, their weights, which are in class
// `target`, and the effective sample size of the class's weighted images.
struct Pilot {
  std::vector<float> images;
  std::vector<double> weights;
  std::vector<bool> hits;
  int64_t hit_count = 0;
  double effective = 0;
};

Pilot run_pilot(Network& network, const NoiseSettings& noise, const std::vector<double>& tilt, int64_t target,
                uint64_t stream, const ProposalDesign& design) {
  const int64_t P = pixels_of(network.spec()), N = design.pilot_samples;
  const TiltedNoise mixture(noise, tilt, N, base_samples(N, design.base_fraction), stream);
  Pilot pilot;
  pilot.images.resize(static_cast<size_t>(N * P));
  pilot.weights.resize(static_cast<size_t>(N));
  pilot.hits.resize(static_cast<size_t>(N));
  double weight = 0, squared = 0;
  for (int64_t begin = 0; begin < N; begin += design.forward_batch) {
    const int64_t n = std::min(design.forward_batch, N - begin);
    float* images = pilot.images.data() + begin * P;
    mixture.generate(begin, n, images, pilot.weights.data() + begin);
    const auto predicted = predicted_classes(class_probabilities(network, images, n)).contiguous();
    for (int64_t i = begin; i < begin + n; ++i) {
      const bool hit = predicted.data_ptr<int64_t>()[i - begin] == target;
      pilot.hits[static_cast<size_t>(i)] = hit;
      if (!hit) continue;
      const double w = pilot.weights[static_cast<size_t>(i)];
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
  const int64_t P = pixels_of(spec), batch = std::min<int64_t>(samples, 256);
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
                                  std::vector<double> direction, const ProposalDesign& design, uint64_t stream) {
  set_torch_threads(1);
  torch::InferenceMode inference;
  network.module().eval();
  const int64_t P = pixels_of(network.spec());
  const double base_mean = noise_pixel_mean(noise);
  RareClassProposal proposal;
  for (int64_t round = 0;; ++round) {
    const uint64_t pilot_stream = stream + kPilotOffset * static_cast<uint64_t>(1 + round);
    // The scale whose pilot has the most effective samples of the class; the search ends once
    // two scales in a row fall below a quarter of the best.
    Pilot best;
    int64_t worse = 0;
    for (const double scale : scale_grid()) {
      const auto tilt = tilt_along(noise, direction, scale);
      Pilot pilot = run_pilot(network, noise, tilt, target, pilot_stream, design);
      if (pilot.effective > best.effective) {
        proposal.tilt = tilt, proposal.scale = scale, worse = 0;
        best = std::move(pilot);
      } else if (best.effective > 0 && pilot.effective < best.effective / 4 && ++worse == 2) {
        break;
      }
    }
    if (best.hit_count == 0) proposal.tilt = tilt_along(noise, direction, 0.0), proposal.scale = 0;
    proposal.pilot_hit_fraction = static_cast<double>(best.hit_count) / static_cast<double>(design.pilot_samples);
    proposal.pilot_effective_samples = best.effective;
    if (round == design.refinements || best.hit_count < kHitsToRefine) break;

    // Cross-entropy refinement: the new direction is the pilot's weighted class mean less the
    // noise mean (for Gaussian noise the optimal mean shift within the family).
    std::vector<double> weighted(static_cast<size_t>(P), 0.0);
    double weight_sum = 0;
    for (int64_t i = 0; i < design.pilot_samples; ++i) {
      if (!best.hits[static_cast<size_t>(i)]) continue;
      const double w = best.weights[static_cast<size_t>(i)];
      const float* x = &best.images[static_cast<size_t>(i * P)];
      for (int64_t j = 0; j < P; ++j) weighted[static_cast<size_t>(j)] += w * static_cast<double>(x[j]);
      weight_sum += w;
    }
    if (!(weight_sum > 0)) break;
    for (int64_t j = 0; j < P; ++j) direction[static_cast<size_t>(j)] = weighted[static_cast<size_t>(j)] / weight_sum - base_mean;
    proposal.refinements_done = round + 1;
  }
  return proposal;
}

}  // namespace wna
