// Backdoor detection from classification images (see include/wna/analyses/backdoor/backdoor_analysis.hpp).
#include "wna/analyses/backdoor/backdoor_analysis.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include <fmt/format.h>

#include "wna/analyses/classification_images/classification_images_analysis.hpp"
#include "wna/analyses/model_images.hpp"
#include "wna/analyses/tensor_dataset.hpp"
#include "wna/config/key_table.hpp"
#include "wna/core/error.hpp"
#include "wna/engine/run_config.hpp"

namespace wna {
namespace {

struct BackdoorSettings {
  bool enabled;
  std::vector<double> window_sizes;
  int64_t test_images;
  double min_concentration, min_patch_success;
  int64_t trigger_top, trigger_left, trigger_size;
};

const KeyTable<BackdoorSettings>& backdoor_keys() {
  static const KeyTable<BackdoorSettings> keys = [] {
    KeyTable<BackdoorSettings> t("backdoor");
    t.add({.key = "enabled", .type = KeyType::Boolean, .default_value = "false",
           .help = "look for a backdoor trigger in the classification images (z-maps at the probe gamma): per class "
                   "the most trigger-like square, its share of the class's positive z energy, and how often the "
                   "patch it implies makes the model call test images of other classes that class; needs the "
                   "model's dataset in data.data_dir"},
          [](BackdoorSettings& s) -> bool& { return s.enabled; });
    t.add({.key = "window_sizes", .type = KeyType::RealList, .default_value = "3, 5, 7",
           .help = "sides of the square trigger windows scanned, whole numbers of pixels up to the image's side; a "
                   "trigger is small: larger windows cut from a digit's classification image already move many digits "
                   "(docs/results.md)", .min = 1, .max = 4096},
          [](BackdoorSettings& s) -> std::vector<double>& { return s.window_sizes; });
    t.add({.key = "test_images", .type = KeyType::Integer, .default_value = "1000",
           .help = "the first N test images are stamped with each class's patch (0: all)", .min = 0, .max = 1e9},
          [](BackdoorSettings& s) -> int64_t& { return s.test_images; });
    t.add({.key = "min_concentration", .type = KeyType::Real, .default_value = "0.5",
           .help = "a class is flagged when its window holds at least this share of its positive z energy ...",
           .min = 0, .max = 1},
          [](BackdoorSettings& s) -> double& { return s.min_concentration; });
    t.add({.key = "min_patch_success", .type = KeyType::Real, .default_value = "0.4",
           .help = "... and the patch from its classification image makes at least this fraction of the other "
                   "classes' test images that class",
           .min = 0, .max = 1},
          [](BackdoorSettings& s) -> double& { return s.min_patch_success; });
    t.add({.key = "trigger_top", .type = KeyType::Integer, .default_value = "0",
           .help = "first row of the planted trigger (evaluation only; with trigger_size)", .min = 0, .max = 1e6},
          [](BackdoorSettings& s) -> int64_t& { return s.trigger_top; });
    t.add({.key = "trigger_left", .type = KeyType::Integer, .default_value = "0",
           .help = "first column of the planted trigger (evaluation only; with trigger_size)", .min = 0, .max = 1e6},
          [](BackdoorSettings& s) -> int64_t& { return s.trigger_left; });
    t.add({.key = "trigger_size", .type = KeyType::Integer, .default_value = "0",
           .help = "side of the planted square trigger; > 0 adds each class's window and top-pixel intersection over "
                   "union with it (0: unknown)", .min = 0, .max = 1e6},
          [](BackdoorSettings& s) -> int64_t& { return s.trigger_size; });
    return t;
  }();
  return keys;
}

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Intersection over union of two pixel masks (H x W, bool).
double intersection_over_union(const std::vector<bool>& a, const std::vector<bool>& b) {
  int64_t both = 0, either = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    both += a[i] && b[i];
    either += a[i] || b[i];
  }
  return either > 0 ? static_cast<double>(both) / static_cast<double>(either) : kNaN;
}

std::vector<bool> square_mask(int64_t height, int64_t width, int64_t top, int64_t left, int64_t size) {
  std::vector<bool> mask(static_cast<size_t>(height * width), false);
  for (int64_t y = top; y < top + size; ++y)
    for (int64_t x = left; x < left + size; ++x) mask[static_cast<size_t>(y * width + x)] = true;
  return mask;
}

// The `count` pixels with the largest z summed over channels (ties: the first pixel).
std::vector<bool> top_pixels(const torch::Tensor& zmap, int64_t count) {
  const auto summed = zmap.sum(0).flatten().contiguous();
  const double* z = summed.data_ptr<double>();
  std::vector<int64_t> order(static_cast<size_t>(summed.numel()));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return z[a] > z[b]; });
  std::vector<bool> mask(order.size(), false);
  for (int64_t i = 0; i < std::min<int64_t>(count, static_cast<int64_t>(order.size())); ++i)
    mask[static_cast<size_t>(order[static_cast<size_t>(i)])] = true;
  return mask;
}

