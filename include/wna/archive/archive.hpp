// The archive interface: named n-dimensional datasets whose every dimension has a named axis
// (a netCDF dimension, with coordinates when defined with define_axis), attributes, written collectively by all ranks, made visible only when complete. The
// parallel HDF5 backend implements it; another backend would implement the same calls.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <mpi.h>

namespace wna {

struct DatasetSpec {
  std::string path;                     // e.g. "/gamma_sweep/classification_image"
  std::vector<int64_t> dims;
  std::vector<std::string> axes;        // one name per dim: an axis given to define_axis (with
                                        // coordinates) or any other name (a dimension only)
  std::string description;              // stored as the attribute "description"
};

class ArchiveWriter {
 public:
  virtual ~ArchiveWriter() = default;

  // Collective. The coordinates of an axis: every group with a dataset that uses the axis gets
  // them as its coordinate variable <group>/<name>. Defining an axis name again does nothing
  // (analyses sharing an axis define it with the same values).
  virtual void define_axis(const std::string& name, const std::vector<double>& values) = 0;
  virtual void define_axis(const std::string& name, const std::vector<std::string>& labels) = 0;

  // Collective: every rank calls with the same spec. This rank writes rows [row_begin, row_end)
  // of dimension 0 from `rows` (row-major, (row_end - row_begin) x the other dims); ranks that
  // own no rows pass row_begin == row_end.
  virtual void write(const DatasetSpec& spec, const double* rows, int64_t row_begin, int64_t row_end) = 0;
  virtual void write(const DatasetSpec& spec, const int64_t* rows, int64_t row_begin, int64_t row_end) = 0;

  // Collective, same value on every rank. `object` is a group or dataset path ("/" the root).
  virtual void set_attribute(const std::string& object, const std::string& name, const std::string& value) = 0;
  virtual void set_attribute(const std::string& object, const std::string& name, double value) = 0;
  virtual void set_attribute(const std::string& object, const std::string& name, int64_t value) = 0;

  // Collective. Closes the file and renames it to its final path. Without commit (a failed
  // run), the temporary file is removed and any existing archive is left untouched.
  virtual void commit() = 0;
  // Not collective: removes the temporary file without closing it with the other ranks, after
  // an error that may have hit this rank only (the caller then aborts the job).
  virtual void abandon() = 0;
  virtual const std::string& path() const = 0;
};

// The coordinates 0, 1, ..., n - 1 of an index axis.
inline std::vector<double> index_axis(int64_t n) {
  std::vector<double> values(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) values[static_cast<size_t>(i)] = static_cast<double>(i);
  return values;
}

// `rows`' data for ArchiveWriter::write, or a valid pointer when this rank owns no rows.
template <typename T>
const T* rows_or_none(const std::vector<T>& rows) {
  static const T kNone{};
  return rows.empty() ? &kNone : rows.data();
}

// Collective. Rank 0 creates `final_path`'s temporary sibling exclusively (core/output_file.hpp),
// which every rank then opens through HDF5's MPI-IO driver. An existing `final_path` (a regular
// file only) is replaced at commit only when `overwrite`. Throws wna::Error on every rank.
std::unique_ptr<ArchiveWriter> create_hdf5_archive(MPI_Comm comm, const std::string& final_path,
                                                   bool overwrite);

}  // namespace wna
