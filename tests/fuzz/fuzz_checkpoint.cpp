// libFuzzer target: the checkpoint decoder and the checks of a decoded state
// (src/engine/checkpoint_file.cpp). Any input must decode to a state that check_run_state
// accepts or refuses with a wna::Error; nothing else.
#include <string>

#include "wna/core/error.hpp"
#include "wna/engine/checkpoint_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const wna::RunState state = wna::decode_checkpoint("fuzz", std::string(reinterpret_cast<const char*>(data), size));
    wna::check_run_state("fuzz", state, {0, 100}, {4, 0, 6});
    (void)wna::checkpoint_digest(state);
  } catch (const wna::Error&) {
  }
  return 0;
}
