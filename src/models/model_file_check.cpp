// Structure of a wna model file, read with libzip before LibTorch sees the file (see
// include/wna/models/model_file_check.hpp).
#include "wna/models/model_file_check.hpp"

#include <zip.h>

#include <fstream>
#include <iterator>
#include <memory>
#include <regex>
#include <vector>

#include <fmt/format.h>

#include "wna/core/error.hpp"

namespace wna {
namespace {

constexpr zip_uint64_t kLargestCodeFile = 1 << 20;

// One line of a class declaration as LibTorch writes them for a module without methods.
bool is_declaration_line(const std::string& line) {
  static const std::regex allowed(
      R"(\s*|class [A-Za-z_][A-Za-z_0-9]*\(Module\):|  __(parameters|buffers)__ = \[("[A-Za-z_0-9.]+", )*\]|)"
      R"(  [A-Za-z_][A-Za-z_0-9]* : [A-Za-z_0-9.\[\], ]+)");
  return std::regex_match(line, allowed);
}

// The entries of a wna model file, after its one top-level folder (LibTorch 2.x adds the two
// small records byteorder and .data/serialization_id).
bool is_data_entry(const std::string& rest) {
  static const std::regex allowed(R"(data\.pkl|constants\.pkl|version|\.data/version|data/[0-9]+|)"
                                  R"(byteorder|\.data/serialization_id|code/[A-Za-z_0-9/]+\.py(\.debug_pkl)?)");
  return std::regex_match(rest, allowed);
}

}  // namespace

void check_wna_model_bytes(const std::string& name, const void* data, size_t size) {
  const auto refuse = [&](const std::string& reason) {
    throw Error(fmt::format("{}: not a wna model file ({})", name, reason));
  };
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* source = zip_source_buffer_create(data, size, 0, &error);
  if (!source) refuse("unreadable");
  zip_t* opened = zip_open_from_source(source, ZIP_RDONLY | ZIP_CHECKCONS, &error);
  if (!opened) {
    zip_source_free(source);
    const std::string reason = zip_error_strerror(&error);
    zip_error_fini(&error);  // zip_error_strerror allocated the text (a leak the fuzzer found)
    refuse("not a LibTorch archive: " + reason);
  }
  zip_error_fini(&error);
  const std::unique_ptr<zip_t, decltype(&zip_discard)> zip(opened, zip_discard);
  const zip_int64_t entries = zip_get_num_entries(zip.get(), 0);
  if (entries <= 0) refuse("an empty archive");
  std::string folder;
  bool has_data = false;
  for (zip_int64_t i = 0; i < entries; ++i) {
    zip_stat_t stat;
    if (zip_stat_index(zip.get(), static_cast<zip_uint64_t>(i), 0, &stat) != 0 || !(stat.valid & ZIP_STAT_NAME))
      refuse(fmt::format("entry {} cannot be read", i));
    const std::string entry = stat.name;
    const auto slash = entry.find('/');
    if (slash == std::string::npos || slash == 0) refuse(fmt::format("entry '{}' is outside a folder", entry));
    if (folder.empty()) folder = entry.substr(0, slash);
    if (entry.compare(0, slash, folder) != 0) refuse(fmt::format("entries in two folders: '{}'", entry));
    const std::string rest = entry.substr(slash + 1);
    if (!is_data_entry(rest)) refuse(fmt::format("it holds '{}', which a wna model file never does", rest));
    has_data = has_data || rest == "data.pkl";
    if (rest.size() < 3 || rest.compare(rest.size() - 3, 3, ".py") != 0) continue;
    // TorchScript code: only class declarations, no method that could run when loaded.
    if (!(stat.valid & ZIP_STAT_SIZE) || stat.size > kLargestCodeFile) refuse(fmt::format("'{}' is too large", rest));
    const std::unique_ptr<zip_file_t, decltype(&zip_fclose)> file(
        zip_fopen_index(zip.get(), static_cast<zip_uint64_t>(i), 0), zip_fclose);
    if (!file) refuse(fmt::format("'{}' cannot be read", rest));
    std::string code(static_cast<size_t>(stat.size), '\0');
    if (zip_fread(file.get(), code.data(), stat.size) != static_cast<zip_int64_t>(stat.size))
      refuse(fmt::format("'{}' cannot be read", rest));
    size_t start = 0, number = 1;
    while (start <= code.size()) {
      const size_t end = std::min(code.find('\n', start), code.size());
      const std::string line = code.substr(start, end - start);
      if (!is_declaration_line(line))
        refuse(fmt::format("'{}' line {} is code, not a declaration: a TorchScript module? then set "
                           "model.format = torchscript", rest, number));
      start = end + 1, ++number;
    }
  }
  if (!has_data) refuse("no data.pkl");
}

void check_wna_model_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot be read");
  const std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  check_wna_model_bytes(path, bytes.data(), bytes.size());
}

}  // namespace wna
