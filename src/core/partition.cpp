// Balanced contiguous shares of rows over ranks (see include/wna/core/partition.hpp).
#include "wna/core/partition.hpp"

#include <algorithm>

namespace wna {

std::pair<int64_t, int64_t> owned_rows(int64_t rows, int rank, int ranks) {
  const int64_t base = rows / ranks, extra = rows % ranks;
  const int64_t begin = rank * base + std::min<int64_t>(rank, extra);
  return {begin, begin + base + (rank < extra ? 1 : 0)};
}

}  // namespace wna
