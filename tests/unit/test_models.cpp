// Unit tests of the model zoo, wna model files and TorchScript models: output and layer
// shapes, layer names and geometry, probes, parameter counts, save/load round trips and the
// error paths of loading.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include <torch/csrc/jit/serialization/import.h>
#include <torch/csrc/jit/serialization/import.h>
#include <torch/nn/functional/loss.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/types.h>
#include <torch/utils.h>

#include "test_support.hpp"
#include "wna/core/error.hpp"
#include "wna/models/model_file.hpp"
#include "wna/models/network.hpp"
#include "wna/models/zoo.hpp"

namespace wna {
namespace {

namespace fs = std::filesystem;

ModelSpec make_spec(const std::string& architecture, int64_t channels, int64_t height,
                    int64_t width) {
  ModelSpec spec;
  spec.architecture = architecture;
  spec.dataset = "test";
  spec.channels = channels;
  spec.height = height;
  spec.width = width;
  for (int k = 0; k < 10; ++k) spec.class_names.push_back("class" + std::to_string(k));
  spec.norm_mean = 0.1307;
  spec.norm_std = 0.3081;
  return spec;
}

ModelSpec mnist_spec(const std::string& architecture) { return make_spec(architecture, 1, 28, 28); }

// Runs `action`, expecting an ErrorType whose message contains `fragment`.
template <typename ErrorType, typename Action>
void expect_error(Action&& action, const std::string& fragment) {
  try {
    action();
    ADD_FAILURE() << "expected an error containing '" << fragment << "'";
  } catch (const ErrorType& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

std::string file_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// ---- every architecture on an MNIST and a CIFAR-like shape ----------------------------------

struct ZooCase {
  std::string architecture;
  int64_t channels, height, width;
};

class ZooShapeTest : public ::testing::TestWithParam<ZooCase> {
 protected:
  std::shared_ptr<Network> make_model() {
    torch::manual_seed(0);
    const auto& c = GetParam();
    auto model = make_zoo_model(make_spec(c.architecture, c.channels, c.height, c.width));
    model->module().eval();
    return model;
  }
  torch::Tensor images(int64_t n) {
    const auto& c = GetParam();
    return torch::rand({n, c.channels, c.height, c.width});
  }
};

TEST_P(ZooShapeTest, ForwardGivesOneLogitPerClass) {
  auto model = make_model();
  EXPECT_EQ(model->forward(images(3)).sizes(), (std::vector<int64_t>{3, 10}));
}

TEST_P(ZooShapeTest, LayerNamesStartWithNormalizeAndAreUnique) {
  auto model = make_model();
  const auto names = model->layer_names();
  ASSERT_FALSE(names.empty());
  EXPECT_EQ(names.front(), "normalize");
  EXPECT_EQ(model->layers().front().kind, "normalize");
  EXPECT_EQ(model->layers().back().kind, "linear");
  EXPECT_EQ(std::set<std::string>(names.begin(), names.end()).size(), names.size());
}

TEST_P(ZooShapeTest, ProbingEveryLayerKeepsTheLogits) {
  auto model = make_model();
  const auto x = images(2);
  Activations activations;
  const auto logits = model->forward_with_probes(x, model->layer_names(), activations);
  EXPECT_TRUE(torch::equal(logits, model->forward(x)));
  EXPECT_EQ(activations.size(), model->layer_names().size());
  EXPECT_TRUE(torch::equal(activations.at(model->layer_names().back()), logits));
  const auto& spec = model->spec();
  EXPECT_TRUE(torch::allclose(activations.at("normalize"), (x - spec.norm_mean) / spec.norm_std));
  for (const auto& [name, activation] : activations) EXPECT_EQ(activation.size(0), 2) << name;
}

std::vector<ZooCase> zoo_cases() {
  std::vector<ZooCase> cases;
  for (const auto& architecture : zoo_architectures()) {
    cases.push_back({architecture, 1, 28, 28});
    cases.push_back({architecture, 3, 32, 32});
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Zoo, ZooShapeTest, ::testing::ValuesIn(zoo_cases()),
                         [](const ::testing::TestParamInfo<ZooCase>& info) {
                           const auto& c = info.param;
                           return c.architecture + "_" + std::to_string(c.channels) + "x" +
                                  std::to_string(c.height) + "x" + std::to_string(c.width);
                         });

// ---- architecture details -------------------------------------------------------------------

TEST(ZooTest, ArchitecturesAndLayerNamesAreFixed) {
  const std::map<std::string, std::vector<std::string>> expected = {
      {"logreg", {"normalize", "flatten", "fc"}},
      {"mlp", {"normalize", "flatten", "fc1", "relu1", "fc2"}},
      {"lenet",
       {"normalize", "conv1", "relu1", "pool1", "conv2", "relu2", "pool2", "flatten", "fc1",
        "relu3", "fc2"}},
      {"simple_cnn",
       {"normalize", "conv1", "relu1", "conv2", "relu2", "pool1", "pool2", "flatten", "fc1",
        "relu3", "fc2"}},
      {"complex_cnn",
       {"normalize", "conv1", "bn1", "relu1", "conv2", "relu2", "dwconv", "relu3", "pool1", "pool2",
        "flatten", "fc1", "relu4", "fc2"}},
      {"rnn", {"normalize", "rnn", "fc"}},
      {"lstm", {"normalize", "lstm", "fc"}},
  };
  EXPECT_EQ(zoo_architectures(), (std::vector<std::string>{"logreg", "mlp", "lenet", "simple_cnn",
                                                           "complex_cnn", "rnn", "lstm"}));
  for (const auto& [architecture, names] : expected) {
    EXPECT_EQ(make_zoo_model(mnist_spec(architecture))->layer_names(), names) << architecture;
  }
}

TEST(ZooTest, LenetProbesHaveTheAuthorsShapes) {
  auto model = make_zoo_model(mnist_spec("lenet"));
  const std::map<std::string, std::vector<int64_t>> shapes = {{"conv1", {4, 20, 24, 24}},
                                                              {"pool1", {4, 20, 12, 12}},
                                                              {"conv2", {4, 50, 8, 8}},
                                                              {"pool2", {4, 50, 4, 4}},
                                                              {"flatten", {4, 800}},
                                                              {"fc1", {4, 500}},
                                                              {"fc2", {4, 10}}};
  Activations activations;
  model->forward_with_probes(torch::rand({4, 1, 28, 28}),
                             {"conv1", "pool1", "conv2", "pool2", "flatten", "fc1", "fc2"},
                             activations);
  ASSERT_EQ(activations.size(), shapes.size());
  for (const auto& [name, shape] : shapes) EXPECT_EQ(activations.at(name).sizes(), shape) << name;
}

TEST(ZooTest, FullyConnectedInputFollowsImageSize) {
  const std::vector<std::tuple<std::string, int64_t, int64_t, int64_t>> cases = {
      {"lenet", 1, 28, 800},       {"lenet", 3, 32, 1250},       {"simple_cnn", 1, 28, 3136},
      {"simple_cnn", 3, 32, 4096}, {"complex_cnn", 1, 28, 3136}, {"mlp", 3, 32, 3072}};
  for (const auto& [architecture, channels, size, features] : cases) {
    auto model = make_zoo_model(make_spec(architecture, channels, size, size));
    Activations activations;
    model->forward_with_probes(torch::rand({1, channels, size, size}), {"flatten"}, activations);
    EXPECT_EQ(activations.at("flatten").sizes(), (std::vector<int64_t>{1, features}))
        << architecture << " " << size;
  }
}

TEST(ZooTest, RecurrentModelsReturnTheLastHiddenState) {
  auto rnn = make_zoo_model(mnist_spec("rnn"));
  auto lstm = make_zoo_model(make_spec("lstm", 3, 32, 32));
  Activations activations;
  rnn->forward_with_probes(torch::rand({2, 1, 28, 28}), {"rnn"}, activations);
  lstm->forward_with_probes(torch::rand({2, 3, 32, 32}), {"lstm"}, activations);
  EXPECT_EQ(activations.at("rnn").sizes(), (std::vector<int64_t>{2, 100}));
  EXPECT_EQ(activations.at("lstm").sizes(), (std::vector<int64_t>{2, 128}));
  EXPECT_EQ(rnn->layers()[1].kind, "rnn");
  EXPECT_EQ(lstm->layers()[1].kind, "lstm");
}

TEST(ZooTest, LayersDescribeTheirGeometry) {
  auto find = [](const std::shared_ptr<Network>& model, const std::string& name) {
    for (const auto& layer : model->layers()) {
      if (layer.name == name) return layer;
    }
    throw std::runtime_error("no layer " + name);
  };
  auto lenet = make_zoo_model(mnist_spec("lenet"));
  auto complex = make_zoo_model(mnist_spec("complex_cnn"));
  const auto conv1 = find(lenet, "conv1");
  EXPECT_EQ(conv1.kind, "conv2d");
  EXPECT_EQ(conv1.kernel, 5);
  EXPECT_EQ(conv1.stride, 1);
  EXPECT_EQ(conv1.padding, 0);
  EXPECT_EQ(conv1.dilation, 1);
  const auto pool1 = find(lenet, "pool1");
  EXPECT_EQ(pool1.kind, "maxpool2d");
  EXPECT_EQ(pool1.kernel, 2);
  EXPECT_EQ(pool1.stride, 2);
  const auto dwconv = find(complex, "dwconv");
  EXPECT_EQ(dwconv.kind, "conv2d");
  EXPECT_EQ(dwconv.kernel, 3);
  EXPECT_EQ(dwconv.padding, 1);
  EXPECT_EQ(find(complex, "bn1").kind, "batchnorm2d");
  EXPECT_EQ(find(complex, "relu4").kind, "relu");
  EXPECT_EQ(find(complex, "flatten").kind, "flatten");
  EXPECT_EQ(find(complex, "fc1").kind, "linear");
}

TEST(ZooTest, ParameterCountsMatchHandCounts) {
  const std::map<std::string, int64_t> expected = {
      {"logreg", 7850},         // 784*10 + 10
      {"mlp", 795010},          // 785*1000 + 1001*10
      {"lenet", 431080},        // conv1 520 + conv2 25050 + fc1 400500 + fc2 5010
      {"simple_cnn", 421642},   // 320 + 18496 + 3137*128 + 129*10
      {"complex_cnn", 422346},  // simple_cnn + bn1 64 + dwconv 640
      {"rnn", 34210},           // (28+100+2)*100 + (100+100+2)*100 + 101*10
      {"lstm", 214282},         // 4*128*(28+128+2) + 4*128*(128+128+2) + 129*10
  };
  for (const auto& [architecture, count] : expected) {
    auto model = make_zoo_model(mnist_spec(architecture));
    EXPECT_EQ(count_parameters(*model), count) << architecture;
  }
}

TEST(ZooTest, ModelsKeepGradients) {
  auto model = make_zoo_model(mnist_spec("complex_cnn"));
  const auto loss = torch::nn::functional::cross_entropy(
      model->forward(torch::rand({4, 1, 28, 28})), torch::tensor({0, 1, 2, 3}));
  loss.backward();
  for (const auto& parameter : model->module().named_parameters()) {
    EXPECT_TRUE(parameter.value().grad().defined()) << parameter.key();
  }
}

TEST(ZooTest, UnknownArchitectureIsUsageError) {
  expect_error<UsageError>([] { make_zoo_model(mnist_spec("resnet")); },
                           "unknown architecture 'resnet' (valid: logreg, mlp, lenet, simple_cnn, "
                           "complex_cnn, rnn, lstm)");
}

TEST(ZooTest, InputTooSmallOrNoClassesIsUsageError) {
  expect_error<UsageError>([] { make_zoo_model(make_spec("lenet", 1, 8, 8)); }, "too small");
  auto no_classes = mnist_spec("mlp");
  no_classes.class_names.clear();
  expect_error<UsageError>([&] { make_zoo_model(no_classes); }, "no class names");
}

TEST(ZooTest, UnknownProbeLayerIsAnError) {
  auto model = make_zoo_model(mnist_spec("lenet"));
  Activations activations;
  expect_error<Error>(
      [&] {
        model->forward_with_probes(torch::rand({1, 1, 28, 28}), {"conv1", "conv9"}, activations);
      },
      "probed layers: 'conv9' is not a layer of model 'lenet' (valid: normalize, conv1, relu1");
}

// ---- wna model files ------------------------------------------------------------------------

TEST(ModelFileTest, RoundTripKeepsOutputsAndSpecForEveryArchitecture) {
  const auto dir = test::scratch_dir("model_round_trip");
  const auto x = torch::rand({3, 1, 28, 28});
  for (const auto& architecture : zoo_architectures()) {
    torch::manual_seed(1);
    auto spec = mnist_spec(architecture);
    spec.dataset = "fashion-mnist";
    spec.seed = 0xfedcba9876543210ULL;
    spec.test_accuracy = 0.9123;
    auto model = make_zoo_model(spec);
    model->forward(x);  // in training mode: moves batch-norm running statistics off their start
    model->module().eval();
    const auto path = (dir / (architecture + ".wna")).string();
    save_model(*model, path, false);

    auto loaded = load_model(path);
    EXPECT_FALSE(loaded->module().is_training()) << architecture;
    EXPECT_TRUE(torch::equal(loaded->forward(x), model->forward(x))) << architecture;
    const auto& got = loaded->spec();
    EXPECT_EQ(got.architecture, architecture);
    EXPECT_EQ(got.dataset, "fashion-mnist");
    EXPECT_EQ(got.channels, 1);
    EXPECT_EQ(got.height, 28);
    EXPECT_EQ(got.width, 28);
    EXPECT_EQ(got.class_names, spec.class_names);
    EXPECT_EQ(got.norm_mean, spec.norm_mean);
    EXPECT_EQ(got.norm_std, spec.norm_std);
    EXPECT_EQ(got.seed, spec.seed);
    EXPECT_EQ(got.test_accuracy, spec.test_accuracy);
  }
  for (const auto& entry : fs::directory_iterator(dir)) {
    EXPECT_EQ(entry.path().extension(), ".wna") << "left behind: " << entry.path();
  }
}

TEST(ModelFileTest, SaveCreatesParentDirectories) {
  const auto path = test::scratch_dir("model_parents") / "a" / "b" / "model.wna";
  save_model(*make_zoo_model(mnist_spec("logreg")), path.string(), false);
  EXPECT_EQ(load_model(path.string())->spec().architecture, "logreg");
}

TEST(ModelFileTest, RefusesToOverwriteWithoutTheFlag) {
  const auto path = (test::scratch_dir("model_overwrite") / "model.wna").string();
  save_model(*make_zoo_model(mnist_spec("logreg")), path, false);
  const auto original = file_bytes(path);
  auto other = make_zoo_model(mnist_spec("mlp"));
  expect_error<UsageError>([&] { save_model(*other, path, false); },
                           "model file = '" + path + "': file exists; pass --overwrite");
  EXPECT_EQ(file_bytes(path), original);
  save_model(*other, path, true);
  EXPECT_EQ(load_model(path)->spec().architecture, "mlp");
}

TEST(ModelFileTest, WeightsOfAnotherArchitectureDoNotMatch) {
  const auto path = (test::scratch_dir("model_tampered") / "model.wna").string();
  auto model = make_zoo_model(mnist_spec("mlp"));
  model->spec().architecture = "lenet";  // the file claims lenet but holds an mlp's weights
  save_model(*model, path, false);
  expect_error<Error>([&] { load_model(path); },
                      path + ": weights do not match architecture 'lenet': ");
}

TEST(ModelFileTest, MismatchedShapesAreNamed) {
  const auto path = (test::scratch_dir("model_shapes") / "model.wna").string();
  auto model = make_zoo_model(mnist_spec("mlp"));
  model->spec().class_names.pop_back();  // 9 classes claimed, fc2 has 10 outputs
  save_model(*model, path, false);
  expect_error<Error>([&] { load_model(path); }, "tensor 'fc2.weight' is [10, 1000]");
}

TEST(ModelFileTest, NonModelFilesAreRejected) {
  const auto dir = test::scratch_dir("model_not_a_model");
  const auto text = (dir / "notes.txt").string();
  std::ofstream(text) << "not a model\n";
  expect_error<Error>([&] { load_model(text); }, text + ": not a wna model file (");
  const auto missing = (dir / "missing.wna").string();
  expect_error<Error>([&] { load_model(missing); }, missing + ": no such model file");
}

// ---- TorchScript modules --------------------------------------------------------------------

TEST(TorchScriptFileTest, UnreadableFilesNameThePath) {
  const auto dir = test::scratch_dir("torchscript_unreadable");
  const auto text = (dir / "notes.txt").string();
  std::ofstream(text) << "not a module\n";
  expect_error<Error>([&] { load_torchscript(text, mnist_spec("torchscript")); },
                      text + ": cannot load TorchScript module");
  const auto missing = (dir / "missing.pt").string();
  expect_error<Error>([&] { load_torchscript(missing, mnist_spec("torchscript")); },
                      missing + ": no such TorchScript file");
  const auto wna_file = (dir / "model.wna").string();
  save_model(*make_zoo_model(mnist_spec("logreg")), wna_file, false);
  expect_error<Error>([&] { load_torchscript(wna_file, mnist_spec("torchscript")); },
                      wna_file + ": the TorchScript module has no forward method");
}

// Modules written by PyTorch itself (Debian's python3-torch); skipped where it is missing.
class TorchScriptTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = test::scratch_dir("torchscript").string();
    const std::string script = dir_ + "/make_modules.py";
    std::ofstream(script) << R"(import sys, torch
out = sys.argv[1]
torch.manual_seed(0)
sequential = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 32), torch.nn.ReLU(),
                                 torch.nn.Linear(32, 10))
torch.jit.script(sequential).save(out + "/sequential.pt")
class Skip(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.flatten = torch.nn.Flatten()
        self.fc1 = torch.nn.Linear(784, 784)
        self.relu = torch.nn.ReLU()
        self.fc2 = torch.nn.Linear(784, 10)
    def forward(self, x):
        x = self.flatten(x)
        return self.fc2(self.relu(self.fc1(x)) + x)
torch.jit.script(Skip()).save(out + "/skip.pt")
torch.jit.script(torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, stride=2, padding=1), torch.nn.ReLU(),
                                     torch.nn.MaxPool2d(2), torch.nn.Flatten(),
                                     torch.nn.Linear(4 * 7 * 7, 10))).save(out + "/conv.pt")
class Softplus(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(1, 2, 3)
        self.conv2 = torch.nn.Conv2d(2, 2, 3, stride=2)
        self.fc = torch.nn.Linear(2 * 12 * 12, 10)
    def forward(self, x):
        return self.fc(self.conv2(torch.nn.functional.softplus(self.conv1(x))).flatten(1))
torch.jit.script(Softplus()).save(out + "/softplus.pt")
class Linear(torch.nn.Module):
    def __init__(self, inputs, classes):
        super().__init__()
        self.fc = torch.nn.Linear(inputs, classes)
    def forward(self, x):
        return self.fc(x.flatten(1))
class Pair(Linear):
    def forward(self, x):
        y = self.fc(x.flatten(1))
        return (y, y)
class FirstRow(Linear):
    def forward(self, x):
        return self.fc(x.flatten(1))[:1]
class Float64(Linear):
    def forward(self, x):
        return self.fc(x.flatten(1)).double()
nan = Linear(784, 10)
with torch.no_grad():
    nan.fc.weight[3, 7] = float("nan")
for name, module in [("tuple", Pair(784, 10)), ("first_row", FirstRow(784, 10)), ("float64", Float64(784, 10)),
                     ("five_classes", Linear(784, 5)), ("wrong_input", Linear(100, 10)), ("nan", nan)]:
    torch.jit.script(module).save(out + "/" + name + ".pt")
)";
    for (const std::string python : {"/usr/bin/python3", "python3"}) {
      if (std::system((python + " -c 'import torch' >/dev/null 2>&1").c_str()) != 0) continue;
      python_has_torch_ = true;
      const std::string command = python + " " + script + " " + dir_ + " >" + dir_ + "/make_modules.log 2>&1";
      if (std::system(command.c_str()) == 0) {
        available_ = true;
        return;
      }
    }
  }

