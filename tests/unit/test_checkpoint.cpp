// Unit tests of checkpoints: a saved state loads back as it was; a corrupted, truncated or
// foreign file is refused with a message naming it; a checkpoint of another run is refused
// naming the setting that differs; the fingerprint follows the settings and the model file's
// bytes; and the blocks left after a checkpoint are dealt over any rank count exactly once.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <fstream>
#include <set>
#include <string>

#include <torch/types.h>

#include "test_support.hpp"
#include "wna/analyses/registry.hpp"
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

// A stand-in model file ("weights A") in a fresh scratch folder: fingerprints hash its bytes.
std::string model_file_in(const std::string& scratch) {
  const std::string model = (test::scratch_dir(scratch) / "model.pt").string();
  write(model, "weights A");
  return model;
}

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

TEST(Checkpoint, ALineOnlyOneSideHasIsNamedNotTheLinesAfterIt) {
  expect_message<UsageError>([] { check_fingerprint("x.ckpt", "a = 1\nc = 5\nd = 2\n", "a = 1\nd = 2\n"); },
                             "it has no c line (an earlier wna's) but this run has c = 5");
  expect_message<UsageError>([] { check_fingerprint("x.ckpt", "a = 1\nd = 2\n", "a = 1\nc = 5\nd = 2\n"); },
                             "it has c = 5 but this run has none");
}

// A key added later (KeySpec::implied_before) is left out of the fingerprint at the value that
// earlier wna behaved as: an earlier checkpoint, which has no line for it, matches exactly the
// runs that compute what it computed.
TEST(Checkpoint, AKeyAtTheValueEarlierVersionsImpliedKeepsTheirFingerprint) {
  const std::string model = model_file_in("checkpoint_implied");
  const ConfigSchema schema = run_schema();
  const auto fingerprint = [&](const std::string& precision) {
    return run_fingerprint(resolve_config(schema, "", {"model.file=" + model, "noise.kind=gaussian",
                                                       "noise.gaussian_precision=" + precision}));
  };
  const std::string earlier = fingerprint("double"), single = fingerprint("single");
  EXPECT_EQ(earlier.find("gaussian_precision"), std::string::npos) << earlier;
  EXPECT_NE(single.find("noise.gaussian_precision = single\n"), std::string::npos) << single;
  check_fingerprint("old.ckpt", earlier, earlier);
  expect_message<UsageError>([&] { check_fingerprint("old.ckpt", single, earlier, schema); },
                             "it has no noise.gaussian_precision line (written before the key existed, it means "
                             "noise.gaussian_precision = double: --set noise.gaussian_precision=double resumes it) "
                             "but this run has noise.gaussian_precision = single");
}

// Every results key has a line, also at an empty value (model.input_shape): only a key at its
// non-empty implied_before value has none.
TEST(Checkpoint, FingerprintHasALineForEveryResultsKeyButAtAnImpliedValue) {
  const std::string model = model_file_in("checkpoint_lines");
  const ConfigSchema schema = run_schema();
  const Config config = resolve_config(schema, "", {"model.file=" + model});
  const std::string fingerprint = run_fingerprint(config);
  for (const KeySpec& key : schema) {
    if (key.effect == Effect::None) continue;
    const bool implied = !key.implied_before.empty() && config.canonical(key.name()) == key.implied_before;
    const bool present = fingerprint.find("\n" + key.name() + " ") != std::string::npos ||
                         fingerprint.rfind(key.name() + " ", 0) == 0;
    EXPECT_EQ(present, !implied) << key.name() << " = '" << config.canonical(key.name()) << "'";
  }
  EXPECT_NE(fingerprint.find("model.input_shape = \n"), std::string::npos) << "an empty value keeps its line";
}

// Another valid value for `key` than `current` (its canonical value), from the schema alone.
std::string other_value(const KeySpec& key, const Config& config, const std::filesystem::path& dir) {
  const std::string name = key.name();
  if (!key.choices.empty()) {
    for (const auto& choice : key.choices)
      if (choice != config.text(name)) return choice;
  }
  switch (key.type) {
    case KeyType::Integer: {
      const int64_t value = config.integer(name);
      return std::to_string(key.max && value + 1 > *key.max ? value - 1 : value + 1);
    }
    case KeyType::Real: {
      const double value = config.real(name);
      return fmt::format("{}", key.max && value + 0.125 > *key.max ? value - 0.125 : value + 0.125);
    }
    case KeyType::Boolean: return config.boolean(name) ? "false" : "true";
    case KeyType::RealList: {  // 0.5, 0.25, or the smallest allowed values above them
      const double first = key.min && *key.min > 0.5 ? *key.min : 0.5;
      const double second = key.min && *key.min > 0.25 ? *key.min + 1 : 0.25;
      return config.real_list(name).empty() ? fmt::format("{}", first) : fmt::format("{}, {}", first, second);
    }
    case KeyType::TextList: return config.text_list(name).empty() ? "conv1" : "conv1, fc1";
    case KeyType::Text: {
      const auto path = dir / ("other_" + key.key);
      if (key.must_exist) write(path.string(), "another file of other bytes");
      return path.string();
    }
  }
  return "";
}

