// The named image sets (MNIST, Fashion-MNIST from IDX files; CIFAR-10 from its binary batches)
// loaded from a local data directory, with every file checked before it becomes an ImageSet.
#include "wna/data/datasets.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "wna/core/error.hpp"
#include "wna/data/idx.hpp"

namespace wna {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kCifarSide = 32;
constexpr int64_t kCifarChannels = 3;
constexpr int64_t kCifarPixels = kCifarChannels * kCifarSide * kCifarSide;
constexpr int64_t kCifarRecord = 1 + kCifarPixels;

std::string join(const std::vector<std::string>& items) {
  std::string text;
  for (const auto& item : items) text += (text.empty() ? "" : ", ") + item;
  return text;
}

void require_known_dataset(const std::string& dataset) {
  const auto known = known_datasets();
  if (std::find(known.begin(), known.end(), dataset) == known.end()) {
    throw UsageError("unknown dataset '" + dataset + "' (valid: " + join(known) + ")");
  }
}

// `dir`/`base`, or `dir`/`base`.gz when only the compressed file is there.
std::string idx_file(const fs::path& dir, const std::string& base) {
  const fs::path raw = dir / base;
  const fs::path gz = dir / (base + ".gz");
  if (fs::exists(raw)) return raw.string();
  if (fs::exists(gz)) return gz.string();
  throw Error(raw.string() + ": not found (nor " + gz.filename().string() +
              "); run scripts/fetch_data.sh");
}

std::vector<std::string> cifar_batch_files(const fs::path& dir, const std::string& split) {
  std::vector<std::string> names;
  if (split == "train") {
    for (int i = 1; i <= 5; ++i) names.push_back("data_batch_" + std::to_string(i) + ".bin");
  } else {
    names.push_back("test_batch.bin");
  }
  std::vector<std::string> paths;
  for (const auto& name : names) {
    const fs::path path = dir / name;
    if (!fs::exists(path)) {
      throw Error(path.string() +
                  ": missing; scripts/fetch_data.sh does not fetch CIFAR-10, copy the files of its "
                  "binary version (cifar-10-batches-bin) into " + dir.string());
    }
    paths.push_back(path.string());
  }
  return paths;
}

// Number of records in a CIFAR-10 batch file, checked to be a whole, positive number.
int64_t cifar_record_count(const std::string& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) throw Error(path + ": no such file");
  const uintmax_t length = fs::file_size(path, ec);
  if (ec) throw Error(path + ": cannot read the file size: " + ec.message());
  if (length == 0 || length % kCifarRecord != 0) {
    throw Error(path + ": length " + std::to_string(length) +
                " is not a positive multiple of the " + std::to_string(kCifarRecord) +
                "-byte CIFAR-10 record");
  }
  return static_cast<int64_t>(length / kCifarRecord);
}

}  // namespace

std::vector<std::string> known_datasets() { return {"mnist", "fashion-mnist", "cifar10"}; }

std::vector<std::string> class_names_for(const std::string& dataset) {
  require_known_dataset(dataset);
  if (dataset == "mnist") return {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
  if (dataset == "fashion-mnist") {
    return {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
            "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  }
  return {"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"};
}

ImageSet load_dataset(const std::string& dataset, const std::string& split,
                      const std::string& data_dir) {
  require_known_dataset(dataset);
  if (split != "train" && split != "test") {
    throw UsageError("unknown split '" + split + "' of " + dataset + " (valid: train, test)");
  }
  const fs::path dir = fs::path(data_dir) / dataset;
  const std::string name = dataset + "/" + split;
  if (dataset == "cifar10") return read_cifar10_binary(cifar_batch_files(dir, split), name);

  const std::string prefix = split == "train" ? "train" : "t10k";
  const std::string images = idx_file(dir, prefix + "-images-idx3-ubyte");
  const std::string labels = idx_file(dir, prefix + "-labels-idx1-ubyte");
  return image_set_from_idx(images, labels, class_names_for(dataset), name);
}

ImageSet image_set_from_idx(const std::string& images_path, const std::string& labels_path,
                            const std::vector<std::string>& class_names, const std::string& name) {
  if (class_names.empty()) throw Error(name + ": no class names given");
  IdxArray images = read_idx(images_path);
  if (images.dims.size() != 3) {
    throw Error(images_path + ": expected images of rank 3 (N x H x W), found rank " +
                std::to_string(images.dims.size()));
  }
  IdxArray labels = read_idx(labels_path);
  if (labels.dims.size() != 1) {
    throw Error(labels_path + ": expected labels of rank 1, found rank " +
                std::to_string(labels.dims.size()));
  }
  const int64_t count = images.dims[0];
  if (labels.dims[0] != count) {
    throw Error(labels_path + ": " + std::to_string(labels.dims[0]) + " labels but " +
                images_path + " has " + std::to_string(count) + " images");
  }
  const auto num_classes = static_cast<int64_t>(class_names.size());
  for (size_t i = 0; i < labels.data.size(); ++i) {
    if (labels.data[i] >= num_classes) {
      throw Error(labels_path + ": label " + std::to_string(labels.data[i]) + " at index " +
                  std::to_string(i) + " is outside [0, " + std::to_string(num_classes) + ")");
    }
  }

  ImageSet set;
  set.name = name;
  set.files = {images_path, labels_path};
  set.images = torch::from_blob(images.data.data(), {count, 1, images.dims[1], images.dims[2]},
                                torch::kUInt8)
                   .to(torch::kFloat32)
                   .div_(255.0f);
  set.labels = torch::from_blob(labels.data.data(), {count}, torch::kUInt8).to(torch::kInt64);
  set.class_names = class_names;
  return set;
}

ImageSet read_cifar10_binary(const std::vector<std::string>& batch_files, const std::string& name) {
  if (batch_files.empty()) throw Error(name + ": no CIFAR-10 batch files given");
  const std::vector<std::string> class_names = class_names_for("cifar10");
  const auto num_classes = static_cast<int64_t>(class_names.size());

  std::vector<int64_t> record_counts;
  int64_t total = 0;
  for (const auto& path : batch_files) {
    record_counts.push_back(cifar_record_count(path));
    total += record_counts.back();
  }

  torch::Tensor pixels =
      torch::empty({total, kCifarChannels, kCifarSide, kCifarSide}, torch::kUInt8);
  torch::Tensor labels = torch::empty({total}, torch::kInt64);
  uint8_t* pixel_out = pixels.data_ptr<uint8_t>();
  int64_t* label_out = labels.data_ptr<int64_t>();
  int64_t row = 0;
  std::vector<char> record(kCifarRecord);
  for (size_t f = 0; f < batch_files.size(); ++f) {
    const std::string& path = batch_files[f];
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path + ": cannot open: " + std::strerror(errno));
    for (int64_t r = 0; r < record_counts[f]; ++r, ++row) {
      if (!in.read(record.data(), kCifarRecord)) {
        throw Error(path + ": read failed at record " + std::to_string(r));
      }
      const auto label = static_cast<uint8_t>(record[0]);
      if (label >= num_classes) {
        throw Error(path + ": record " + std::to_string(r) + " has label " + std::to_string(label) +
                    ", outside [0, " + std::to_string(num_classes) + ")");
      }
      label_out[row] = label;
      std::memcpy(pixel_out + row * kCifarPixels, record.data() + 1, kCifarPixels);
    }
  }

  ImageSet set;
  set.name = name;
  set.files = batch_files;
  set.images = pixels.to(torch::kFloat32).div_(255.0f);
  set.labels = labels;
  set.class_names = class_names;
  return set;
}

}  // namespace wna
