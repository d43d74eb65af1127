// The configuration keys of wna_train (one INI section, [train]).
#pragma once

#include "wna/config/config.hpp"
#include "wna/train/trainer.hpp"

namespace wna {

ConfigSchema training_schema();

// The optimiser settings of a validated training config.
TrainOptions training_options(const Config& config);

}  // namespace wna
