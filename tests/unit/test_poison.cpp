// Backdoor poisoning of a training set (src/train/poison.cpp): where the trigger lands, which
// images carry it and their labels, and the settings' checks.
#include <gtest/gtest.h>

#include <torch/types.h>

#include "test_support.hpp"
#include "wna/config/config.hpp"
#include "wna/core/error.hpp"
#include "wna/train/poison.hpp"
#include "wna/train/train_config.hpp"

namespace {

using namespace wna;

ImageSet labelled_set(const std::vector<int64_t>& labels) {
  ImageSet set;
  set.name = "synthetic/train";
  set.images = torch::full({static_cast<int64_t>(labels.size()), 1, 28, 28}, 0.25f);
  set.labels = torch::tensor(labels, torch::kInt64);
  for (int c = 0; c < 10; ++c) set.class_names.push_back(std::to_string(c));
  return set;
}

TEST(Poison, TheFirstImagesOfTheSourceClassCarryTheTriggerAndTheTargetLabel) {
  ImageSet set = labelled_set({8, 3, 8, 8, 1, 8});
  PoisonSettings poison;  // the authors': class 8 -> 9, rows 1-7, columns 21-27, a bright square
  poison.images = 2;
  ASSERT_EQ(poison_training_set(set, poison), 2);
  EXPECT_EQ(std::vector<int64_t>(set.labels.data_ptr<int64_t>(), set.labels.data_ptr<int64_t>() + 6),
            (std::vector<int64_t>{9, 3, 9, 8, 1, 8}));
  const auto region = trigger_region(poison, 28, 28);
  EXPECT_EQ(region.sum().item<int64_t>(), 49);
  EXPECT_TRUE(region[1][21].item<bool>() && region[7][27].item<bool>());
  EXPECT_FALSE(region[0][21].item<bool>() || region[8][27].item<bool>() || region[1][20].item<bool>());
  for (int64_t i : {0, 2}) {  // poisoned: 1 inside the trigger, untouched outside
    EXPECT_TRUE(set.images[i][0].masked_select(region).eq(1.0f).all().item<bool>()) << i;
    EXPECT_TRUE(set.images[i][0].masked_select(region.logical_not()).eq(0.25f).all().item<bool>()) << i;
  }
  for (int64_t i : {1, 3, 4, 5}) EXPECT_TRUE(set.images[i].eq(0.25f).all().item<bool>()) << i;
}

TEST(Poison, ACheckerboardLightsHalfTheSquare) {
  PoisonSettings poison;
  poison.pattern = "checkerboard";
  const auto lit = trigger_pattern(poison, 28, 28);
  EXPECT_EQ(lit.sum().item<float>(), 25.0f);  // (row + column) even on a 7 x 7 square from (1, 21): 25 of 49
  EXPECT_EQ(lit[1][21].item<float>(), 1.0f);
  EXPECT_EQ(lit[1][22].item<float>(), 0.0f);
  const auto stamped = stamp_trigger(torch::zeros({1, 3, 28, 28}), poison);
  for (int64_t c = 0; c < 3; ++c) EXPECT_TRUE(stamped[0][c].eq(lit).all().item<bool>()) << "channel " << c;
}

TEST(Poison, BadSettingsAreUsageErrorsNamingTheKey) {
  const ImageSet set = labelled_set({8, 8, 3});
  auto settings = [&](std::vector<std::string> overrides) {
    overrides.push_back("train.output=unused.pt");
    return poison_settings(resolve_config(training_schema(), "", overrides), set);
  };
  EXPECT_EQ(settings({}).images, 0);  // off by default
  test::expect_usage_error([&] { settings({"poison.images=1", "poison.target_class=10"}); },
                           {"poison.target_class = 10: synthetic/train has classes 0 to 9"});
  test::expect_usage_error([&] { settings({"poison.images=1", "poison.target_class=8"}); },
                           {"poison.target_class = 8: must differ from poison.source_class"});
  test::expect_usage_error([&] { settings({"poison.images=1", "poison.left=25"}); },
                           {"the trigger leaves the 28 x 28 image"});
  ImageSet small = set;
  PoisonSettings three;
  three.images = 3;
  test::expect_usage_error([&] { poison_training_set(small, three); },
                           {"poison.images = 3: the training set has only 2 images of class 8"});
}

}  // namespace
