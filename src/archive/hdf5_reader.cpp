// HDF5 backend of ArchiveReader (include/wna/archive/archive_reader.hpp): the file opened
// read-only with the default (serial) driver.
#include <hdf5.h>

#include <filesystem>

#include <fmt/format.h>

#include "hdf5_handle.hpp"
#include "wna/archive/archive_reader.hpp"
#include "wna/core/error.hpp"

namespace wna {
namespace {

using hdf5::check;
using hdf5::Handle;

class Hdf5Reader final : public ArchiveReader {
 public:
  explicit Hdf5Reader(std::string path) : path_(std::move(path)) {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    if (!std::filesystem::is_regular_file(path_))
      throw UsageError(fmt::format("{}: {}", path_, std::filesystem::exists(path_) ? "not a regular file" : "no such file"));
    if (H5Fis_hdf5(path_.c_str()) <= 0) throw UsageError(fmt::format("{}: not an HDF5 archive", path_));
    const hid_t file = H5Fopen(path_.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file < 0) throw UsageError(fmt::format("{}: cannot be opened as an HDF5 archive", path_));
    file_ = Handle(file, H5Fclose, "opening " + path_);
  }

  const std::string& path() const override { return path_; }

  std::string text_attribute(const std::string& name) const override {
    const Handle attribute = open_attribute(name);
    Handle type(H5Aget_type(attribute.get()), H5Tclose, "type of attribute " + name);
    if (H5Tget_class(type.get()) != H5T_STRING || H5Tis_variable_str(type.get()) > 0)
      throw UsageError(fmt::format("{}: root attribute {} is not a fixed-length string", path_, name));
    std::string value(H5Tget_size(type.get()), '\0');
    check(H5Aread(attribute.get(), type.get(), value.data()), "reading attribute " + name);
    return value.substr(0, value.find('\0'));
  }

  int64_t integer_attribute(const std::string& name) const override {
    const Handle attribute = open_attribute(name);
    Handle type(H5Aget_type(attribute.get()), H5Tclose, "type of attribute " + name);
    if (H5Tget_class(type.get()) != H5T_INTEGER)
      throw UsageError(fmt::format("{}: root attribute {} is not an integer", path_, name));
    int64_t value = 0;
    check(H5Aread(attribute.get(), H5T_NATIVE_INT64, &value), "reading attribute " + name);
    return value;
  }

  std::vector<int64_t> integers(const std::string& dataset_path) const override {
    if (H5Lexists(file_.get(), dataset_path.c_str(), H5P_DEFAULT) <= 0)
      throw UsageError(fmt::format("{}: has no dataset {}", path_, dataset_path));
    Handle dataset(H5Dopen2(file_.get(), dataset_path.c_str(), H5P_DEFAULT), H5Dclose, "opening " + dataset_path);
    Handle type(H5Dget_type(dataset.get()), H5Tclose, "type of " + dataset_path);
    if (H5Tget_class(type.get()) != H5T_INTEGER || H5Tget_size(type.get()) != 8)
      throw UsageError(fmt::format("{}: dataset {} is not int64", path_, dataset_path));
    Handle space(H5Dget_space(dataset.get()), H5Sclose, "dataspace of " + dataset_path);
    const hssize_t count = H5Sget_simple_extent_npoints(space.get());
    if (count < 0) throw Error(fmt::format("HDF5: size of {} in {} failed", dataset_path, path_));
    std::vector<int64_t> values(static_cast<size_t>(count));
    if (count > 0)
      check(H5Dread(dataset.get(), H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()),
            "reading " + dataset_path + " of " + path_);
    return values;
  }

 private:
  Handle open_attribute(const std::string& name) const {
    if (H5Aexists(file_.get(), name.c_str()) <= 0)
      throw UsageError(fmt::format("{}: has no root attribute {} (not an archive of wna_mpi, or of an older wna)",
                                   path_, name));
    return Handle(H5Aopen(file_.get(), name.c_str(), H5P_DEFAULT), H5Aclose, "opening attribute " + name);
  }

  std::string path_;
  Handle file_;
};

}  // namespace

std::unique_ptr<ArchiveReader> open_hdf5_archive(const std::string& path) { return std::make_unique<Hdf5Reader>(path); }

}  // namespace wna