  void SetUp() override {
    // A broken fixture script must fail the tests, not skip them.
    if (!available_ && python_has_torch_) FAIL() << "the module script failed: see " << dir_ << "/make_modules.log";
    if (!available_) GTEST_SKIP() << "python3 with torch is not available to write TorchScript files";
  }

  static std::string file(const std::string& name) { return dir_ + "/" + name; }

  static inline std::string dir_;
  static inline bool available_ = false;
  static inline bool python_has_torch_ = false;
};

TEST_F(TorchScriptTest, SequentialModuleCanBeProbed) {
  auto spec = mnist_spec("torchscript");
  spec.norm_mean = 0.5;
  spec.norm_std = 0.25;
  auto model = load_torchscript(file("sequential.pt"), spec);
  EXPECT_EQ(model->spec().architecture, "torchscript");
  EXPECT_EQ(model->layer_names(), (std::vector<std::string>{"normalize", "0", "1", "2", "3"}));
  std::vector<std::string> kinds;
  for (const auto& layer : model->layers()) kinds.push_back(layer.kind);
  EXPECT_EQ(kinds, (std::vector<std::string>{"normalize", "flatten", "linear", "relu", "linear"}));
  EXPECT_EQ(count_parameters(*model), 784 * 32 + 32 + 32 * 10 + 10);

  const auto x = torch::rand({3, 1, 28, 28});
  auto script = torch::jit::load(file("sequential.pt"));
  const auto expected = script.forward({(x - 0.5) / 0.25}).toTensor();
  EXPECT_TRUE(torch::allclose(model->forward(x), expected));

  Activations activations;
  const auto logits = model->forward_with_probes(x, {"normalize", "1", "2", "3"}, activations);
  EXPECT_TRUE(torch::allclose(logits, expected));
  EXPECT_EQ(activations.at("1").sizes(), (std::vector<int64_t>{3, 32}));
  EXPECT_GE(activations.at("2").min().item<float>(), 0.0f);
  EXPECT_TRUE(torch::equal(activations.at("3"), logits));
  EXPECT_TRUE(torch::allclose(activations.at("normalize"), (x - 0.5) / 0.25));
  expect_error<Error>([&] { model->forward_with_probes(x, {"4"}, activations); },
                      "probed layers: '4' is not a layer of model");
}

