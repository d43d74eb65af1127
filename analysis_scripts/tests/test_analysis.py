"""Tests of the analysis scripts on small synthetic archives laid out as wna_mpi writes them
(/axes with dimension scales, /classification_images, root attributes as bytes or str).

    /usr/bin/python3 -m pytest -q analysis_scripts/tests
"""

import pathlib
import shutil
import subprocess
import sys

import h5py
import numpy as np
import pytest

SCRIPTS = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(SCRIPTS))

import wna_archive  # noqa: E402

PYTHON = "/usr/bin/python3"
CLASS_NAMES = ["zero", "one", "two", "three"]
GAMMAS = [0.0, 0.5]
NEVER_PREDICTED = (0, 1)  # (gamma row, class) whose CI is undefined


def write_synthetic_archive(path, gammas=GAMMAS, class_names=CLASS_NAMES, channels=1, size=8, seed=0):
    """Writes the datasets, axes and attributes the analysis scripts read; the class
    NEVER_PREDICTED[1] is never predicted at gamma row NEVER_PREDICTED[0]."""
    rng = np.random.default_rng(seed)
    G, K = len(gammas), len(class_names)
    stage_samples = np.array([100.0, 300.0, 700.0, 1000.0])
    count = rng.integers(50, 400, size=(G, K))
    count[NEVER_PREDICTED] = 0
    defined = (count > 0).astype(np.int64)
    mean = rng.uniform(0, 1, size=(G, K, channels, size, size))
    mean[~defined.astype(bool)] = np.nan
    zmap = rng.normal(0, 3, size=mean.shape)
    zmap[~defined.astype(bool)] = np.nan
    feedback_softmax = rng.dirichlet(np.ones(K), size=(G, K))
    feedback_prediction = np.where(defined == 1, feedback_softmax.argmax(axis=2), -1)
    convergence = np.sort(rng.uniform(0.2, 1.0, size=(G, K, len(stage_samples))), axis=2)
    convergence[..., -1] = 1.0
    convergence[~defined.astype(bool)] = np.nan
    split_half = np.where(defined == 1, rng.uniform(0, 1, size=(G, K)), np.nan)

    with h5py.File(path, "w") as f:
        axes = {
            "gamma": np.asarray(gammas, dtype=np.float64),
            "class": np.array([name.encode() for name in class_names]),
            "channel": np.arange(channels, dtype=np.float64),
            "y": np.arange(size, dtype=np.float64),
            "x": np.arange(size, dtype=np.float64),
            "stage_samples": stage_samples,
        }
        for name, values in axes.items():
            f.create_dataset(f"axes/{name}", data=values).make_scale(name)
        group = f.create_group("classification_images")
        group.attrs["confidence_floor"] = 0.3
        datasets = {
            "count": (count, ["gamma", "class"]),
            "defined": (defined, ["gamma", "class"]),
            "histogram": (count / count.sum(axis=1, keepdims=True), ["gamma", "class"]),
            "mean": (mean, ["gamma", "class", "channel", "y", "x"]),
            "zmap": (zmap, ["gamma", "class", "channel", "y", "x"]),
            "feedback_softmax": (feedback_softmax, ["gamma", "class", "class"]),
            "feedback_prediction": (feedback_prediction, ["gamma", "class"]),
            "convergence": (convergence, ["gamma", "class", "stage_samples"]),
            "split_half_reliability": (split_half, ["gamma", "class"]),
        }
        for name, (values, dims) in datasets.items():
            dataset = group.create_dataset(name, data=values)
            for axis, dim in enumerate(dims):
                dataset.dims[axis].attach_scale(f[f"axes/{dim}"])
                dataset.dims[axis].label = dim
        f.create_dataset("raw/class_image_limbs", data=rng.integers(0, 1 << 40, size=64))
        # Older archives hold fixed-length byte strings, newer ones may hold str.
        f.attrs["config"] = np.bytes_(b"[run]\nseed = 7\nsamples = 1000\n")
        f.attrs["model_architecture"] = np.bytes_(b"lenet")
        f.attrs["model_dataset"] = "synthetic"
        f.attrs["model_file"] = "models/synthetic.pt"
        f.attrs["noise_kind"] = np.bytes_(b"uniform")
        f.attrs["versions"] = "wna 0.1.0 (test)"
        f.attrs["start_time"] = np.bytes_(b"2026-01-01T00:00:00Z")
        f.attrs["end_time"] = "2026-01-01T00:01:40Z"
        f.attrs["samples"] = np.int64(1000)
        f.attrs["block_size"] = np.int64(100)
        f.attrs["ranks"] = np.int64(2)
        f.attrs["seed"] = np.int64(7)
        f.attrs["model_test_accuracy"] = 0.99
    return path


