// Helpers shared by the tests run under mpiexec: this rank and the rank count, a scratch
// path every rank agrees on, and a serial read-back of one archive dataset.
#pragma once

#include <gtest/gtest.h>
#include <hdf5.h>
#include <mpi.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

namespace wna::test {

inline int rank() { int r = 0; MPI_Comm_rank(MPI_COMM_WORLD, &r); return r; }
inline int ranks() { int n = 1; MPI_Comm_size(MPI_COMM_WORLD, &n); return n; }

// A path every rank agrees on (rank 0 chooses it).
inline std::string shared_path(const std::string& name) {
  long pid = rank() == 0 ? static_cast<long>(getpid()) : 0;
  MPI_Bcast(&pid, 1, MPI_LONG, 0, MPI_COMM_WORLD);
  return (std::filesystem::temp_directory_path() / (name + "-" + std::to_string(pid) + ".h5")).string();
}

// All values of `dataset` in the HDF5 file `path`, read as `memory_type` (e.g. H5T_NATIVE_DOUBLE).
template <typename Value>
std::vector<Value> read_dataset(const std::string& path, const std::string& dataset, hid_t memory_type) {
  const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  EXPECT_GE(file, 0) << path;
  const hid_t data = H5Dopen2(file, dataset.c_str(), H5P_DEFAULT);
  EXPECT_GE(data, 0) << dataset;
  const hid_t space = H5Dget_space(data);
  std::vector<Value> values(static_cast<size_t>(H5Sget_simple_extent_npoints(space)));
  H5Dread(data, memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data());
  H5Sclose(space), H5Dclose(data), H5Fclose(file);
  return values;
}

}  // namespace wna::test
