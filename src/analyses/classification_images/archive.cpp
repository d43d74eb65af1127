// Classification-image datasets of the archive (layout: docs/archive.md).
#include "wna/analyses/classification_images/archive.hpp"
#include "wna/analyses/tensor_dataset.hpp"

namespace wna {
namespace {

const std::string kGroup = "/classification_images";

}  // namespace

void define_class_image_axes(ArchiveWriter& archive, const ModelSpec& spec, const std::vector<double>& gammas,
                             const torch::Tensor& stage_samples) {
  archive.define_axis("gamma", gammas);
  archive.define_axis("class", spec.class_names);
  archive.define_axis("softmax_class", spec.class_names);  // the softmax vectors' entries, beside the rows' class
  archive.define_axis("channel", index_axis(spec.channels));
  archive.define_axis("y", index_axis(spec.height));
  archive.define_axis("x", index_axis(spec.width));
  const auto samples = stage_samples.to(torch::kFloat64).contiguous();
  archive.define_axis("stage_samples", std::vector<double>(samples.data_ptr<double>(),
                                                           samples.data_ptr<double>() + samples.numel()));
}

void write_class_images(ArchiveWriter& archive, const ClassImageStatistics& s, const ModelSpec& spec,
                        double confidence_floor, int rank, int ranks) {
  const int64_t G = s.count.size(0), K = s.count.size(1);
  const std::vector<int64_t> image_shape{G, K, spec.channels, spec.height, spec.width};
  const std::vector<std::string> image_axes{"gamma", "class", "channel", "y", "x"};
  const std::vector<std::string> class_axes{"gamma", "class"};
  auto image = [&](const torch::Tensor& t) { return t.reshape(image_shape); };
  auto put = [&](const std::string& name, const torch::Tensor& t, const std::vector<std::string>& axes,
                 const std::string& description) { write_tensor(archive, kGroup + "/" + name, t, axes, description, rank, ranks); };

  put("count", s.count, class_axes, "noise samples predicted as each class");
  put("sum", image(s.sum), image_axes, "sum of the stimuli predicted as each class (raw)");
  put("sum_squares", image(s.sum_squares), image_axes, "sum of squared stimuli per class (raw)");
  put("weighted_sum", image(s.weighted_sum), image_axes, "sum of max-softmax x stimulus per class (raw)");
  put("weight", s.weight, class_axes, "sum of max-softmax per class (raw)");
  put("floor_sum", image(s.floor_sum), image_axes, "sum of stimuli whose max softmax > confidence_floor (raw)");
  put("floor_count", s.floor_count, class_axes, "samples whose max softmax > confidence_floor");
  put("mean", image(s.mean), image_axes, "classification image: mean stimulus per predicted class; NaN where defined = 0");
  put("defined", s.defined, class_axes, "1 where the class was predicted at least once (its CI is defined)");
  put("weighted_mean", image(s.weighted_mean), image_axes, "confidence-weighted classification image");
  put("floor_mean", image(s.floor_mean), image_axes, "classification image above the confidence floor");
  put("grand_mean", s.grand_mean.reshape({G, spec.channels, spec.height, spec.width}),
      {"gamma", "channel", "y", "x"}, "mean of all stimuli");
  put("zmap", image(s.zmap), image_axes,
      "per-pixel z score (CI - mu) / (sigma / sqrt(count)); gamma 0: the noise's mu, sigma; else empirical");
  put("histogram", s.histogram, class_axes, "fraction of samples predicted as each class");
  put("mean_softmax", s.mean_softmax, {"gamma", "class", "softmax_class"},
      "mean softmax vector of the samples predicted as each class");
  put("convergence", s.convergence, {"gamma", "class", "stage_samples"},
      "Pearson r of the CI after stage_samples samples with the final CI");
  put("split_half_reliability", s.split_half, class_axes,
      "Spearman-Brown corrected correlation of the CIs of even and odd blocks");
  put("feedback_softmax", s.feedback_softmax, {"gamma", "class", "softmax_class"},
      "model softmax for each classification image fed back as an input");
  put("feedback_prediction", s.feedback_prediction, class_axes,
      "class the model predicts for each classification image; -1 where undefined");
  archive.set_attribute(kGroup, "confidence_floor", confidence_floor);
}

void write_class_image_significance(ArchiveWriter& archive, const ClassImageSignificance& significance,
                                    const ModelSpec& spec, double fdr_level, const ClusterSettings& clusters,
                                    int rank, int ranks) {
  const int64_t G = significance.significant.size(0), K = significance.significant.size(1);
  write_tensor(archive, kGroup + "/zmap_significant", significance.significant.reshape({G, K, spec.channels, spec.height, spec.width}),
               {"gamma", "class", "channel", "y", "x"},
               "1 where the pixel's z score is significant at false discovery rate fdr_level (Benjamini-Hochberg over "
               "the map's pixels, two-sided normal p-values); 0 elsewhere and where the CI is undefined",
               rank, ranks);
  write_tensor(archive, kGroup + "/informational_value", significance.informational_value, {"gamma", "class"},
               "the CI's energy sum z^2 against that of a CI of as many randomly labelled samples, in null standard "
               "deviations (rcicr's informational value in closed form); NaN where undefined",
               rank, ranks);
  archive.set_attribute(kGroup, "fdr_level", fdr_level);
  const std::vector<std::string> map_axes{"gamma", "class", "channel", "y", "x"};
  write_tensor(archive, kGroup + "/zmap_cluster_p", significance.clusters.p_value, map_axes,
               "p of the pixel's cluster (4-connected pixels with |z / sqrt f| > cluster_threshold, of one sign) "
               "against the largest cluster mass of white-noise maps; NaN outside clusters",
               rank, ranks);
  write_tensor(archive, kGroup + "/zmap_cluster_significant", significance.clusters.significant, map_axes,
               "+1 / -1 in a positive / negative cluster with p <= cluster_alpha; 0 elsewhere", rank, ranks);
  archive.set_attribute(kGroup, "cluster_threshold", clusters.threshold);
  archive.set_attribute(kGroup, "cluster_alpha", clusters.alpha);
  archive.set_attribute(kGroup, "cluster_null_maps", clusters.null_maps);
}

}  // namespace wna
