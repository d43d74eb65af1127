// Unit tests of checkpoints: a saved state loads back as it was; a corrupted, truncated or
// foreign file is refused with a message naming it; a checkpoint of another run is refused
// naming the setting that differs; the fingerprint follows the settings and the model file's
// bytes; and the blocks left after a checkpoint are dealt over any rank count exactly once.
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <string>

#include <torch/torch.h>

#include "test_support.hpp"
#include "wna/core/error.hpp"
#include "wna/engine/checkpoint.hpp"
#include "wna/engine/resumable_run.hpp"

namespace wna {
namespace {

RunState sample_state() {
  RunState state;
  state.fingerprint = "run.seed = 3\nrun.samples = 1000\n";
  state.completed_blocks = {0, 2, 5};
  state.limbs = {{1, -2, 3, 4294967295LL}, {}, {-9223372036854775807LL, 7}};
  return state;
}

std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

template <typename Exception>
void expect_message(const std::function<void()>& action, const std::string& fragment) {
  try {
    action();
    ADD_FAILURE() << "expected an exception mentioning " << fragment;
  } catch (const Exception& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

TEST(Checkpoint, SavedStateLoadsBackUnchangedAndNoTemporaryFileIsLeft) {
  const auto dir = test::scratch_dir("checkpoint_roundtrip");
  const std::string path = (dir / "run.checkpoint").string();
  save_checkpoint(path, sample_state());
  const RunState loaded = load_checkpoint(path);
  EXPECT_EQ(loaded.fingerprint, sample_state().fingerprint);
  EXPECT_EQ(loaded.completed_blocks, sample_state().completed_blocks);
  EXPECT_EQ(loaded.limbs, sample_state().limbs);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir), std::filesystem::directory_iterator()), 1);
}

TEST(Checkpoint, CorruptedTruncatedOrForeignFilesAreRefusedNamingTheFile) {
  const auto dir = test::scratch_dir("checkpoint_bad");
  const std::string path = (dir / "run.checkpoint").string();
  save_checkpoint(path, sample_state());
  const std::string good = read(path);
  std::string flipped = good;
  flipped[flipped.size() - 3] ^= 0x10;
  write(path, flipped);
  expect_message<Error>([&] { load_checkpoint(path); }, path + ": truncated or corrupted");
  write(path, good.substr(0, good.size() - 5));
  expect_message<Error>([&] { load_checkpoint(path); }, "truncated or corrupted");
  write(path, "[run]\nseed = 1\n");
  expect_message<Error>([&] { load_checkpoint(path); }, "not a wna checkpoint");
  expect_message<Error>([&] { load_checkpoint((dir / "absent").string()); }, "cannot be read");
}

TEST(Checkpoint, AnotherRunsCheckpointIsAUsageErrorNamingTheSetting) {
  check_fingerprint("x.ckpt", "a = 1\nb = 2\n", "a = 1\nb = 2\n");
  expect_message<UsageError>([] { check_fingerprint("x.ckpt", "a = 1\nb = 2\n", "a = 1\nb = 3\n"); },
                             "checkpoint x.ckpt belongs to another run: it has b = 3 but this run has b = 2");
}

TEST(Checkpoint, FingerprintFollowsTheSettingsAndTheModelBytes) {
  const auto dir = test::scratch_dir("checkpoint_fingerprint");
  RunSettings s;
  s.model_file = (dir / "model.pt").string();
  s.samples = 1000;
  s.gammas = {0.0};
  write(s.model_file, "weights A");
  const std::string base = run_fingerprint(s);
  RunSettings other_seed = s;
  other_seed.seed = 2;
  EXPECT_NE(run_fingerprint(other_seed), base);
  RunSettings other_threads = s;
  other_threads.threads = 7;  // how the work is spread does not change the sums
  other_threads.output = "elsewhere.h5";
  EXPECT_EQ(run_fingerprint(other_threads), base);
  const auto signals = torch::rand({3, 1, 2, 2});
  EXPECT_NE(run_fingerprint(s, signals), base);  // gamma > 0 mixes in test images
  EXPECT_EQ(run_fingerprint(s, signals.clone()), run_fingerprint(s, signals));
  EXPECT_NE(run_fingerprint(s, signals + 1), run_fingerprint(s, signals));
  write(s.model_file, "weights B");
  EXPECT_NE(run_fingerprint(s), base);
  expect_message<UsageError>([&] { check_fingerprint("c", run_fingerprint(s), base); }, "model.file");
}

TEST(Checkpoint, RemainingBlocksAreDealtOverAnyRankCountExactlyOnce) {
  const BlockPlan plan(10500, 1000);  // 11 blocks, the last one short
  RunState state;
  state.completed_blocks = {0, 3, 4, 10};
  for (int ranks : {1, 2, 3, 5}) {
    std::multiset<int64_t> seen;
    for (int rank = 0; rank < ranks; ++rank)
      for (const Block& block : remaining_blocks_of_rank(plan, state, rank, ranks)) seen.insert(block.index);
    EXPECT_EQ(seen, (std::multiset<int64_t>{1, 2, 5, 6, 7, 8, 9})) << ranks << " ranks";
  }
  EXPECT_EQ(remaining_blocks_of_rank(plan, std::nullopt, 0, 1).size(), 11u);
}

}  // namespace
}  // namespace wna
