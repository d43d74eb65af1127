// Helpers shared by the tests: where the data and scratch directories are.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>

namespace wna::test {

inline std::string data_dir() {
  const char* dir = std::getenv("WNA_DATA_DIR");
  return dir ? dir : "data";
}

// A fresh empty directory for one test, removed and recreated on each call.
inline std::filesystem::path scratch_dir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / ("wna_test_" + name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace wna::test
