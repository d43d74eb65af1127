// The zoo's custom layers (see include/wna/models/layers.hpp).
#include "wna/models/layers.hpp"

#include <tuple>

#include "wna/models/max_pool_2x2.hpp"

namespace wna {

NormalizeImpl::NormalizeImpl(double mean, double std) : mean_(mean), std_(std) {}

torch::Tensor NormalizeImpl::forward(const torch::Tensor& x) { return (x - mean_) / std_; }

RowRecurrentImpl::RowRecurrentImpl(RecurrentCell cell, int64_t row_features, int64_t hidden_size,
                                   int64_t num_layers)
    : cell_(cell) {
  if (cell == RecurrentCell::kTanhRnn) {
    rnn_ = register_module("rnn", torch::nn::RNN(torch::nn::RNNOptions(row_features, hidden_size)
                                                     .num_layers(num_layers)
                                                     .nonlinearity(torch::kTanh)
                                                     .batch_first(true)));
  } else {
    lstm_ =
        register_module("lstm", torch::nn::LSTM(torch::nn::LSTMOptions(row_features, hidden_size)
                                                    .num_layers(num_layers)
                                                    .batch_first(true)));
  }
}

torch::Tensor RowRecurrentImpl::forward(const torch::Tensor& x) {
  // N x C x H x W -> N x H x (C*W): step t sees row t of every channel.
  const auto rows = x.permute({0, 2, 1, 3}).reshape({x.size(0), x.size(2), x.size(1) * x.size(3)});
  const auto outputs = cell_ == RecurrentCell::kTanhRnn ? std::get<0>(rnn_->forward(rows))
                                                        : std::get<0>(lstm_->forward(rows));
  return outputs.select(1, -1);  // batch-first outputs are the top layer's hidden states
}

MaxPool2x2Impl::MaxPool2x2Impl() : torch::nn::MaxPool2dImpl(torch::nn::MaxPool2dOptions(2)) {}

torch::Tensor MaxPool2x2Impl::forward(const torch::Tensor& x) {
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  if (h % 2 != 0 || w % 2 != 0) return torch::nn::MaxPool2dImpl::forward(x);
  if (!torch::GradMode::is_enabled() && max_pool2x2_kernel_fits(x)) return max_pool2x2_kernel(x);
  if (!x.is_contiguous()) return torch::nn::MaxPool2dImpl::forward(x);
  const auto rows = x.view({n, c, h / 2, 2, w});
  const auto row_max = torch::maximum(rows.select(3, 0), rows.select(3, 1)).view({n, c, h / 2, w / 2, 2});
  return torch::maximum(row_max.select(4, 0), row_max.select(4, 1));
}

}  // namespace wna
