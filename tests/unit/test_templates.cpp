// The template classifier of the templates analysis (methods.md section 3): templates are the
// classification images min-max scaled to [0, 1] and L2-normalised; an image goes to the
// template with the largest inner product with the L2-normalised image; classes never
// predicted have no template. (Ground truth on a linear model: test_class_images.cpp.)
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include <torch/types.h>

#include "wna/analyses/templates/templates_analysis.hpp"

namespace wna {
namespace {

TEST(Templates, AreMinMaxScaledUnitVectorsAndUndefinedStaysUndefined) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const auto images = torch::tensor({2.0, 4.0, 6.0, nan, nan, nan, 5.0, 5.0, 5.0}, torch::kFloat64).reshape({3, 3});
  const auto templates = templates_from_images(images);
  // [2, 4, 6] -> [0, 0.5, 1] -> / sqrt(1.25)
  EXPECT_NEAR(templates[0][0].item<double>(), 0.0, 1e-15);
  EXPECT_NEAR(templates[0][1].item<double>(), 0.5 / std::sqrt(1.25), 1e-15);
  EXPECT_NEAR(templates[0][2].item<double>(), 1.0 / std::sqrt(1.25), 1e-15);
  EXPECT_TRUE(templates[1].isnan().all().item<bool>());
  EXPECT_NEAR(templates[2].norm().item<double>(), 1.0, 1e-15) << "a constant image is the constant unit vector";
}

TEST(Templates, ImagesGoToTheMostSimilarDefinedTemplate) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const auto templates = templates_from_images(
      torch::tensor({1.0, 0.0, 0.0, nan, nan, nan, 0.0, 0.0, 1.0}, torch::kFloat64).reshape({3, 3}));
  const auto images = torch::tensor({0.9, 0.1, 0.0, 0.0, 0.2, 0.7, 0.0, 1.0, 0.0}).reshape({3, 3});
  const auto assigned = classify_by_templates(templates, images);
  EXPECT_EQ(assigned[0].item<int64_t>(), 0);
  EXPECT_EQ(assigned[1].item<int64_t>(), 2);
  EXPECT_NE(assigned[2].item<int64_t>(), 1) << "class 1 has no template";
  const auto none = templates_from_images(torch::full({2, 3}, nan, torch::kFloat64));
  EXPECT_EQ(classify_by_templates(none, images)[0].item<int64_t>(), -1);
}

}  // namespace
}  // namespace wna
