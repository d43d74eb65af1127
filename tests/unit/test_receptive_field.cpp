// Unit tests of receptive-field geometry from the layer chain: the LeNet's conv and pool
// layers, padded convs (negative start), strided and dilated convs, and the layers that have no
// receptive field in input pixels.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/pooling.h>
#include <torch/types.h>

#include "wna/core/error.hpp"
#include "wna/models/receptive_field.hpp"
#include "wna/models/sequential_network.hpp"
#include "wna/models/zoo.hpp"

namespace wna {
namespace {

ModelSpec spec_for(const std::string& architecture) {
  ModelSpec spec;
  spec.architecture = architecture;
  spec.dataset = "test";
  spec.channels = 1, spec.height = 28, spec.width = 28;
  for (int k = 0; k < 10; ++k) spec.class_names.push_back(std::to_string(k));
  return spec;
}

void expect_field(const std::vector<LayerInfo>& layers, const std::string& layer, int64_t size, int64_t jump,
                  int64_t start) {
  const ReceptiveField field = receptive_field(layers, layer);
  EXPECT_EQ(field.size, size) << layer;
  EXPECT_EQ(field.jump, jump) << layer;
  EXPECT_EQ(field.start, start) << layer;
}

TEST(ReceptiveField, LeNetConv1IsItsKernelAndConv2SeesFourteenPixelsEveryTwo) {
  const auto layers = make_zoo_model(spec_for("lenet"))->layers();
  expect_field(layers, "normalize", 1, 1, 0);
  expect_field(layers, "conv1", 5, 1, 0);
  expect_field(layers, "relu1", 5, 1, 0);
  expect_field(layers, "pool1", 6, 2, 0);
  expect_field(layers, "conv2", 14, 2, 0);
  expect_field(layers, "relu2", 14, 2, 0);
  expect_field(layers, "pool2", 16, 4, 0);
}

// simple_cnn: padded 3x3 convs, so the fields start before the image.
TEST(ReceptiveField, PaddedConvsStartInThePadding) {
  const auto layers = make_zoo_model(spec_for("simple_cnn"))->layers();
  expect_field(layers, "conv1", 3, 1, -1);
  expect_field(layers, "relu1", 3, 1, -1);
  expect_field(layers, "conv2", 5, 1, -2);
  expect_field(layers, "pool1", 6, 2, -2);
  expect_field(layers, "pool2", 8, 4, -2);
}

TEST(ReceptiveField, StrideAndDilationOfEveryEarlierLayerCount) {
  SequentialNetwork network(spec_for("custom"));
  network.append("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(1, 2, 3).stride(2).padding(1).dilation(2)));
  network.append("pool", torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(3).stride(2).padding(1)));
  const auto layers = network.layers();
  // Dilated 3x3 kernel: 5 pixels wide; pool: (3 - 1) x jump 2 more, jump 4, start -1 - 1 x 2.
  expect_field(layers, "conv", 5, 2, -1);
  expect_field(layers, "pool", 9, 4, -3);
}

TEST(ReceptiveField, LayersWithoutSpatialGeometryAreErrors) {
  const auto layers = make_zoo_model(spec_for("lenet"))->layers();
  EXPECT_THROW(receptive_field(layers, "flatten"), Error);
  EXPECT_THROW(receptive_field(layers, "fc1"), Error);
  EXPECT_THROW(receptive_field(layers, "conv7"), Error);
  std::vector<LayerInfo> opaque = {{"normalize", "normalize"}, {"block", "module"}, {"conv", "conv2d", 3}};
  try {
    receptive_field(opaque, "conv");
    ADD_FAILURE() << "an opaque module before the layer should be an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'block'"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace wna
