// Classification images on N ranks (run by ctest on 1, 2 and 3 ranks): the exact reduction of
// the ranks' partial accumulators equals, bit for bit, one process computing every block, and
// the archive written collectively holds the reduced values.
#include <gtest/gtest.h>
#include <hdf5.h>
#include <mpi.h>

#include <filesystem>
#include <fstream>

#include <torch/types.h>
#include <torch/utils.h>

#include "mpi_test_support.hpp"
#include "wna/archive/archive.hpp"
#include "wna/models/zoo.hpp"
#include "wna/reduce/reducer.hpp"
#include "wna/analyses/classification_images/archive.hpp"
#include "wna/analyses/classification_images/statistics.hpp"
#include "pipeline_under_test.hpp"

namespace {

using wna::test::rank;
using wna::test::ranks;
using wna::test::shared_path;

// A 3-class linear model on 8x8 images, with the same seeded weights on every rank.
std::shared_ptr<wna::Network> linear_model() {
  wna::ModelSpec spec;
  spec.architecture = "logreg";
  spec.dataset = "synthetic";
  spec.channels = 1, spec.height = 8, spec.width = 8;
  spec.class_names = {"a", "b", "c"};
  torch::manual_seed(7);
  auto network = wna::make_zoo_model(spec);
  network->module().eval();
  return network;
}

wna::RunSettings settings() {
  wna::RunSettings s = wna::default_run_settings();
  s.samples = 3100;  // 13 blocks, the last one short
  s.block_size = 250;
  s.forward_batch = 125;
  s.threads = 2;
  s.gammas = {0.0};
  s.noise.kind = wna::NoiseKind::Gaussian;
  s.noise.mean = 0.5, s.noise.std = 0.3, s.noise.seed = 11;
  return s;
}

TEST(MpiClassImages, ReducedAccumulatorsEqualOneProcessComputingEveryBlock) {
  auto network = linear_model();
  const auto s = settings();
  const wna::StimulusMixer mixer{torch::Tensor()};
  const wna::BlockPlan plan(s.samples, s.block_size);
  wna::PhaseTimer timer;

  wna::test::PipelineUnderTest mine(*network, s, mixer);
  mine.run(plan.blocks_of_rank(rank(), ranks()), timer);
  wna::make_mpi_reducer(MPI_COMM_WORLD)->all_reduce(mine.class_images().buffer());

  wna::test::PipelineUnderTest everything(*network, s, mixer);
  everything.run(plan.blocks_of_rank(0, 1), timer);
  const auto& reduced = mine.class_images().buffer();
  const auto& reference = everything.class_images().buffer();
  ASSERT_EQ(reduced.limb_count(), reference.limb_count());
  EXPECT_TRUE(std::equal(reduced.limbs(), reduced.limbs() + reduced.limb_count(), reference.limbs()))
      << "reduction over " << ranks() << " ranks differs from a single process";
  // Every sample was counted exactly once.
  double total = 0;
  for (int64_t c = 0; c < 3; ++c) total += reduced.value(mine.class_images().fields().counts.at({0, c}));
  EXPECT_EQ(total, static_cast<double>(s.samples));
}

TEST(MpiClassImages, ReduceScatterGivesEachRankItsSliceOfTheSum) {
  wna::ExactBuffer buffer(1000), expected(1000);
  for (size_t i = 0; i < buffer.size(); ++i) {
    buffer.add(i, 0.25 * static_cast<double>(i) * (rank() + 1) - 3.0);
    for (int r = 0; r < ranks(); ++r) expected.add(i, 0.25 * static_cast<double>(i) * (r + 1) - 3.0);
  }
  expected.normalize();
  std::vector<size_t> offsets{100};
  for (int r = 0; r < ranks(); ++r) offsets.push_back(offsets.back() + 250 + static_cast<size_t>(r) * 10);
  wna::make_mpi_reducer(MPI_COMM_WORLD)->reduce_scatter(buffer, offsets);
  for (size_t i = offsets[rank()]; i < offsets[rank() + 1]; ++i)
    ASSERT_EQ(buffer.value(i), expected.value(i)) << "sum " << i << " on rank " << rank();
}

TEST(MpiClassImages, ArchiveIsWrittenCollectivelyAndRenamedOnlyWhenComplete) {
  auto network = linear_model();
  const auto s = settings();
  const wna::StimulusMixer mixer{torch::Tensor()};
  const wna::BlockPlan plan(s.samples, s.block_size);
  wna::PhaseTimer timer;
  wna::test::PipelineUnderTest pipeline(*network, s, mixer);
  pipeline.run(plan.blocks_of_rank(rank(), ranks()), timer);
  wna::make_mpi_reducer(MPI_COMM_WORLD)->all_reduce(pipeline.class_images().buffer());
  const auto statistics =
      wna::finalize_class_images(pipeline.class_images(), s.gammas, s.noise, s.samples, s.block_size, *network);

  const std::string path = shared_path("wna_mpi_archive");
  {
    auto archive = wna::create_hdf5_archive(MPI_COMM_WORLD, path, false);
    wna::define_class_image_axes(*archive, network->spec(), s.gammas, statistics.stage_samples);
    wna::write_class_images(*archive, statistics, network->spec(), 0.3, rank(), ranks());
    MPI_Barrier(MPI_COMM_WORLD);
    EXPECT_FALSE(std::filesystem::exists(path)) << "archive visible before commit";
    archive->commit();
  }
  if (rank() == 0) {
    const auto counts = wna::test::read_dataset<int64_t>(path, "/classification_images/count", H5T_NATIVE_INT64);
    const auto expected = statistics.count.contiguous();
    ASSERT_EQ(counts.size(), static_cast<size_t>(expected.numel()));
    for (size_t i = 0; i < counts.size(); ++i) EXPECT_EQ(counts[i], expected.data_ptr<int64_t>()[i]);
  }
  MPI_Barrier(MPI_COMM_WORLD);

  // A run that fails before commit leaves the existing archive untouched and no temporary file.
  const auto before = std::filesystem::file_size(path);
  {
    auto failed = wna::create_hdf5_archive(MPI_COMM_WORLD, path, true);
    failed->define_axis("gamma", std::vector<double>{0.0, 1.0});
  }
  MPI_Barrier(MPI_COMM_WORLD);
  EXPECT_EQ(std::filesystem::file_size(path), before);
  for (const auto& entry : std::filesystem::directory_iterator(std::filesystem::path(path).parent_path()))
    EXPECT_EQ(entry.path().string().find(path + ".partial"), std::string::npos) << entry.path();
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank() == 0) std::filesystem::remove(path);
}

}  // namespace
