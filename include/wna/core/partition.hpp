// How rows (classes, units, layers' sums) are split over ranks: each rank owns one
// contiguous, balanced share, so that every rank knows every other rank's share.
#pragma once

#include <cstdint>
#include <utility>

namespace wna {

// Rows [begin, end) of `rows` that `rank` of `ranks` owns: the first rows % ranks ranks own
// one row more than the others.
std::pair<int64_t, int64_t> owned_rows(int64_t rows, int rank, int ranks);

}  // namespace wna
