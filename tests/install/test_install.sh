#!/usr/bin/env bash
# cmake --install gives a usable tree: bin/wna_mpi and bin/wna_train that run, share/wna/configs
# with the demo config, the headers, and a CMake package that a project outside wna finds
# (find_package(wna)), builds against and runs.
set -euo pipefail
: "${WNA_BINARY_DIR:?set by ctest}" "${WNA_SOURCE_DIR:?set by ctest}"
prefix="$(mktemp -d "${TMPDIR:-/tmp}/wna_install.XXXXXX")"
trap 'rm -rf "$prefix"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

cmake --install "$WNA_BINARY_DIR" --prefix "$prefix/usr" >"$prefix/install.log" || { cat "$prefix/install.log"; fail "cmake --install"; }
for file in bin/wna_mpi bin/wna_train share/wna/configs/demo.ini share/wna/configs/train/demo.ini \
            include/wna/core/output_file.hpp include/wna/version.hpp lib/cmake/wna/wnaConfig.cmake \
            lib/cmake/wna/wnaTargets.cmake lib/libwna_core.a lib/libwna_analyses.a; do
  [[ -f "$prefix/usr/$file" ]] || fail "not installed: $file"
done
"$prefix/usr/bin/wna_mpi" --version | grep -q '^wna ' || fail "installed wna_mpi --version"
# The installed demo config parses: the dry run gets as far as its model file (not trained here).
rc=0
(cd "$prefix" && "$prefix/usr/bin/wna_mpi" --dry-run "$prefix/usr/share/wna/configs/demo.ini") >/dev/null 2>"$prefix/dry.err" || rc=$?
[[ $rc == 0 ]] || grep -q "model.file" "$prefix/dry.err" || fail "installed demo config: $(cat "$prefix/dry.err")"

cmake -S "$WNA_SOURCE_DIR/tests/install/consumer" -B "$prefix/consumer" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$prefix/usr" >"$prefix/configure.log" 2>&1 || { cat "$prefix/configure.log"; fail "find_package(wna)"; }
cmake --build "$prefix/consumer" >"$prefix/build.log" 2>&1 || { cat "$prefix/build.log"; fail "building against wna::core"; }
"$prefix/consumer/consumer" || fail "the consumer program"
echo "install tree and CMake package: ok"
