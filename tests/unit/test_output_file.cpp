// The one way wna writes a file: checked targets, exclusive unpredictable temporary names,
// nothing replaced until commit, nothing left behind on failure.
#include <sys/stat.h>

#include <fstream>
#include <iterator>

#include "test_support.hpp"
#include "wna/core/output_file.hpp"

namespace wna {
namespace {

namespace fs = std::filesystem;

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_text(const fs::path& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

std::vector<std::string> names_in(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

TEST(AtomicFile, TargetAppearsOnlyAtCommitWithEveryByte) {
  const auto dir = test::scratch_dir("atomic_commit");
  const auto target = dir / "out.bin";
  {
    AtomicFile file(target.string(), false);
    EXPECT_EQ(file.temporary_path().rfind(target.string() + ".partial-", 0), 0u);
    EXPECT_EQ(file.temporary_path().size(), target.string().size() + 9 + 16);
    file.write("abc", 3);
    file.write("", 0);
    file.write("defg", 4);
    EXPECT_FALSE(fs::exists(target));
    file.commit();
  }
  EXPECT_EQ(read_text(target), "abcdefg");
  EXPECT_EQ(names_in(dir), std::vector<std::string>{"out.bin"});
}

TEST(AtomicFile, WithoutCommitTheOldFileStaysAndNothingIsLeft) {
  const auto dir = test::scratch_dir("atomic_abandon");
  const auto target = dir / "out.bin";
  write_text(target, "old");
  {
    AtomicFile file(target.string(), true);
    file.write("new", 3);
  }
  EXPECT_EQ(read_text(target), "old");
  EXPECT_EQ(names_in(dir), std::vector<std::string>{"out.bin"});
}

TEST(AtomicFile, TemporaryNamesDifferAndAreNeverReused) {
  const auto dir = test::scratch_dir("atomic_names");
  const auto target = (dir / "out.bin").string();
  AtomicFile first(target, false), second(target, false);
  EXPECT_NE(first.temporary_path(), second.temporary_path());
  second.write("2", 1);
  second.commit();
  first.write("1", 1);
  EXPECT_THROW(first.commit(), Error);  // the target appeared meanwhile, and overwrite is off
  EXPECT_EQ(read_text(target), "2");
}

TEST(AtomicFile, ReplacesAFileOnlyWhenAllowed) {
  const auto dir = test::scratch_dir("atomic_overwrite");
  const auto target = dir / "out.bin";
  write_text(target, "old");
  EXPECT_THROW(AtomicFile(target.string(), false), Error);
  AtomicFile file(target.string(), true);
  file.write("new", 3);
  file.commit();
  EXPECT_EQ(read_text(target), "new");
}

TEST(AtomicFile, NeverReplacesOrWritesThroughALinkADirectoryOrADevice) {
  const auto dir = test::scratch_dir("atomic_nonregular");
  write_text(dir / "precious", "keep");
  fs::create_symlink(dir / "precious", dir / "link");
  fs::create_directory(dir / "folder");
  for (const std::string& target : {(dir / "link").string(), (dir / "folder").string(), std::string("/dev/null")}) {
    EXPECT_THROW(AtomicFile(target, true), Error) << target;
    test::expect_usage_error([&] { check_output_path("run.output", target, true, "set it"); },
                             {"run.output = '" + target + "': "});
  }
  EXPECT_EQ(read_text(dir / "precious"), "keep");
  EXPECT_TRUE(fs::is_symlink(dir / "link"));
  struct stat info {};
  ASSERT_EQ(::stat("/dev/null", &info), 0);
  EXPECT_TRUE(S_ISCHR(info.st_mode));
}

TEST(AtomicFile, ATargetTurnedIntoALinkBeforeCommitIsNotReplaced) {
  const auto dir = test::scratch_dir("atomic_late_link");
  const auto target = dir / "out.bin";
  write_text(dir / "precious", "keep");
  {
    AtomicFile file(target.string(), true);
    file.write("new", 3);
    fs::create_symlink(dir / "precious", target);
    EXPECT_THROW(file.commit(), Error);
  }
  EXPECT_EQ(read_text(dir / "precious"), "keep");
  EXPECT_TRUE(fs::is_symlink(target));
  EXPECT_EQ(names_in(dir), (std::vector<std::string>{"out.bin", "precious"}));
}

TEST(OutputPath, NamesTheKeyTheValueAndTheRemedy) {
  const auto dir = test::scratch_dir("output_path");
  write_text(dir / "exists.h5", "x");
  test::expect_usage_error([&] { check_output_path("run.output", (dir / "exists.h5").string(), false, "set run.overwrite = true"); },
                           {"run.output = '", "exists.h5': file exists; set run.overwrite = true to replace it"});
  test::expect_usage_error([&] { check_output_path("run.output", (dir / "no" / "a.h5").string(), false, ""); },
                           {"directory", "does not exist"});
  test::expect_usage_error([&] { check_output_path("train.output", "", false, ""); }, {"train.output = '': expected a file path"});
  check_output_path("run.output", (dir / "new.h5").string(), false, "");
  check_output_path("run.output", (dir / "exists.h5").string(), true, "");
}

TEST(DistinctFiles, OneFileInTwoRolesIsRefusedThroughLinksAndRelativePaths) {
  const auto dir = test::scratch_dir("distinct_files");
  write_text(dir / "model.pt", "m");
  fs::create_symlink(dir / "model.pt", dir / "alias.pt");
  fs::create_hard_link(dir / "model.pt", dir / "hard.pt");
  const std::string model = (dir / "model.pt").string();
  for (const std::string& other : {(dir / "alias.pt").string(), (dir / "hard.pt").string(),
                                  (dir / "sub" / ".." / "model.pt").string()}) {
    fs::create_directories(dir / "sub");
    test::expect_usage_error([&] { check_distinct_files({{"run.output", other}, {"model.file", model}}); },
                             {"run.output = '" + other + "' and model.file = '" + model + "' are the same file"});
  }
  // Two files that do not exist yet are the same when their resolved paths are.
  test::expect_usage_error(
      [&] { check_distinct_files({{"run.output", (dir / "a.h5").string()}, {"run.checkpoint", (dir / "sub/../a.h5").string()}}); },
      {"are the same file"});
  check_distinct_files({{"run.output", (dir / "a.h5").string()}, {"run.checkpoint", ""}, {"model.file", model},
                        {"other", (dir / "b.h5").string()}});
}

}  // namespace
}  // namespace wna
