// The model zoo (see include/wna/models/zoo.hpp): each architecture is a SequentialNetwork
// whose layer names are fixed here, since analyses and configs refer to them.
#include "wna/models/zoo.hpp"

#include <functional>
#include <utility>

#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/pooling.h>

#include "wna/core/error.hpp"
#include "wna/models/layers.hpp"
#include "wna/models/sequential_network.hpp"

namespace wna {
namespace {

using Builder = std::function<void(SequentialNetwork&, const ModelSpec&)>;

torch::nn::Conv2d conv(int64_t in, int64_t out, int64_t kernel, int64_t padding = 0,
                       int64_t groups = 1) {
  return torch::nn::Conv2d(
      torch::nn::Conv2dOptions(in, out, kernel).padding(padding).groups(groups));
}

MaxPool2x2 maxpool2() { return MaxPool2x2(); }

// Spatial size after `reductions` (each maps a size to a smaller one); a UsageError when the
// input is too small for the architecture.
int64_t reduced_size(const ModelSpec& spec, int64_t size,
                     const std::vector<std::function<int64_t(int64_t)>>& reductions) {
  for (const auto& reduce : reductions) size = reduce(size);
  if (size < 1) {
    throw UsageError("architecture '" + spec.architecture + "' cannot take " +
                     std::to_string(spec.height) + "x" + std::to_string(spec.width) +
                     " inputs (too small)");
  }
  return size;
}

void build_logreg(SequentialNetwork& net, const ModelSpec& spec) {
  net.append("flatten", torch::nn::Flatten());
  net.append("fc", torch::nn::Linear(spec.pixels(), spec.num_classes()));
}

void build_mlp(SequentialNetwork& net, const ModelSpec& spec) {
  net.append("flatten", torch::nn::Flatten());
  net.append("fc1", torch::nn::Linear(spec.pixels(), 1000));
  net.append("relu1", torch::nn::ReLU());
  net.append("fc2", torch::nn::Linear(1000, spec.num_classes()));
}

void build_lenet(SequentialNetwork& net, const ModelSpec& spec) {
  const std::vector<std::function<int64_t(int64_t)>> reductions = {
      [](int64_t s) { return s - 4; }, [](int64_t s) { return s / 2; },
      [](int64_t s) { return s - 4; }, [](int64_t s) { return s / 2; }};
  const int64_t h = reduced_size(spec, spec.height, reductions);
  const int64_t w = reduced_size(spec, spec.width, reductions);
  net.append("conv1", conv(spec.channels, 20, 5));
  net.append("relu1", torch::nn::ReLU());
  net.append("pool1", maxpool2());
  net.append("conv2", conv(20, 50, 5));
  net.append("relu2", torch::nn::ReLU());
  net.append("pool2", maxpool2());
  net.append("flatten", torch::nn::Flatten());
  net.append("fc1", torch::nn::Linear(50 * h * w, 500));
  net.append("relu3", torch::nn::ReLU());
  net.append("fc2", torch::nn::Linear(500, spec.num_classes()));
}

// simple_cnn and complex_cnn: two padded 3x3 convs, two 2x2 pools, fc -> 128 -> K.
void build_cnn(SequentialNetwork& net, const ModelSpec& spec, bool complex) {
  const std::vector<std::function<int64_t(int64_t)>> reductions = {[](int64_t s) { return s / 2; },
                                                                   [](int64_t s) { return s / 2; }};
  const int64_t h = reduced_size(spec, spec.height, reductions);
  const int64_t w = reduced_size(spec, spec.width, reductions);
  net.append("conv1", conv(spec.channels, 32, 3, 1));
  if (complex) net.append("bn1", torch::nn::BatchNorm2d(32));
  net.append("relu1", torch::nn::ReLU());
  net.append("conv2", conv(32, 64, 3, 1));
  net.append("relu2", torch::nn::ReLU());
  if (complex) {
    net.append("dwconv", conv(64, 64, 3, 1, /*groups=*/64));
    net.append("relu3", torch::nn::ReLU());
  }
  net.append("pool1", maxpool2());
  net.append("pool2", maxpool2());
  net.append("flatten", torch::nn::Flatten());
  net.append("fc1", torch::nn::Linear(64 * h * w, 128));
  net.append(complex ? "relu4" : "relu3", torch::nn::ReLU());
  net.append("fc2", torch::nn::Linear(128, spec.num_classes()));
}

void build_recurrent(SequentialNetwork& net, const ModelSpec& spec, RecurrentCell cell) {
  const int64_t hidden = cell == RecurrentCell::kLstm ? 128 : 100;
  net.append(cell == RecurrentCell::kLstm ? "lstm" : "rnn",
             RowRecurrent(cell, spec.channels * spec.width, hidden, /*num_layers=*/2));
  net.append("fc", torch::nn::Linear(hidden, spec.num_classes()));
}

const std::vector<std::pair<std::string, Builder>>& builders() {
  static const std::vector<std::pair<std::string, Builder>> all = {
      {"logreg", build_logreg},
      {"mlp", build_mlp},
      {"lenet", build_lenet},
      {"simple_cnn", [](auto& net, const auto& spec) { build_cnn(net, spec, false); }},
      {"complex_cnn", [](auto& net, const auto& spec) { build_cnn(net, spec, true); }},
      {"rnn",
       [](auto& net, const auto& spec) { build_recurrent(net, spec, RecurrentCell::kTanhRnn); }},
      {"lstm",
       [](auto& net, const auto& spec) { build_recurrent(net, spec, RecurrentCell::kLstm); }},
  };
  return all;
}

}  // namespace

std::vector<std::string> zoo_architectures() {
  std::vector<std::string> names;
  for (const auto& entry : builders()) names.push_back(entry.first);
  return names;
}

std::shared_ptr<Network> make_zoo_model(const ModelSpec& spec) {
  for (const auto& [name, build] : builders()) {
    if (name != spec.architecture) continue;
    if (spec.channels < 1 || spec.height < 1 || spec.width < 1) {
      throw UsageError("model input shape " + std::to_string(spec.channels) + "x" +
                       std::to_string(spec.height) + "x" + std::to_string(spec.width) +
                       " is not a valid image shape");
    }
    if (spec.num_classes() < 1) throw UsageError("model spec has no class names");
    auto network = std::make_shared<SequentialNetwork>(spec);
    build(*network, spec);
    return network;
  }
  std::string valid;
  for (const auto& name : zoo_architectures()) valid += (valid.empty() ? "" : ", ") + name;
  throw UsageError("unknown architecture '" + spec.architecture + "' (valid: " + valid + ")");
}

}  // namespace wna
