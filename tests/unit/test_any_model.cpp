// Any TorchScript model: the example models of scripts/make_example_models.py (a small ResNet
// exported traced and scripted, a network with a planted nested convolution), written with
// Debian's python3-torch. Nested submodules are layers by dotted path, probed through the
// forward graph with forward's logits bit for bit; a module forward calls twice is refused by
// name; traced and scripted exports compute the same; receptive fields from the graph's
// geometry equal the measured ones through residual blocks and strides.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include <torch/csrc/jit/serialization/import.h>
#include <torch/types.h>
#include <torch/utils.h>

#include "test_support.hpp"
#include "wna/core/error.hpp"
#include "wna/models/layer_table.hpp"
#include "wna/models/model_file.hpp"
#include "wna/models/network.hpp"
#include "wna/models/receptive_field.hpp"

namespace wna {
namespace {

ModelSpec spec_of(int64_t channels, int64_t side, int64_t classes) {
  ModelSpec spec;
  spec.architecture = "torchscript";
  spec.channels = channels;
  spec.height = spec.width = side;
  for (int64_t c = 0; c < classes; ++c) spec.class_names.push_back(std::to_string(c));
  spec.norm_mean = 0.5;
  spec.norm_std = 0.25;
  return spec;
}

class ExampleModels : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = test::scratch_dir("example_models").string();
    if (std::system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") != 0) return;
    python_has_torch_ = true;
    const std::string command = std::string("/usr/bin/python3 ") + WNA_SOURCE_DIR +
                                "/scripts/make_example_models.py " + dir_ + " >" + dir_ + "/make.log 2>&1";
    available_ = std::system(command.c_str()) == 0;
  }
  void SetUp() override {
    if (!available_ && python_has_torch_) FAIL() << "scripts/make_example_models.py failed: see " << dir_ << "/make.log";
    if (!available_) GTEST_SKIP() << "python3 with torch is not available to write TorchScript files";
  }
  static std::string file(const std::string& name) { return dir_ + "/" + name; }
  static std::shared_ptr<Network> resnet(const std::string& kind) {
    return load_torchscript(file("resnet_" + kind + ".pt"), spec_of(3, 40, 7));
  }

