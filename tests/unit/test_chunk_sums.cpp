// The gate between a chunk's float32 sums and the exact accumulators: values must be finite and
// strictly inside (-2^31, 2^31); exactly on either threshold, beyond it or not finite, the
// chunk is refused naming the layer.
#include <limits>

#include <torch/types.h>

#include "test_support.hpp"
#include "wna/accum/chunk_sums.hpp"

namespace wna {
namespace {

constexpr float kTwoTo31 = 2147483648.0f;
constexpr float kLargestInside = 2147483520.0f;  // the float32 just below 2^31

void expect_refused(float value) {
  const auto sums = torch::tensor({1.0f, value, -3.0f});
  try {
    checked_chunk_sums(sums, "fc1");
    ADD_FAILURE() << value << " passed the gate";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("layer 'fc1'"), std::string::npos) << e.what();
  }
}

TEST(ChunkSums, ValuesOnEitherThresholdOrBeyondAreRefused) {
  for (const float value : {kTwoTo31, -kTwoTo31, 2 * kTwoTo31, -2 * kTwoTo31, std::numeric_limits<float>::infinity(),
                            -std::numeric_limits<float>::infinity(), std::numeric_limits<float>::quiet_NaN()})
    expect_refused(value);
}

TEST(ChunkSums, ValuesJustInsideBothThresholdsPass) {
  const auto sums = torch::tensor({kLargestInside, -kLargestInside, 0.0f});
  const torch::Tensor& checked = checked_chunk_sums(sums, "fc1");
  EXPECT_TRUE(checked.is_same(sums));
  EXPECT_EQ(checked[0].item<float>(), kLargestInside);
  EXPECT_EQ(checked[1].item<float>(), -kLargestInside);
}

}  // namespace
}  // namespace wna
