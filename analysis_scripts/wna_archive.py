"""Reader for the HDF5 archives that wna_mpi writes.

An archive holds coordinate axes under /axes (gamma, class, channel, y, x, stage_samples),
the classification-image statistics under /classification_images (first axis gamma, second
axis class), raw accumulators under /raw, and the run's facts as root attributes (config,
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
AXES_GROUP = "/axes"
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
        return self.file[f"{AXES_GROUP}/gamma"][()]

    @property
    def class_names(self):
        """Class labels in the order of the class axis."""
        return self.axis("class")

    @property
    def stage_samples(self):
        """Sample counts at which the convergence of each CI was measured."""
        return self.file[f"{AXES_GROUP}/stage_samples"][()]

    def axis(self, name):
        """Coordinates of /axes/<name>: a list of str for a string axis (class, direction,
        microstimulation_layer), else an array."""
        values = self.file[f"{AXES_GROUP}/{name}"][()]
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
        (gamma, class, class), convergence (gamma, class, stage), split_half_reliability."""
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


def compare_archives(a, b, allow_new=False):
    """Paths of the datasets whose shape, type or bytes differ between archives a and b
    (file paths), including datasets present in only one of them (with allow_new: only those
    missing from b). Attributes are ignored. An empty list means the archives' datasets are
    bitwise identical (NaNs included)."""
    with h5py.File(a, "r") as first, h5py.File(b, "r") as second:
        paths_a, paths_b = set(dataset_paths(first)), set(dataset_paths(second))
        differing = paths_a - paths_b if allow_new else paths_a ^ paths_b
        differing.update(path for path in paths_a & paths_b if not _same_contents(first[path], second[path]))
    return sorted(differing)
