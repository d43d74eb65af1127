// Receptive fields from the layer chain (see include/wna/models/receptive_field.hpp).
#include "wna/models/receptive_field.hpp"

#include "wna/core/error.hpp"

namespace wna {

ReceptiveField receptive_field(const std::vector<LayerInfo>& layers, const std::string& layer) {
  ReceptiveField field;
  for (const LayerInfo& info : layers) {
    if (info.kind == "conv2d" || info.kind == "maxpool2d") {
      const int64_t extent = info.dilation * (info.kernel - 1) + 1;
      field.size += (extent - 1) * field.jump;
      field.start -= info.padding * field.jump;
      field.jump *= info.stride;
    } else if (info.kind != "normalize" && info.kind != "relu" && info.kind != "batchnorm2d") {
      throw Error("layer '" + layer + "': no receptive field in input pixels: layer '" + info.name + "' (" +
                  info.kind + ") " + (info.name == layer ? "is" : "comes before it and is") +
                  " not a conv2d, maxpool2d, relu or batchnorm2d layer");
    }
    if (info.name == layer) return field;
  }
  throw Error("receptive field: '" + layer + "' is not a layer of the model");
}

}  // namespace wna
