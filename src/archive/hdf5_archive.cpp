// Parallel HDF5 backend of the archive: one file opened by every rank through the MPI-IO
// driver, collective hyperslab writes, and a temporary file (core/output_file.hpp) that rank 0
// creates exclusively and renames only when the archive is complete. Named axes become
// netCDF-4 dimensions: before the rename, rank 0 reopens the file alone and gives every group
// the dimension scales its datasets use (coordinates, or a dimension without one), so that
// netCDF and xarray read each group by itself. This runs serially because parallel HDF5
// cannot write the variable-length strings netCDF needs for labels.
#include <hdf5.h>
#include <hdf5_hl.h>
#include <unistd.h>

#include <exception>
#include <functional>
#include <map>
#include <optional>
#include <utility>

#include <fmt/format.h>

#include "hdf5_handle.hpp"
#include "wna/archive/archive.hpp"
#include "wna/core/error.hpp"
#include "wna/core/mpi_session.hpp"
#include "wna/core/output_file.hpp"
#include "wna/core/signals.hpp"

namespace wna {
namespace {

using hdf5::check;
using hdf5::Handle;

// netCDF-4's mark of a dimension scale that is a dimension only (no coordinate variable).
constexpr const char* kDimensionWithoutVariable = "This is a netCDF dimension but not a netCDF variable.";

// A fixed-length UTF-8 string type that holds `value` (at least one byte).
Handle text_type(const std::string& value) {
  Handle type(H5Tcopy(H5T_C_S1), H5Tclose, "string type");
  check(H5Tset_size(type.get(), std::max<size_t>(1, value.size())), "H5Tset_size");
  check(H5Tset_cset(type.get(), H5T_CSET_UTF8), "H5Tset_cset");
  return type;
}

// A scalar attribute of `object` (one it already has is replaced), written from `memory_type`
// and stored as `file_type`; `where` names the object in errors.
void write_scalar_attribute(hid_t object, const std::string& name, hid_t memory_type, const void* value,
                            hid_t file_type, const std::string& where) {
  Handle space(H5Screate(H5S_SCALAR), H5Sclose, "scalar dataspace");
  if (H5Aexists(object, name.c_str()) > 0) check(H5Adelete(object, name.c_str()), "replacing attribute " + name);
  Handle attribute(H5Acreate2(object, name.c_str(), file_type, space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose,
                   "creating attribute " + name + where);
  check(H5Awrite(attribute.get(), memory_type, value), "writing attribute " + name + where);
}

void write_text_attribute(hid_t object, const std::string& name, const std::string& value) {
  const Handle type = text_type(value);
  write_scalar_attribute(object, name, type.get(), value.empty() ? "" : value.data(), type.get(), "");
}

std::vector<hsize_t> to_hsize(const std::vector<int64_t>& dims) {
  return std::vector<hsize_t>(dims.begin(), dims.end());
}

class Hdf5Archive final : public ArchiveWriter {
 public:
  Hdf5Archive(MPI_Comm comm, std::string final_path, bool overwrite) : comm_(comm), final_path_(std::move(final_path)) {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);  // errors become exceptions with context
    MPI_Comm_rank(comm_, &rank_);
    // Rank 0 creates the temporary file; every rank learns its name, or rank 0's reason.
    std::string outcome;
    int created = 1;
    if (rank_ == 0) {
      try {
        temporary_.emplace(final_path_, overwrite);
        outcome = temporary_->temporary_path();
      } catch (const std::exception& e) {
        created = 0, outcome = e.what();
      }
    }
    check_mpi(MPI_Bcast(&created, 1, MPI_INT, 0, comm_), "broadcast of the archive's temporary file");
    outcome = broadcast_text(comm_, outcome);
    if (!created) throw Error(outcome);
    temp_path_ = outcome;
    if (rank_ != 0) remove_on_signal(temp_path_);  // rank 0's AtomicFile registered it

    Handle access(H5Pcreate(H5P_FILE_ACCESS), H5Pclose, "file access properties");
    check(H5Pset_fapl_mpio(access.get(), comm_, MPI_INFO_NULL), "H5Pset_fapl_mpio");
    check(H5Pset_all_coll_metadata_ops(access.get(), true), "collective metadata reads");
    // The 1.8 file format stores large attributes densely: a run's history or config may
    // exceed the 64 KiB that the earliest format allows an attribute (netCDF-4 reads both).
    check(H5Pset_libver_bounds(access.get(), H5F_LIBVER_V18, H5F_LIBVER_V18), "file format 1.8");
    check(H5Pset_coll_metadata_write(access.get(), true), "collective metadata writes");
    file_ = Handle(H5Fcreate(temp_path_.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, access.get()), H5Fclose,
                   "creating " + temp_path_);
    transfer_ = Handle(H5Pcreate(H5P_DATASET_XFER), H5Pclose, "transfer properties");
    check(H5Pset_dxpl_mpio(transfer_.get(), H5FD_MPIO_COLLECTIVE), "H5Pset_dxpl_mpio");
    link_ = Handle(H5Pcreate(H5P_LINK_CREATE), H5Pclose, "link properties");
    check(H5Pset_create_intermediate_group(link_.get(), 1), "intermediate groups");
  }

  ~Hdf5Archive() override {
    if (committed_) return;
    // Unwinding from an error that may have hit this rank only: closing is collective and
    // could wait forever for the others. Without an error in flight, close collectively;
    // rank 0's AtomicFile then removes the temporary file.
    if (std::uncaught_exceptions() > 0) {
      abandon();
    } else {
      file_.reset();
      keep_on_signal(temp_path_);
    }
  }

  void abandon() override {
    file_.release();
    ::unlink(temp_path_.c_str());  // from every rank: rank 0 may be killed before it cleans up
    keep_on_signal(temp_path_);
  }

  const std::string& path() const override { return final_path_; }

  void define_axis(const std::string& name, const std::vector<double>& values) override {
    axes_.try_emplace(name, Axis{values, {}});
  }
  void define_axis(const std::string& name, const std::vector<std::string>& labels) override {
    axes_.try_emplace(name, Axis{{}, labels});
  }

  void write(const DatasetSpec& spec, const double* rows, int64_t begin, int64_t end) override {
    write_rows(spec, H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, rows, begin, end);
  }
  void write(const DatasetSpec& spec, const int64_t* rows, int64_t begin, int64_t end) override {
    write_rows(spec, H5T_NATIVE_INT64, H5T_STD_I64LE, rows, begin, end);
  }

  void set_attribute(const std::string& object, const std::string& name, const std::string& value) override {
    const Handle type = text_type(value);
    put_attribute(object, name, type.get(), value.empty() ? "" : value.data());
  }
  void set_attribute(const std::string& object, const std::string& name, double value) override {
    put_attribute(object, name, H5T_NATIVE_DOUBLE, &value, H5T_IEEE_F64LE);
  }
  void set_attribute(const std::string& object, const std::string& name, int64_t value) override {
    put_attribute(object, name, H5T_NATIVE_INT64, &value, H5T_STD_I64LE);
  }

  void commit() override {
    check(H5Fflush(file_.get(), H5F_SCOPE_GLOBAL), "flushing " + temp_path_);
    file_.reset();
    std::string failure;
    if (rank_ == 0) {
      try {
        add_dimension_scales();
        temporary_->commit();
      } catch (const std::exception& e) {
        failure = e.what();
      }
    }
    failure = broadcast_text(comm_, failure);
    committed_ = true;
    keep_on_signal(temp_path_);
    if (!failure.empty()) throw Error(failure);
  }

 private:
  void write_rows(const DatasetSpec& spec, hid_t memory_type, hid_t file_type, const void* rows,
                  int64_t begin, int64_t end) {
    check_spec(spec);
    const auto dims = to_hsize(spec.dims);
    Handle file_space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), H5Sclose,
                      "dataspace of " + spec.path);
    Handle dataset(H5Dcreate2(file_.get(), spec.path.c_str(), file_type, file_space.get(), link_.get(),
                              H5P_DEFAULT, H5P_DEFAULT),
                   H5Dclose, "creating dataset " + spec.path);
    std::vector<hsize_t> start(dims.size(), 0), count = dims;
    if (!dims.empty()) {
      start[0] = static_cast<hsize_t>(begin);
      count[0] = static_cast<hsize_t>(end - begin);
    }
    Handle memory_space(H5Screate_simple(static_cast<int>(count.size()), count.data(), nullptr), H5Sclose,
                        "memory dataspace of " + spec.path);
    if (end > begin) {
      check(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr),
            "selecting rows of " + spec.path);
    } else {
      check(H5Sselect_none(file_space.get()), "empty selection");
      check(H5Sselect_none(memory_space.get()), "empty selection");
    }
    check(H5Dwrite(dataset.get(), memory_type, memory_space.get(), file_space.get(), transfer_.get(), rows),
          "writing " + spec.path);
    set_attribute(spec.path, "description", spec.description);
    set_attribute(spec.path, "long_name", spec.description);
    set_attribute(spec.path, "units", std::string("1"));
    dimensioned_.push_back({spec.path, spec.dims, spec.axes});
  }

  void check_spec(const DatasetSpec& spec) const {
    if (spec.axes.size() != spec.dims.size())
      throw Error(fmt::format("archive: {} has {} dimensions but {} axis names", spec.path, spec.dims.size(),
                              spec.axes.size()));
    for (size_t i = 0; i < spec.axes.size(); ++i) {
      const std::string& axis = spec.axes[i];
      if (axis.empty() || axis.find('/') != std::string::npos)
        throw Error(fmt::format("archive: {}: dimension {} needs an axis name without '/'", spec.path, i));
      const auto found = axes_.find(axis);
      if (found != axes_.end() && found->second.size() != spec.dims[i])
        throw Error(fmt::format("archive: {}: dimension {} has {} values but axis {} has {}", spec.path, i,
                                spec.dims[i], axis, found->second.size()));
    }
  }

  // Rank 0, with the file closed by every rank: gives each group the dimension scales of the
  // axes its datasets use and attaches them (docs/archive.md, "Dimensions and coordinates").
  void add_dimension_scales() {
    Handle file(H5Fopen(temp_path_.c_str(), H5F_ACC_RDWR, H5P_DEFAULT), H5Fclose, "reopening " + temp_path_);
    std::map<std::string, int64_t> scale_sizes;
    for (const auto& dataset : dimensioned_) {
      const std::string group = dataset.path.substr(0, dataset.path.rfind('/'));
      Handle target(H5Dopen2(file.get(), dataset.path.c_str(), H5P_DEFAULT), H5Dclose, "opening " + dataset.path);
      for (size_t i = 0; i < dataset.axes.size(); ++i) {
        const std::string& axis = dataset.axes[i];
        const std::string scale_path = group + "/" + axis;
        const auto [known, created] = scale_sizes.try_emplace(scale_path, dataset.dims[i]);
        if (created) {
          create_scale(file.get(), scale_path, axis, dataset.dims[i]);
        } else if (known->second != dataset.dims[i]) {
          throw Error(fmt::format("archive: {}: dimension {} ({}) has {} values, another dataset of the group {}",
                                  dataset.path, i, axis, dataset.dims[i], known->second));
        }
        Handle scale(H5Dopen2(file.get(), scale_path.c_str(), H5P_DEFAULT), H5Dclose, "opening " + scale_path);
        check(H5DSattach_scale(target.get(), scale.get(), static_cast<unsigned>(i)),
              "attaching " + scale_path + " to " + dataset.path);
        check(H5DSset_label(target.get(), static_cast<unsigned>(i), axis.c_str()),
              "labelling dimension " + std::to_string(i) + " of " + dataset.path);
      }
    }
  }

  // A coordinate variable (an axis given to define_axis) or, for any other axis name, a
  // netCDF-4 dimension without a variable: a dataset never written (no storage) whose scale
  // name is netCDF's marker followed by the length.
  void create_scale(hid_t file, const std::string& path, const std::string& axis, int64_t size) {
    const hsize_t length = static_cast<hsize_t>(size);
    Handle space(H5Screate_simple(1, &length, nullptr), H5Sclose, "dataspace of " + path);
    const auto found = axes_.find(axis);
    if (found == axes_.end()) {
      Handle scale(H5Dcreate2(file, path.c_str(), H5T_IEEE_F32LE, space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                   H5Dclose, "creating dimension " + path);
      check(H5DSset_scale(scale.get(), fmt::format("{}{:10d}", kDimensionWithoutVariable, size).c_str()),
            "making " + path + " a dimension");
      return;
    }
    const Axis& coordinates = found->second;
    const bool labels = !coordinates.labels.empty();
    Handle type(labels ? H5Tcopy(H5T_C_S1) : H5Tcopy(H5T_IEEE_F64LE), H5Tclose, "type of " + path);
    if (labels) {
      check(H5Tset_size(type.get(), H5T_VARIABLE), "variable-length strings");
      check(H5Tset_cset(type.get(), H5T_CSET_UTF8), "UTF-8 strings");
    }
    Handle scale(H5Dcreate2(file, path.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                 H5Dclose, "creating coordinate " + path);
    if (labels) {
      std::vector<const char*> texts;
      for (const auto& label : coordinates.labels) texts.push_back(label.c_str());
      check(H5Dwrite(scale.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, texts.data()), "writing " + path);
    } else {
      check(H5Dwrite(scale.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, coordinates.values.data()),
            "writing " + path);
    }
    check(H5DSset_scale(scale.get(), axis.c_str()), "making " + path + " a dimension scale");
    const std::string description = (labels ? "labels of axis " : "coordinate axis ") + axis;
    write_text_attribute(scale.get(), "description", description);
    write_text_attribute(scale.get(), "long_name", description);
    if (!labels) write_text_attribute(scale.get(), "units", "1");
  }

  void put_attribute(const std::string& object, const std::string& name, hid_t memory_type, const void* value,
                     hid_t file_type = -1) {
    if (file_type < 0) file_type = memory_type;
    if (object != "/" && H5Lexists(file_.get(), object.c_str(), H5P_DEFAULT) <= 0) {
      Handle group(H5Gcreate2(file_.get(), object.c_str(), link_.get(), H5P_DEFAULT, H5P_DEFAULT), H5Gclose,
                   "creating group " + object);
    }
    Handle target(H5Oopen(file_.get(), object.c_str(), H5P_DEFAULT), H5Oclose, "opening " + object);
    write_scalar_attribute(target.get(), name, memory_type, value, file_type, " on " + object);
  }

  struct Axis {
    std::vector<double> values;
    std::vector<std::string> labels;
    int64_t size() const { return static_cast<int64_t>(labels.empty() ? values.size() : labels.size()); }
  };
  struct Dimensioned {  // a dataset written, with the axis name of each dimension
    std::string path;
    std::vector<int64_t> dims;
    std::vector<std::string> axes;
  };

  MPI_Comm comm_;
  int rank_ = 0;
  std::map<std::string, Axis> axes_;     // the same on every rank: define_axis is collective
  std::vector<Dimensioned> dimensioned_;
  std::string final_path_, temp_path_;
  bool committed_ = false;
  std::optional<AtomicFile> temporary_;  // rank 0: the file it created, renamed at commit
  Handle file_, transfer_, link_;
};

}  // namespace

std::unique_ptr<ArchiveWriter> create_hdf5_archive(MPI_Comm comm, const std::string& final_path, bool overwrite) {
  return std::make_unique<Hdf5Archive>(comm, final_path, overwrite);
}

}  // namespace wna
