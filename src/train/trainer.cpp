// Training loop and evaluation (see include/wna/train/trainer.hpp).
#include "wna/train/trainer.hpp"

#include <chrono>
#include <cmath>

#include <torch/nn/functional/loss.h>
#include <torch/optim/adam.h>

namespace wna {
namespace {

// Copies of every parameter and buffer, to restore the best epoch's weights.
std::vector<torch::Tensor> snapshot(torch::nn::Module& module) {
  std::vector<torch::Tensor> state;
  for (const auto& p : module.parameters()) state.push_back(p.detach().clone());
  for (const auto& b : module.buffers()) state.push_back(b.detach().clone());
  return state;
}

void restore(torch::nn::Module& module, const std::vector<torch::Tensor>& state) {
  torch::NoGradGuard no_grad;
  size_t i = 0;
  for (auto& p : module.parameters()) p.copy_(state[i++]);
  for (auto& b : module.buffers()) b.copy_(state[i++]);
}

}  // namespace

double cosine_learning_rate(const TrainOptions& options, int64_t epoch) {
  const double progress = static_cast<double>(epoch) / static_cast<double>(options.max_epochs);
  return options.lr_min + 0.5 * (options.lr_max - options.lr_min) * (1.0 + std::cos(M_PI * progress));
}

Evaluation evaluate(Network& network, const ImageSet& set, int64_t batch_size) {
  torch::NoGradGuard no_grad;
  network.module().eval();
  const int64_t classes = set.num_classes();
  Evaluation result;
  result.confusion = torch::zeros({classes, classes}, torch::kInt64);
  double loss_sum = 0;
  for (int64_t start = 0; start < set.size(); start += batch_size) {
    const int64_t end = std::min(start + batch_size, set.size());
    const auto images = set.images.slice(0, start, end);
    const auto labels = set.labels.slice(0, start, end);
    const auto logits = network.forward(images);
    loss_sum += torch::nn::functional::cross_entropy(
                    logits, labels, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
                    .item<double>();
    const auto predicted = logits.argmax(1);
    result.confusion.view(-1).index_add_(0, labels * classes + predicted,
                                         torch::ones_like(labels));
  }
  const double n = static_cast<double>(set.size());
  result.loss = loss_sum / n;
  result.accuracy = result.confusion.diagonal().sum().item<double>() / n;
  return result;
}

TrainReport train(Network& network, const ImageSet& train_set, const ImageSet& validation_set,
                  const TrainOptions& options,
                  const std::function<void(const EpochRecord&)>& on_epoch) {
  auto& module = network.module();
  torch::optim::Adam optimizer(
      module.parameters(), torch::optim::AdamOptions(options.lr_max).weight_decay(options.weight_decay));
  const BatchSampler sampler(train_set.size(), options.batch_size, options.seed);

  TrainReport report;
  std::vector<torch::Tensor> best_state = snapshot(module);
  int64_t epochs_without_improvement = 0;
  for (int64_t epoch = 0; epoch < options.max_epochs; ++epoch) {
    const auto started = std::chrono::steady_clock::now();
    EpochRecord record;
    record.epoch = epoch + 1;
    record.learning_rate = cosine_learning_rate(options, epoch);
    for (auto& group : optimizer.param_groups())
      static_cast<torch::optim::AdamOptions&>(group.options()).lr(record.learning_rate);

    module.train();
    double loss_sum = 0;
    int64_t correct = 0;
    for (const auto& batch : sampler.epoch_batches(epoch)) {
      const auto images = train_set.images.index_select(0, batch);
      const auto labels = train_set.labels.index_select(0, batch);
      optimizer.zero_grad();
      const auto logits = network.forward(images);
      const auto loss = torch::nn::functional::cross_entropy(logits, labels);
      loss.backward();
      optimizer.step();
      loss_sum += loss.item<double>() * static_cast<double>(batch.size(0));
      correct += logits.argmax(1).eq(labels).sum().item<int64_t>();
    }
    record.train_loss = loss_sum / static_cast<double>(train_set.size());
    record.train_accuracy = static_cast<double>(correct) / static_cast<double>(train_set.size());

    const Evaluation validation = evaluate(network, validation_set);
    record.validation_loss = validation.loss;
    record.validation_accuracy = validation.accuracy;
    record.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    report.epochs.push_back(record);
    if (on_epoch) on_epoch(record);

    if (record.validation_accuracy > report.best_validation_accuracy || report.best_epoch == 0) {
      report.best_validation_accuracy = record.validation_accuracy;
      report.best_epoch = record.epoch;
      best_state = snapshot(module);
      epochs_without_improvement = 0;
    } else if (++epochs_without_improvement >= options.patience) {
      report.stopped_early = true;
      break;
    }
  }
  restore(module, best_state);
  module.eval();
  return report;
}

}  // namespace wna
