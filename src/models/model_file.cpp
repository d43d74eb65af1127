// Reading and writing model files (see include/wna/models/model_file.hpp). A wna model file
// is a torch::serialize archive holding the ModelSpec as named entries and the weights as
// the nested archive "weights" (torch::nn::Module::save layout).
#include "wna/models/model_file.hpp"

#include <algorithm>
#include <filesystem>
#include <set>
#include <sstream>

#include <torch/csrc/jit/serialization/import.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>
#include <torch/utils.h>

#include "wna/core/error.hpp"
#include "wna/core/output_file.hpp"
#include "wna/models/model_file_check.hpp"
#include "wna/models/script_network.hpp"
#include "wna/models/zoo.hpp"
#include "wna/version.hpp"

namespace wna {
namespace {

namespace fs = std::filesystem;

constexpr const char* kFormat = "wna-model-1";

std::string shape_string(const torch::Tensor& tensor) {
  std::ostringstream out;
  out << tensor.sizes();
  return out.str();
}

void write_spec(torch::serialize::OutputArchive& archive, const ModelSpec& spec) {
  c10::List<std::string> class_names;
  for (const auto& name : spec.class_names) class_names.push_back(name);
  archive.write("wna_format", c10::IValue(kFormat));
  archive.write("wna_version", c10::IValue(kVersion));
  archive.write("wna_commit", c10::IValue(kGitCommit));
  archive.write("architecture", c10::IValue(spec.architecture));
  archive.write("dataset", c10::IValue(spec.dataset));
  archive.write("channels", c10::IValue(spec.channels));
  archive.write("height", c10::IValue(spec.height));
  archive.write("width", c10::IValue(spec.width));
  archive.write("class_names", c10::IValue(class_names));
  archive.write("norm_mean", c10::IValue(spec.norm_mean));
  archive.write("norm_std", c10::IValue(spec.norm_std));
  archive.write("seed", c10::IValue(static_cast<int64_t>(spec.seed)));
  archive.write("test_accuracy", c10::IValue(spec.test_accuracy));
}

// Reads the metadata entries of a wna model file.
class SpecReader {
 public:
  SpecReader(torch::serialize::InputArchive& archive, const std::string& path)
      : archive_(archive), path_(path) {}

  c10::IValue entry(const std::string& key) {
    c10::IValue value;
    if (!archive_.try_read(key, value)) malformed("no '" + key + "' entry");
    return value;
  }
  std::string string(const std::string& key) {
    const auto value = entry(key);
    if (!value.isString()) malformed("'" + key + "' is not a string");
    return value.toStringRef();
  }
  int64_t integer(const std::string& key) {
    const auto value = entry(key);
    if (!value.isInt()) malformed("'" + key + "' is not an integer");
    return value.toInt();
  }
  double real(const std::string& key) {
    const auto value = entry(key);
    if (!value.isDouble()) malformed("'" + key + "' is not a number");
    return value.toDouble();
  }
  std::vector<std::string> strings(const std::string& key) {
    const auto value = entry(key);
    if (!value.isList()) malformed("'" + key + "' is not a list");
    std::vector<std::string> result;
    for (const auto& element : value.toListRef()) {
      if (!element.isString()) malformed("'" + key + "' is not a list of strings");
      result.push_back(element.toStringRef());
    }
    return result;
  }

  ModelSpec spec() {
    ModelSpec spec;
    spec.architecture = string("architecture");
    spec.dataset = string("dataset");
    spec.channels = integer("channels");
    spec.height = integer("height");
    spec.width = integer("width");
    spec.class_names = strings("class_names");
    spec.norm_mean = real("norm_mean");
    spec.norm_std = real("norm_std");
    spec.seed = static_cast<uint64_t>(integer("seed"));
    spec.test_accuracy = real("test_accuracy");
    return spec;
  }

 private:
  [[noreturn]] void malformed(const std::string& detail) {
    throw Error(path_ + ": malformed wna model file: " + detail);
  }

