// The configuration keys of wna_train and their defaults (the original README's `train`).
#include "wna/train/train_config.hpp"

#include <fmt/format.h>

#include "wna/core/error.hpp"
#include "wna/train/poison.hpp"
#include "wna/models/zoo.hpp"

namespace wna {

ConfigSchema training_schema() {
  ConfigSchema schema;
  auto add = [&](KeySpec spec) { spec.section = "train"; schema.push_back(std::move(spec)); };
  add({.key = "architecture", .type = KeyType::Text, .default_value = "lenet",
       .help = "zoo model to train", .choices = zoo_architectures()});
  add({.key = "dataset", .type = KeyType::Text, .default_value = "mnist",
       .help = "image set under data_dir", .choices = {"mnist", "fashion-mnist", "cifar10"}});
  add({.key = "data_dir", .type = KeyType::Text, .default_value = "data",
       .help = "directory prepared by scripts/fetch_data.sh"});
  add({.key = "output", .type = KeyType::Text, .help = "model file to write", .required = true});
  add({.key = "overwrite", .type = KeyType::Boolean, .default_value = "false",
       .help = "replace an existing model file"});
  add({.key = "seed", .type = KeyType::Integer, .default_value = "1",
       .help = "seeds weight init, the train/validation split and the batches", .min = 0});
  add({.key = "validation_fraction", .type = KeyType::Real, .default_value = "0.2",
       .help = "share of the training set held out for early stopping", .min = 0.01, .max = 0.9});
  add({.key = "train_subset", .type = KeyType::Integer, .default_value = "0",
       .help = "train on this many training images (0: all)", .min = 0});
  add({.key = "normalize", .type = KeyType::Boolean, .default_value = "false",
       .help = "feed (x - mean) / std with the training set's pixel mean and std (recorded in the model)"});
  add({.key = "batch_size", .type = KeyType::Integer, .default_value = "64",
       .help = "mini-batch size", .min = 1, .max = 65536});
  add({.key = "max_epochs", .type = KeyType::Integer, .default_value = "100",
       .help = "epoch limit, also the cosine schedule's period", .min = 1, .max = 10000});
  add({.key = "patience", .type = KeyType::Integer, .default_value = "5",
       .help = "early stopping: epochs without a better validation accuracy", .min = 1});
  add({.key = "lr_max", .type = KeyType::Real, .default_value = "0.01",
       .help = "initial learning rate (Adam)", .min = 0, .max = 10});
  add({.key = "lr_min", .type = KeyType::Real, .default_value = "0.0001",
       .help = "final learning rate of the cosine schedule", .min = 0, .max = 10});
  add({.key = "weight_decay", .type = KeyType::Real, .default_value = "0.0001",
       .help = "Adam weight decay", .min = 0, .max = 1});
  add({.key = "threads", .type = KeyType::Integer, .default_value = "0",
       .help = "LibTorch intra-op threads (0: all cores)", .min = 0, .max = 1024});
  const ConfigSchema poison = poison_schema();  // the [poison] section: a backdoor, off by default
  schema.insert(schema.end(), poison.begin(), poison.end());
  return schema;
}

TrainOptions training_options(const Config& config) {
  TrainOptions options;
  options.max_epochs = config.integer("train.max_epochs");
  options.patience = config.integer("train.patience");
  options.lr_max = config.real("train.lr_max");
  options.lr_min = config.real("train.lr_min");
  if (options.lr_min > options.lr_max)
    throw UsageError(fmt::format("train.lr_min = {} is above train.lr_max = {}: the cosine schedule anneals from "
                                 "lr_max down to lr_min", options.lr_min, options.lr_max));
  options.weight_decay = config.real("train.weight_decay");
  options.batch_size = config.integer("train.batch_size");
  options.seed = static_cast<uint64_t>(config.integer("train.seed"));
  return options;
}

}  // namespace wna
