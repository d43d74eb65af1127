// libFuzzer target: the IDX reader (src/data/idx.cpp), raw and gzip. Any input must give an
// array that matches its header or a wna::Error naming the file; nothing else.
#include "fuzz_common.hpp"
#include "wna/core/error.hpp"
#include "wna/data/idx.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  for (const char* suffix : {".idx", ".idx.gz"}) {
    const std::string path = wna::fuzz::input_file(data, size, suffix);
    try {
      const wna::IdxArray array = wna::read_idx(path);
      size_t elements = 1;
      for (const auto dim : array.dims) elements *= static_cast<size_t>(dim);
      if (elements != array.data.size()) __builtin_trap();  // the header and the payload must agree
    } catch (const wna::Error&) {
    }
  }
  return 0;
}
