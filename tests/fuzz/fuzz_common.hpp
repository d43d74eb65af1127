// Shared by the libFuzzer targets: the input written to a file of this process (the readers
// under test take paths), on a tmpfs when there is one.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

namespace wna::fuzz {

// Writes `size` bytes at `data` to a per-process file named with `suffix`; returns its path.
inline std::string input_file(const uint8_t* data, size_t size, const std::string& suffix) {
  static const std::string directory = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
  const std::string path = directory + "/wna_fuzz_" + std::to_string(getpid()) + suffix;
  FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) return path;
  if (size > 0) std::fwrite(data, 1, size, file);
  std::fclose(file);
  return path;
}

}  // namespace wna::fuzz
