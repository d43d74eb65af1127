#!/usr/bin/env bash
# docs/archive.md and the archives wna_mpi writes cannot drift apart: on a small real archive,
# every group, dataset, root attribute and other attribute appears in the doc (in backticks);
# every path in the doc's tables exists, with the documented shape, dtype and axes (dimension
# labels); every root attribute has the documented type; the raw accumulator layout the doc
# describes (sections, order, value = high + low * 2^-32) reproduces the stored datasets bit
# for bit; and the doc's Python examples run.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

DOC="$WNA_SOURCE_DIR/docs/archive.md"
[[ -f "$DOC" ]] || fail "$DOC is missing"

train_tiny_model
mkdir -p "$SCRATCH/out"
# 2000 samples in blocks of 500: 4 blocks, 3 stages, even and odd blocks; two gamma values.
write_run_config "$SCRATCH/layout.ini" "$SCRATCH/out/wna.h5" "[gamma]" "values = 0, 0.5"
sed -i -e 's/^samples = .*/samples = 2000/' "$SCRATCH/layout.ini"
"$WNA_MPI" "$SCRATCH/layout.ini" >"$CAPTURE/run1.log" 2>&1 || fail "wna_mpi failed: $(cat "$CAPTURE/run1.log")"
# The doc's merge example reads a second run with another seed (on 2 ranks).
"$MPIEXEC" -n 2 --oversubscribe "$WNA_MPI" "$SCRATCH/layout.ini" --set run.seed=2 \
  --set "run.output=$SCRATCH/out/wna_seed2.h5" >"$CAPTURE/run2.log" 2>&1 ||
  fail "wna_mpi on 2 ranks failed: $(cat "$CAPTURE/run2.log")"

"$PYTHON" - "$DOC" "$SCRATCH/out/wna.h5" <<'EOF'
import re
import sys

import h5py
import numpy as np

doc_path, archive_path = sys.argv[1:]
doc = open(doc_path, encoding="utf-8").read()
problems = []
backticked = set(re.findall(r"`([^`\n]+)`", doc))


def cells(line):
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def table_rows(section_heading=None):
    """Rows (lists of cells) of the Markdown tables, optionally only under one heading."""
    rows, current = [], None
    for line in doc.splitlines():
        if line.startswith("#"):
            current = line.lstrip("#").strip()
        elif line.startswith("|") and not re.match(r"^\|[-| ]+\|$", line):
            if section_heading is None or current == section_heading:
                rows.append(cells(line))
    return rows


def first_code(cell):
    match = re.fullmatch(r"`([^`]+)`", cell)
    return match.group(1) if match else None


def text(value):
    return value.decode() if isinstance(value, (bytes, np.bytes_)) else value


