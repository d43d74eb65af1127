// Helpers shared by the tests: where the data and scratch directories are.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>

#include <unistd.h>

namespace wna::test {

inline std::string data_dir() {
  const char* dir = std::getenv("WNA_DATA_DIR");
  return dir ? dir : "data";
}

// A fresh empty directory for one test, removed and recreated on each call. The process id
// keeps tests that ctest runs in parallel (one process each) out of each other's way.
inline std::filesystem::path scratch_dir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() /
             ("wna_test_" + name + "_" + std::to_string(static_cast<long>(getpid())));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace wna::test
