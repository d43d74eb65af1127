// INI configuration: parsing with inih, validation against a schema, templates and docs.
#include "wna/config/config.hpp"

#include <ini.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

#include <fmt/format.h>

#include "wna/core/error.hpp"

namespace wna {
namespace {

constexpr int kMaxLineLength = INI_MAX_LINE - 1;  // inih's line buffer

std::string trim(const std::string& text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return "";
  const auto last = text.find_last_not_of(" \t\r\n");
  return text.substr(first, last - first + 1);
}

const char* type_name(KeyType type) {
  switch (type) {
    case KeyType::Integer: return "integer";
    case KeyType::Real: return "real";
    case KeyType::Boolean: return "boolean";
    case KeyType::Text: return "text";
    case KeyType::RealList: return "list of reals";
    case KeyType::TextList: return "list of text";
  }
  return "?";
}

// Levenshtein distance, for "did you mean".
size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1] ? 1 : 0)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string closest_key(const ConfigSchema& schema, const std::string& name) {
  std::string best;
  size_t best_distance = 4;  // suggest only near misses
  for (const auto& spec : schema) {
    const size_t d = edit_distance(name, spec.name());
    if (d < best_distance) best_distance = d, best = spec.name();
  }
  return best;
}

std::optional<double> parse_real(const std::string& text) {
  // Decimal only: strtod would also read hexadecimal ("0x10" = 16), "inf" and "nan".
  if (text.empty() || text.find_first_not_of("0123456789+-.eE") != std::string::npos) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  const double value = std::strtod(text.c_str(), &end);
  if (errno != 0 || *end != '\0' || !std::isfinite(value)) return std::nullopt;
  return value;
}

std::optional<int64_t> parse_integer(const std::string& text) {
  // Accept "1000000", "1_000_000" (exactly, up to 2^63) and "1e6" (up to 2^53, where every
  // integer is still exact in a double); reject fractions.
  std::string digits;
  for (char c : text) if (c != '_') digits += c;
  if (digits.empty()) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  const long long exact = std::strtoll(digits.c_str(), &end, 10);
  if (*end == '\0') return errno == 0 ? std::optional<int64_t>(exact) : std::nullopt;
  const auto value = parse_real(digits);
  if (!value || *value != std::floor(*value) || std::fabs(*value) > 9007199254740992.0) return std::nullopt;
  return static_cast<int64_t>(*value);
}

std::optional<bool> parse_boolean(const std::string& text) {
  std::string lower = text;
  std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
  if (lower == "true" || lower == "yes" || lower == "on" || lower == "1") return true;
  if (lower == "false" || lower == "no" || lower == "off" || lower == "0") return false;
  return std::nullopt;
}

std::string range_text(const KeySpec& spec) {
  if (!spec.choices.empty()) return "one of " + fmt::format("{}", fmt::join(spec.choices, ", "));
  if (spec.min && spec.max) return fmt::format("in [{}, {}]", *spec.min, *spec.max);
  if (spec.min) return fmt::format(">= {}", *spec.min);
  if (spec.max) return fmt::format("<= {}", *spec.max);
  return "";
}

// True when `text` is valid UTF-8 (archives store the config as UTF-8 text).
bool is_utf8(const std::string& text) {
  for (size_t i = 0; i < text.size();) {
    const auto byte = static_cast<unsigned char>(text[i]);
    const size_t length = byte < 0x80 ? 1 : (byte >> 5) == 0x6 ? 2 : (byte >> 4) == 0xE ? 3 : (byte >> 3) == 0x1E ? 4 : 0;
    if (length == 0 || i + length > text.size()) return false;
    for (size_t k = 1; k < length; ++k)
      if ((static_cast<unsigned char>(text[i + k]) >> 6) != 0x2) return false;
    i += length;
  }
  return true;
}

