"""Reader for the HDF5 archives that wna_mpi writes.

An archive (format 2) is netCDF-4: every group holds the coordinate variables of its
dimensions (gamma, class, channel, y, x, stage_samples, ...), so xarray opens any group by
itself. The classification-image statistics are under /classification_images (first axis
gamma, second axis class), raw accumulators under /raw, and the run's facts as root attributes (config,
versions, samples, ranks, seed, model_*, noise_kind, start_time, end_time, ...). The unit
analyses are optional groups: /sta, /activations, /stc (one subgroup per layer) and
/microstimulation (docs/archive.md).

    with open_archive("out/run.h5") as archive:
        archive.gammas, archive.class_names, archive.ci("mean"), archive.attributes()
        for name, group in archive.layers("stc"):
            group["component_eigenvalues"][()]

compare_archives(a, b) lists the datasets whose bytes differ between two archives; it is how
bitwise identity across rank counts is checked.
"""

import h5py
import numpy as np

CI_GROUP = "/classification_images"
AXES_GROUP = "/axes"  # format 1 only: since format 2 each group holds its own coordinates
NETCDF_DIMENSION_ONLY = "This is a netCDF dimension but not a netCDF variable."
COMPARE_CHUNK_BYTES = 64 << 20


def as_text(value):
    """Returns an attribute or label as str, whether h5py read it as bytes or str."""
    if isinstance(value, (bytes, np.bytes_)):
        return value.decode("utf-8")
    if isinstance(value, np.ndarray):
        return ", ".join(as_text(item) for item in value.ravel())
    if isinstance(value, np.generic):
        return str(value.item())
    return str(value)


class Archive:
    """An open wna archive (read-only). Use as a context manager or call close()."""

    def __init__(self, path):
        self.path = str(path)
        self.file = h5py.File(self.path, "r")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self.file.close()

    @property
    def gammas(self):
        """Signal levels, one per row of every classification-image dataset."""
        return self.axis("gamma")

    @property
    def class_names(self):
        """Class labels in the order of the class axis."""
        return self.axis("class")

    @property
    def stage_samples(self):
        """Sample counts at which the convergence of each CI was measured."""
        return self.axis("stage_samples")

    def axis(self, name):
        """Coordinates of the axis called name (every group that uses it holds the same copy;
        /axes/<name> in an archive of format 1): a list of str for a string axis (class,
        direction, microstimulation_layer), else an array. KeyError when no group has it."""
        if f"{AXES_GROUP}/{name}" in self.file:
            values = self.file[f"{AXES_GROUP}/{name}"][()]
        else:
            copies = _coordinate_copies(self.file, name)
            if not copies:
                raise KeyError(f"{self.path} has no coordinate axis {name}")
            values = copies[0][()]
        return [as_text(value) for value in values] if values.dtype.kind in "OSU" else values

    def has(self, group):
        """True when the archive holds the optional group (sta, activations, microstimulation, stc)."""
        return group in self.file

    def layers(self, group):
        """(layer name, h5py group) of each per-layer subgroup of an optional group, in the file's
        order; empty when the archive lacks the group."""
        if group not in self.file:
            return []
        return [(name, item) for name, item in self.file[group].items() if isinstance(item, h5py.Group)]

    def ci(self, name):
        """Array of /classification_images/<name>, e.g. mean (gamma, class, channel, y, x),
        zmap, count (gamma, class), histogram, feedback_prediction, feedback_softmax
        (gamma, class, softmax_class), convergence (gamma, class, stage), split_half_reliability."""
        return self.file[f"{CI_GROUP}/{name}"][()]

    def defined(self):
        """Boolean (gamma, class): True where the class was predicted, so its CI exists."""
        return self.ci("defined").astype(bool)

    def attribute(self, name, default=None):
        """A root attribute as str, or default when the archive lacks it."""
        if name not in self.file.attrs:
            return default
        return as_text(self.file.attrs[name])

    def attributes(self):
        """All root attributes as a dict of str."""
        return {name: as_text(value) for name, value in self.file.attrs.items()}


def open_archive(path):
    """Opens an archive for reading."""
    return Archive(path)


def dataset_paths(h5file):
    """Sorted absolute paths of every dataset in an open h5py file."""
    paths = []
    h5file.visititems(lambda name, item: paths.append("/" + name) if isinstance(item, h5py.Dataset) else None)
    return sorted(paths)


def _blocks(dataset):
    """The dataset's contents as a sequence of comparable pieces, read in bounded chunks."""
    if dataset.shape == () or dataset.shape[0] == 0:
        yield dataset[()]
        return
    row_bytes = max(1, dataset.dtype.itemsize * int(np.prod(dataset.shape[1:])))
    rows = max(1, COMPARE_CHUNK_BYTES // row_bytes)
    for begin in range(0, dataset.shape[0], rows):
        yield dataset[begin:begin + rows]


def _same_contents(first, second):
    if first.shape != second.shape or first.dtype != second.dtype:
        return False
    for a, b in zip(_blocks(first), _blocks(second)):
        if first.dtype.kind == "O":  # variable-length strings: compare values, not pointers
            if np.asarray(a).tolist() != np.asarray(b).tolist():
                return False
        elif np.asarray(a).tobytes() != np.asarray(b).tobytes():
            return False
    return True


def _coordinate_copies(h5file, name):
    """Every coordinate variable called name (a dimension scale with values) in any group."""
    copies = []
    h5file.visititems(lambda path, item: copies.append(item) if isinstance(item, h5py.Dataset)
                      and path.split("/")[-1] == name and _is_coordinate(item) else None)
    return copies


def _is_coordinate(dataset):
    scale_name = as_text(dataset.attrs.get("NAME", b""))
    return dataset.attrs.get("CLASS", b"") == b"DIMENSION_SCALE" and not scale_name.startswith(NETCDF_DIMENSION_ONLY)


def _same_coordinates(old_axis, copies):
    """Format 1's /axes/<name> against format 2's copies: the same values (labels as text)."""
    def values(dataset):
        data = dataset[()]
        return [as_text(x) for x in data] if data.dtype.kind in "OSU" else data.tobytes()
    return bool(copies) and all(values(copy) == values(old_axis) for copy in copies)


def compare_archives(a, b, allow_new=False, moved_axes=False):
    """Paths of the datasets whose shape, type or bytes differ between archives a and b
    (file paths), including datasets present in only one of them (with allow_new: only those
    missing from b). Attributes are ignored. An empty list means the archives' datasets are
    bitwise identical (NaNs included). With moved_axes, a is an archive of format 1 (axes under
    /axes) and b of format 2: /axes/<name> must equal every coordinate variable <name> of b."""
    with h5py.File(a, "r") as first, h5py.File(b, "r") as second:
        paths_a, paths_b = set(dataset_paths(first)), set(dataset_paths(second))
        differing = set()
        if moved_axes:
            old_axes = {path for path in paths_a if path.startswith(AXES_GROUP + "/")}
            differing.update(path for path in old_axes
                             if not _same_coordinates(first[path], _coordinate_copies(second, path.split("/")[-1])))
            paths_a -= old_axes
        differing.update(paths_a - paths_b if allow_new else paths_a ^ paths_b)
        differing.update(path for path in paths_a & paths_b if not _same_contents(first[path], second[path]))
    return sorted(differing)
