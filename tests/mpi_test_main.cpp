// GoogleTest entry point for tests run under mpiexec: MPI is initialised once, only rank 0
// prints, and the exit code is failing if any rank failed.
#include <gtest/gtest.h>

#include "wna/core/mpi_session.hpp"
#include "wna/core/runtime.hpp"

int main(int argc, char** argv) {
  wna::configure_process_memory();
  wna::MpiSession mpi(&argc, &argv);
  ::testing::InitGoogleTest(&argc, argv);
  if (!mpi.is_root()) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
  }
  int failed = RUN_ALL_TESTS() != 0 ? 1 : 0;
  MPI_Allreduce(MPI_IN_PLACE, &failed, 1, MPI_INT, MPI_MAX, mpi.comm());
  return failed;
}