// Returns "" when `value` is valid for `spec`, else the reason.
std::string check_value(const KeySpec& spec, const std::string& value) {
  if (!is_utf8(value)) return "not valid UTF-8 text";
  auto in_range = [&](double x) {
    return (!spec.min || x >= *spec.min) && (!spec.max || x <= *spec.max);
  };
  const std::string expected = fmt::format("expected {}{}{}", type_name(spec.type),
                                           range_text(spec).empty() ? "" : " ", range_text(spec));
  switch (spec.type) {
    case KeyType::Integer: {
      const auto x = parse_integer(value);
      if (!x) {
        const auto real = parse_real(value);
        if (real && *real == std::floor(*real))
          return "exponent notation is exact only up to 2^53 = 9007199254740992; write this integer in digits";
      }
      return x && in_range(static_cast<double>(*x)) ? "" : expected;
    }
    case KeyType::Real: {
      const auto x = parse_real(value);
      return x && in_range(*x) ? "" : expected;
    }
    case KeyType::Boolean: return parse_boolean(value) ? "" : "expected true or false";
    case KeyType::RealList: {
      for (const auto& item : split_list(value)) {
        const auto x = parse_real(item);
        if (!x || !in_range(*x)) return fmt::format("item '{}': {}", item, expected);
      }
      return "";
    }
    case KeyType::TextList:
      if (!spec.choices.empty())
        for (const auto& item : split_list(value))
          if (std::find(spec.choices.begin(), spec.choices.end(), item) == spec.choices.end())
            return fmt::format("item '{}': {}", item, expected);
      return "";
    case KeyType::Text:
      if (!spec.choices.empty() &&
          std::find(spec.choices.begin(), spec.choices.end(), value) == spec.choices.end())
        return expected;
      if (spec.must_exist && !value.empty() && !std::filesystem::exists(value))
        return "no such file or directory";
      return "";
  }
  return "";
}

struct ParsedEntry {
  std::string value;
  int line = 0;
};

struct ParseState {
  std::istream* stream = nullptr;
  int line = 0;
  bool line_indented = false;  // inih passes an indented line on as a continuation
  std::string last_name;
  std::map<std::string, ParsedEntry> entries;
  std::vector<std::pair<std::string, int>> duplicates;
};

char* read_line(char* buffer, int size, void* user) {
  auto* state = static_cast<ParseState*>(user);
  if (!state->stream->getline(buffer, size)) return nullptr;
  ++state->line;
  state->line_indented = buffer[0] == ' ' || buffer[0] == '\t';
  const size_t length = std::strlen(buffer);
  if (length + 1 < static_cast<size_t>(size)) buffer[length] = '\n', buffer[length + 1] = '\0';
  return buffer;
}

int on_entry(void* user, const char* section, const char* key, const char* value) {
  auto* state = static_cast<ParseState*>(user);
  const std::string name = std::string(section) + "." + key;
  if (state->line_indented && name == state->last_name) {  // a list continued on the next line
    state->entries[name].value += "," + trim(value);
    return 1;
  }
  if (state->entries.count(name)) state->duplicates.emplace_back(name, state->line);
  state->entries[name] = ParsedEntry{trim(value), state->line};
  state->last_name = name;
  return 1;
}

// The entries of INI text (one line per problem as wna::UsageError naming `ini_path`).
ParseState parse_ini_text(const std::string& ini_path, const std::string& ini_text) {
  ParseState state;
  if (!ini_text.empty()) {
    std::istringstream lines(ini_text);
    std::string line;
    for (int number = 1; std::getline(lines, line); ++number)
      if (static_cast<int>(line.size()) > kMaxLineLength)
        throw UsageError(fmt::format("{}:{}: line longer than {} characters; continue a long list on "
                                     "indented lines", ini_path, number, kMaxLineLength));
    std::istringstream stream(ini_text);
    state.stream = &stream;
    const int error_line = ini_parse_stream(read_line, &state, on_entry, &state);
    if (error_line > 0)
      throw UsageError(fmt::format("{}:{}: not a valid INI line (expected [section] or key = value)",
                                   ini_path, error_line));
  }
  for (const auto& [name, line] : state.duplicates)
    throw UsageError(fmt::format("{}:{}: {} is given twice", ini_path, line, name));
  state.stream = nullptr;
  return state;
}

}  // namespace

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> items;
  std::stringstream stream(text);
  std::string item;
  while (std::getline(stream, item, ',')) {
    item = trim(item);
    if (!item.empty()) items.push_back(item);
  }
  return items;
}