  torch::serialize::InputArchive& archive_;
  const std::string& path_;
};

// Copies the tensors of `archive` (written by Module::save) into `module`, checking that
// every parameter and buffer is present with the same shape and type and nothing is extra.
// Throws std::runtime_error describing the first difference.
void read_weights(torch::nn::Module& module, torch::serialize::InputArchive& archive,
                  const std::string& prefix) {
  std::set<std::string> expected = {"training"};  // every archive records its training flag
  auto read_tensor = [&](const std::string& name, torch::Tensor& target, bool is_buffer) {
    expected.insert(name);
    torch::Tensor stored;
    if (!archive.try_read(name, stored, is_buffer)) {
      throw std::runtime_error("missing tensor '" + prefix + name + "'");
    }
    if (!stored.sizes().equals(target.sizes()) || stored.scalar_type() != target.scalar_type()) {
      throw std::runtime_error("tensor '" + prefix + name + "' is " + shape_string(stored) + " " +
                               c10::toString(stored.scalar_type()) +
                               " in the file, the architecture needs " + shape_string(target) +
                               " " + c10::toString(target.scalar_type()));
    }
    torch::NoGradGuard no_grad;
    target.copy_(stored);
  };
  for (auto& parameter : module.named_parameters(/*recurse=*/false)) {
    read_tensor(parameter.key(), parameter.value(), false);
  }
  for (auto& buffer : module.named_buffers(/*recurse=*/false)) {
    read_tensor(buffer.key(), buffer.value(), true);
  }
  for (const auto& child : module.named_children()) {
    expected.insert(child.key());
    torch::serialize::InputArchive child_archive;
    if (!archive.try_read(child.key(), child_archive)) {
      throw std::runtime_error("missing submodule '" + prefix + child.key() + "'");
    }
    read_weights(*child.value(), child_archive, prefix + child.key() + ".");
  }
  for (const auto& key : archive.keys()) {
    if (!expected.count(key)) throw std::runtime_error("unexpected entry '" + prefix + key + "'");
  }
}

}  // namespace

void save_model(Network& network, AtomicFile& file) {
  const auto& spec = network.spec();
  const auto architectures = zoo_architectures();
  if (std::find(architectures.begin(), architectures.end(), spec.architecture) == architectures.end()) {
    throw UsageError(file.target() + ": only zoo models can be saved as wna model files (this one is '" +
                     spec.architecture + "')");
  }
  torch::serialize::OutputArchive archive;
  write_spec(archive, spec);
  torch::serialize::OutputArchive weights;
  network.module().save(weights);
  archive.write("weights", weights);
  try {
    archive.save_to([&](const void* data, size_t size) {
      file.write(data, size);
      return size;
    });
  } catch (const c10::Error& e) {
    throw Error(file.target() + ": cannot write model file: " + first_line(e));
  }
  file.commit();
}

void save_model(Network& network, const std::string& path, bool overwrite) {
  const fs::path parent = fs::path(path).parent_path();
  std::error_code error;
  if (!parent.empty()) fs::create_directories(parent, error);
  if (error) throw Error(path + ": cannot create directory " + parent.string() + ": " + error.message());
  check_output_path("model file", path, overwrite, "pass --overwrite / set overwrite = true");
  AtomicFile file(path, overwrite);
  save_model(network, file);
}

std::shared_ptr<Network> load_model(const std::string& path) {
  if (!fs::exists(path)) throw Error(path + ": no such model file");
  check_wna_model_file(path);  // before LibTorch, which would run code in the file
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path);
  } catch (const c10::Error& e) {
    throw Error(path + ": not a wna model file (" + first_line(e) + ")");
  }
  c10::IValue format;
  if (!archive.try_read("wna_format", format)) {
    throw Error(path + ": not a wna model file (no 'wna_format' entry)");
  }
  if (!format.isString() || format.toStringRef() != kFormat) {
    throw Error(path + ": unsupported wna model format (this build reads '" + std::string(kFormat) +
                "')");
  }
  const ModelSpec spec = SpecReader(archive, path).spec();

  std::shared_ptr<Network> network;
  try {
    network = make_zoo_model(spec);
  } catch (const Error& e) {
    throw Error(path + ": " + e.what());
  }
  try {
    torch::serialize::InputArchive weights;
    if (!archive.try_read("weights", weights)) throw std::runtime_error("no 'weights' entry");
    read_weights(network->module(), weights, "");
  } catch (const c10::Error& e) {
    throw Error(path + ": weights do not match architecture '" + spec.architecture +
                "': " + first_line(e));
  } catch (const std::runtime_error& e) {
    throw Error(path + ": weights do not match architecture '" + spec.architecture +
                "': " + e.what());
  }
  network->module().eval();
  return network;
}

std::shared_ptr<Network> load_torchscript(const std::string& path, const ModelSpec& spec) {
  if (!fs::exists(path)) throw Error(path + ": no such TorchScript file");
  torch::jit::Module script;
  try {
    script = torch::jit::load(path);
  } catch (const c10::Error& e) {
    throw Error(path + ": cannot load TorchScript module: " + first_line(e));
  }
  if (!script.find_method("forward")) {
    throw Error(path + ": the TorchScript module has no forward method");
  }
  ModelSpec script_spec = spec;
  script_spec.architecture = "torchscript";
  auto network = std::make_shared<ScriptNetwork>(std::move(script), std::move(script_spec), path);
  network->module().eval();
  return network;
}

}  // namespace wna
