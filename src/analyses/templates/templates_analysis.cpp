// The template-classification analysis (see include/wna/analyses/templates/templates_analysis.hpp).
#include "wna/analyses/templates/templates_analysis.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "wna/analyses/classification_images/classification_images_analysis.hpp"
#include "wna/analyses/model_images.hpp"
#include "wna/config/key_table.hpp"
#include "wna/core/partition.hpp"

namespace wna {
namespace {

struct TemplateSettings {
  bool enabled;
  int64_t test_images;
};

const KeyTable<TemplateSettings>& template_keys() {
  static const KeyTable<TemplateSettings> keys = [] {
    KeyTable<TemplateSettings> t("templates");
    t.add({.key = "enabled", .type = KeyType::Boolean, .default_value = "false",
           .help = "classify the test images with the classification images (at the probe gamma) as templates, "
                   "and record the model's own test accuracy, confusion and mean test image per predicted class; "
                   "needs the model's dataset in data.data_dir"},
          [](TemplateSettings& s) -> bool& { return s.enabled; });
    t.add({.key = "test_images", .type = KeyType::Integer, .default_value = "0",
           .help = "the first N test images (0: all)", .min = 0, .max = 1e9},
          [](TemplateSettings& s) -> int64_t& { return s.test_images; });
    return t;
  }();
  return keys;
}

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::vector<double> values_of(const torch::Tensor& t) {
  const auto c = t.to(torch::kFloat64).contiguous();
  return {c.data_ptr<double>(), c.data_ptr<double>() + c.numel()};
}

class TemplatesAnalysis : public Analysis {
 public:
  TemplatesAnalysis(const RunContext& context, ImageSet test) : context_(context), test_(std::move(test)) {}
  std::string name() const override { return "templates"; }

  void write(ArchiveWriter& archive, SharedResults& shared, const Ranks& ranks) override {
    const ModelSpec& spec = context_.network.spec();
    const int64_t K = spec.num_classes(), P = spec.pixels(), N = test_.size();
    const auto images = test_.images.reshape({N, P});
    const auto labels = test_.labels.to(torch::kInt64);
    const auto templates = templates_from_images(shared.at(kProbeGammaImages).reshape({K, P}));
    const auto by_template = classify_by_templates(templates, images);

    // The model's own predictions on the same images.
    const auto by_model = predicted_classes(context_.network, test_.images, context_.settings.forward_batch);

    auto confusion = [&](const torch::Tensor& assigned) {  // K x K counts: true class x assigned class
      auto counts = torch::zeros({K, K}, torch::kInt64);
      const auto valid = assigned.ge(0);
      counts.view({-1}).index_add_(0, (labels * K + assigned.clamp_min(0)).masked_select(valid),
                                   torch::ones({valid.sum().item<int64_t>()}, torch::kInt64));
      return counts;
    };
    const auto template_confusion = confusion(by_template), model_confusion = confusion(by_model);
    auto accuracy = [&](const torch::Tensor& counts) { return counts.diagonal().sum().item<double>() / N; };
    auto per_class = [&](const torch::Tensor& counts) {
      const auto totals = counts.sum(1).to(torch::kFloat64);
      return (counts.diagonal().to(torch::kFloat64) / totals).masked_fill(totals.eq(0), kNaN);
    };
    // The mean test image of each predicted class (NaN where the model predicted none).
    auto mean_image = torch::zeros({K, P}, torch::kFloat64);
    mean_image.index_add_(0, by_model, images.to(torch::kFloat64));
    const auto members = torch::bincount(by_model, {}, K).to(torch::kFloat64);
    mean_image = (mean_image / members.unsqueeze(1)).masked_fill(members.eq(0).unsqueeze(1), kNaN);

    const std::string group = "/templates";
    const auto [begin, end] = owned_rows(K, ranks.rank, ranks.size);
    archive.define_axis("true_class", spec.class_names);
    const std::vector<int64_t> image_dims{K, spec.channels, spec.height, spec.width};
    const std::vector<std::string> image_axes{"class", "channel", "y", "x"};
    auto rows = [&](const torch::Tensor& t) { return values_of(t.slice(0, begin, end)); };
    auto int_rows = [&](const torch::Tensor& t) {
      const auto c = t.slice(0, begin, end).contiguous();
      return std::vector<int64_t>(c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel());
    };
    archive.write({group + "/templates", image_dims, image_axes,
                   "classification image at the probe gamma, min-max scaled to [0, 1] and L2-normalised; NaN for "
                   "classes never predicted"},
                  rows_or_none(rows(templates)), begin, end);
    archive.write({group + "/confusion", {K, K}, {"true_class", "class"},
                   "test images per (true class, template class)"},
                  rows_or_none(int_rows(template_confusion)), begin, end);
    archive.write({group + "/per_class_accuracy", {K}, {"true_class"},
                   "fraction of each class's test images assigned its own template; NaN for classes without test images"},
                  rows_or_none(rows(per_class(template_confusion))), begin, end);
    archive.write({group + "/model_confusion", {K, K}, {"true_class", "class"},
                   "test images per (true class, class the model predicts)"},
                  rows_or_none(int_rows(model_confusion)), begin, end);
    archive.write({group + "/model_per_class_accuracy", {K}, {"true_class"}, "the model's accuracy per true class"},
                  rows_or_none(rows(per_class(model_confusion))), begin, end);
    archive.write({group + "/mean_test_image_by_predicted_class", image_dims, image_axes,
                   "average test image of each class the model predicts; NaN for classes it never predicts"},
                  rows_or_none(rows(mean_image)), begin, end);
    archive.set_attribute(group, "accuracy", accuracy(template_confusion));
    archive.set_attribute(group, "chance_level", 1.0 / static_cast<double>(K));
    archive.set_attribute(group, "model_accuracy", accuracy(model_confusion));
    archive.set_attribute(group, "test_images", N);
    archive.set_attribute(group, "unassigned", by_template.lt(0).sum().item<int64_t>());
  }

