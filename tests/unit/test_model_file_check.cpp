// The structure check of wna model files, made before LibTorch reads them: a real model file
// passes; an archive with a method in its code, an entry a model file never has, two folders,
// no data or no zip at all is refused with one line naming the file and the reason.
#include <zip.h>

#include <fstream>
#include <iterator>
#include <utility>

#include "test_support.hpp"
#include "wna/models/model_file.hpp"
#include "wna/models/model_file_check.hpp"
#include "wna/models/zoo.hpp"

namespace wna {
namespace {

using Entries = std::vector<std::pair<std::string, std::string>>;

// A zip archive of `entries` (name, content), built in memory with libzip.
std::string make_zip(const Entries& entries) {
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* buffer = zip_source_buffer_create(nullptr, 0, 0, &error);
  zip_source_keep(buffer);
  zip_t* archive = zip_open_from_source(buffer, ZIP_TRUNCATE, &error);
  for (const auto& [name, content] : entries)
    zip_file_add(archive, name.c_str(), zip_source_buffer(archive, content.data(), content.size(), 0), 0);
  zip_close(archive);  // an archive without entries is not written at all: no bytes
  zip_source_open(buffer);
  zip_source_seek(buffer, 0, SEEK_END);
  std::string bytes(static_cast<size_t>(std::max<zip_int64_t>(0, zip_source_tell(buffer))), '\0');
  zip_source_seek(buffer, 0, SEEK_SET);
  zip_source_read(buffer, bytes.data(), bytes.size());
  zip_source_close(buffer);
  zip_source_free(buffer);
  return bytes;
}

// The entries of the zip archive `bytes`.
Entries read_zip(const std::string& bytes) {
  zip_error_t error;
  zip_error_init(&error);
  zip_t* archive = zip_open_from_source(zip_source_buffer_create(bytes.data(), bytes.size(), 0, &error), ZIP_RDONLY,
                                        &error);
  Entries entries;
  for (zip_int64_t i = 0; i < zip_get_num_entries(archive, 0); ++i) {
    zip_stat_t stat;
    zip_stat_index(archive, static_cast<zip_uint64_t>(i), 0, &stat);
    std::string content(static_cast<size_t>(stat.size), '\0');
    zip_file_t* file = zip_fopen_index(archive, static_cast<zip_uint64_t>(i), 0);
    zip_fread(file, content.data(), stat.size);
    zip_fclose(file);
    entries.emplace_back(stat.name, content);
  }
  zip_discard(archive);
  return entries;
}

std::string real_model_bytes(const std::string& architecture) {
  const auto path = test::scratch_dir("model_check_" + architecture) / "model.wna";
  ModelSpec spec;
  spec.architecture = architecture;
  spec.dataset = "mnist";
  spec.channels = 1, spec.height = 28, spec.width = 28;
  spec.class_names = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
  save_model(*make_zoo_model(spec), path.string(), false);
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void expect_refused(const std::string& bytes, const std::string& reason) {
  try {
    check_wna_model_bytes("m.wna", bytes.data(), bytes.size());
    ADD_FAILURE() << "accepted; expected: " << reason;
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.rfind("m.wna: not a wna model file (", 0), 0u) << message;
    EXPECT_NE(message.find(reason), std::string::npos) << message << "\nlacks: " << reason;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  }
}

TEST(ModelFileCheck, EveryZooModelFilePasses) {
  for (const std::string& architecture : zoo_architectures()) {
    const std::string bytes = real_model_bytes(architecture);
    EXPECT_NO_THROW(check_wna_model_bytes(architecture, bytes.data(), bytes.size())) << architecture;
  }
}

TEST(ModelFileCheck, AMethodInTheCodeIsRefused) {
  Entries entries = read_zip(real_model_bytes("logreg"));
  bool planted = false;
  for (auto& [name, content] : entries)
    if (!planted && name.size() > 3 && name.compare(name.size() - 3, 3, ".py") == 0) {
      content += "  def __setstate__(self, state: Tuple[int]) -> None:\n    return None\n";
      planted = true;
    }
  ASSERT_TRUE(planted);
  expect_refused(make_zip(entries), "'code/");
  expect_refused(make_zip(entries), "is code, not a declaration");
}

TEST(ModelFileCheck, UnknownEntriesFoldersAndNonArchivesAreRefused) {
  const Entries entries = read_zip(real_model_bytes("logreg"));
  const std::string folder = entries.front().first.substr(0, entries.front().first.find('/'));
  Entries extra = entries;
  extra.emplace_back(folder + "/extra/run.sh", "echo hi\n");
  expect_refused(make_zip(extra), "it holds 'extra/run.sh', which a wna model file never does");
  Entries two_folders = entries;
  two_folders.emplace_back("other/data.pkl", "x");
  expect_refused(make_zip(two_folders), "entries in two folders: 'other/data.pkl'");
  Entries no_data;
  for (const auto& entry : entries)
    if (entry.first != folder + "/data.pkl") no_data.push_back(entry);
  expect_refused(make_zip(no_data), "no data.pkl");
  expect_refused(make_zip({{"top.txt", "x"}}), "entry 'top.txt' is outside a folder");
  expect_refused(make_zip({}), "an empty archive");
  expect_refused("not a zip at all", "not a LibTorch archive");
  const std::string real = real_model_bytes("logreg");
  expect_refused(real.substr(0, real.size() / 2), "not a LibTorch archive");
}

}  // namespace
}  // namespace wna
