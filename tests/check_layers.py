#!/usr/bin/env python3
"""Checks the architecture's layering: every #include "wna/<layer>/..." in src/<L>/ and
include/wna/<L>/ names L itself or a layer below it, as declared by the wna_layer(L DEPENDS ...)
lines of CMakeLists.txt (and their dependencies, transitively). Prints each upward or sideways
include as FILE:LINE and exits 1 if there is any; exits 0 otherwise."""
import pathlib
import re
import sys

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parents[1])
cmake = (root / "CMakeLists.txt").read_text()
direct = {}
for match in re.finditer(r"^wna_layer\((\w+)([^)]*)\)", cmake, re.M):
    words = match.group(2).split()
    deps = []
    if "DEPENDS" in words:
        for word in words[words.index("DEPENDS") + 1:]:
            if word.isupper():
                break
            deps.append(word)
    direct[match.group(1)] = deps
if not direct:
    sys.exit(f"{root}/CMakeLists.txt: no wna_layer(...) lines found")


def below(layer, seen=None):
    seen = set() if seen is None else seen
    for dep in direct[layer]:
        if dep not in seen:
            seen.add(dep)
            below(dep, seen)
    return seen


include = re.compile(r'^\s*#\s*include\s+"wna/([\w.]+)')
problems = []
checked = 0
for layer in direct:
    allowed = below(layer) | {layer, "version.hpp"}  # the generated version header is core's
    for folder in (root / "src" / layer, root / "include" / "wna" / layer):
        for path in sorted(folder.rglob("*.[ch]pp")):
            checked += 1
            for number, line in enumerate(path.read_text().splitlines(), 1):
                match = include.match(line)
                if match and match.group(1) not in allowed:
                    problems.append(f"{path.relative_to(root)}:{number}: layer '{layer}' includes "
                                    f"'{match.group(1)}', which is not below it (allowed: "
                                    f"{', '.join(sorted(allowed - {layer}))})")
# Every folder under src/ is a layer, or the programs.
for folder in sorted((root / "src").iterdir()):
    if folder.is_dir() and folder.name not in direct and folder.name != "apps":
        problems.append(f"src/{folder.name}: not a layer (no wna_layer({folder.name} ...) in CMakeLists.txt)")
print("\n".join(problems) if problems else f"layering: {checked} files of {len(direct)} layers include only downward")
sys.exit(1 if problems else 0)
