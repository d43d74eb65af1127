// Writes the classification-image results (raw sums, counts and derived statistics) into the
// archive under /classification_images, with named axes. Collective over all ranks; each
// rank writes its share of the gamma rows.
#pragma once

#include "wna/archive/archive.hpp"
#include "wna/models/network.hpp"
#include "wna/analyses/classification_images/statistics.hpp"

namespace wna {

void define_class_image_axes(ArchiveWriter& archive, const ModelSpec& spec, const std::vector<double>& gammas,
                             const torch::Tensor& stage_samples);

void write_class_images(ArchiveWriter& archive, const ClassImageStatistics& statistics, const ModelSpec& spec,
                        double confidence_floor, int rank, int ranks);

// Collective. zmap_significant, informational_value, zmap_cluster_p and zmap_cluster_significant
// (and the attributes fdr_level, cluster_threshold, cluster_alpha, cluster_null_maps).
void write_class_image_significance(ArchiveWriter& archive, const ClassImageSignificance& significance,
                                    const ModelSpec& spec, double fdr_level, const ClusterSettings& clusters,
                                    int rank, int ranks);

}  // namespace wna
