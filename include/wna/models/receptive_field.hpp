// Receptive-field geometry of spatial layers, in input pixels: derived from the kernel,
// stride, padding and dilation of the conv2d and maxpool2d layers of a model's layer chain,
// or measured on any network through gradients.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "wna/models/network.hpp"

namespace wna {

// The receptive field of the output units of `layer`, from every conv2d and maxpool2d layer up
// to and including it (normalize, relu and batchnorm2d layers keep the geometry). Throws
// wna::Error when `layer` is not a layer of `layers`, or when it or an earlier layer has no
// spatial geometry (flatten, linear, rnn, lstm, or an opaque module).
ReceptiveField receptive_field(const std::vector<LayerInfo>& layers, const std::string& layer);

// The receptive field of spatial layer `layer` of any network, measured: the support of the
// gradient of the units at each row (and column) of its maps with respect to the input, over
// several random inputs, and the smallest (size, jump, start) whose windows, clipped to the
// input, are exactly those supports. Throws wna::Error where none is (the supports are not
// windows of one size at one stride, e.g. a layer that mixes positions).
ReceptiveField measured_receptive_field(Network& network, const std::string& layer);

}  // namespace wna
