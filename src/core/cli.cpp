// Version text and error reporting shared by the programs (see include/wna/core/cli.hpp).
#include "wna/core/cli.hpp"

#include <mpi.h>
#include <H5public.h>
#include <torch/version.h>

#include <cstdio>
#include <exception>

#include <fmt/format.h>

#include "wna/core/error.hpp"
#include "wna/version.hpp"

namespace wna {

std::string version_text() {
  unsigned hdf5_major = 0, hdf5_minor = 0, hdf5_release = 0;
  H5get_libversion(&hdf5_major, &hdf5_minor, &hdf5_release);
  char mpi_library[MPI_MAX_LIBRARY_VERSION_STRING] = {0};
  int length = 0;
  MPI_Get_library_version(mpi_library, &length);
  std::string mpi_text(mpi_library, static_cast<size_t>(length));
  mpi_text = mpi_text.substr(0, mpi_text.find(','));
  return fmt::format("wna {} (commit {}, LibTorch {}, {}, HDF5 {}.{}.{})", kVersion, kGitCommit,
                     TORCH_VERSION, mpi_text, hdf5_major, hdf5_minor, hdf5_release);
}

int run_reporting_errors(const std::string& program, bool print_errors,
                         const std::function<int()>& body) {
  try {
    return body();
  } catch (const UsageError& e) {
    if (print_errors) std::fprintf(stderr, "%s: error: %s\n", program.c_str(), e.what());
    return kExitUsage;
  } catch (const std::exception& e) {
    if (print_errors) std::fprintf(stderr, "%s: error: %s\n", program.c_str(), e.what());
    return kExitFailure;
  }
}

}  // namespace wna
