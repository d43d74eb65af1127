// libFuzzer target: the INI config parser and validator (src/config/config.cpp). Any input
// must give a Config or a wna::Error (a usage error naming the line); nothing else.
#include "fuzz_common.hpp"
#include "wna/config/config.hpp"
#include "wna/core/error.hpp"

namespace {

wna::ConfigSchema schema() {
  using wna::KeyType;
  return {
      {.section = "run", .key = "samples", .type = KeyType::Integer, .default_value = "10", .min = 1, .max = 1e15},
      {.section = "run", .key = "rate", .type = KeyType::Real, .default_value = "0.5", .min = 0, .max = 1},
      {.section = "run", .key = "on", .type = KeyType::Boolean, .default_value = "false"},
      {.section = "run", .key = "name", .type = KeyType::Text, .default_value = "x"},
      {.section = "noise", .key = "kind", .type = KeyType::Text, .default_value = "uniform",
       .choices = {"uniform", "gaussian"}},
      {.section = "gamma", .key = "values", .type = KeyType::RealList, .default_value = "0", .min = 0, .max = 1},
      {.section = "sta", .key = "layers", .type = KeyType::TextList, .default_value = ""},
  };
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const wna::ConfigSchema keys = schema();
  const std::string path = wna::fuzz::input_file(data, size, ".ini");
  try {
    const wna::Config config = wna::resolve_config(keys, path, {});
    (void)config.to_ini();
    for (const auto& key : keys) (void)config.canonical(key.name());
  } catch (const wna::Error&) {
  }
  return 0;
}
