// The zoo's custom layers: the input normalisation every model starts with, a fast 2x2 max
// pool, and the row-by-row recurrent reader of the RNN and LSTM models.
#pragma once

#include <cstdint>

#include <torch/nn/module.h>
#include <torch/nn/modules/pooling.h>
#include <torch/nn/modules/rnn.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

namespace wna {

// (x - mean) / std with the dataset's normalisation constants (no trainable state).
class NormalizeImpl : public torch::nn::Module {
 public:
  NormalizeImpl(double mean, double std);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  double mean_;
  double std_;
};
TORCH_MODULE(Normalize);

// A 2x2, stride-2 max pool (a torch::nn::MaxPool2d with those options): the same values as
// LibTorch's max_pool2d, much faster. Without gradients on the CPU, a direct kernel for NCHW
// and for channels-last float images (the output keeps the layout); otherwise two element-wise
// maxima over row pairs and column pairs (autograd, other devices). Odd sizes fall back to
// max_pool2d.
class MaxPool2x2Impl : public torch::nn::MaxPool2dImpl {
 public:
  MaxPool2x2Impl();
  torch::Tensor forward(const torch::Tensor& x);
};
TORCH_MODULE(MaxPool2x2);

enum class RecurrentCell { kTanhRnn, kLstm };

// Reads an N x C x H x W image one row per step (H steps of C*W features) with a multi-layer,
// batch-first tanh RNN or LSTM; returns the top layer's hidden state after the last row
// (N x hidden_size).
class RowRecurrentImpl : public torch::nn::Module {
 public:
  RowRecurrentImpl(RecurrentCell cell, int64_t row_features, int64_t hidden_size,
                   int64_t num_layers);
  torch::Tensor forward(const torch::Tensor& x);
  RecurrentCell cell() const { return cell_; }

 private:
  RecurrentCell cell_;
  torch::nn::RNN rnn_{nullptr};
  torch::nn::LSTM lstm_{nullptr};
};
TORCH_MODULE(RowRecurrent);

}  // namespace wna