// Every key of wna_mpi's schema: a key that changes the results changes the fingerprint, and
// one that does not (where and how the run works) leaves it as it is. The model file enters by
// its bytes: a copy elsewhere keeps the fingerprint, other bytes change it.
TEST(Checkpoint, FingerprintFollowsEveryResultsKeyAndNoOther) {
  const auto dir = test::scratch_dir("checkpoint_fingerprint");
  const std::string model = (dir / "model.pt").string(), copy = (dir / "copy.pt").string();
  write(model, "weights A");
  write(copy, "weights A");
  const ConfigSchema schema = run_schema();
  const Config base_config = resolve_config(schema, "", {"model.file=" + model});
  const std::string base = run_fingerprint(base_config);
  int results_keys = 0;
  for (const KeySpec& key : schema) {
    const std::string value = other_value(key, base_config, dir);
    const Config changed = resolve_config(schema, "", {"model.file=" + model, key.name() + "=" + value});
    ASSERT_NE(changed.canonical(key.name()), base_config.canonical(key.name())) << key.name();
    if (key.effect == Effect::None) {
      EXPECT_EQ(run_fingerprint(changed), base) << key.name() << " = " << value << " changed the fingerprint";
    } else {
      ++results_keys;
      EXPECT_NE(run_fingerprint(changed), base) << key.name() << " = " << value << " left the fingerprint as it was";
    }
  }
  EXPECT_GE(results_keys, 20);
  EXPECT_EQ(run_fingerprint(resolve_config(schema, "", {"model.file=" + copy})), base);
  // One spelling per meaning: 1e3 and 1000 samples are the same run.
  EXPECT_EQ(run_fingerprint(resolve_config(schema, "", {"model.file=" + model, "run.samples=1e5"})),
            run_fingerprint(resolve_config(schema, "", {"model.file=" + model, "run.samples=100_000"})));

  const auto signals = torch::rand({3, 1, 2, 2});
  EXPECT_NE(run_fingerprint(base_config, signals), base);  // gamma > 0 mixes in test images
  EXPECT_EQ(run_fingerprint(base_config, signals.clone()), run_fingerprint(base_config, signals));
  EXPECT_NE(run_fingerprint(base_config, signals + 1), run_fingerprint(base_config, signals));
  write(model, "weights B");
  expect_message<UsageError>([&] { check_fingerprint("c", run_fingerprint(base_config), base); }, "model.file");
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
  EXPECT_EQ(remaining_blocks_of_rank(plan, std::nullopt, 0, 1).size(), 11);
}

TEST(Checkpoint, AJobOfARangeDealsOnlyItsBlocksWithTheirIndicesInTheWholeRun) {
  // run.first_sample = 3000, run.end_sample = 9000 of 10500 samples: blocks 3..8, whatever the
  // rank count and whichever of them a checkpoint holds; the short last block is not the job's.
  const BlockPlan plan(10500, 1000, {3, 9});
  EXPECT_EQ(plan.blocks(), 11);
  for (const std::vector<int64_t>& completed : std::vector<std::vector<int64_t>>{{}, {3}, {4, 8}, {3, 4, 5, 6, 7, 8}}) {
    RunState state;
    state.completed_blocks = completed;
    for (int ranks : {1, 2, 4, 7}) {
      std::vector<int64_t> seen;
      for (int rank = 0; rank < ranks; ++rank)
        for (const Block& block : remaining_blocks_of_rank(plan, state, rank, ranks)) {
          seen.push_back(block.index);
          EXPECT_EQ(block.first_sample, static_cast<uint64_t>(block.index) * 1000);
          EXPECT_EQ(block.count, 1000);
        }
      std::sort(seen.begin(), seen.end());
      std::vector<int64_t> expected;
      for (int64_t b = 3; b < 9; ++b)
        if (!std::binary_search(completed.begin(), completed.end(), b)) expected.push_back(b);
      EXPECT_EQ(seen, expected) << ranks << " ranks, " << completed.size() << " completed";
    }
  }
  EXPECT_EQ(BlockPlan(10500, 1000, {10, 11}).blocks_of_rank(0, 1)[0].count, 500);
}

