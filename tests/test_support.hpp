// Helpers shared by the tests: where the data and scratch directories are, and the check that
// an action fails with a usage error naming what it should.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "wna/core/error.hpp"

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

// Runs `action`, expecting a wna::UsageError whose message contains every one of `fragments`.
template <typename Action>
void expect_usage_error(Action&& action, const std::vector<std::string>& fragments) {
  try {
    action();
    ADD_FAILURE() << "expected a UsageError";
  } catch (const UsageError& e) {
    const std::string message = e.what();
    for (const auto& fragment : fragments)
      EXPECT_NE(message.find(fragment), std::string::npos) << "message '" << message << "' lacks '" << fragment << "'";
  }
}

}  // namespace wna::test
