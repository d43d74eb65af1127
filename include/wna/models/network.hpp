// The model interface every analysis uses: a classifier whose layers have names, in forward
// order, and whose forward pass can also hand back the activations of chosen layers.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <memory>
#include <string>
#include <vector>

#include <torch/nn/module.h>
#include <torch/types.h>

namespace wna {

// What a model was built for and how it was trained; stored in the model file.
struct ModelSpec {
  std::string architecture;               // a zoo name ("lenet", ...) or "torchscript"
  std::string dataset;                    // "mnist", "fashion-mnist", ...
  int64_t channels = 1, height = 28, width = 28;
  std::vector<std::string> class_names;   // K entries
  double norm_mean = 0.0, norm_std = 1.0; // input x in [0,1] is fed as (x - mean) / std
  std::vector<double> channel_norm_mean, channel_norm_std;  // TorchScript models: per channel (C each)
  uint64_t seed = 0;
  double test_accuracy = -1.0;            // < 0: not evaluated

  int64_t num_classes() const { return static_cast<int64_t>(class_names.size()); }
  int64_t pixels() const { return channels * height * width; }  // values per input image
  // The classes a config key lists (class names, indices, or "all") as ascending distinct
  // indices; wna::UsageError naming `key` for an entry that is not a class.
  std::vector<int64_t> class_indices(const std::vector<std::string>& listed, const std::string& key) const;
};

// Geometry of one named layer, enough to map a unit back to its receptive field.
struct LayerInfo {
  std::string name;    // e.g. "conv1"
  std::string kind;    // "normalize", "conv2d", "batchnorm2d", "relu", "maxpool2d", "flatten",
                       // "linear", "rnn", "lstm", "module" (opaque TorchScript submodule)
  int64_t kernel = 1, stride = 1, padding = 0, dilation = 1;  // spatial layers only
};

using Activations = std::map<std::string, torch::Tensor>;

// Unit (y, x) of a spatial layer's output sees input rows start + y * jump ... start + y * jump +
// size - 1, and the same columns. start <= 0: a negative start means the field reaches into
// the zero padding of the input.
struct ReceptiveField {
  int64_t size = 1;
  int64_t jump = 1;
  int64_t start = 0;
  std::string source = "geometry";  // how it is known: "geometry" (kernels, strides, padding) or "measured"
};

class Network {
 public:
  virtual ~Network() = default;

  const ModelSpec& spec() const { return spec_; }
  ModelSpec& spec() { return spec_; }

  // Layers in forward order (the first is the input normalisation).
  virtual std::vector<LayerInfo> layers() const = 0;
  std::vector<std::string> layer_names() const;

  // Logits (N x K) for images x (N x C x H x W, pixels as in the dataset, i.e. [0,1]).
  virtual torch::Tensor forward(const torch::Tensor& x) = 0;

  // Logits, and into `activations` the output of every layer named in `probe_layers`.
  // Throws wna::Error for a name that is not a layer of this model.
  virtual torch::Tensor forward_with_probes(const torch::Tensor& x,
                                            const std::vector<std::string>& probe_layers,
                                            Activations& activations) = 0;

  // The receptive field of the output units of spatial layer `layer` (n x C x H' x W'
  // outputs), in input pixels: by default from the geometry of the layer chain up to it
  // (models/receptive_field); throws wna::Error where it has none.
  virtual ReceptiveField receptive_field(const std::string& layer);

  // The ReLU layer applied to `layer`'s output, if there is one (by default: the next layer of
  // the chain, if it is a relu).
  virtual std::optional<std::string> relu_after(const std::string& layer) const;

  // The underlying module (parameters, train()/eval(), named submodules).
  virtual torch::nn::Module& module() = 0;
  // Moves the parameters and buffers to `device`: forward then takes inputs there.
  virtual void to(torch::Device device) { module().to(device); }

  // Throws wna::Error unless forward_with_probes(x, layers, ...) computes exactly what forward
  // computes (true by construction for the zoo; checked on noise for a TorchScript module, once
  // per set of probed layers, also by its first probed forward).
  virtual void check_probes_are_exact(const std::vector<std::string>& /*layers*/) {}

  // The one check of a list of layer names given under config key `key`: throws UsageError
  // "<key>: '<name>' is not a layer of model '<architecture>' (valid: <layers><also_valid>)",
  // or, when `distinct`, "<key>: '<name>' is listed twice".
  void check_layer_names(const std::string& key, const std::vector<std::string>& names, bool distinct = true,
                         const std::string& also_valid = "") const;

 protected:
  explicit Network(ModelSpec spec) : spec_(std::move(spec)) {}
  ModelSpec spec_;
};

int64_t count_parameters(Network& network);

// Runs the model on a small batch of noise before any work and checks what comes back: one
// float32 tensor of [batch, classes] (the spec's class count), every value finite. Throws
// wna::Error with one line naming the cause (a wrong input shape, a tuple, float64 logits, a
// class count that differs, NaN or inf from corrupted weights).
void check_model_outputs(Network& network);

// The first line of an exception's message, without LibTorch's backtrace or source excerpt.
std::string first_line(const std::exception& error);

// Softmax probabilities (n x K, float32, contiguous) of the model for `images` (n x pixels).
torch::Tensor class_probabilities(Network& network, const float* images, int64_t n);

// The class each sample is assigned to (n int64, on the probabilities' device): the first
// argmax of its softmax probabilities (n x K). Every analysis that groups samples by predicted
// class uses this rule.
torch::Tensor predicted_classes(const torch::Tensor& probabilities);

// The predicted class of each of `images` (n x C x H x W float32 on the CPU), run through the
// model in forward batches of `batch` without gradients (n int64).
torch::Tensor predicted_classes(Network& network, const torch::Tensor& images, int64_t batch);

}  // namespace wna
