// Work of an analysis outside the noise pass, cut into numbered cells (microstimulation's
// class x layer x step, the attack's perturbation x gamma x target, a rare class's chunk of
// samples): a rank's cells dealt over its worker threads, each worker with its own copy of the
// model and its own exact sums, merged at the end. Exact sums make the result independent of
// which worker (or rank) computed which cell.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include "wna/accum/exact_sum.hpp"
#include "wna/models/network.hpp"

namespace wna {

// Computes one cell into a worker's sums.
using CellFunction = std::function<void(int64_t cell, ExactBuffer& sums)>;

// Cells [first, end) over min(threads, cells) workers. `make_worker(network)` runs once in each
// worker's thread (inference mode, single-threaded LibTorch), with the worker's model copy in
// eval mode, and returns the function that computes a cell (holding the worker's scratch
// buffers). Returns the workers' sums merged (`sums` of them). `on_progress(fraction of the
// cells)` now and then from worker 0.
ExactBuffer sum_over_cells(int64_t first, int64_t end, size_t sums, int threads,
                           const std::function<std::shared_ptr<Network>()>& load_network_copy,
                           const std::function<CellFunction(Network& network)>& make_worker,
                           const std::function<void(double)>& on_progress = {});

}  // namespace wna
