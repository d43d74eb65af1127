// The archive writer on 1, 2 and 3 ranks, read back with the archive reader: attributes longer
// than the 64 KiB the earliest HDF5 format allows (a long run's history, a merge of a large job
// array), rows written by their owners, and every dimension given its scale in its group.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "mpi_test_support.hpp"
#include "wna/archive/archive.hpp"
#include "wna/archive/archive_reader.hpp"
#include "wna/core/partition.hpp"

namespace {

using wna::test::rank;
using wna::test::ranks;
using wna::test::shared_path;

TEST(MpiArchive, LongAttributesAndOwnedRowsReadBack) {
  const std::string path = shared_path("wna_mpi_archive_attributes");
  std::string history;
  for (int line = 0; line < 2000; ++line)  // about 180 KiB: far beyond 64 KiB
    history += "wna_mpi started 2026-11-29T00:00:00Z on 512 ranks: node" + std::to_string(line) +
               " (ranks 0-15), ...; Slurm job 123 (array 120_3, name wna-ci); 10 of 100 blocks done\n";
  ASSERT_GT(history.size(), 150000u);
  const int64_t rows = 7;
  const auto [begin, end] = wna::owned_rows(rows, rank(), ranks());
  std::vector<int64_t> values;
  for (int64_t row = begin; row < end; ++row) values.insert(values.end(), {row * 10, row * 10 + 1});
  {
    auto archive = wna::create_hdf5_archive(MPI_COMM_WORLD, path, false);
    archive->define_axis("item", wna::index_axis(rows));
    archive->write({"/group/values", {rows, 2}, {"item", "pair"}, "test values"}, wna::rows_or_none(values), begin, end);
    archive->set_attribute("/", "history", history);
    archive->commit();
  }
  if (rank() == 0) {
    const auto reader = wna::open_hdf5_archive(path);
    EXPECT_EQ(reader->text_attribute("history"), history);
    const auto read = reader->integers("/group/values");
    ASSERT_EQ(read.size(), static_cast<size_t>(2 * rows));
    for (int64_t i = 0; i < 2 * rows; ++i) EXPECT_EQ(read[static_cast<size_t>(i)], (i / 2) * 10 + i % 2) << i;
    const auto items = wna::test::read_dataset<double>(path, "/group/item", H5T_NATIVE_DOUBLE);
    EXPECT_EQ(items, wna::index_axis(rows));  // the coordinate variable in the dataset's own group
    std::filesystem::remove(path);
  }
  MPI_Barrier(MPI_COMM_WORLD);
}

}  // namespace
