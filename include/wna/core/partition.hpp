// How rows (classes, units, layers' sums) are split over ranks: each rank owns one
// contiguous, balanced share, so that every rank knows every other rank's share. Also how a
// set of indices (ranks, CPUs) is written as ranges.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace wna {

// Rows [begin, end) of `rows` that `rank` of `ranks` owns: the first rows % ranks ranks own
// one row more than the others.
std::pair<int64_t, int64_t> owned_rows(int64_t rows, int rank, int ranks);

// Ascending indices as ranges joined by `separator`, e.g. {0, 1, 2, 3, 8} -> "0-3,8".
std::string index_ranges(const std::vector<int>& indices, const std::string& separator = ",");

}  // namespace wna
