// STC datasets of the archive (see include/wna/analyses/stc/archive.hpp).
#include "wna/analyses/stc/archive.hpp"

#include <algorithm>

#include "wna/analyses/sta/archive.hpp"
#include "wna/analyses/stc/statistics.hpp"
#include "wna/analyses/stc/units.hpp"
#include "wna/core/partition.hpp"

namespace wna {
namespace {

const std::string kGroup = "/stc";

// One layer's rows, concatenated over the units this rank owns.
struct LayerRows {
  std::vector<int64_t> unit, significant, component_significant, limbs;
  std::vector<double> sum_activation, stimulus_mean, normalized_sta, covariance_difference, eigenvalues,
      null_eigenvalues, null_lower, null_upper, component_eigenvalues, components;

  void append(const StcUnit& stc_unit, const StcUnitResults& r, const ExactBuffer& buffer, size_t record) {
    auto extend = [](auto& to, const auto& from) { to.insert(to.end(), from.begin(), from.end()); };
    unit.push_back(stc_unit.unit);
    sum_activation.push_back(r.sum_activation);
    extend(stimulus_mean, r.stimulus_mean);
    extend(normalized_sta, r.normalized_sta);
    extend(covariance_difference, r.covariance_difference);
    extend(eigenvalues, r.eigenvalues);
    extend(significant, r.significant);
    extend(null_eigenvalues, r.null_eigenvalues);
    null_lower.push_back(r.null_lower);
    null_upper.push_back(r.null_upper);
    extend(component_eigenvalues, r.component_eigenvalues);
    extend(component_significant, r.component_significant);
    extend(components, r.components);
    limbs.insert(limbs.end(), buffer.limbs() + 2 * stc_unit.offset, buffer.limbs() + 2 * (stc_unit.offset + record));
  }
};

void write_layer(ArchiveWriter& archive, const StcAccumulator& stc, const std::vector<StcUnit>& units,
                 int64_t samples, int64_t components, int rank, int ranks) {
  const StcLayout& layout = stc.layout();
  const StaLayer& layer = units.front().layer;
  const std::string group = kGroup + "/" + layer.name;
  const auto listed = static_cast<int64_t>(units.size());
  const int64_t p = layer.patch, k = std::min(components, p), shuffles = layout.shuffles();
  const auto [begin, end] = owned_rows(listed, rank, ranks);

  LayerRows rows;
  for (int64_t i = begin; i < end; ++i) {
    const StcUnit& unit = units[static_cast<size_t>(i)];
    rows.append(unit, finalize_stc_unit(stc, unit, samples, components), stc.buffer(), layout.record(unit));
  }

  const std::string unit_axis = layer.name + "_stc_unit";
  std::vector<double> unit_values;
  for (const auto& unit : units) unit_values.push_back(static_cast<double>(unit.unit));
  archive.define_axis(unit_axis, unit_values);
  std::vector<int64_t> patch_dims;
  std::vector<std::string> patch_axes;
  if (layer.spatial) {
    archive.define_axis(layer.name + "_rf_y", index_axis(layer.field.size));
    archive.define_axis(layer.name + "_rf_x", index_axis(layer.field.size));
    patch_dims = {layout.channels(), layer.field.size, layer.field.size};
    patch_axes = {"channel", layer.name + "_rf_y", layer.name + "_rf_x"};
  } else {
    patch_dims = {layout.channels(), layout.height(), layout.width()};
    patch_axes = {"channel", "y", "x"};
  }
  auto with = [&](std::vector<int64_t> lead, std::vector<std::string> lead_axes, bool patch_shaped) {
    std::vector<int64_t> dims{listed};
    std::vector<std::string> axes{unit_axis};
    dims.insert(dims.end(), lead.begin(), lead.end());
    axes.insert(axes.end(), lead_axes.begin(), lead_axes.end());
    if (patch_shaped) {
      dims.insert(dims.end(), patch_dims.begin(), patch_dims.end());
      axes.insert(axes.end(), patch_axes.begin(), patch_axes.end());
    }
    return std::make_pair(dims, axes);
  };
  auto put = [&](const std::string& name, const auto& values, std::pair<std::vector<int64_t>, std::vector<std::string>> shape,
                 const std::string& description) {
    archive.write({group + "/" + name, shape.first, shape.second, description}, rows_or_none(values), begin, end);
  };
  put("unit", rows.unit, with({}, {}, false), "index of the unit in its layer (channel for conv-like layers)");
  put("sum_activation", rows.sum_activation, with({}, {}, false), "raw: sum of the unit's activation A");
  put("stimulus_mean", rows.stimulus_mean, with({}, {}, true), "mean stimulus on the unit's receptive field");
  put("normalized_sta", rows.normalized_sta, with({}, {}, true), "sum of activation x stimulus / A");
  put("covariance_difference", rows.covariance_difference, with({p, p}, {"patch_row", "patch_column"}, false),
      "STC: activation-weighted stimulus covariance minus the stimulus covariance (P x P, P = receptive-field "
      "values in C x H x W order)");
  put("eigenvalues", rows.eigenvalues, with({p}, {"eigen_index"}, false), "eigenvalues of covariance_difference, descending");
  put("significant", rows.significant, with({p}, {"eigen_index"}, false),
      "1 where the eigenvalue lies outside [null_lower, null_upper]");
  put("null_eigenvalues", rows.null_eigenvalues, with({shuffles, p}, {"shuffle", "eigen_index"}, false),
      "eigenvalues (descending) of the covariance difference with activations shuffled against stimuli");
  put("null_lower", rows.null_lower, with({}, {}, false), "smallest eigenvalue of all null spectra");
  put("null_upper", rows.null_upper, with({}, {}, false), "largest eigenvalue of all null spectra");
  put("component_eigenvalues", rows.component_eigenvalues, with({k}, {"component"}, false),
      "eigenvalues of the stored components: largest magnitude first");
  put("component_significant", rows.component_significant, with({k}, {"component"}, false),
      "1 where the component's eigenvalue is significant");
  put("components", rows.components, with({k}, {"component"}, true),
      "unit eigenvectors of covariance_difference (excitatory: positive eigenvalue; suppressive: negative)");
  const auto record_limbs = static_cast<int64_t>(2 * layout.record(units.front()));
  put("limbs", rows.limbs, with({record_limbs}, {"limb"}, false),
      "exact accumulator limbs of each unit's sums (docs/archive.md): archives merge by adding these");

  archive.set_attribute(group, "kind", layer.kind);
  archive.set_attribute(group, "count", samples);
  archive.set_attribute(group, "shuffles", shuffles);
  if (layer.spatial) set_receptive_field_attributes(archive, group, layer);
}

}  // namespace

std::string stc_limbs_dataset(const std::string& layer) { return kGroup + "/" + layer + "/limbs"; }

void write_stc(ArchiveWriter& archive, const StcAccumulator& stc, double gamma, int64_t samples, int64_t components,
               int rank, int ranks) {
  if (stc.layout().empty()) return;
  for (const auto& [begin, end] : stc_layer_ranges(stc.layout())) {
    const std::vector<StcUnit> units(stc.layout().units().begin() + static_cast<std::ptrdiff_t>(begin),
                                     stc.layout().units().begin() + static_cast<std::ptrdiff_t>(end));
    write_layer(archive, stc, units, samples, components, rank, ranks);
  }
  archive.set_attribute(kGroup, "gamma", gamma);
}

}  // namespace wna