TEST_F(TorchScriptTest, ModuleViewSharesTheScriptsParameters) {
  auto model = load_torchscript(file("sequential.pt"), mnist_spec("torchscript"));
  EXPECT_FALSE(model->module().is_training());
  {
    torch::NoGradGuard no_grad;
    for (auto& parameter : model->module().parameters()) parameter.zero_();
  }
  EXPECT_TRUE(torch::equal(model->forward(torch::rand({2, 1, 28, 28})), torch::zeros({2, 10})));
}

// forward is fc2(relu(fc1(flatten(x))) + flatten(x)): no chain of its children; the probes come
// from its graph, so the logits stay forward's bit for bit and each probe is its call's output.
TEST_F(TorchScriptTest, SkipConnectionIsProbedThroughTheGraphWithForwardsLogits) {
  auto model = load_torchscript(file("skip.pt"), mnist_spec("torchscript"));
  EXPECT_EQ(model->layer_names(), (std::vector<std::string>{"normalize", "flatten", "fc1", "relu", "fc2"}));
  const auto x = torch::rand({2, 1, 28, 28});
  Activations activations;
  const auto logits = model->forward_with_probes(x, {"fc1", "relu", "fc2"}, activations);
  EXPECT_TRUE(torch::equal(logits, model->forward(x)));
  EXPECT_TRUE(torch::equal(activations.at("fc2"), logits));
  const auto flat = ((x - model->spec().norm_mean) / model->spec().norm_std).reshape({2, 784});
  auto script = torch::jit::load(file("skip.pt"));
  const auto fc1 = script.attr("fc1").toModule().forward({flat}).toTensor();
  EXPECT_TRUE(torch::equal(activations.at("fc1"), fc1));
  EXPECT_TRUE(torch::equal(activations.at("relu"), fc1.relu()));
  model->check_probes_are_exact({"fc1", "relu"});
}

