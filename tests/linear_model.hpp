// A linear classifier with chosen weights, the ground-truth model of the tests: a "logreg" zoo
// model on 1 x side x side inputs whose logits are weight x + bias.
#pragma once

#include <memory>
#include <string>

#include <torch/types.h>

#include "wna/models/network.hpp"
#include "wna/models/zoo.hpp"

namespace wna::test {

// fc weight `weight` (K x side^2) and bias `bias` (K).
inline std::shared_ptr<Network> linear_model(const torch::Tensor& weight, const torch::Tensor& bias, int64_t side) {
  ModelSpec spec;
  spec.architecture = "logreg";
  spec.dataset = "test";
  spec.channels = 1;
  spec.height = side;
  spec.width = side;
  for (int64_t k = 0; k < weight.size(0); ++k) spec.class_names.push_back("class" + std::to_string(k));
  auto network = make_zoo_model(spec);
  torch::NoGradGuard no_grad;
  auto parameters = network->module().named_parameters();
  parameters["fc.weight"].copy_(weight);
  parameters["fc.bias"].copy_(bias);
  return network;
}

}  // namespace wna::test
