// libFuzzer target: the structure check of wna model files (src/models/model_file_check.cpp),
// the gate in front of LibTorch. Any input must pass or be refused with a wna::Error.
#include "wna/core/error.hpp"
#include "wna/models/model_file_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    wna::check_wna_model_bytes("fuzz", data, size);
  } catch (const wna::Error&) {
  }
  return 0;
}
