// Microstimulation (methods section 7): for target class c, each listed layer's bias is
// shifted by d k s a_c / max(a_c) (conv layers) or d k s a_c (other layers), with a_c the mean
// activation of its units on training images of class c (after the ReLU that follows the layer,
// if one does; conv units averaged over positions), s the layer's step, k = 0 .. steps and
// d = -1 (inhibitory) or +1 (excitatory). Stimuli: (1 - w) noise + w image for the first test
// images of class c on an even grid of w over [0, 1]; the result is the fraction predicted as c
// per (layer, class, direction, k, w).
//
// The work is a list of cells: one per class with k = 0 (the unmodified model, shared by every
// layer and direction), then one per (layer, class, direction, k >= 1). Ranks take contiguous
// ranges of cells; worker threads take cells, each with its own copy of the model (biases are
// changed in place), single-threaded LibTorch, forward batches of fixed size. Predictions are
// counted exactly, so the totals are the same bits for any rank and thread count.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <torch/types.h>

#include "wna/accum/exact_layout.hpp"
#include "wna/accum/exact_sum.hpp"
#include "wna/data/image_set.hpp"
#include "wna/models/network.hpp"
#include "wna/noise/noise.hpp"
#include "wna/engine/run_config.hpp"

namespace wna {

// [microstimulation]: bias shifts of chosen layers, scaled by their units' mean activation on a
// class, against the fraction of noisy class images still predicted as that class.
struct MicrostimulationSettings {
  std::vector<std::string> layers;  // layers with a bias; empty: off
  std::vector<double> step_sizes;   // s per layer
  int64_t steps;                    // k = 0 .. steps
  int64_t weights;                  // w on an even grid over [0, 1]
  int64_t images_per_class;         // test images of the target class (first ones, in file order)
  int64_t train_images_per_class;   // training images for the mean activations; 0: all
};

struct MicrostimulationLayer {
  std::string name;              // the layer whose bias is shifted
  std::string activation_layer;  // where a_c is read: the following ReLU, or the layer itself
  bool conv = false;             // conv2d: shifts scaled by a_c / max(a_c)
  double step_size = 0;          // s
  int64_t units = 0;             // bias entries (channels or features)
  torch::Tensor mean_activation; // classes x units, float64: a_c
  torch::Tensor step_shift;      // classes x units, float64: the bias shift of one excitatory step
};

class MicrostimulationPlan {
 public:
  std::vector<MicrostimulationLayer> layers;
  int64_t classes = 0, steps = 0;
  std::vector<double> weights;              // the w grid
  std::vector<torch::Tensor> target_images; // per class: n_c x C x H x W float32 test images
  NoiseSettings noise;
  int64_t forward_batch = 250;

  bool empty() const { return layers.empty(); }
  // Cells: classes baseline cells, then layers x classes x 2 x steps.
  int64_t cells() const;
  // The exact counts of target-class predictions: [layer][class][direction][k][w].
  ExactField counts() const;
};

// Checks settings.microstimulation against the model (layers exist and have a bias) and the
// data (every class has test images), and computes the mean activations on `train` (first
// train_images_per_class images of each class, fixed forward batches, single-threaded, summed
// in double: the same bits on every rank). Throws wna::UsageError naming the key.
MicrostimulationPlan plan_microstimulation(Network& network, const MicrostimulationSettings& micro,
                                           const RunSettings& settings, const ImageSet& train,
                                           const ImageSet& test);

// Runs cells [first_cell, end_cell) on `threads` workers, each with a model from `load_model`;
// returns the exact counts of predictions of the target class (zero outside those cells).
// `on_progress(fraction)` is called from one worker now and then.
ExactBuffer run_microstimulation(const MicrostimulationPlan& plan, int64_t first_cell, int64_t end_cell, int threads,
                                 const std::function<std::shared_ptr<Network>()>& load_model,
                                 const std::function<void(double)>& on_progress = {});

}  // namespace wna