// A functional step without known geometry (softplus) between two convolutions: conv1's field
// comes from the graph, conv2's is measured (the same numbers the geometry would give).
TEST_F(TorchScriptTest, FieldsBeyondAStepWithoutGeometryAreMeasured) {
  auto model = load_torchscript(file("softplus.pt"), mnist_spec("torchscript"));
  const ReceptiveField conv1 = model->receptive_field("conv1"), conv2 = model->receptive_field("conv2");
  EXPECT_EQ(std::vector<int64_t>({conv1.size, conv1.jump, conv1.start}), std::vector<int64_t>({3, 1, 0}));
  EXPECT_EQ(conv1.source, "geometry");
  EXPECT_EQ(std::vector<int64_t>({conv2.size, conv2.jump, conv2.start}), std::vector<int64_t>({5, 2, 0}));
  EXPECT_EQ(conv2.source, "measured");
}

TEST_F(TorchScriptTest, ModelOutputsAreCheckedBeforeAnyWork) {
  const std::vector<std::pair<std::string, std::string>> cases{
      {"tuple", "the model fails on a batch of 3 noise images of [1, 28, 28]: "},
      {"first_row", "the model returns a tensor of [1, 10] for a batch of 3 noise images of [1, 28, 28]; expected "
                    "[3, 10]"},
      {"float64", "the model returns Double scores; expected float32"},
      {"five_classes", "the model returns a tensor of [3, 5] for a batch of 3 noise images of [1, 28, 28]; expected "
                       "[3, 10] (one row of 10 class scores per image)"},
      {"wrong_input", "the model fails on a batch of 3 noise images of [1, 28, 28]: "},
      {"nan", "the model returns NaN or infinite scores for a batch of 3 noise images"},
  };
  for (const auto& [name, message] : cases) {
    auto model = load_torchscript(file(name + ".pt"), mnist_spec("torchscript"));
    try {
      check_model_outputs(*model);
      ADD_FAILURE() << name << ": accepted";
    } catch (const Error& e) {
      const std::string text = e.what();
      EXPECT_NE(text.find(message), std::string::npos) << name << ": " << text;
      EXPECT_EQ(text.find('\n'), std::string::npos) << name << ": more than one line: " << text;
    }
  }
  check_model_outputs(*load_torchscript(file("sequential.pt"), mnist_spec("torchscript")));
  for (const std::string architecture : {"logreg", "lenet"}) check_model_outputs(*make_zoo_model(mnist_spec(architecture)));
}

