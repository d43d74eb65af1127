// STA datasets of the archive (see include/wna/analyses/sta/archive.hpp).
#include "wna/analyses/sta/archive.hpp"

#include "wna/analyses/sta/statistics.hpp"
#include "wna/core/partition.hpp"

namespace wna {
namespace {

const std::string kGroup = "/sta";

// Writes one layer's datasets; every rank calls with the same layer, writing its own units.
class LayerWriter {
 public:
  LayerWriter(ArchiveWriter& archive, const StaLayer& layer, const StaLayerStatistics& statistics,
              const StaLayout& layout)
      : archive_(archive), layer_(layer), statistics_(statistics), group_(kGroup + "/" + layer.name) {
    unit_axis_ = layer.name + (layer.spatial ? "_channel" : "_unit");
    archive_.define_axis(unit_axis_, index_axis(layer.units));
    if (layer.spatial) {
      archive_.define_axis(layer.name + "_rf_y", index_axis(layer.field.size));
      archive_.define_axis(layer.name + "_rf_x", index_axis(layer.field.size));
      stimulus_dims_ = {layer.units, layout.channels(), layer.field.size, layer.field.size};
      stimulus_axes_ = {unit_axis_, "channel", layer.name + "_rf_y", layer.name + "_rf_x"};
    } else {
      stimulus_dims_ = {layer.units, layout.channels(), layout.height(), layout.width()};
      stimulus_axes_ = {unit_axis_, "channel", "y", "x"};
    }
  }

  // The datasets of `results`, their names ending in `suffix`; `where` completes descriptions.
  void write_results(const StaResults& results, const std::string& suffix, const std::string& where) {
    put_stimulus("sta" + suffix, results.sta, "spike-triggered average: sum of activation x stimulus / count" + where);
    put_stimulus("normalized_sta" + suffix, results.normalized_sta,
                 "sum of activation x stimulus / sum of activation" + where + "; NaN where the sum is 0");
    put_unit("mean" + suffix, results.mean, "mean activation" + where);
    put_unit("variance" + suffix, results.variance, "variance of the activation" + where);
    put_unit("sum_activation" + suffix, results.sum, "raw: sum of the activation" + where);
    put_unit("sum_squared_activation" + suffix, results.sum_squares, "raw: sum of the squared activation" + where);
    put_stimulus("sum_activation_stimulus" + suffix, results.sum_stimulus,
                 "raw: sum of activation x stimulus" + where);
  }

  void write_filter_correlation() {
    put_unit("filter_correlation", statistics_.filter_correlation,
             "Pearson r between each unit's sta and its filter (the layer's weights)");
  }

  void write_limbs(const ExactBuffer& buffer) {
    const int64_t record_limbs = 2 * static_cast<int64_t>(layer_.record());
    archive_.write({sta_limbs_dataset(layer_.name), {layer_.units, record_limbs}, {unit_axis_, "limb"},
                    "exact accumulator limbs of each unit's sums (docs/archive.md): archives merge by adding these"},
                   buffer.limbs() + 2 * layer_.unit_index(statistics_.first_unit), statistics_.first_unit,
                   statistics_.end_unit);
  }

 private:
  void put(const std::string& name, const std::vector<double>& rows, std::vector<int64_t> dims,
           std::vector<std::string> axes, const std::string& description) {
    archive_.write({group_ + "/" + name, std::move(dims), std::move(axes), description},
                   rows_or_none(rows), statistics_.first_unit, statistics_.end_unit);
  }
  void put_unit(const std::string& name, const std::vector<double>& rows, const std::string& description) {
    put(name, rows, {layer_.units}, {unit_axis_}, description);
  }
  void put_stimulus(const std::string& name, const std::vector<double>& rows, const std::string& description) {
    put(name, rows, stimulus_dims_, stimulus_axes_, description);
  }

  ArchiveWriter& archive_;
  const StaLayer& layer_;
  const StaLayerStatistics& statistics_;
  std::string group_, unit_axis_;
  std::vector<int64_t> stimulus_dims_;
  std::vector<std::string> stimulus_axes_;
};

void set_layer_attributes(ArchiveWriter& archive, const StaLayer& layer, int64_t samples) {
  const std::string group = kGroup + "/" + layer.name;
  archive.set_attribute(group, "kind", layer.kind);
  archive.set_attribute(group, "count", samples * layer.map_height * layer.map_width);
  if (!layer.spatial) return;
  archive.set_attribute(group, "map_height", layer.map_height);
  archive.set_attribute(group, "map_width", layer.map_width);
  archive.set_attribute(group, "position_count", samples);
  set_receptive_field_attributes(archive, group, layer);
}

}  // namespace

void set_receptive_field_attributes(ArchiveWriter& archive, const std::string& group, const StaLayer& layer) {
  const std::vector<std::pair<std::string, int64_t>> geometry{
      {"receptive_field_size", layer.field.size},
      {"receptive_field_jump", layer.field.jump},
      {"receptive_field_start", layer.field.start},
      {"position_y", layer.position_y},
      {"position_x", layer.position_x},
      {"position_origin_y", layer.field.start + layer.position_y * layer.field.jump},
      {"position_origin_x", layer.field.start + layer.position_x * layer.field.jump}};
  for (const auto& [name, value] : geometry) archive.set_attribute(group, name, value);
  archive.set_attribute(group, "receptive_field_source", layer.field.source);
}

std::string sta_limbs_dataset(const std::string& layer) { return kGroup + "/" + layer + "/limbs"; }

void write_sta(ArchiveWriter& archive, const StaAccumulator& sta, double gamma, int64_t samples, Network& network,
               int rank, int ranks) {
  if (sta.layout().empty()) return;
  for (const StaLayer& layer : sta.layout().layers()) {
    const auto [first_unit, end_unit] = owned_rows(layer.units, rank, ranks);
    const auto filters = first_conv_filters(network, layer);
    const auto statistics = finalize_sta_layer(sta, layer, samples, first_unit, end_unit, filters);
    LayerWriter writer(archive, layer, statistics, sta.layout());
    writer.write_results(statistics.overall, "", layer.spatial ? " over all positions" : "");
    if (layer.spatial) writer.write_results(statistics.at_position, "_at_position", " at (position_y, position_x)");
    if (filters.defined()) writer.write_filter_correlation();
    writer.write_limbs(sta.buffer());
    set_layer_attributes(archive, layer, samples);
  }
  archive.set_attribute(kGroup, "gamma", gamma);
}

}  // namespace wna