 private:
  const RunContext& context_;
  ImageSet test_;
};

}  // namespace

torch::Tensor min_max_scaled(const torch::Tensor& images) {
  const auto ci = images.to(torch::kFloat64).flatten(1);
  const auto low = std::get<0>(ci.min(1, true)), high = std::get<0>(ci.max(1, true));
  const auto range = high - low;
  // A constant image would scale to zeros: it becomes ones instead (its template the constant unit vector).
  const auto scaled = torch::where(range.gt(0), (ci - low) / range.clamp_min(std::numeric_limits<double>::min()),
                                   torch::ones_like(ci));
  return scaled.masked_fill(ci.isnan().any(1, true), kNaN);
}

torch::Tensor templates_from_images(const torch::Tensor& classification_images) {
  const auto scaled = min_max_scaled(classification_images);
  return scaled / scaled.norm(2, 1, true);
}

torch::Tensor classify_by_templates(const torch::Tensor& templates, const torch::Tensor& images) {
  const auto x = images.to(torch::kFloat64).flatten(1);
  const auto norms = x.norm(2, 1, true);
  const auto unit = x / norms.masked_fill(norms.eq(0), 1.0);
  const auto defined = templates.isnan().any(1).logical_not();
  auto scores = unit.mm(templates.nan_to_num(0.0).t()).masked_fill(defined.logical_not().unsqueeze(0),
                                                                  -std::numeric_limits<double>::infinity());
  auto assigned = scores.argmax(1);
  if (!defined.any().item<bool>()) assigned.fill_(-1);
  return assigned;
}

AnalysisEntry templates_entry() {
  return {"templates", [] { return template_keys().schema(); },
          [](const RunContext& context) -> std::unique_ptr<Analysis> {
            const TemplateSettings settings = template_keys().read(context.config);
            if (!settings.enabled) return nullptr;
            ImageSet test = load_model_images(context, "test", "templates.enabled", settings.test_images);
            return std::make_unique<TemplatesAnalysis>(context, std::move(test));
          }};
}

}  // namespace wna
