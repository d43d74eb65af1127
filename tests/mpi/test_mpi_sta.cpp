// Spike-triggered averages on N ranks (run by ctest on 1, 2 and 3 ranks): the exact reduction
// of the ranks' STA sums equals, bit for bit, one process computing every block; the
// reduce-scatter leaves each rank the totals of the units it owns; and the STA datasets
// written collectively from the owners' slices equal a single process's statistics.
#include <gtest/gtest.h>
#include <hdf5.h>
#include <mpi.h>

#include <cstring>
#include <filesystem>

#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/pooling.h>
#include <torch/types.h>
#include <torch/utils.h>

#include "mpi_test_support.hpp"
#include "wna/archive/archive.hpp"
#include "wna/core/partition.hpp"
#include "wna/models/sequential_network.hpp"
#include "wna/reduce/reducer.hpp"
#include "wna/analyses/classification_images/archive.hpp"
#include "wna/analyses/classification_images/statistics.hpp"
#include "pipeline_under_test.hpp"
#include "wna/analyses/sta/archive.hpp"
#include "wna/analyses/sta/layers.hpp"
#include "wna/analyses/sta/statistics.hpp"

namespace {

using wna::test::rank;
using wna::test::ranks;
using wna::test::shared_path;

// A small conv net on 1 x 10 x 10 images (padded conv, pool, linear units), with the same
// seeded weights on every rank. Layers whose unit counts (4, 4, 5, 2) leave some rank empty-handed.
std::shared_ptr<wna::Network> conv_model() {
  wna::ModelSpec spec;
  spec.architecture = "custom";
  spec.dataset = "synthetic";
  spec.channels = 1, spec.height = 10, spec.width = 10;
  spec.class_names = {"a", "b"};
  torch::manual_seed(9);
  auto network = std::make_shared<wna::SequentialNetwork>(spec);
  network->append("conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(1, 4, 3).padding(1)));
  network->append("relu1", torch::nn::ReLU());
  network->append("pool1", torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(2)));
  network->append("flatten", torch::nn::Flatten());
  network->append("fc1", torch::nn::Linear(100, 5));
  network->append("fc2", torch::nn::Linear(5, 2));
  return network;
}

wna::RunSettings settings() {
  wna::RunSettings s = wna::default_run_settings();
  s.samples = 2600;  // 11 blocks, the last one short
  s.block_size = 250;
  s.forward_batch = 125;
  s.threads = 2;
  s.gammas = {0.0};
  s.noise.kind = wna::NoiseKind::Gaussian;
  s.noise.mean = 0.0, s.noise.std = 1.0, s.noise.seed = 5;
  return s;
}

wna::StaLayout layout(wna::Network& network) {
  wna::StaSettings sta;
  sta.layers = {"conv1", "relu1", "pool1", "fc1", "fc2"};
  sta.position_y = sta.position_x = 2;
  return wna::resolve_sta_layout(network, sta);
}

// The pipeline's STA sums over `blocks`.
wna::StaAccumulator run(wna::Network& network, const wna::StaLayout& sta, const wna::RankBlocks& blocks) {
  const auto s = settings();
  const wna::StimulusMixer mixer{torch::Tensor()};
  wna::test::PipelineUnderTest pipeline(network, s, mixer, sta);
  wna::PhaseTimer timer;
  pipeline.run(blocks, timer);
  return pipeline.sta();
}

std::vector<double> read_doubles(const std::string& path, const std::string& dataset) {
  return wna::test::read_dataset<double>(path, dataset, H5T_NATIVE_DOUBLE);
}

bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
}

TEST(MpiSta, ReducedLimbsEqualOneProcessComputingEveryBlock) {
  auto network = conv_model();
  const auto sta = layout(*network);
  const wna::BlockPlan plan(settings().samples, settings().block_size);
  auto mine = run(*network, sta, plan.blocks_of_rank(rank(), ranks()));
  wna::make_mpi_reducer(MPI_COMM_WORLD)->all_reduce(mine.buffer());
  const auto everything = run(*network, sta, plan.blocks_of_rank(0, 1));
  ASSERT_EQ(mine.buffer().limb_count(), everything.buffer().limb_count());
  EXPECT_TRUE(std::equal(mine.buffer().limbs(), mine.buffer().limbs() + mine.buffer().limb_count(),
                         everything.buffer().limbs()))
      << "STA reduction over " << ranks() << " ranks differs from a single process";
}

TEST(MpiSta, ReduceScatterLeavesEachRankTheTotalsOfItsUnits) {
  auto network = conv_model();
  const auto sta = layout(*network);
  const wna::BlockPlan plan(settings().samples, settings().block_size);
  auto mine = run(*network, sta, plan.blocks_of_rank(rank(), ranks()));
  wna::reduce_sta_to_owners(*wna::make_mpi_reducer(MPI_COMM_WORLD), mine, ranks());
  auto everything = run(*network, sta, plan.blocks_of_rank(0, 1));
  everything.buffer().normalize();
  for (const wna::StaLayer& layer : sta.layers()) {
    const auto [first, end] = wna::owned_rows(layer.units, rank(), ranks());
    const size_t begin_limb = 2 * layer.unit_index(first), end_limb = 2 * layer.unit_index(end);
    EXPECT_TRUE(std::equal(mine.buffer().limbs() + begin_limb, mine.buffer().limbs() + end_limb,
                           everything.buffer().limbs() + begin_limb))
        << layer.name << ": units " << first << ".." << end << " on rank " << rank();
  }
}

TEST(MpiSta, OwnersWriteTheSameStatisticsAsOneProcess) {
  auto network = conv_model();
  const auto sta = layout(*network);
  const auto s = settings();
  const wna::BlockPlan plan(s.samples, s.block_size);
  auto mine = run(*network, sta, plan.blocks_of_rank(rank(), ranks()));
  wna::reduce_sta_to_owners(*wna::make_mpi_reducer(MPI_COMM_WORLD), mine, ranks());

  const std::string path = shared_path("wna_mpi_sta");
  {
    auto archive = wna::create_hdf5_archive(MPI_COMM_WORLD, path, false);
    wna::define_class_image_axes(*archive, network->spec(), s.gammas, torch::zeros({1}, torch::kInt64));
    wna::write_sta(*archive, mine, 0.0, s.samples, *network, rank(), ranks());
    archive->commit();
  }
  if (rank() == 0) {
    auto everything = run(*network, sta, plan.blocks_of_rank(0, 1));
    everything.buffer().normalize();
    for (const wna::StaLayer& layer : sta.layers()) {
      const auto expected = wna::finalize_sta_layer(everything, layer, s.samples, 0, layer.units,
                                                    wna::first_conv_filters(*network, layer));
      const std::string group = "/sta/" + layer.name + "/";
      EXPECT_TRUE(same_bits(read_doubles(path, group + "sta"), expected.overall.sta)) << layer.name;
      EXPECT_TRUE(same_bits(read_doubles(path, group + "normalized_sta"), expected.overall.normalized_sta))
          << layer.name;
      EXPECT_TRUE(same_bits(read_doubles(path, group + "variance"), expected.overall.variance)) << layer.name;
      if (layer.spatial) {
        EXPECT_TRUE(same_bits(read_doubles(path, group + "sta_at_position"), expected.at_position.sta))
            << layer.name;
      }
    }
    const auto correlation = read_doubles(path, "/sta/conv1/filter_correlation");
    ASSERT_EQ(correlation.size(), 4u);
    for (double r : correlation) EXPECT_GE(r, 0.95);
    std::filesystem::remove(path);
  }
  MPI_Barrier(MPI_COMM_WORLD);
}

}  // namespace
