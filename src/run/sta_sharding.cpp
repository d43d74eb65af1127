// Reduce-scatter of the STA unit grid (see include/wna/run/sta_sharding.hpp).
#include "wna/run/sta_sharding.hpp"

#include "wna/archive/archive.hpp"

namespace wna {

void reduce_sta_to_owners(Reducer& reducer, StaAccumulator& sta, int ranks) {
  for (const StaLayer& layer : sta.layout().layers()) {
    std::vector<size_t> offsets;
    for (int rank = 0; rank < ranks; ++rank) offsets.push_back(layer.unit_index(owned_rows(layer.units, rank, ranks).first));
    offsets.push_back(layer.unit_index(layer.units));
    reducer.reduce_scatter(sta.buffer(), offsets);
  }
}

}  // namespace wna
