// Reader for the IDX format of MNIST / Fashion-MNIST, raw or gzip-compressed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace wna {

// An IDX file's contents: dimensions and the raw unsigned bytes (only the ubyte type 0x08,
// the one the image sets use, is accepted).
struct IdxArray {
  std::vector<int64_t> dims;
  std::vector<uint8_t> data;  // product(dims) bytes, row-major
};

// Reads `path` (".gz" is decompressed). Validates the magic number, the data type, the rank,
// and that the payload length equals the product of the dimensions. Throws wna::Error with
// the file name and what is wrong on any mismatch (truncated, trailing bytes, bad magic...).
IdxArray read_idx(const std::string& path);

}  // namespace wna