@pytest.fixture
def archive(tmp_path):
    return write_synthetic_archive(tmp_path / "run.h5")


def run_script(name, *args):
    return subprocess.run([PYTHON, str(SCRIPTS / name), *map(str, args)], capture_output=True, text=True,
                          timeout=60)


def test_reader_decodes_axes_and_attributes(archive):
    with wna_archive.open_archive(archive) as a:
        assert a.class_names == CLASS_NAMES
        assert list(a.gammas) == GAMMAS
        assert list(a.stage_samples) == [100, 300, 700, 1000]
        assert a.ci("mean").shape == (2, 4, 1, 8, 8)
        assert not a.defined()[NEVER_PREDICTED]
        attributes = a.attributes()
        assert attributes["model_architecture"] == "lenet"  # stored as bytes
        assert attributes["model_dataset"] == "synthetic"  # stored as str
        assert attributes["samples"] == "1000"
        assert a.attribute("absent", "n/a") == "n/a"


def test_report_renders_figures_and_markdown(archive, tmp_path):
    out = tmp_path / "report"
    result = run_script("report.py", archive, "--out", out)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("report: ")
    for name in ("ci_gamma_grid.png", "zmaps.png", "histogram.png", "convergence.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    report = (out / "report.md").read_text(encoding="utf-8")
    for name in CLASS_NAMES:
        assert f"| {name} |" in report
    never_row = next(line for line in report.splitlines()
                     if line.startswith(f"| {CLASS_NAMES[NEVER_PREDICTED[1]]} |"))
    assert "never predicted" in never_row
    assert "lenet" in report and "synthetic" in report and "100 s" in report
    assert "![" in report and "(ci_gamma_grid.png)" in report


def test_report_handles_colour_images(tmp_path):
    archive = write_synthetic_archive(tmp_path / "rgb.h5", gammas=[0.0, 0.2, 0.4], channels=3)
    result = run_script("report.py", archive, "--out", tmp_path / "report")
    assert result.returncode == 0, result.stderr


def test_compare_identical_copy(archive, tmp_path):
    copy = shutil.copy(archive, tmp_path / "copy.h5")
    assert wna_archive.compare_archives(archive, copy) == []


def test_compare_ignores_attributes(archive, tmp_path):
    copy = shutil.copy(archive, tmp_path / "copy.h5")
    with h5py.File(copy, "r+") as f:
        f.attrs["ranks"] = np.int64(3)
        f.attrs["end_time"] = "2026-01-01T00:02:00Z"
    assert wna_archive.compare_archives(archive, copy) == []


def test_compare_lists_changed_and_missing_datasets(archive, tmp_path):
    copy = shutil.copy(archive, tmp_path / "copy.h5")
    with h5py.File(copy, "r+") as f:
        f["classification_images/mean"][1, 2, 0, 3, 3] += 1e-12
        del f["raw/class_image_limbs"]
    assert wna_archive.compare_archives(archive, copy) == ["/classification_images/mean",
                                                           "/raw/class_image_limbs"]


def test_compare_cli_exit_codes(archive, tmp_path):
    copy = shutil.copy(archive, tmp_path / "copy.h5")
    second = shutil.copy(archive, tmp_path / "second.h5")
    with h5py.File(archive, "r") as f:
        datasets = len(wna_archive.dataset_paths(f))
    result = run_script("compare_archives.py", archive, copy, second)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"identical: {datasets} datasets"

    with h5py.File(second, "r+") as f:
        f["classification_images/count"][0, 0] += 1
    result = run_script("compare_archives.py", archive, copy, second)
    assert result.returncode == 1
    assert "/classification_images/count" in result.stdout

    result = run_script("compare_archives.py", archive, tmp_path / "missing.h5")
    assert result.returncode == 2
