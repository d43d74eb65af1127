// STA geometry on a non-square, padded input (5 x 9, a 3 x 3 field every 2 pixels starting in
// the padding): every unit position's patch is the input pixels its receptive field covers,
// zero where the field reaches into the padding, whatever the position, on either axis.
#include <torch/types.h>

#include "test_support.hpp"
#include "wna/analyses/sta/accumulator.hpp"

namespace wna {
namespace {

TEST(StaGeometry, PatchesOfANonSquarePaddedInputAreTheCoveredPixels) {
  constexpr int64_t kImages = 2, kChannels = 2, kHeight = 5, kWidth = 9;
  const auto stimuli =
      torch::arange(kImages * kChannels * kHeight * kWidth, torch::kFloat32).reshape({kImages, kChannels, kHeight, kWidth}) + 1;
  StaLayer layer;
  layer.spatial = true;
  layer.field = ReceptiveField{3, 2, -1};
  layer.map_height = 3;  // (5 + 2 - 3) / 2 + 1
  layer.map_width = 5;   // (9 + 2 - 3) / 2 + 1
  layer.patch = kChannels * 3 * 3;
  const auto input = receptive_field_input(stimuli, layer);
  ASSERT_EQ(input.size(2), 1 + kHeight + 1);
  ASSERT_EQ(input.size(3), 1 + kWidth + 1);
  const auto pixels = stimuli.accessor<float, 4>();
  for (int64_t y = 0; y < layer.map_height; ++y) {
    for (int64_t x = 0; x < layer.map_width; ++x) {
      layer.position_y = y, layer.position_x = x;
      const auto patches = position_patches(input, layer).contiguous();
      ASSERT_EQ(patches.size(1), layer.patch);
      const auto got = patches.accessor<float, 2>();
      for (int64_t n = 0; n < kImages; ++n)
        for (int64_t c = 0; c < kChannels; ++c)
          for (int64_t dy = 0; dy < 3; ++dy)
            for (int64_t dx = 0; dx < 3; ++dx) {
              const int64_t row = y * 2 - 1 + dy, column = x * 2 - 1 + dx;
              const bool inside = row >= 0 && row < kHeight && column >= 0 && column < kWidth;
              const float expected = inside ? pixels[n][c][row][column] : 0.0f;
              ASSERT_EQ(got[n][(c * 3 + dy) * 3 + dx], expected)
                  << "image " << n << ", channel " << c << ", position (" << y << ", " << x << "), offset (" << dy
                  << ", " << dx << ")";
            }
    }
  }
}

}  // namespace
}  // namespace wna
