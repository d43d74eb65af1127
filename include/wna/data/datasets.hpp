// The named image sets wna knows (MNIST, Fashion-MNIST, CIFAR-10) loaded from a data
// directory prepared by scripts/fetch_data.sh; nothing is downloaded at run time.
#pragma once

#include <string>
#include <vector>

#include "wna/data/image_set.hpp"

namespace wna {

// "mnist", "fashion-mnist", "cifar10".
std::vector<std::string> known_datasets();

// Loads split "train" or "test" of `dataset` from `data_dir`/<dataset>/ (files named as the
// originals, raw or .gz). Throws wna::Error naming the missing/corrupt file and how to fetch it.
ImageSet load_dataset(const std::string& dataset, const std::string& split,
                      const std::string& data_dir);

// Builds an ImageSet from IDX image and label files (validates that counts agree).
ImageSet image_set_from_idx(const std::string& images_path, const std::string& labels_path,
                            const std::vector<std::string>& class_names, const std::string& name);

// CIFAR-10 binary format: records of 1 label byte + 3072 pixel bytes (3 x 32 x 32).
ImageSet read_cifar10_binary(const std::vector<std::string>& batch_files, const std::string& name);

std::vector<std::string> class_names_for(const std::string& dataset);

}  // namespace wna