Config resolve_config(const ConfigSchema& schema, const std::string& ini_path,
                      const std::vector<std::string>& overrides) {
  std::string text;
  if (!ini_path.empty()) {
    if (!std::filesystem::is_regular_file(ini_path))
      throw UsageError(fmt::format("{}: cannot open config file: {}", ini_path,
                                   std::filesystem::exists(ini_path) ? "not a regular file" : "no such file"));
    std::ifstream file(ini_path, std::ios::binary);
    if (!file) throw UsageError(fmt::format("{}: cannot open config file", ini_path));
    text.assign(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
  }
  return resolve_config_text(schema, ini_path, text, overrides);
}

Config resolve_config_text(const ConfigSchema& schema, const std::string& ini_path, const std::string& ini_text,
                           const std::vector<std::string>& overrides) {
  ParseState state = parse_ini_text(ini_path, ini_text);

  const std::string file_label = ini_path.empty() ? "(no config file)" : ini_path;
  for (const auto& override_text : overrides) {
    const auto equals = override_text.find('=');
    if (equals == std::string::npos || override_text.find('.') > equals)
      throw UsageError(fmt::format("--set '{}': expected section.key=value", override_text));
    state.entries[trim(override_text.substr(0, equals))] =
        ParsedEntry{trim(override_text.substr(equals + 1)), -1};
  }

  auto where = [&](const ParsedEntry& entry) {
    return entry.line < 0 ? std::string("--set") : fmt::format("{}:{}", file_label, entry.line);
  };

  for (const auto& [name, entry] : state.entries) {
    const std::string& key = name;  // a lambda cannot capture a structured binding in C++17
    const bool known = std::any_of(schema.begin(), schema.end(), [&](const KeySpec& s) { return s.name() == key; });
    if (!known) {
      const std::string suggestion = closest_key(schema, name);
      throw UsageError(fmt::format("{}: unknown key {}{}", where(entry), name,
                                   suggestion.empty() ? "" : "; did you mean " + suggestion + "?"));
    }
  }

  Config config;
  config.source_ = ini_path;
  config.schema_ = schema;
  for (const auto& spec : schema) {
    const auto found = state.entries.find(spec.name());
    if (found == state.entries.end()) {
      if (spec.required)
        throw UsageError(fmt::format("{}: missing required key {} ({})", file_label, spec.name(),
                                     spec.help));
      config.values_[spec.name()] = spec.default_value;
      continue;
    }
    const std::string reason = check_value(spec, found->second.value);
    if (!reason.empty())
      throw UsageError(fmt::format("{}: {} = '{}': {}", where(found->second), spec.name(),
                                   found->second.value, reason));
    config.values_[spec.name()] = found->second.value;
  }
  return config;
}

Config resolve_archived_config_text(const ConfigSchema& schema, const std::string& label, const std::string& text,
                                    const std::vector<std::string>& overrides) {
  const ParseState state = parse_ini_text(label, text);
  std::vector<std::string> implied_then_overrides;  // the later of two entries for a key wins
  for (const KeySpec& spec : schema)
    if (!spec.implied_before.empty() && !state.entries.count(spec.name()))
      implied_then_overrides.push_back(spec.name() + "=" + spec.implied_before);
  implied_then_overrides.insert(implied_then_overrides.end(), overrides.begin(), overrides.end());
  return resolve_config_text(schema, label, text, implied_then_overrides);
}

const std::string& Config::raw(const std::string& name) const {
  const auto found = values_.find(name);
  if (found == values_.end()) throw Error("internal: config key " + name + " is not in the schema");
  return found->second;
}

int64_t Config::integer(const std::string& name) const { return *parse_integer(raw(name)); }
double Config::real(const std::string& name) const { return *parse_real(raw(name)); }
bool Config::boolean(const std::string& name) const { return *parse_boolean(raw(name)); }
const std::string& Config::text(const std::string& name) const { return raw(name); }

std::vector<double> Config::real_list(const std::string& name) const {
  std::vector<double> values;
  for (const auto& item : split_list(raw(name))) values.push_back(*parse_real(item));
  return values;
}

std::vector<std::string> Config::text_list(const std::string& name) const {
  return split_list(raw(name));
}

std::string Config::canonical(const std::string& name) const {
  const auto spec = std::find_if(schema_.begin(), schema_.end(), [&](const KeySpec& k) { return k.name() == name; });
  if (spec == schema_.end()) throw Error("internal: config key " + name + " is not in the schema");
  switch (spec->type) {
    case KeyType::Integer: return std::to_string(integer(name));
    case KeyType::Real: return fmt::format("{}", real(name));
    case KeyType::Boolean: return boolean(name) ? "true" : "false";
    case KeyType::Text: return text(name);
    case KeyType::RealList: return fmt::format("{}", fmt::join(real_list(name), ", "));
    case KeyType::TextList: return fmt::format("{}", fmt::join(text_list(name), ", "));
  }
  return raw(name);
}

Config default_config(const ConfigSchema& schema) { return resolve_config(schema, "", {}); }

std::string Config::to_ini() const {
  std::string out, section;
  for (const auto& spec : schema_) {
    if (spec.section != section) {
      section = spec.section;
      out += fmt::format("{}[{}]\n", out.empty() ? "" : "\n", section);
    }
    out += fmt::format("{} = {}\n", spec.key, raw(spec.name()));
  }
  return out;
}

namespace {

// `text` as "; " comment lines of at most about 96 characters, broken at spaces.
std::string comment_lines(const std::string& text) {
  constexpr size_t kWidth = 94;
  std::string out, line;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find(' ', start);
    if (end == std::string::npos) end = text.size();
    const std::string word = text.substr(start, end - start);
    if (!line.empty() && line.size() + 1 + word.size() > kWidth) {
      out += "; " + line + "\n";
      line.clear();
    }
    line += (line.empty() ? "" : " ") + word;
    start = end + 1;
  }
  return out + "; " + line + "\n";
}

}  // namespace

std::string config_template(const ConfigSchema& schema, const std::string& title) {
  std::string out = "; " + title + "\n", section;
  for (const auto& spec : schema) {
    if (spec.section != section) {
      section = spec.section;
      out += fmt::format("\n[{}]\n", section);
    }
    const std::string range = range_text(spec);
    out += comment_lines(fmt::format("{} ({}{}{})", spec.help, type_name(spec.type), range.empty() ? "" : ", ", range));
    out += fmt::format("{} = {}\n", spec.key,
                       spec.required ? "<required>" : spec.default_value);
  }
  return out;
}

std::string config_markdown(const ConfigSchema& schema) {
  std::string out = "| key | type | default | valid | meaning |\n|---|---|---|---|---|\n";
  for (const auto& spec : schema) {
    const std::string default_text = spec.required                ? "(required)"
                                     : spec.default_value.empty() ? "(empty)"
                                                                  : "`" + spec.default_value + "`";
    out += fmt::format("| `{}` | {} | {} | {} | {} |\n", spec.name(), type_name(spec.type), default_text,
                       range_text(spec), spec.help);
  }
  return out;
}

}  // namespace wna
