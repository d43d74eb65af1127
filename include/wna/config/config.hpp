// INI configuration: a schema of documented keys (type, default, valid range), parsing of an
// INI file plus `section.key=value` overrides, and validation that names the file, line, key
// and what would be valid. The same schema prints the commented template and docs/config.md.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace wna {

enum class KeyType { Integer, Real, Boolean, Text, RealList, TextList };

// What a key changes. Results: the archive's numbers (its canonical value enters the checkpoint
// fingerprint). FileContent: a file whose bytes change the numbers (its hash enters the
// fingerprint, not its path). None: where or how the run works (output, threads, progress...).
enum class Effect { None, Results, FileContent };

struct KeySpec {
  std::string section;
  std::string key;
  KeyType type = KeyType::Text;
  std::string default_value;              // "" with required = true: must be given
  std::string help;
  bool required = false;
  std::optional<double> min, max;         // numbers and every element of number lists
  std::vector<std::string> choices;       // allowed text values (empty: any)
  bool must_exist = false;                // text is a path that must exist (if non-empty)
  Effect effect = Effect::Results;
  // The value wna behaved as if this key had before the key existed (empty: the default): an
  // archive's stored config without the key means this value (resolve_archived_config_text), and
  // a checkpoint fingerprint leaves the key out at this value, so earlier checkpoints still match.
  std::string implied_before;

  std::string name() const { return section + "." + key; }
};

using ConfigSchema = std::vector<KeySpec>;

// A validated configuration: every schema key has a value (given or default).
class Config {
 public:
  int64_t integer(const std::string& name) const;
  double real(const std::string& name) const;
  bool boolean(const std::string& name) const;
  const std::string& text(const std::string& name) const;
  std::vector<double> real_list(const std::string& name) const;
  std::vector<std::string> text_list(const std::string& name) const;

  // The resolved configuration as INI text (every key, sorted by schema order).
  std::string to_ini() const;
  // The value in one spelling per meaning ("1e3" and "1_000" -> "1000", "yes" -> "true"),
  // for fingerprints.
  std::string canonical(const std::string& name) const;
  const ConfigSchema& schema() const { return schema_; }
  const std::string& source() const { return source_; }

 private:
  friend Config resolve_config_text(const ConfigSchema&, const std::string&, const std::string&,
                                    const std::vector<std::string>&);
  const std::string& raw(const std::string& name) const;
  std::string source_;
  ConfigSchema schema_;
  std::map<std::string, std::string> values_;  // "section.key" -> text
};

// Parses `ini_path`, applies `overrides` ("section.key=value"), validates against `schema`.
// Throws wna::UsageError with one line: "<file>:<line>: <section.key> = '<value>': <reason>".
Config resolve_config(const ConfigSchema& schema, const std::string& ini_path,
                      const std::vector<std::string>& overrides);

// The same for INI text (e.g. an archive's `config` attribute); `ini_path` names it in messages.
Config resolve_config_text(const ConfigSchema& schema, const std::string& ini_path, const std::string& ini_text,
                           const std::vector<std::string>& overrides);

// An archive's stored config (Config::to_ini of the run that wrote it, maybe an earlier wna's):
// keys the text lacks take their KeySpec::implied_before where they have one, else their default;
// then `overrides` as in resolve_config_text.
Config resolve_archived_config_text(const ConfigSchema& schema, const std::string& label, const std::string& text,
                                    const std::vector<std::string>& overrides = {});

// Every key at its default (a schema with a required key throws wna::UsageError).
Config default_config(const ConfigSchema& schema);

// A complete commented INI template with every key, its default and its help text.
std::string config_template(const ConfigSchema& schema, const std::string& title);

// A Markdown table of the schema (section, key, type, default, valid values, meaning).
std::string config_markdown(const ConfigSchema& schema);

// Splits "a, b ,c" into trimmed items (empty string -> empty list).
std::vector<std::string> split_list(const std::string& text);

}  // namespace wna
