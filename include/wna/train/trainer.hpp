// Training and evaluation of zoo models (the original README's `train`): Adam, cosine
// annealing from lr_max to lr_min, weight decay, early stopping on validation accuracy.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include <torch/types.h>

#include "wna/data/image_set.hpp"
#include "wna/models/network.hpp"

namespace wna {

struct TrainOptions {
  int64_t max_epochs = 100;      // also the cosine schedule's period
  int64_t patience = 5;          // epochs without a better validation accuracy before stopping
  double lr_max = 1e-2;
  double lr_min = 1e-4;
  double weight_decay = 1e-4;
  int64_t batch_size = 64;
  uint64_t seed = 1;             // weight init is seeded by the caller; this seeds the batches
};

struct EpochRecord {
  int64_t epoch = 0;             // 1-based
  double learning_rate = 0;
  double train_loss = 0, train_accuracy = 0;
  double validation_loss = 0, validation_accuracy = 0;
  double seconds = 0;
};

struct TrainReport {
  std::vector<EpochRecord> epochs;
  int64_t best_epoch = 0;        // the weights left in the network are this epoch's
  double best_validation_accuracy = 0;
  bool stopped_early = false;
};

struct Evaluation {
  double loss = 0, accuracy = 0;
  torch::Tensor confusion;       // K x K int64, rows = true class, columns = predicted
};

// Cosine-annealed learning rate of `epoch` (0-based) over `period` epochs.
double cosine_learning_rate(const TrainOptions& options, int64_t epoch);

// Trains `network` in place; the best validation epoch's weights are restored at the end.
TrainReport train(Network& network, const ImageSet& train_set, const ImageSet& validation_set,
                  const TrainOptions& options,
                  const std::function<void(const EpochRecord&)>& on_epoch = {});

// Loss (cross-entropy on logits), accuracy and confusion matrix in eval mode, no gradients.
Evaluation evaluate(Network& network, const ImageSet& set, int64_t batch_size = 1000);

}  // namespace wna
