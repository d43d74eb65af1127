// GoogleTest entry point for the unit tests: fixes LibTorch's thread count and malloc reuse.
#include <gtest/gtest.h>

#include "wna/core/runtime.hpp"

int main(int argc, char** argv) {
  wna::configure_process_memory();
  wna::set_torch_threads(1);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
