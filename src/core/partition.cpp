// Balanced contiguous shares of rows over ranks (see include/wna/core/partition.hpp).
#include "wna/core/partition.hpp"

#include <algorithm>

namespace wna {

std::pair<int64_t, int64_t> owned_rows(int64_t rows, int rank, int ranks) {
  const int64_t base = rows / ranks, extra = rows % ranks;
  const int64_t begin = rank * base + std::min<int64_t>(rank, extra);
  return {begin, begin + base + (rank < extra ? 1 : 0)};
}

std::string index_ranges(const std::vector<int>& indices, const std::string& separator) {
  std::string text;
  for (size_t i = 0; i < indices.size();) {
    size_t j = i;
    while (j + 1 < indices.size() && indices[j + 1] == indices[j] + 1) ++j;
    text += (text.empty() ? "" : separator) + std::to_string(indices[i]) +
            (j > i ? "-" + std::to_string(indices[j]) : "");
    i = j + 1;
  }
  return text;
}

}  // namespace wna
