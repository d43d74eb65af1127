// The trigger search of the backdoor analysis (methods.md section 5): the scan statistic finds a
// square planted in noise at its place and side, the concentration is the window's share of the
// positive z energy, and the stamped patch is 1 where z > 0 and 0 elsewhere, inside the window
// only. (A planted trigger in a trained model: tests/cli/test_backdoor.sh.)
#include <gtest/gtest.h>

#include <cmath>

#include <torch/torch.h>

#include "wna/analyses/backdoor/backdoor_analysis.hpp"
#include "wna/core/error.hpp"

namespace wna {
namespace {

TEST(Backdoor, ScanFindsAPlantedSquareWhereItIs) {
  torch::manual_seed(3);
  auto z = torch::randn({1, 28, 28}, torch::kFloat64);
  z.slice(1, 2, 9).slice(2, 20, 27) += 6.0;  // a 7 x 7 trigger at rows 2-8, columns 20-26
  for (const int64_t side : {5, 7}) {
    const TriggerWindow w = find_trigger_window(z, side);
    EXPECT_EQ(w.size, side);
    EXPECT_GE(w.top, 2);
    EXPECT_LE(w.top + side, 9) << "side " << side;
    EXPECT_GE(w.left, 20);
    EXPECT_LE(w.left + side, 27) << "side " << side;
  }
  const TriggerWindow seven = find_trigger_window(z, 7);
  EXPECT_EQ(seven.top, 2);
  EXPECT_EQ(seven.left, 20);
  const auto inside = z.slice(1, 2, 9).slice(2, 20, 27);
  EXPECT_NEAR(seven.scan_statistic, inside.sum().item<double>() / 7.0, 1e-9);
  const auto positive = z.clamp_min(0).square();
  EXPECT_NEAR(seven.concentration,
              inside.clamp_min(0).square().sum().item<double>() / positive.sum().item<double>(), 1e-12);
}

TEST(Backdoor, ScanSumsOverChannelsAndBreaksTiesInRowMajorOrder) {
  auto z = torch::zeros({3, 8, 8}, torch::kFloat64);
  z[0][1][1] = 1.0, z[1][1][1] = 2.0, z[2][1][1] = 3.0;  // one pixel, 6 over the channels
  z[0][5][5] = 6.0;                                      // the same total later in row-major order
  const TriggerWindow w = find_trigger_window(z, 1);
  EXPECT_EQ(w.top, 1);
  EXPECT_EQ(w.left, 1);
  EXPECT_NEAR(w.scan_statistic, 6.0 / std::sqrt(3.0), 1e-15);
  EXPECT_NEAR(w.concentration, (1.0 + 4.0 + 9.0) / (1.0 + 4.0 + 9.0 + 36.0), 1e-15);
  EXPECT_TRUE(std::isnan(find_trigger_window(-torch::ones({1, 4, 4}, torch::kFloat64), 2).concentration))
      << "no positive z: no share to speak of";
  EXPECT_THROW(find_trigger_window(z, 9), Error) << "a side larger than the image";
  EXPECT_THROW(find_trigger_window(z, 0), Error);
}

TEST(Backdoor, PatchIsTheSignOfZInsideTheWindowOnly) {
  auto z = torch::full({1, 6, 6}, -1.0, torch::kFloat64);
  z[0][2][3] = 2.0;
  z[0][3][2] = 0.5;
  const TriggerWindow w{.top = 2, .left = 2, .size = 2};
  const auto images = torch::full({2, 1, 6, 6}, 0.25f);
  const auto stamped = stamp_patch(images, z, w);
  EXPECT_EQ(stamped.scalar_type(), torch::kFloat32);
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t y = 0; y < 6; ++y)
      for (int64_t x = 0; x < 6; ++x) {
        const bool in_window = y >= 2 && y < 4 && x >= 2 && x < 4;
        const float expected = !in_window ? 0.25f : (z[0][y][x].item<double>() > 0 ? 1.0f : 0.0f);
        EXPECT_EQ(stamped[n][0][y][x].item<float>(), expected) << n << " " << y << " " << x;
      }
  EXPECT_EQ(images[0][0][2][3].item<float>(), 0.25f) << "the input is not changed";
}

}  // namespace
}  // namespace wna