  static inline std::string dir_;
  static inline bool available_ = false, python_has_torch_ = false;
};

bool has_layer(Network& network, const std::string& name) {
  const auto names = network.layer_names();
  return std::find(names.begin(), names.end(), name) != names.end();
}

TEST_F(ExampleModels, NestedSubmodulesAreLayersByDottedPathAndAReusedModuleIsNot) {
  for (const std::string kind : {"traced", "scripted"}) {
    auto model = resnet(kind);
    for (const std::string name : {"stem", "stem.0", "layer1", "layer1.0", "layer1.0.conv1", "layer1.0.bn2",
                                   "layer2.0.conv1", "layer2.0.downsample.0", "pool", "fc"})
      EXPECT_TRUE(has_layer(*model, name)) << kind << ": " << name;
    EXPECT_FALSE(has_layer(*model, "layer1.0.relu")) << kind << ": forward calls it twice";
    try {
      Activations activations;
      model->forward_with_probes(torch::rand({1, 3, 40, 40}), {"layer1.0.relu"}, activations);
      ADD_FAILURE() << kind << ": probing a module called twice was accepted";
    } catch (const UsageError& e) {
      EXPECT_NE(std::string(e.what()).find("'layer1.0.relu' is not a layer"), std::string::npos) << e.what();
    }
  }
}

// The ReLU applied to a layer's output is found in the graph (microstimulation reads the
// activations there): a nested one, one inside a Sequential, none where the ReLU module is
// called twice (not a layer) or the next listed layer is not the consumer.
TEST_F(ExampleModels, TheReluAfterALayerIsItsConsumerInTheGraph) {
  auto planted = load_torchscript(file("planted_traced.pt"), spec_of(1, 28, 10));
  EXPECT_EQ(planted->relu_after("features.0.conv"), std::optional<std::string>("features.0.relu"));
  EXPECT_EQ(planted->relu_after("head.2"), std::nullopt);
  auto model = resnet("traced");
  EXPECT_EQ(model->relu_after("stem.1"), std::optional<std::string>("stem.2"));
  EXPECT_EQ(model->relu_after("layer1.0.bn1"), std::nullopt);
  EXPECT_EQ(model->relu_after("stem.0"), std::nullopt) << "stem.0 feeds stem.1 (batch norm), not a ReLU";
}

TEST_F(ExampleModels, ProbedLogitsAreForwardsBitForBitAndProbesAreTheCallsOutputs) {
  auto model = resnet("traced");
  torch::manual_seed(3);
  const auto x = torch::rand({5, 3, 40, 40});
  const std::vector<std::string> probes{"stem.0", "layer1.0.conv1", "layer1", "layer2.0.bn2", "layer2.0.downsample.0",
                                        "fc"};
  Activations activations;
  const auto logits = model->forward_with_probes(x, probes, activations);
  EXPECT_TRUE(torch::equal(logits, model->forward(x)));
  EXPECT_TRUE(torch::equal(activations.at("fc"), logits));
  // Each probe against its submodule applied by hand to the previous probe.
  auto script = torch::jit::load(file("resnet_traced.pt"));
  script.eval();
  auto call = [&](const std::string& a, const std::string& b, const torch::Tensor& in) {
    return script.attr(a).toModule().attr(b).toModule().forward({in}).toTensor();
  };
  const auto stem0 = script.attr("stem").toModule().attr("0").toModule().forward({(x - 0.5) / 0.25}).toTensor();
  EXPECT_TRUE(torch::equal(activations.at("stem.0"), stem0));
  const auto stem = script.attr("stem").toModule().forward({(x - 0.5) / 0.25}).toTensor();
  const auto block = call("layer1", "0", stem);
  auto conv1 = script.attr("layer1").toModule().attr("0").toModule().attr("conv1").toModule();
  EXPECT_TRUE(torch::equal(activations.at("layer1.0.conv1"), conv1.forward({stem}).toTensor()));
  EXPECT_TRUE(torch::equal(activations.at("layer1"), block));
  EXPECT_EQ(activations.at("layer2.0.bn2").sizes(), (std::vector<int64_t>{5, 16, 20, 20}));
  EXPECT_EQ(activations.at("layer2.0.downsample.0").sizes(), (std::vector<int64_t>{5, 16, 20, 20}));
}

TEST_F(ExampleModels, TracedAndScriptedExportsComputeTheSame) {
  auto traced = resnet("traced"), scripted = resnet("scripted");
  torch::manual_seed(4);
  const auto x = torch::rand({6, 3, 40, 40});
  const std::vector<std::string> probes{"stem.0", "layer1.0.conv2", "layer2.0.downsample.0"};
  Activations a, b;
  EXPECT_TRUE(torch::equal(traced->forward_with_probes(x, probes, a), scripted->forward_with_probes(x, probes, b)));
  for (const auto& name : probes) EXPECT_TRUE(torch::equal(a.at(name), b.at(name))) << name;
}

// The fields from the graph's geometry, by hand for a few layers, and for every spatial layer
// of both exports equal to the fields measured through gradients.
TEST_F(ExampleModels, ReceptiveFieldsFromTheGraphAreTheMeasuredOnesThroughResidualBlocksAndStrides) {
  auto model = resnet("traced");
  auto expect_field = [&](const std::string& layer, int64_t size, int64_t jump, int64_t start) {
    const ReceptiveField f = model->receptive_field(layer);
    EXPECT_EQ(f.size, size) << layer;
    EXPECT_EQ(f.jump, jump) << layer;
    EXPECT_EQ(f.start, start) << layer;
    EXPECT_EQ(f.source, "geometry") << layer;
  };
  expect_field("stem.0", 3, 1, -1);          // 3x3, padding 1
  expect_field("layer1.0.conv1", 5, 1, -2);  // after the stem's 3x3
  expect_field("layer1", 7, 1, -3);          // two more 3x3; the skip adds nothing wider
  expect_field("layer2.0.conv1", 9, 2, -4);  // 3x3 at stride 2
  expect_field("layer2.0.downsample.0", 7, 2, -3);  // 1x1 at stride 2 on layer1's output
  for (const std::string kind : {"traced", "scripted"}) {
    auto network = resnet(kind);
    Activations outputs;
    {
      torch::NoGradGuard no_grad;
      network->forward_with_probes(torch::zeros({1, 3, 40, 40}), network->layer_names(), outputs);
    }
    int spatial = 0;
    for (const auto& name : network->layer_names()) {
      if (outputs.at(name).dim() != 4 || name == "normalize") continue;
      ++spatial;
      const ReceptiveField geometry = network->receptive_field(name), measured = measured_receptive_field(*network, name);
      if (name != "pool") {  // adaptive pooling: measured
        EXPECT_EQ(geometry.source, "geometry") << kind << " " << name;
      }
      EXPECT_EQ(measured.source, "measured");
      EXPECT_EQ(std::vector<int64_t>({geometry.size, geometry.jump, geometry.start}),
                std::vector<int64_t>({measured.size, measured.jump, measured.start}))
          << kind << " " << name;
    }
    EXPECT_GE(spatial, 15) << kind;
  }
  try {
    model->receptive_field("fc");
    ADD_FAILURE() << "fc has no receptive field";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not n x C x H x W"), std::string::npos) << e.what();
  }
}

TEST_F(ExampleModels, LayerTableListsEveryLayerWithShapeAndField) {
  auto model = load_torchscript(file("planted_traced.pt"), spec_of(1, 28, 10));
  const std::string table = layer_table(*model);
  EXPECT_NE(table.find("| features.0.conv | conv2d | 2 x 24 x 24 | 5, 1, 0 (geometry) |"), std::string::npos) << table;
  EXPECT_NE(table.find("| head.2 | linear | 10 | whole input |"), std::string::npos) << table;
}

}  // namespace
}  // namespace wna
