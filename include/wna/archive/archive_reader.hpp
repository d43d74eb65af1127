// Reading an archive back: its root attributes and whole int64 datasets (wna_merge reads the
// exact sums of the archives it adds). Serial and read-only; each rank may open its own.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace wna {

class ArchiveReader {
 public:
  virtual ~ArchiveReader() = default;
  virtual const std::string& path() const = 0;
  // A root attribute; throws wna::UsageError naming the archive and the attribute when it is
  // missing or of another type.
  virtual std::string text_attribute(const std::string& name) const = 0;
  virtual int64_t integer_attribute(const std::string& name) const = 0;
  // A whole int64 dataset, flattened in C order; throws wna::UsageError naming the archive and
  // the dataset when it is missing or not int64.
  virtual std::vector<int64_t> integers(const std::string& dataset) const = 0;
};

// Opens an HDF5 archive written by wna_mpi; throws wna::UsageError naming `path` when it is
// missing or not an HDF5 file.
std::unique_ptr<ArchiveReader> open_hdf5_archive(const std::string& path);

}  // namespace wna