class BackdoorAnalysis : public Analysis {
 public:
  BackdoorAnalysis(const RunContext& context, BackdoorSettings settings, std::vector<int64_t> sizes, ImageSet test)
      : context_(context), settings_(std::move(settings)), sizes_(std::move(sizes)), test_(std::move(test)) {}
  std::string name() const override { return "backdoor"; }

  void write(ArchiveWriter& archive, SharedResults& shared, const Ranks& ranks) override {
    const ModelSpec& spec = context_.network.spec();
    const int64_t K = spec.num_classes();
    const auto zmaps = shared.at(kProbeGammaZmaps).to(torch::kFloat64).contiguous();
    const auto labels = test_.labels.to(torch::kInt64);
    const int64_t batch = context_.settings.forward_batch;

    const int64_t S = static_cast<int64_t>(sizes_.size());
    std::vector<int64_t> top(K, -1), left(K, -1), size(K, 0), flagged(K, 0);
    std::vector<double> scan(K, kNaN), concentration(K, kNaN), success(K, kNaN), baseline(K, kNaN);
    std::vector<double> success_by_size(K * S, kNaN), window_iou(K, kNaN), top_iou(K, kNaN);
    auto patches = torch::full({K, spec.channels, spec.height, spec.width}, kNaN, torch::kFloat64);
    const auto unstamped = predicted_classes(context_.network, test_.images, batch);
    const bool evaluate = settings_.trigger_size > 0;
    const auto truth = square_mask(spec.height, spec.width, settings_.trigger_top, settings_.trigger_left,
                                   settings_.trigger_size);
    for (int64_t c = 0; c < K; ++c) {
      // A class never predicted has no z-map (all NaN); single NaN pixels (no variance there, e.g. a border
      // that is constant at gamma > 0) carry no evidence: zero.
      if (zmaps[c].isnan().all().item<bool>()) continue;
      const auto zmap = zmaps[c].nan_to_num(0.0, 0.0, 0.0);
      const auto others = labels.ne(c).nonzero().flatten();
      if (others.numel() == 0) continue;
      const auto images = test_.images.index_select(0, others);
      const auto fraction_called_c = [&](const torch::Tensor& predicted) {
        return predicted.eq(c).sum().item<double>() / static_cast<double>(others.numel());
      };
      baseline[c] = fraction_called_c(unstamped.index_select(0, others));
      // The class's window: of the best-scanning window of each side, the one whose patch moves the most
      // images (the smaller side of equals).
      TriggerWindow chosen;
      for (int64_t k = 0; k < S; ++k) {
        const TriggerWindow w = find_trigger_window(zmap, sizes_[k]);
        const double moved = fraction_called_c(predicted_classes(context_.network, stamp_patch(images, zmap, w), batch));
        success_by_size[c * S + k] = moved;
        if (chosen.size == 0 || moved > success[c]) chosen = w, success[c] = moved;
      }
      top[c] = chosen.top, left[c] = chosen.left, size[c] = chosen.size;
      scan[c] = chosen.scan_statistic, concentration[c] = chosen.concentration;
      flagged[c] = concentration[c] >= settings_.min_concentration && success[c] >= settings_.min_patch_success;
      region_of(patches[c], chosen).copy_(patch_of(zmap, chosen));
      if (evaluate) {
        window_iou[c] = intersection_over_union(
            square_mask(spec.height, spec.width, chosen.top, chosen.left, chosen.size), truth);
        top_iou[c] = intersection_over_union(top_pixels(zmap, settings_.trigger_size * settings_.trigger_size), truth);
      }
    }
    // The suspect: the flagged class whose patch moves the most images (the first of equals).
    int64_t suspect = -1;
    for (int64_t c = 0; c < K; ++c)
      if (flagged[c] && (suspect < 0 || success[c] > success[suspect])) suspect = c;

    const std::string group = "/backdoor";
    auto write = [&](const std::string& name, const torch::Tensor& values, std::vector<std::string> axes,
                     const std::string& description) {
      write_tensor(archive, group + "/" + name, values, std::move(axes), description, ranks.rank, ranks.size);
    };
    auto per_class = [&](const std::string& name, const auto& values, const std::string& description) {
      write(name, torch::tensor(values), {"class"}, description);
    };
    per_class("window_top", top, "first row of the class's trigger window; -1 for classes never predicted");
    per_class("window_left", left, "first column of the class's trigger window; -1 for classes never predicted");
    per_class("window_size", size, "side of the class's trigger window; 0 for classes never predicted");
    per_class("scan_statistic", scan, "sum of the z-map in the window over channels / sqrt(channels x side^2)");
    per_class("concentration", concentration, "the window's share of the class's positive z energy, sum z+^2");
    per_class("patch_success", success,
              "fraction of the other classes' test images that the model calls this class with the patch stamped on");
    per_class("baseline", baseline, "fraction of the same images that the model calls this class without the patch");
    per_class("flagged", flagged, "1: concentration >= min_concentration and patch_success >= min_patch_success");
    archive.define_axis("window_side", std::vector<double>(sizes_.begin(), sizes_.end()));
    write("patch_success_by_side", torch::tensor(success_by_size).reshape({K, S}), {"class", "window_side"},
          "patch success of the best-scanning window of each side");
    if (evaluate) {
      per_class("window_iou", window_iou, "intersection over union of the window with the planted trigger");
      per_class("top_pixels_iou", top_iou,
                "intersection over union with the planted trigger of as many pixels, those of the largest z (summed "
                "over channels)");
    }
    write("patch", patches, {"class", "channel", "y", "x"},
          "the patch each class's z-map implies (1 where z > 0, 0 elsewhere) inside its window; NaN outside");
    archive.set_attribute(group, "suspect_class", suspect);
    archive.set_attribute(group, "flagged_classes", std::accumulate(flagged.begin(), flagged.end(), int64_t{0}));
    archive.set_attribute(group, "min_concentration", settings_.min_concentration);
    archive.set_attribute(group, "min_patch_success", settings_.min_patch_success);
    archive.set_attribute(group, "test_images", test_.size());
    archive.set_attribute(group, "probe_gamma", context_.settings.gammas[static_cast<size_t>(
                                                    probe_gamma_index(context_.settings.gammas))]);
    if (evaluate) {
      archive.set_attribute(group, "trigger_top", settings_.trigger_top);
      archive.set_attribute(group, "trigger_left", settings_.trigger_left);
      archive.set_attribute(group, "trigger_size", settings_.trigger_size);
    }
  }