with h5py.File(archive_path, "r") as f:
    groups, datasets = ["/"], []
    f.visititems(lambda name, item: (datasets if isinstance(item, h5py.Dataset) else groups).append("/" + name))
    mean_shape = f["/classification_images/mean"].shape
    G, K, C, H, W = mean_shape
    S = f["/classification_images/stage_samples"].shape[0]
    L = f["/raw/class_image_limbs"].shape[0]
    letters = {"G": G, "K": K, "C": C, "H": H, "W": W, "P": C * H * W, "S": S, "L": L}

    # 1. Everything in the archive is documented.
    for path in groups + datasets:
        if path not in backticked:
            problems.append(f"{path} is in the archive but not in docs/archive.md (in backticks)")
    for name in f.attrs:
        if name not in backticked:
            problems.append(f"root attribute {name} is not in docs/archive.md (in backticks)")
    other_attributes = set()
    for path in groups[1:] + datasets:
        other_attributes.update(f[path].attrs.keys())
    for name in sorted(other_attributes):
        if name not in backticked:
            problems.append(f"attribute {name} (on a group or dataset) is not in docs/archive.md")

    # 2. Every path in the doc's tables exists; datasets with the documented shape, dtype, axes.
    documented_paths = set()
    for row in table_rows():
        path = first_code(row[0])
        if path is None or not path.startswith("/"):
            continue
        documented_paths.add(path)
        if path not in f:
            problems.append(f"docs/archive.md lists {path}, which the archive does not have")
            continue
        item = f[path]
        if not isinstance(item, h5py.Dataset):
            continue
        if len(row) < 3 or not re.fullmatch(r"\[[A-Z, ]+\]", row[1]):
            problems.append(f"{path}: the doc's table row has no shape like [G, K]: {row}")
            continue
        shape = tuple(letters[letter.strip()] for letter in row[1][1:-1].split(","))
        if item.shape != shape:
            problems.append(f"{path}: shape {item.shape} in the archive, the doc says {row[1]} = {shape}")
        kind = {"f": "float64", "i": "int64", "S": "string", "O": "string"}.get(item.dtype.kind)
        if item.dtype.kind in "fi" and item.dtype.itemsize != 8:
            kind = str(item.dtype)
        if row[2] != kind:
            problems.append(f"{path}: dtype {item.dtype} in the archive, the doc says {row[2]}")
        if path.startswith("/classification_images/") and "CLASS" not in item.attrs:
            axes = [axis.strip() for axis in row[3].split(",")]
            labels = [dim.label for dim in item.dims]
            if labels != axes:
                problems.append(f"{path}: dimension labels {labels}, the doc says {axes}")
    # 2b. Every dimension of every dataset (scales aside) is labelled and attached to the scale
    # of that name in the dataset's own group (netCDF-4 resolves dimensions there).
    for path in datasets:
        item = f[path]
        if "CLASS" in item.attrs:  # a dimension scale itself
            continue
        group = path.rsplit("/", 1)[0] or "/"
        for i, dim in enumerate(item.dims):
            scale = f"{group}/{dim.label}"
            if not dim.label or scale not in f or len(dim) != 1 or dim[0] != f[scale]:
                problems.append(f"{path}: dimension {i} is not attached to the scale {scale}")
    for path in datasets:
        if path not in documented_paths:
            problems.append(f"dataset {path} is mentioned but has no row in the doc's tables")

    # 3. Root attributes: the documented type.
    for row in table_rows("Root attributes"):
        name = first_code(row[0])
        if name is None:
            continue
        if name not in f.attrs:
            problems.append(f"docs/archive.md lists root attribute {name}, which the archive does not have")
            continue
        value = f.attrs[name]
        kind = ("string" if isinstance(value, (bytes, np.bytes_, str)) else
                "int64" if isinstance(value, np.int64) else
                "float64" if isinstance(value, np.float64) else type(value).__name__)
        if row[1] != kind:
            problems.append(f"root attribute {name}: {kind} in the archive, the doc says {row[1]}")
    if int(f.attrs["ranks"]) != 1 or int(f.attrs["samples"]) != 2000 or int(f.attrs["seed"]) != 1:
        problems.append("ranks / samples / seed attributes do not describe the run")

    # 4. The raw layout of the doc reproduces the stored datasets bit for bit.
    limbs = f["/raw/class_image_limbs"][()]
    sections, at = {}, 0
    layout = [(first_code(row[0]), row[1]) for row in table_rows("Raw accumulators: recomputing and merging")
              if first_code(row[0]) and not first_code(row[0]).startswith("/")]
    for name, shape_text in layout:
        shape = tuple(2 if letter.strip() == "2" else letters[letter.strip()] for letter in shape_text[1:-1].split(","))
        n = 2 * int(np.prod(shape))
        if at + n <= limbs.size:
            sections[name] = limbs[at:at + n].reshape(*shape, 2)
        at += n
    if at != limbs.size:
        problems.append(f"the doc's raw sections hold {at} limbs, the archive {limbs.size}")
    else:
        def value(pairs):
            low, high = pairs[..., 0], pairs[..., 1]
            return (high + (low >> 32)).astype(np.float64) + (low & 0xFFFFFFFF).astype(np.float64) / 2.0**32

        ci = {name: f["/classification_images/" + name][()] for name in f["/classification_images"]}
        count = ci["count"]
        P = C * H * W
        with np.errstate(invalid="ignore", divide="ignore"):
            checks = {
                "counts": lambda s: (np.rint(value(s)).astype(np.int64), count),
                "stage_sums": lambda s: (value(s.sum(axis=0)), ci["sum"].reshape(G, K, P)),
                "stage_counts": lambda s: (np.rint(value(s.sum(axis=0))).astype(np.int64), count),
                "sum_squares": lambda s: (value(s), ci["sum_squares"].reshape(G, K, P)),
                "weighted_sums": lambda s: (value(s), ci["weighted_sum"].reshape(G, K, P)),
                "weights": lambda s: (value(s), ci["weight"]),
                "floor_sums": lambda s: (value(s), ci["floor_sum"].reshape(G, K, P)),
                "floor_counts": lambda s: (np.rint(value(s)).astype(np.int64), ci["floor_count"]),
                "probability_sums": lambda s: (value(s) / count[..., None], ci["mean_softmax"]),
                "parity_sums": lambda s: (value(s.sum(axis=0)), ci["sum"].reshape(G, K, P)),
            }
            for name in sections:
                if name not in checks:
                    problems.append(f"raw section {name}: the test does not know how to check it")
                    continue
                recomputed, stored = checks[name](sections[name])
                if recomputed.shape != stored.shape or not np.array_equal(recomputed, stored, equal_nan=True):
                    problems.append(f"raw section {name} does not reproduce its dataset bit for bit")
            missing = set(checks) - set(sections)
            if missing:
                problems.append(f"raw sections missing from the doc: {sorted(missing)}")
            if not np.array_equal(ci["sum"] / count[..., None, None, None], ci["mean"], equal_nan=True):
                problems.append("mean is not sum / count")
        if not (np.all((limbs[0::2] >= 0) & (limbs[0::2] < 2**32))):
            problems.append("the stored limbs are not normalized (0 <= low < 2^32)")

if problems:
    print("FAIL: docs/archive.md and the archive disagree:", *problems, sep="\n  ", file=sys.stderr)
    sys.exit(1)
print(f"ok: {len(groups)} groups, {len(datasets)} datasets, {len(layout)} raw sections match docs/archive.md")
EOF

# The doc's Python examples run against the archives (out/wna.h5, out/wna_seed2.h5).
"$PYTHON" - "$DOC" "$SCRATCH" >"$SCRATCH/examples.list" <<'EOF'
import re, sys
doc, scratch = sys.argv[1:]
blocks = re.findall(r"```python\n(.*?)```", open(doc, encoding="utf-8").read(), re.S)
for i, block in enumerate(blocks):
    open(f"{scratch}/example_{i}.py", "w").write(block)
    print(f"example_{i}.py")
EOF
[[ -s "$SCRATCH/examples.list" ]] || fail "docs/archive.md has no python example"
while read -r example; do
  (cd "$SCRATCH" && "$PYTHON" "$example" >"$CAPTURE/$example.out" 2>&1) ||
    fail "docs/archive.md example $example fails:"$'\n'"$(cat "$SCRATCH/$example")"$'\n'"$(cat "$CAPTURE/$example.out")"
done <"$SCRATCH/examples.list"
echo "ok: $(wc -l <"$SCRATCH/examples.list") python examples of docs/archive.md run"
