# The CPU's instruction level as the golden archives are keyed by it (tests/golden/README.md):
# avx512 (AVX-512F), avx2, or other. Sourced by make_golden.sh and test_golden_archives.sh.
instruction_level() {
  local flags
  flags=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || true)
  if [[ " $flags " == *" avx512f "* ]]; then
    echo avx512
  elif [[ " $flags " == *" avx2 "* ]]; then
    echo avx2
  else
    echo other
  fi
}
