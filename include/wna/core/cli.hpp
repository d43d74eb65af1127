// What every wna program does around its work: version text, and turning exceptions into
// one clear line on rank 0 plus the right exit code.
#pragma once

#include <functional>
#include <string>

namespace wna {

// "wna 0.1.0 (commit abc, LibTorch 1.13.1, Open MPI 4.1.4, HDF5 1.10.8)".
std::string version_text();

// Runs `body`; a wna::UsageError -> "<program>: error: <message>" and exit code 2, any other
// exception -> exit code 1. `print_errors` is false on ranks other than 0.
int run_reporting_errors(const std::string& program, bool print_errors,
                         const std::function<int()>& body);

}  // namespace wna
