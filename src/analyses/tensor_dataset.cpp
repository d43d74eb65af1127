// A tensor written as one dataset (see include/wna/analyses/tensor_dataset.hpp).
#include "wna/analyses/tensor_dataset.hpp"

#include "wna/core/partition.hpp"

namespace wna {

void write_tensor(ArchiveWriter& archive, const std::string& path, const torch::Tensor& tensor,
                  std::vector<std::string> axes, const std::string& description, int rank, int ranks) {
  DatasetSpec spec{path, tensor.sizes().vec(), std::move(axes), description};
  const auto [begin, end] = owned_rows(spec.dims[0], rank, ranks);
  const auto rows = tensor.slice(0, begin, end).contiguous();
  if (tensor.scalar_type() == torch::kInt64)
    archive.write(spec, rows.data_ptr<int64_t>(), begin, end);
  else
    archive.write(spec, rows.to(torch::kFloat64).contiguous().data_ptr<double>(), begin, end);
}

}  // namespace wna