TEST(Checkpoint, RemainingBlocksAreTheListedOnesInOrderAndSlicesAgree) {
  // The lazy share against a plain listing: every rank count, completed sets at the start,
  // middle and end, including the short last block.
  const BlockPlan plan(10500, 1000);
  for (const std::vector<int64_t>& completed : std::vector<std::vector<int64_t>>{{}, {0, 1, 2}, {5}, {9, 10}, {0, 10}}) {
    std::vector<int64_t> remaining;
    for (int64_t b = 0; b < plan.blocks(); ++b)
      if (!std::binary_search(completed.begin(), completed.end(), b)) remaining.push_back(b);
    RunState state;
    state.completed_blocks = completed;
    for (int ranks : {1, 2, 3, 4}) {
      for (int rank = 0; rank < ranks; ++rank) {
        const RankBlocks mine = remaining_blocks_of_rank(plan, state, rank, ranks);
        std::vector<int64_t> expected;
        for (size_t p = static_cast<size_t>(rank); p < remaining.size(); p += static_cast<size_t>(ranks))
          expected.push_back(remaining[p]);
        ASSERT_EQ(mine.size(), static_cast<int64_t>(expected.size()));
        for (int64_t i = 0; i < mine.size(); ++i) {
          EXPECT_EQ(mine[i].index, expected[static_cast<size_t>(i)]);
          EXPECT_EQ(mine[i].count, plan.block(expected[static_cast<size_t>(i)]).count);
        }
        if (mine.size() >= 2) {
          const RankBlocks tail = mine.slice(1, mine.size());
          EXPECT_EQ(tail.size(), mine.size() - 1);
          EXPECT_EQ(tail[0].index, mine[1].index);
        }
      }
    }
  }
}

TEST(Checkpoint, ASharesSizeAndBlocksCostNothingForTheLargestBudget) {
  const BlockPlan plan(1000000000000000, 500);  // 1e15 samples: 2e12 blocks
  RunState state;
  state.completed_blocks = {0, 1, 7};
  const RankBlocks mine = remaining_blocks_of_rank(plan, state, 2, 3);
  EXPECT_EQ(mine.size(), (plan.blocks() - 3 - 2 + 2) / 3);
  EXPECT_EQ(mine[0].index, 4);  // remaining: 2 3 4 5 6 8 ...; rank 2 takes positions 2, 5, ...
  EXPECT_EQ(mine[1].index, 8);
  // Rank 2's last position is 2 + 3 (size - 1) = 1999999999994, past the 3 completed blocks.
  const Block last = mine[mine.size() - 1];
  EXPECT_EQ(last.index, 1999999999997);
  EXPECT_EQ(last.first_sample, 1999999999997ULL * 500);
  EXPECT_EQ(last.count, 500);
}

TEST(Checkpoint, DecodedStateIsCheckedAgainstTheRun) {
  RunState good;
  good.completed_blocks = {0, 2, 5};
  good.limbs = {{3, -7, 0, 1}, {}};
  const std::vector<size_t> limbs{4, 0};
  check_run_state("c", good, {0, 6}, limbs);
  const auto refused = [&](RunState state, int64_t blocks, const std::string& fragment) {
    expect_message<UsageError>([&] { check_run_state("c", state, {0, blocks}, limbs); }, "checkpoint c: " + fragment);
  };
  RunState state = good;
  state.completed_blocks = {0, 2, 6};
  refused(state, 6, "completed block 6 is outside this job's blocks [0, 6)");
  // A job of blocks [1, 6) (run.first_sample): block 0 is another job's.
  expect_message<UsageError>([&] { check_run_state("c", good, {1, 6}, limbs); },
                             "checkpoint c: completed block 0 is outside this job's blocks [1, 6)");
  state.completed_blocks = {-1, 2};
  refused(state, 6, "completed block -1 is outside");
  state.completed_blocks = {0, 2, 2};
  refused(state, 6, "completed block 2 is repeated after block 2");
  state.completed_blocks = {0, 5, 2};
  refused(state, 6, "completed block 2 is listed after block 5");
  state = good;
  state.limbs.pop_back();
  refused(state, 6, "it holds 1 accumulators, this run has 2");
  state = good;
  state.limbs[0].push_back(0);
  refused(state, 6, "accumulator 0 has 5 limbs, this run's has 4");
  state = good;
  state.limbs[0][2] = int64_t{1} << 32;
  refused(state, 6, "accumulator 0 sum 1 is not normalised");
  state.limbs[0][2] = -1;
  refused(state, 6, "accumulator 0 sum 1 is not normalised");
}

}  // namespace
}  // namespace wna
