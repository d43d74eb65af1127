// Mean activation maps (the original README's visualize_activations): the [activations] keys
// resolved against the model, and the archive's /activations/<layer> datasets: per predicted
// class of the noise, the mean activation map of each chosen layer, and the activation map of
// each class's classification image fed back into the model. Taken at the gamma value of the
// unit analyses (probe_gamma_index).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <torch/types.h>

#include "wna/analyses/activation_maps/accumulator.hpp"
#include "wna/archive/archive.hpp"
#include "wna/models/network.hpp"

namespace wna {

// Empty layout for no layers. Throws wna::UsageError naming activations.layers for an unknown
// layer (with the valid ones), a layer listed twice, or one whose outputs are not n x U or
// n x C x H' x W'.
ActivationMapLayout resolve_activation_maps(Network& network, const std::vector<std::string>& layers);

// Collective. `maps` holds the sums reduced over ranks (all-reduce); `classification_images`
// (K x C x H x W, float64, NaN rows for classes never predicted) are the classification images
// at gamma value `gamma`. Each rank writes the rows of the classes it owns. Needs the class
// axis (define_class_image_axes). Writes nothing for an empty layout.
void write_activation_maps(ArchiveWriter& archive, const ActivationMapAccumulator& maps,
                           const torch::Tensor& classification_images, double gamma, Network& network, int rank,
                           int ranks);

}  // namespace wna