TEST_F(TorchScriptTest, ConvolutionGeometryComesFromTheScript) {
  auto model = load_torchscript(file("conv.pt"), mnist_spec("torchscript"));
  const auto layers = model->layers();
  ASSERT_EQ(layers.size(), 6u);
  EXPECT_EQ(layers[1].kind, "conv2d");
  EXPECT_EQ(layers[1].kernel, 3);
  EXPECT_EQ(layers[1].stride, 2);
  EXPECT_EQ(layers[1].padding, 1);
  EXPECT_EQ(layers[1].dilation, 1);
  EXPECT_EQ(layers[3].kind, "maxpool2d");
  EXPECT_EQ(layers[3].kernel, 2);
  EXPECT_EQ(layers[3].stride, 2);
  Activations activations;
  model->forward_with_probes(torch::rand({2, 1, 28, 28}), {"0", "2"}, activations);
  EXPECT_EQ(activations.at("0").sizes(), (std::vector<int64_t>{2, 4, 14, 14}));
  EXPECT_EQ(activations.at("2").sizes(), (std::vector<int64_t>{2, 4, 7, 7}));
}

TEST_F(TorchScriptTest, ScriptsAreNotWnaModelFiles) {
  expect_error<Error>([] { load_model(file("sequential.pt")); },
                      file("sequential.pt") + ": not a wna model file ('code/__torch__/torch/nn/modules/container.py' "
                                              "line ");
  auto model = load_torchscript(file("sequential.pt"), mnist_spec("torchscript"));
  expect_error<UsageError>([&] { save_model(*model, file("copy.wna"), false); },
                           "only zoo models can be saved");
}

}  // namespace
}  // namespace wna
