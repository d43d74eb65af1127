// Parallel HDF5 backend of the archive: one file opened by every rank through the MPI-IO
// driver, collective hyperslab writes, dimension scales for named axes, and a temporary
// file (core/output_file.hpp) that rank 0 creates exclusively and renames only when the
// archive is complete.
#include <hdf5.h>
#include <hdf5_hl.h>
#include <unistd.h>

#include <exception>
#include <functional>
#include <optional>
#include <set>
#include <utility>

#include <fmt/format.h>

#include "wna/archive/archive.hpp"
#include "wna/core/error.hpp"
#include "wna/core/mpi_session.hpp"
#include "wna/core/output_file.hpp"
#include "wna/core/signals.hpp"

namespace wna {
namespace {

// Owns one HDF5 identifier and closes it with the matching H5*close.
class Handle {
 public:
  Handle() = default;
  Handle(hid_t id, herr_t (*close)(hid_t), const std::string& what) : id_(id), close_(close) {
    if (id_ < 0) throw Error("HDF5: " + what + " failed");
  }
  ~Handle() { reset(); }
  Handle(Handle&& other) noexcept : id_(std::exchange(other.id_, -1)), close_(other.close_) {}
  Handle& operator=(Handle&& other) noexcept {
    reset();
    id_ = std::exchange(other.id_, -1);
    close_ = other.close_;
    return *this;
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  hid_t get() const { return id_; }
  void release() { id_ = -1; }  // forget the identifier without closing it
  void reset() {
    if (id_ >= 0 && close_) close_(id_);
    id_ = -1;
  }

 private:
  hid_t id_ = -1;
  herr_t (*close_)(hid_t) = nullptr;
};

void check(herr_t status, const std::string& what) {
  if (status < 0) throw Error("HDF5: " + what + " failed");
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
    if (!defined_axes_.insert(name).second) return;
    const DatasetSpec spec{"/axes/" + name, {static_cast<int64_t>(values.size())}, {}, "coordinate axis " + name};
    write_rows(spec, H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, values.data(), 0, rank_ == 0 ? spec.dims[0] : 0);
    make_scale(name);
  }

  void define_axis(const std::string& name, const std::vector<std::string>& labels) override {
    if (!defined_axes_.insert(name).second) return;
    size_t width = 1;
    for (const auto& label : labels) width = std::max(width, label.size());
    std::vector<char> packed(labels.size() * width, '\0');
    for (size_t i = 0; i < labels.size(); ++i) labels[i].copy(packed.data() + i * width, width);
    Handle type(H5Tcopy(H5T_C_S1), H5Tclose, "string type");
    check(H5Tset_size(type.get(), width), "H5Tset_size");
    check(H5Tset_cset(type.get(), H5T_CSET_UTF8), "H5Tset_cset");
    const DatasetSpec spec{"/axes/" + name, {static_cast<int64_t>(labels.size())}, {}, "labels of axis " + name};
    write_rows(spec, type.get(), type.get(), packed.data(), 0, rank_ == 0 ? spec.dims[0] : 0);
    make_scale(name);
  }

  void write(const DatasetSpec& spec, const double* rows, int64_t begin, int64_t end) override {
    write_rows(spec, H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, rows, begin, end);
  }
  void write(const DatasetSpec& spec, const int64_t* rows, int64_t begin, int64_t end) override {
    write_rows(spec, H5T_NATIVE_INT64, H5T_STD_I64LE, rows, begin, end);
  }

  void set_attribute(const std::string& object, const std::string& name, const std::string& value) override {
    Handle type(H5Tcopy(H5T_C_S1), H5Tclose, "string type");
    check(H5Tset_size(type.get(), std::max<size_t>(1, value.size())), "H5Tset_size");
    check(H5Tset_cset(type.get(), H5T_CSET_UTF8), "H5Tset_cset");
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
    if (!spec.description.empty()) set_attribute(spec.path, "description", spec.description);
    for (size_t axis = 0; axis < spec.axes.size(); ++axis) {
      if (spec.axes[axis].empty()) continue;
      Handle scale(H5Dopen2(file_.get(), ("/axes/" + spec.axes[axis]).c_str(), H5P_DEFAULT), H5Dclose,
                   "opening axis " + spec.axes[axis] + " for " + spec.path);
      check(H5DSattach_scale(dataset.get(), scale.get(), static_cast<unsigned>(axis)),
            "attaching axis " + spec.axes[axis] + " to " + spec.path);
      check(H5DSset_label(dataset.get(), static_cast<unsigned>(axis), spec.axes[axis].c_str()),
            "labelling axis of " + spec.path);
    }
  }

  void make_scale(const std::string& name) {
    Handle scale(H5Dopen2(file_.get(), ("/axes/" + name).c_str(), H5P_DEFAULT), H5Dclose, "opening axis " + name);
    check(H5DSset_scale(scale.get(), name.c_str()), "making " + name + " a dimension scale");
  }

  void put_attribute(const std::string& object, const std::string& name, hid_t memory_type, const void* value,
                     hid_t file_type = -1) {
    if (file_type < 0) file_type = memory_type;
    if (object != "/" && H5Lexists(file_.get(), object.c_str(), H5P_DEFAULT) <= 0) {
      Handle group(H5Gcreate2(file_.get(), object.c_str(), link_.get(), H5P_DEFAULT, H5P_DEFAULT), H5Gclose,
                   "creating group " + object);
    }
    Handle target(H5Oopen(file_.get(), object.c_str(), H5P_DEFAULT), H5Oclose, "opening " + object);
    Handle space(H5Screate(H5S_SCALAR), H5Sclose, "scalar dataspace");
    if (H5Aexists(target.get(), name.c_str()) > 0) check(H5Adelete(target.get(), name.c_str()), "replacing attribute");
    Handle attribute(H5Acreate2(target.get(), name.c_str(), file_type, space.get(), H5P_DEFAULT, H5P_DEFAULT),
                     H5Aclose, "creating attribute " + name + " on " + object);
    check(H5Awrite(attribute.get(), memory_type, value), "writing attribute " + name + " on " + object);
  }

  MPI_Comm comm_;
  int rank_ = 0;
  std::set<std::string> defined_axes_;  // the same on every rank: define_axis is collective
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
