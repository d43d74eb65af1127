// Output files written atomically and checked before any work (see include/wna/core/output_file.hpp).
#include "wna/core/output_file.hpp"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>
#include <random>

#include <fmt/format.h>

#include "wna/core/error.hpp"
#include "wna/core/signals.hpp"

namespace wna {
namespace {

namespace fs = std::filesystem;

// What is wrong with `path` as an output target, or nothing. `hint` says how to allow
// replacing an existing file.
std::optional<std::string> output_problem(const std::string& path, bool overwrite, const std::string& hint) {
  if (path.empty()) return "expected a file path";
  const fs::path directory = fs::absolute(path).parent_path();
  struct stat info {};
  if (::stat(directory.c_str(), &info) != 0 || !S_ISDIR(info.st_mode))
    return fmt::format("directory {} does not exist", directory.string());
  if (::access(directory.c_str(), W_OK) != 0) return fmt::format("directory {} is not writable", directory.string());
  if (::lstat(path.c_str(), &info) != 0) {
    if (errno == ENOENT) return std::nullopt;
    return fmt::format("cannot be examined: {}", std::strerror(errno));
  }
  if (S_ISLNK(info.st_mode))
    return "is a symbolic link; outputs replace files and never write through links, so give the path of the file "
           "itself";
  if (S_ISDIR(info.st_mode)) return "is a directory; expected a file path";
  if (!S_ISREG(info.st_mode))
    return "exists and is not a regular file (a device, pipe or socket); outputs only ever replace regular files";
  if (!overwrite) return fmt::format("file exists; {} to replace it", hint);
  return std::nullopt;
}

// 64 unpredictable bits as 16 hex digits: temporary names nobody can plant in advance.
std::string random_suffix() {
  std::random_device device;
  const uint64_t bits = (static_cast<uint64_t>(device()) << 32) ^ device();
  return fmt::format("{:016x}", bits);
}

// Flushes a file's or a directory's data to the disk; false on failure.
bool sync_path(const std::string& path) {
  const int descriptor = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (descriptor < 0) return false;
  const bool synced = ::fsync(descriptor) == 0;
  ::close(descriptor);
  return synced;
}

// The identity of a file: its device and inode when it exists, else its path with every
// existing link resolved.
std::string file_identity(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) == 0) return fmt::format("inode {}:{}", info.st_dev, info.st_ino);
  std::error_code error;
  const fs::path resolved = fs::weakly_canonical(fs::absolute(path), error);
  return "path " + (error ? fs::absolute(path).lexically_normal().string() : resolved.string());
}

}  // namespace

void check_output_path(const std::string& key, const std::string& path, bool overwrite,
                       const std::string& overwrite_hint) {
  if (const auto problem = output_problem(path, overwrite, overwrite_hint))
    throw UsageError(fmt::format("{} = '{}': {}", key, path, *problem));
}

void check_distinct_files(const std::vector<std::pair<std::string, std::string>>& roles) {
  for (size_t i = 0; i < roles.size(); ++i) {
    if (roles[i].second.empty()) continue;
    const std::string identity = file_identity(roles[i].second);
    for (size_t j = i + 1; j < roles.size(); ++j) {
      if (roles[j].second.empty() || file_identity(roles[j].second) != identity) continue;
      throw UsageError(fmt::format("{} = '{}' and {} = '{}' are the same file; give each its own file", roles[i].first,
                                   roles[i].second, roles[j].first, roles[j].second));
    }
  }
}

AtomicFile::AtomicFile(std::string target, bool overwrite) : target_(std::move(target)), overwrite_(overwrite) {
  if (const auto problem = output_problem(target_, overwrite_, "allow overwriting"))
    throw Error(fmt::format("{}: {}", target_, *problem));
  temporary_ = fmt::format("{}.partial-{}", target_, random_suffix());
  descriptor_ = ::open(temporary_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
  if (descriptor_ < 0)
    throw Error(fmt::format("{}: cannot create the temporary file {}: {}", target_, temporary_, std::strerror(errno)));
  remove_on_signal(temporary_);
}

AtomicFile::~AtomicFile() {
  if (descriptor_ >= 0) ::close(descriptor_);
  if (!committed_) ::unlink(temporary_.c_str());
  keep_on_signal(temporary_);
}

void AtomicFile::write(const void* data, size_t size) {
  const auto* bytes = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t written = ::write(descriptor_, bytes, size);
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0)
      throw Error(fmt::format("{}: cannot write {}: {}", target_, temporary_,
                              written < 0 ? std::strerror(errno) : "no space left"));
    bytes += written;
    size -= static_cast<size_t>(written);
  }
}

void AtomicFile::commit() {
  if (::fsync(descriptor_) != 0)
    throw Error(fmt::format("{}: cannot flush {} to the disk: {}", target_, temporary_, std::strerror(errno)));
  const int closed = ::close(descriptor_);
  descriptor_ = -1;
  if (closed != 0) throw Error(fmt::format("{}: cannot close {}: {}", target_, temporary_, std::strerror(errno)));
  // The target may have changed during the run (a link or a directory put there).
  if (const auto problem = output_problem(target_, overwrite_, "allow overwriting"))
    throw Error(fmt::format("{}: {}; the result is not kept", target_, *problem));
  // Without overwrite, RENAME_NOREPLACE keeps a file that appeared since the check.
  if (::renameat2(AT_FDCWD, temporary_.c_str(), AT_FDCWD, target_.c_str(), overwrite_ ? 0 : RENAME_NOREPLACE) != 0)
    throw Error(fmt::format("{}: cannot rename {} onto it: {}", target_, temporary_, std::strerror(errno)));
  committed_ = true;
  keep_on_signal(temporary_);
  sync_path(fs::absolute(target_).parent_path().string());  // the rename itself
}

}  // namespace wna
