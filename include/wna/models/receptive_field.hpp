// Receptive-field geometry of spatial layers, in input pixels, derived from the kernel,
// stride, padding and dilation of the conv2d and maxpool2d layers of a model's layer chain.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "wna/models/network.hpp"

namespace wna {

// Unit (y, x) of a layer's output sees input rows start + y * jump ... start + y * jump +
// size - 1, and the same columns. start <= 0: a negative start means the field reaches into
// the zero padding of the input.
struct ReceptiveField {
  int64_t size = 1;
  int64_t jump = 1;
  int64_t start = 0;
};

// The receptive field of the output units of `layer`, from every conv2d and maxpool2d layer up
// to and including it (normalize, relu and batchnorm2d layers keep the geometry). Throws
// wna::Error when `layer` is not a layer of `layers`, or when it or an earlier layer has no
// spatial geometry (flatten, linear, rnn, lstm, or an opaque module).
ReceptiveField receptive_field(const std::vector<LayerInfo>& layers, const std::string& layer);

}  // namespace wna
