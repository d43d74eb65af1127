#!/usr/bin/env bash
# The x86 intrinsics stay behind guards: every source file with architecture-specific code
# (x86 intrinsics or an __x86_64__ guard) compiles for aarch64 (clang, syntax only, against
# this machine's headers), so the library builds there with its scalar paths. Skipped, with
# a message, where clang++ is absent.
set -euo pipefail
source_dir="${WNA_SOURCE_DIR:-$(dirname "$0")/..}"
if ! command -v clang++ >/dev/null; then echo "clang++ not found: aarch64 syntax check skipped"; exit 0; fi
stubs="$(mktemp -d)"
trap 'rm -rf "$stubs"' EXIT
mkdir -p "$stubs/gnu" "$stubs/bits" && touch "$stubs/gnu/stubs-32.h"  # glibc's x86 stubs header asks for it
# glibc's x86 wordsize.h makes a non-x86 target 32-bit (uintptr_t too narrow for <memory>): aarch64 is LP64
printf '#define __WORDSIZE 64\n#define __WORDSIZE_TIME64_COMPAT32 1\n#define __SYSCALL_WORDSIZE 64\n' >"$stubs/bits/wordsize.h"
gcc_version="$(gcc -dumpversion)"
mapfile -t files < <(grep -rlE 'immintrin|__x86_64__|__builtin_cpu_supports' "$source_dir/src" --include='*.cpp')
((${#files[@]})) || { echo "no architecture-specific source files"; exit 0; }
for file in "${files[@]}"; do
  clang++ --target=aarch64-linux-gnu -std=c++17 -fsyntax-only -I"$source_dir/include" -isystem "$stubs" \
    -isystem "/usr/include/c++/$gcc_version" -isystem "/usr/include/x86_64-linux-gnu/c++/$gcc_version" \
    -isystem /usr/include/x86_64-linux-gnu -isystem /usr/include "$file"
  echo "aarch64: $file compiles"
done
