// Config keys declared once: each key's schema entry (type, default, valid values, help, what
// it changes) is bound to the settings field it fills. The same table gives the schema (and so
// the template, docs/config.md and the checkpoint fingerprint) and reads a validated Config
// into the settings, so a key's default lives in exactly one place.
//
//   KeyTable<StcSettings> keys("stc");
//   keys.add({.key = "shuffles", .type = KeyType::Integer, .default_value = "10", .help = "...", .min = 1},
//            [](StcSettings& s) -> int64_t& { return s.shuffles; });
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "wna/config/config.hpp"

namespace wna {
namespace key_table_detail {

inline void assign(int64_t& field, const Config& config, const std::string& name) { field = config.integer(name); }
inline void assign(int& field, const Config& config, const std::string& name) {
  field = static_cast<int>(config.integer(name));
}
inline void assign(uint64_t& field, const Config& config, const std::string& name) {
  field = static_cast<uint64_t>(config.integer(name));
}
inline void assign(double& field, const Config& config, const std::string& name) { field = config.real(name); }
inline void assign(bool& field, const Config& config, const std::string& name) { field = config.boolean(name); }
inline void assign(std::string& field, const Config& config, const std::string& name) { field = config.text(name); }
inline void assign(std::vector<double>& field, const Config& config, const std::string& name) {
  field = config.real_list(name);
}
inline void assign(std::vector<std::string>& field, const Config& config, const std::string& name) {
  field = config.text_list(name);
}

}  // namespace key_table_detail

template <class Settings>
class KeyTable {
 public:
  using Reader = std::function<void(Settings&, const Config&, const std::string& name)>;

  // Keys added without a section get this one.
  explicit KeyTable(std::string section = "") : section_(std::move(section)) {}

  // `bind` is either a projection `Field& (Settings&)` (int64_t, int, uint64_t, double, bool,
  // std::string or a vector of double or std::string) or a reader
  // `void (Settings&, const Config&, const std::string& name)` for fields of other types.
  template <class Bind>
  KeyTable& add(KeySpec spec, Bind bind) {
    if (spec.section.empty()) spec.section = section_;
    if constexpr (std::is_invocable_v<Bind, Settings&>) {
      readers_.push_back([bind](Settings& settings, const Config& config, const std::string& name) {
        key_table_detail::assign(bind(settings), config, name);
      });
    } else {
      readers_.push_back(Reader(bind));
    }
    schema_.push_back(std::move(spec));
    return *this;
  }

  const ConfigSchema& schema() const { return schema_; }

  // Every bound field of `settings` from `config` (which must hold this table's keys).
  void read(const Config& config, Settings& settings) const {
    for (size_t i = 0; i < schema_.size(); ++i) readers_[i](settings, config, schema_[i].name());
  }
  Settings read(const Config& config) const {
    Settings settings{};
    read(config, settings);
    return settings;
  }
  // The settings at every key's default.
  Settings defaults() const { return read(default_config(schema_)); }

 private:
  std::string section_;
  ConfigSchema schema_;
  std::vector<Reader> readers_;
};

}  // namespace wna
