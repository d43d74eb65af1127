// Uses two of wna's installed headers and its core library: prints the rows rank 1 of 3 owns
// of 10 (rows 4 to 7) and the installed version, and exits 0.
#include <cstdio>

#include "wna/core/partition.hpp"
#include "wna/version.hpp"

int main() {
  const auto [begin, end] = wna::owned_rows(10, 1, 3);
  std::printf("rows %lld to %lld of wna %s\n", static_cast<long long>(begin), static_cast<long long>(end),
              wna::kVersion);
  return begin == 4 && end == 7 ? 0 : 1;
}
