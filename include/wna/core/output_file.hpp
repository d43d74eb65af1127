// How wna writes a file (archive, checkpoint, model file), so that nothing existing is lost:
// the target is checked first (absent, or a regular file the user allowed to replace; never a
// link, directory or device, never a file that has another role in the run), the data go to
// a temporary sibling with an unpredictable name created exclusively (O_EXCL | O_NOFOLLOW: a
// planted file or link is never reused or followed), are flushed to the disk, and only then
// renamed onto the target.
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace wna {

// Throws UsageError "<key> = '<path>': <reason>" unless `path` can receive an output: its
// directory exists and is writable, and it is absent or a regular file (not a link) that
// `overwrite` allows to replace; `overwrite_hint` says how to allow it ("set run.overwrite =
// true").
void check_output_path(const std::string& key, const std::string& path, bool overwrite,
                       const std::string& overwrite_hint);

// Throws UsageError naming both keys when two of `roles` ((key, path) pairs; empty paths are
// skipped) are one file: the same path after resolving links, or the same inode (hard link).
void check_distinct_files(const std::vector<std::pair<std::string, std::string>>& roles);

// A file written under a temporary name and moved onto its target when complete. Until
// commit() the target is untouched; without commit() the temporary file is removed.
class AtomicFile {
 public:
  // Checks the target (as check_output_path, reported as wna::Error "<target>: <reason>") and
  // creates "<target>.partial-<16 random hex digits>" beside it, mode 0666 less the umask.
  AtomicFile(std::string target, bool overwrite);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  const std::string& target() const { return target_; }
  const std::string& temporary_path() const { return temporary_; }

  // Appends `size` bytes; throws wna::Error on a short write (disk full, quota).
  void write(const void* data, size_t size);
  // Flushes the file to the disk, checks the target again, renames the temporary file onto it
  // and flushes the directory (the rename itself). Throws wna::Error, removing the temporary.
  void commit();

 private:
  std::string target_, temporary_;
  bool overwrite_ = false;
  int descriptor_ = -1;
  bool committed_ = false;
};

}  // namespace wna
