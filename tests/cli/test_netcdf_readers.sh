#!/usr/bin/env bash
# Archives are netCDF-4 (docs/archive.md, "Dimensions and coordinates"): a real archive with
# every analysis on (the golden LeNet config plus psychometric, templates and the attack, 2 ranks) opens
# group by group in xarray with both engines (h5netcdf, netcdf4); every variable has the
# dimension names and the bits h5py reads, every coordinate its values; a classification image
# is selected by gamma and class label; netCDF's own ncdump reads the whole file.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
command -v ncdump >/dev/null || fail "ncdump is missing (Debian package netcdf-bin; scripts/install_deps.sh installs it)"
"$PYTHON" -c "import xarray, h5netcdf, netCDF4" 2>/dev/null ||
  fail "xarray, h5netcdf or netCDF4 missing for $PYTHON (Debian python3-xarray python3-h5netcdf python3-netcdf4)"

GOLDEN="$WNA_SOURCE_DIR/tests/golden"
ARCHIVE="$SCRATCH/all.h5"
"$MPIEXEC" -n 2 --oversubscribe "$WNA_MPI" "$GOLDEN/lenet_all_analyses.ini" --set "model.file=$GOLDEN/lenet_mnist.pt" \
  --set "data.data_dir=$WNA_DATA_DIR" --set "run.output=$ARCHIVE" --set run.samples=1000 \
  --set psychometric.enabled=true --set templates.enabled=true --set attack.enabled=true --set attack.inputs=100 \
  >"$CAPTURE/run.log" 2>&1 ||
  { cat "$CAPTURE/run.log" >&2; fail "wna_mpi failed"; }

ncdump -h "$ARCHIVE" >"$CAPTURE/ncdump.txt" 2>&1 || fail "ncdump -h failed: $(tail -3 "$CAPTURE/ncdump.txt")"
ncdump -v class,gamma "$ARCHIVE" >"$CAPTURE/ncdump_values.txt" 2>&1 || fail "ncdump -v failed"
grep -q 'class = "0", "1", "2", "3", "4", "5", "6", "7", "8", "9" ;' "$CAPTURE/ncdump_values.txt" ||
  fail "ncdump does not show the class names as strings: $(grep -m3 'class =' "$CAPTURE/ncdump_values.txt")"
echo "ok: ncdump reads $(grep -c '^ *group:' "$CAPTURE/ncdump.txt") groups"

"$PYTHON" - "$ARCHIVE" <<'PY'
import sys

import h5py
import numpy as np
import xarray as xr

path = sys.argv[1]
NOT_A_VARIABLE = b"This is a netCDF dimension but not a netCDF variable."
groups = ["/"]
with h5py.File(path, "r") as f:
    f.visititems(lambda name, item: groups.append("/" + name) if isinstance(item, h5py.Group) else None)
    expected = {}  # group -> {variable: (dims, values)}
    for group in groups:
        for name, item in f[group].items():
            if not isinstance(item, h5py.Dataset) or item.attrs.get("NAME", b"").startswith(NOT_A_VARIABLE):
                continue
            dims = tuple(dim.label for dim in item.dims) if "CLASS" not in item.attrs else (name,)
            expected.setdefault(group, {})[name] = (dims, item[()])
assert {"/sta/conv1", "/stc/relu1", "/microstimulation/fc1", "/psychometric", "/templates", "/attack", "/raw"} <= set(groups), groups

def same(a, b):
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype.kind in "OSU" or b.dtype.kind in "OSU":
        text = lambda v: [x.decode() if isinstance(x, bytes) else str(x) for x in v.ravel()]
        return text(a) == text(b)
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()

checked = 0
for engine in ("h5netcdf", "netcdf4"):
    for group in groups:
        with xr.open_dataset(path, group=group, engine=engine, mask_and_scale=False, decode_times=False) as ds:
            for name, (dims, values) in expected.get(group, {}).items():
                assert name in ds.variables, f"{engine}: {group}/{name} missing"
                variable = ds.variables[name]
                assert variable.dims == dims, f"{engine}: {group}/{name} dims {variable.dims}, HDF5 says {dims}"
                assert same(variable.values, values), f"{engine}: {group}/{name} values differ from h5py's"
                checked += 1
    ci = xr.open_dataset(path, group="classification_images", engine=engine)
    image = ci["mean"].sel(gamma=0.0, **{"class": "3"})
    assert image.dims == ("channel", "y", "x") and image.shape == (1, 28, 28), image.dims
    assert ci["mean"].attrs["long_name"] and ci["mean"].attrs["units"] == "1"
    with h5py.File(path, "r") as f:
        g = list(f["/classification_images/gamma"][()]).index(0.0)
        assert same(image.values, f["/classification_images/mean"][g, 3]), "sel picked another image"
    ci.close()
print(f"ok: xarray (h5netcdf and netcdf4) opens all {len(groups)} groups; {checked} variables with HDF5's dims and bits")
PY
finish
