// Classification-image accumulators (see include/wna/analyses/classification_images/accumulator.hpp).
#include "wna/analyses/classification_images/accumulator.hpp"

#include "wna/models/network.hpp"

namespace wna {

int64_t convergence_stage(int64_t block) {
  int64_t stage = 0;
  for (uint64_t b = static_cast<uint64_t>(block) + 1; b > 1; b >>= 1) ++stage;
  return stage;
}

int64_t convergence_stages(int64_t blocks) { return blocks <= 0 ? 1 : convergence_stage(blocks - 1) + 1; }

ClassImageAccumulator::ClassImageAccumulator(const ClassImageShape& shape, double confidence_floor,
                                             torch::Device device)
    : shape_(shape), confidence_floor_(confidence_floor) {
  const int64_t S = shape.stages, G = shape.gammas, K = shape.classes, P = shape.pixels;
  ExactLayout layout;
  fields_.counts = layout.add("counts", {G, K});
  fields_.stage_sums = layout.add("stage_sums", {S, G, K, P});
  fields_.stage_counts = layout.add("stage_counts", {S, G, K});
  fields_.sum_squares = layout.add("sum_squares", {G, K, P});
  fields_.weighted_sums = layout.add("weighted_sums", {G, K, P});
  fields_.weights = layout.add("weights", {G, K});
  fields_.floor_sums = layout.add("floor_sums", {G, K, P});
  fields_.floor_counts = layout.add("floor_counts", {G, K});
  fields_.probability_sums = layout.add("probability_sums", {G, K, K});
  fields_.parity_sums = layout.add("parity_sums", {2, G, K, P});
  buffer_ = ExactBuffer(layout.sums(), device);
}

void ClassImageAccumulator::add(int64_t gamma, int64_t block, const torch::Tensor& stimuli,
                                const torch::Tensor& probabilities) {
  const int64_t n = stimuli.size(0), stage = convergence_stage(block), parity = block % 2;
  const auto images = stimuli.reshape({n, shape_.pixels});
  const auto predicted = predicted_classes(probabilities);
  const auto confidence = probabilities.gather(1, predicted.unsqueeze(1));  // n x 1
  const auto above_floor = (confidence.squeeze(1) > confidence_floor_).to(torch::kFloat32);
  const auto ones = torch::ones({n, 1}, probabilities.options());
  const ClassImageFields& f = fields_;
  // Where each sample's row goes: the predicted class's element of the field after `prefix`.
  auto of_class = [&](const ExactField& field, std::initializer_list<int64_t> prefix) {
    return predicted * static_cast<int64_t>(field.stride(prefix.size())) + static_cast<int64_t>(field.at(prefix));
  };
  buffer_.add_rows_at({
      {of_class(f.counts, {gamma}), ones},
      {of_class(f.stage_counts, {stage, gamma}), ones},
      {of_class(f.stage_sums, {stage, gamma}), images},
      {of_class(f.parity_sums, {parity, gamma}), images},
      {of_class(f.sum_squares, {gamma}), images, {}, true},
      {of_class(f.weighted_sums, {gamma}), images, confidence.squeeze(1)},
      {of_class(f.weights, {gamma}), confidence},
      {of_class(f.floor_sums, {gamma}), images, above_floor},
      {of_class(f.floor_counts, {gamma}), ones, above_floor},
      {of_class(f.probability_sums, {gamma}), probabilities},
  });
}

}  // namespace wna
