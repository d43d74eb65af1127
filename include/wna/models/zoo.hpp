// The model zoo: logistic regression, MLP, the authors' LeNet, the original README's simple
// and complex CNNs (ReLU added), a row-by-row RNN and LSTM. Shapes come from the ModelSpec.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "wna/models/network.hpp"

namespace wna {

// "logreg", "mlp", "lenet", "simple_cnn", "complex_cnn", "rnn", "lstm".
std::vector<std::string> zoo_architectures();

// A freshly initialised zoo model for spec.architecture and spec's input shape/classes.
// Throws wna::UsageError naming the architecture and the valid ones when unknown.
std::shared_ptr<Network> make_zoo_model(const ModelSpec& spec);

}  // namespace wna
