// Layouts of exact sums (see include/wna/accum/exact_layout.hpp).
#include "wna/accum/exact_layout.hpp"

#include <stdexcept>
#include <utility>

#include <fmt/format.h>

namespace wna {

size_t ExactField::elements() const {
  size_t count = 1;
  for (const int64_t extent : shape) count *= static_cast<size_t>(extent);
  return count;
}

size_t ExactField::stride(size_t dim) const {
  size_t step = element;
  for (size_t d = dim + 1; d < shape.size(); ++d) step *= static_cast<size_t>(shape[d]);
  return step;
}

size_t ExactField::at(std::initializer_list<int64_t> index) const {
  if (index.size() > shape.size())
    throw std::out_of_range(fmt::format("exact field '{}': {} indices for {} dimensions", name, index.size(), shape.size()));
  size_t position = offset, dim = 0;
  for (const int64_t i : index) {
    if (i < 0 || i >= shape[dim])
      throw std::out_of_range(fmt::format("exact field '{}': index {} of dimension {} outside [0, {})", name, i, dim,
                                          shape[dim]));
    position += static_cast<size_t>(i) * stride(dim);
    ++dim;
  }
  return position;
}

ExactField ExactLayout::add(std::string name, std::vector<int64_t> shape, size_t element) {
  for (const int64_t extent : shape)
    if (extent < 0) throw std::invalid_argument(fmt::format("exact field '{}': negative extent {}", name, extent));
  ExactField field{std::move(name), sums_, std::move(shape), element};
  sums_ += field.size();
  return field;
}

}  // namespace wna