 private:
  const RunContext& context_;
  BackdoorSettings settings_;
  std::vector<int64_t> sizes_;
  ImageSet test_;
};

}  // namespace

TriggerWindow find_trigger_window(const torch::Tensor& zmap, int64_t side) {
  const auto z = zmap.to(torch::kFloat64).contiguous();
  const int64_t C = z.size(0), H = z.size(1), W = z.size(2);
  if (side < 1 || side > std::min(H, W))
    throw Error(fmt::format("find_trigger_window: side {} is not in 1 .. {}", side, std::min(H, W)));
  // Integral images (H + 1 x W + 1) of z summed over channels and of z+^2.
  std::vector<double> sum((H + 1) * (W + 1), 0.0), energy((H + 1) * (W + 1), 0.0);
  const double* v = z.data_ptr<double>();
  auto at = [&](std::vector<double>& t, int64_t y, int64_t x) -> double& { return t[static_cast<size_t>(y * (W + 1) + x)]; };
  for (int64_t y = 0; y < H; ++y)
    for (int64_t x = 0; x < W; ++x) {
      double s = 0, e = 0;
      for (int64_t c = 0; c < C; ++c) {
        const double value = v[(c * H + y) * W + x];
        s += value;
        e += value > 0 ? value * value : 0.0;
      }
      at(sum, y + 1, x + 1) = s + at(sum, y, x + 1) + at(sum, y + 1, x) - at(sum, y, x);
      at(energy, y + 1, x + 1) = e + at(energy, y, x + 1) + at(energy, y + 1, x) - at(energy, y, x);
    }
  auto box = [&](std::vector<double>& t, int64_t top, int64_t left, int64_t side) {
    return at(t, top + side, left + side) - at(t, top, left + side) - at(t, top + side, left) + at(t, top, left);
  };
  TriggerWindow best;
  for (int64_t top = 0; top + side <= H; ++top)
    for (int64_t left = 0; left + side <= W; ++left) {
      const double statistic = box(sum, top, left, side) / std::sqrt(static_cast<double>(C * side * side));
      if (best.size == 0 || statistic > best.scan_statistic) best = {top, left, side, statistic, 0.0};
    }
  const double total = at(energy, H, W);
  best.concentration = total > 0 ? box(energy, best.top, best.left, best.size) / total : kNaN;
  return best;
}

