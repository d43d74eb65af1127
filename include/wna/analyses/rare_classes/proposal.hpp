// The proposal of one rare class: which tilted noise (noise/tilted_noise.hpp) reaches the class
// often enough, with weights even enough. A direction per pixel (the gradient of the class's
// log-probability averaged over noise images, or the class's mean training image) and a scale
// along it chosen by pilots: on a fixed grid of scales, the one whose pilot (a small stream of
// the same defensive mixture) gives the class the most effective samples, (sum w)^2 / sum w^2
// over its images. Too small a scale rarely reaches the class; too large a one overshoots it
// and makes a few weights dominate.
//
// Everything here is a function of the model, the noise settings and the class's stream: every
// rank designs the same proposal (single-threaded LibTorch, fixed pilot samples), so no message
// is needed and the main pass's samples stay a function of (seed, index, settings).
#pragma once

#include <cstdint>
#include <vector>

#include "wna/models/network.hpp"
#include "wna/noise/noise.hpp"

namespace wna {

struct ProposalDesign {
  int64_t pilot_samples = 512;  // images per pilot (per scale tried, per gradient)
  double base_fraction = 0.1;   // of the mixture's samples drawn from the noise itself
  int64_t forward_batch = 256;
};

struct RareClassProposal {
  std::vector<double> tilt;         // per pixel, as TiltedNoise takes it
  double scale = 0;                 // along the direction (noise standard deviations for gaussian
                                    // noise; the largest pixel's tilt for uniform and binary)
  double pilot_hit_fraction = 0;    // of the last pilot at that scale
  double pilot_effective_samples = 0;  // of the class in that pilot
};

// Pilot sample indices of a class's stream start here (its main samples lie below 2^40).
inline constexpr uint64_t kPilotOffset = uint64_t{1} << 44;

// Of `samples`, those a defensive mixture draws from the noise itself: base_fraction of them,
// rounded, at least 1.
int64_t base_samples(int64_t samples, double base_fraction);

// The per-pixel tilt at `scale` along `direction`: gaussian noise shifts the mean by
// scale * std * d / |d|; uniform and binary noise tilt by scale * d / max |d|.
std::vector<double> tilt_along(const NoiseSettings& noise, const std::vector<double>& direction, double scale);

// The gradient of log softmax[target] with respect to the input, averaged over `samples` noise
// images of the stream (pilot region). Throws wna::Error when it vanishes.
std::vector<double> gradient_direction(Network& network, const NoiseSettings& noise, int64_t target, int64_t samples,
                                       uint64_t stream);

// The proposal for class `target` from `direction` (pixels of the model's input).
RareClassProposal design_proposal(Network& network, const NoiseSettings& noise, int64_t target,
                                  const std::vector<double>& direction, const ProposalDesign& design, uint64_t stream);

}  // namespace wna