torch::Tensor region_of(const torch::Tensor& images, const TriggerWindow& window) {
  return images.slice(-2, window.top, window.top + window.size).slice(-1, window.left, window.left + window.size);
}

torch::Tensor patch_of(const torch::Tensor& zmap, const TriggerWindow& window) {
  return region_of(zmap, window).gt(0).to(torch::kFloat32);
}

torch::Tensor stamp_patch(const torch::Tensor& images, const torch::Tensor& zmap, const TriggerWindow& window) {
  auto stamped = images.to(torch::kFloat32).clone();
  auto target = region_of(stamped, window);
  target.copy_(patch_of(zmap, window).unsqueeze(0).expand_as(target));
  return stamped;
}

AnalysisEntry backdoor_entry() {
  return {"backdoor", [] { return backdoor_keys().schema(); },
          [](const RunContext& context) -> std::unique_ptr<Analysis> {
            const BackdoorSettings settings = backdoor_keys().read(context.config);
            if (!settings.enabled) return nullptr;
            const ModelSpec& spec = context.network.spec();
            if (settings.window_sizes.empty())
              throw UsageError(fmt::format("backdoor.window_sizes: give at least one whole number of pixels from 1 "
                                           "to {}", std::min(spec.height, spec.width)));
            std::vector<int64_t> sizes;
            for (const double side : settings.window_sizes) {
              if (side != std::floor(side) || side > static_cast<double>(std::min(spec.height, spec.width)))
                throw UsageError(fmt::format("backdoor.window_sizes: {} is not a whole number of pixels from 1 to {} "
                                             "(the images are {} x {})", side, std::min(spec.height, spec.width),
                                             spec.height, spec.width));
              sizes.push_back(static_cast<int64_t>(side));
            }
            std::sort(sizes.begin(), sizes.end());
            sizes.erase(std::unique(sizes.begin(), sizes.end()), sizes.end());
            if (settings.trigger_size > 0 && (settings.trigger_top + settings.trigger_size > spec.height ||
                                              settings.trigger_left + settings.trigger_size > spec.width))
              throw UsageError(fmt::format("backdoor.trigger_top = {}, trigger_left = {}, trigger_size = {}: the "
                                           "trigger leaves the {} x {} image (valid: trigger_top + trigger_size <= "
                                           "{}, trigger_left + trigger_size <= {})", settings.trigger_top,
                                           settings.trigger_left, settings.trigger_size, spec.height, spec.width,
                                           spec.height, spec.width));
            ImageSet test = load_model_images(context, "test", "backdoor.enabled", settings.test_images);
            return std::make_unique<BackdoorAnalysis>(context, settings, std::move(sizes), std::move(test));
          }};
}

}  // namespace wna
