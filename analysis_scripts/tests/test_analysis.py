"""Tests of the analysis scripts on small synthetic archives laid out as wna_mpi writes them
(/axes with dimension scales, /classification_images, root attributes as bytes or str, and
optionally the unit analyses /sta, /activations, /microstimulation, /stc of docs/archive.md).

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
UNIT_ANALYSES = ("sta", "activations", "microstimulation", "stc")
NEW_SECTIONS = ("## Spike-triggered averages", "## Mean activation maps", "## Microstimulation",
                "## Spike-triggered covariances")
BASE_FIGURES = {"ci_gamma_grid.png", "zmaps.png", "histogram.png", "convergence.png"}

# Planted /sta: the conv1 STA-filter correlation per unit (one unit never fired: NaN); the
# median of the finite values is 0.62. conv1 has one unit per entry, fc1 FC_UNITS units.
FILTER_CORRELATION = [0.91, 0.35, 0.62, 0.77, 0.48, np.nan]
FC_UNITS = 5
RF = 3  # conv1's receptive-field size
# Planted /microstimulation: averaged over classes and weights the fraction is 0.6 at k = 0 and
# changes linearly in k by MICRO_CHANGE at the last step; the offsets per class and weight
# average out, and every fraction is a whole number of MICRO_IMAGES.
MICRO_LAYERS = ["conv1", "fc1"]
MICRO_STEPS = 4
MICRO_IMAGES = 200
MICRO_CHANGE = {("conv1", "inhibitory"): -0.32, ("conv1", "excitatory"): 0.12,
                ("fc1", "inhibitory"): -0.20, ("fc1", "excitatory"): 0.08}
# Planted /stc: per layer, listed units -> (leading eigenvalues, null range); None: did not fire.
STC_UNITS = {"relu1": {2: ([0.052, -0.031, 0.012], (-0.02, 0.03)), 5: None},
             "relu3": {4: ([0.41, 0.22, -0.18], (-0.3, 0.35))}}
STC_SHUFFLES = 2


def write_dataset(f, path, values, dims):
    """Writes values at path with each dimension labelled and attached to the scale /axes/<dim>
    (created as 0 ... n - 1 when missing); an empty name leaves the dimension bare, as wna_mpi does."""
    dataset = f.create_dataset(path, data=values)
    for axis, dim in enumerate(dims):
        if dim:
            if f"axes/{dim}" not in f:
                write_axis(f, dim, np.arange(dataset.shape[axis], dtype=np.float64))
            dataset.dims[axis].attach_scale(f[f"axes/{dim}"])
            dataset.dims[axis].label = dim
    return dataset


def write_axis(f, name, values):
    f.create_dataset(f"axes/{name}", data=values).make_scale(name)


def write_sta(f, rng, channels, size):
    """/sta at gamma 0: conv1 (conv2d, FILTER_CORRELATION, the last unit never fired) and fc1."""
    f.create_group("sta").attrs["gamma"] = 0.0
    units = len(FILTER_CORRELATION)
    conv_dims = ["conv1_channel", "channel", "conv1_rf_y", "conv1_rf_x"]
    sta = rng.normal(0.5, 0.1, size=(units, channels, RF, RF))
    sta[-1] = 0.0
    normalized_sta = sta / 0.1
    normalized_sta[-1] = np.nan
    for suffix in ("", "_at_position"):
        write_dataset(f, f"sta/conv1/sta{suffix}", sta, conv_dims)
        write_dataset(f, f"sta/conv1/normalized_sta{suffix}", normalized_sta, conv_dims)
        write_dataset(f, f"sta/conv1/sum_activation_stimulus{suffix}", sta * 1000, conv_dims)
        for name in ("mean", "variance", "sum_activation", "sum_squared_activation"):
            write_dataset(f, f"sta/conv1/{name}{suffix}", rng.uniform(0, 1, units), ["conv1_channel"])
    write_dataset(f, "sta/conv1/filter_correlation", np.array(FILTER_CORRELATION), ["conv1_channel"])
    write_dataset(f, "sta/conv1/limbs", np.zeros((units, 2 * (4 + 2 * channels * RF * RF)), np.int64),
                  ["conv1_channel", ""])
    conv = f["sta/conv1"]
    conv.attrs["kind"] = np.bytes_(b"conv2d")
    conv.attrs["count"] = np.int64(1000 * (size - RF + 1) ** 2)
    for name, value in dict(map_height=size - RF + 1, map_width=size - RF + 1, receptive_field_size=RF,
                            receptive_field_jump=1, receptive_field_start=0, position_y=2, position_x=2,
                            position_origin_y=2, position_origin_x=2, position_count=1000).items():
        conv.attrs[name] = np.int64(value)
    fc_dims = ["fc1_unit", "channel", "y", "x"]
    sta = rng.normal(0.5, 0.1, size=(FC_UNITS, channels, size, size))
    write_dataset(f, "sta/fc1/sta", sta, fc_dims)
    write_dataset(f, "sta/fc1/normalized_sta", sta / 0.1, fc_dims)
    write_dataset(f, "sta/fc1/sum_activation_stimulus", sta * 1000, fc_dims)
    for name in ("mean", "variance", "sum_activation", "sum_squared_activation"):
        write_dataset(f, f"sta/fc1/{name}", rng.uniform(0, 1, FC_UNITS), ["fc1_unit"])
    write_dataset(f, "sta/fc1/limbs", np.zeros((FC_UNITS, 2 * (2 + channels * size * size)), np.int64),
                  ["fc1_unit", ""])
    f["sta/fc1"].attrs["kind"] = "linear"  # str here, bytes for conv1
    f["sta/fc1"].attrs["count"] = np.int64(1000)


def write_activations(f, rng, count):
    """/activations at gamma 0 of conv1 (maps) and fc1 (vectors); count is the classes' sample
    counts at gamma 0, so a class never predicted there has NaN rows."""
    f.create_group("activations").attrs["gamma"] = 0.0
    undefined = count == 0
    layers = {"conv1": ((len(FILTER_CORRELATION), 4, 4), ["conv1_channel", "conv1_y", "conv1_x"]),
              "fc1": ((FC_UNITS,), ["fc1_unit"])}
    for name, (shape, dims) in layers.items():
        total = rng.uniform(0, 1, size=(len(count), *shape)) * count.reshape(-1, *[1] * len(shape))
        mean = total / np.where(undefined, 1, count).reshape(-1, *[1] * len(shape))
        mean[undefined] = np.nan
        image = rng.uniform(0, 2, size=mean.shape)
        image[undefined] = np.nan
        write_dataset(f, f"activations/{name}/count", count, ["class"])
        datasets = (("sum", total), ("mean_by_predicted_class", mean), ("of_classification_image", image))
        for dataset, values in datasets:
            write_dataset(f, f"activations/{name}/{dataset}", values, ["class", *dims])


def write_microstimulation(f, rng, classes):
    """/microstimulation of MICRO_LAYERS with the planted fractions (see MICRO_CHANGE)."""
    group = f.create_group("microstimulation")
    for name, value in dict(steps=MICRO_STEPS, images_per_class=MICRO_IMAGES, train_images_per_class=50).items():
        group.attrs[name] = np.int64(value)
    directions = ["inhibitory", "excitatory"]
    weights = np.linspace(0.0, 1.0, 5)
    write_axis(f, "microstimulation_layer", np.array([name.encode() for name in MICRO_LAYERS]))
    write_axis(f, "direction", np.array([name.encode() for name in directions]))
    write_axis(f, "microstimulation_step", np.arange(MICRO_STEPS + 1, dtype=np.float64))
    write_axis(f, "microstimulation_weight", weights)
    class_offset = 0.05 * (np.arange(classes) - (classes - 1) / 2)
    weight_offset = 0.3 * (weights - 0.5)
    step = np.arange(MICRO_STEPS + 1) / MICRO_STEPS
    change = np.array([[MICRO_CHANGE[layer, direction] for direction in directions] for layer in MICRO_LAYERS])
    fraction = (0.6 + class_offset[None, :, None, None, None] + weight_offset
                + change[:, None, :, None, None] * step[:, None])
    predicted = np.rint(fraction * MICRO_IMAGES).astype(np.int64)
    dims = ["microstimulation_layer", "class", "direction", "microstimulation_step", "microstimulation_weight"]
    write_dataset(f, "microstimulation/fraction_predicted", predicted / MICRO_IMAGES, dims)
    write_dataset(f, "microstimulation/predicted_as_target", predicted, dims)
    write_dataset(f, "microstimulation/images", np.full(classes, MICRO_IMAGES, np.int64), ["class"])
    layers = (("conv1", len(FILTER_CORRELATION), "conv1_channel", 0.1, b"relu1"),
              ("fc1", FC_UNITS, "fc1_unit", 0.01, b"relu3"))
    for name, units, unit_axis, step_size, read_at in layers:
        mean_activation = rng.uniform(0, 1, size=(classes, units))
        write_dataset(f, f"microstimulation/{name}/mean_activation", mean_activation, ["class", unit_axis])
        write_dataset(f, f"microstimulation/{name}/step_shift", step_size * mean_activation, ["class", unit_axis])
        layer = f[f"microstimulation/{name}"]
        layer.attrs["step_size"] = step_size
        layer.attrs["activation_layer"] = np.bytes_(read_at)
        layer.attrs["scaling"] = np.bytes_(b"step_size * a")


def stc_unit(rng, shape, planted):
    """One listed unit's STC statistics with the planted (leading eigenvalues, null range):
    a covariance difference with those eigenvalues among small ones, in a random basis, and
    null spectra spanning the null range; all NaN (no components) for a unit that did not fire."""
    pixels = int(np.prod(shape))
    if planted is None:
        nan = np.full(pixels, np.nan)
        return dict(sum_activation=0.0, normalized_sta=np.full(shape, np.nan),
                    covariance_difference=np.full((pixels, pixels), np.nan), eigenvalues=nan,
                    significant=np.zeros(pixels, np.int64),
                    null_eigenvalues=np.full((STC_SHUFFLES, pixels), np.nan),
                    null_lower=np.nan, null_upper=np.nan, component_eigenvalues=np.full(3, np.nan),
                    component_significant=np.zeros(3, np.int64), components=np.full((3, *shape), np.nan))
    leading, (lower, upper) = planted
    small = rng.uniform(-0.005, 0.005, size=pixels - len(leading))
    order = np.argsort(-np.concatenate([leading, small]))
    eigenvalues = np.concatenate([leading, small])[order]
    basis = np.linalg.qr(rng.normal(size=(pixels, pixels)))[0][:, order]
    significant = ((eigenvalues > upper) | (eigenvalues < lower)).astype(np.int64)
    top = np.argsort(-np.abs(eigenvalues), kind="stable")[:len(leading)]
    components = basis[:, top].T
    components *= np.sign(components[np.arange(len(top)), np.argmax(np.abs(components), axis=1)])[:, None]
    null = np.sort(rng.uniform(lower, upper, size=(STC_SHUFFLES, pixels)), axis=1)[:, ::-1]
    null[0, 0], null[-1, -1] = upper, lower
    return dict(sum_activation=123.0, normalized_sta=rng.normal(size=shape),
                covariance_difference=basis @ np.diag(eigenvalues) @ basis.T, eigenvalues=eigenvalues,
                significant=significant, null_eigenvalues=null, null_lower=lower, null_upper=upper,
                component_eigenvalues=eigenvalues[top], component_significant=significant[top],
                components=components.reshape(len(top), *shape))


def write_stc(f, rng, channels, size):
    """/stc at gamma 0 of STC_UNITS: relu1 (conv-like, RF x RF patches) and relu3 (whole input)."""
    f.create_group("stc").attrs["gamma"] = 0.0
    for name, planted in STC_UNITS.items():
        conv = name == "relu1"
        shape = (channels, RF, RF) if conv else (channels, size, size)
        pixel_dims = ["channel", f"{name}_rf_y", f"{name}_rf_x"] if conv else ["channel", "y", "x"]
        unit_axis = f"{name}_stc_unit"
        write_axis(f, unit_axis, np.array(list(planted), dtype=np.float64))
        units = [stc_unit(rng, shape, values) for values in planted.values()]
        pixels = int(np.prod(shape))
        triangle = pixels * (pixels + 1) // 2
        limbs = pixels + triangle + 1 + (STC_SHUFFLES + 1) * (pixels + triangle)
        write_dataset(f, f"stc/{name}/unit", np.array(list(planted), np.int64), [unit_axis])
        write_dataset(f, f"stc/{name}/stimulus_mean", rng.uniform(0, 1, size=(len(units), *shape)),
                      [unit_axis, *pixel_dims])
        write_dataset(f, f"stc/{name}/limbs", np.zeros((len(units), 2 * limbs), np.int64), [unit_axis, ""])
        for dataset in units[0]:
            values = np.array([unit[dataset] for unit in units])
            dims = [unit_axis] + (pixel_dims if dataset == "normalized_sta" else
                                  ["", *pixel_dims] if dataset == "components" else [""] * (values.ndim - 1))
            write_dataset(f, f"stc/{name}/{dataset}", values, dims)
        layer = f[f"stc/{name}"]
        layer.attrs["kind"] = np.bytes_(b"relu")
        layer.attrs["count"] = np.int64(1000)
        layer.attrs["shuffles"] = np.int64(STC_SHUFFLES)
        if conv:
            for attribute, value in dict(receptive_field_size=RF, receptive_field_jump=1, receptive_field_start=0,
                                         position_y=2, position_x=2, position_origin_y=2,
                                         position_origin_x=2).items():
                layer.attrs[attribute] = np.int64(value)


def write_synthetic_archive(path, gammas=GAMMAS, class_names=CLASS_NAMES, channels=1, size=8, seed=0,
                            unit_analyses=()):
    """Writes the datasets, axes and attributes the analysis scripts read; the class
    NEVER_PREDICTED[1] is never predicted at gamma row NEVER_PREDICTED[0]. unit_analyses names
    the optional groups to add (UNIT_ANALYSES), all taken at the first gamma."""
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
            "softmax_class": np.array([name.encode() for name in class_names]),
            "channel": np.arange(channels, dtype=np.float64),
            "y": np.arange(size, dtype=np.float64),
            "x": np.arange(size, dtype=np.float64),
            "stage_samples": stage_samples,
        }
        for name, values in axes.items():
            write_axis(f, name, values)
        f.create_group("classification_images").attrs["confidence_floor"] = 0.3
        datasets = {
            "count": (count, ["gamma", "class"]),
            "defined": (defined, ["gamma", "class"]),
            "histogram": (count / count.sum(axis=1, keepdims=True), ["gamma", "class"]),
            "mean": (mean, ["gamma", "class", "channel", "y", "x"]),
            "zmap": (zmap, ["gamma", "class", "channel", "y", "x"]),
            "feedback_softmax": (feedback_softmax, ["gamma", "class", "softmax_class"]),
            "feedback_prediction": (feedback_prediction, ["gamma", "class"]),
            "convergence": (convergence, ["gamma", "class", "stage_samples"]),
            "split_half_reliability": (split_half, ["gamma", "class"]),
        }
        for name, (values, dims) in datasets.items():
            write_dataset(f, f"classification_images/{name}", values, dims)
        if "sta" in unit_analyses:
            write_sta(f, rng, channels, size)
        if "activations" in unit_analyses:
            write_activations(f, rng, count[0])
        if "microstimulation" in unit_analyses:
            write_microstimulation(f, rng, K)
        if "stc" in unit_analyses:
            write_stc(f, rng, channels, size)
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


def move_axes_into_groups(path):
    """Rewrites a synthetic archive of format 1 (scales under /axes) in format 2, as wna_mpi
    writes it today: each group holds copies of the scales its datasets use; /axes is gone."""
    with h5py.File(path, "r+") as f:
        attached = []
        f.visititems(lambda name, item: attached.append(item) if isinstance(item, h5py.Dataset)
                     and not name.startswith("axes/") and "DIMENSION_LIST" in item.attrs else None)
        for dataset in attached:
            group, labels = dataset.parent, [dim.label for dim in dataset.dims]
            for axis, label in enumerate(labels):
                old = dataset.dims[axis][0]
                if label not in group:
                    group.create_dataset(label, data=old[()]).make_scale(label)
                dataset.dims[axis].detach_scale(old)
                dataset.dims[axis].attach_scale(group[label])
        del f["axes"]
    return path


@pytest.fixture(params=["format 1", "format 2"])
def archive(tmp_path, request):
    """A synthetic archive in both layouts: format 1 (/axes) and format 2 (netCDF-4)."""
    path = write_synthetic_archive(tmp_path / "run.h5")
    return move_axes_into_groups(path) if request.param == "format 2" else path


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
        assert not a.has("stc") and a.layers("stc") == []


def test_reader_lists_unit_analysis_layers(tmp_path):
    archive = write_synthetic_archive(tmp_path / "units.h5", unit_analyses=UNIT_ANALYSES)
    with wna_archive.open_archive(archive) as a:
        assert all(a.has(group) for group in UNIT_ANALYSES)
        assert [name for name, _ in a.layers("sta")] == ["conv1", "fc1"]
        assert [name for name, _ in a.layers("stc")] == list(STC_UNITS)
        assert [name for name, _ in a.layers("microstimulation")] == MICRO_LAYERS
        assert a.axis("direction") == ["inhibitory", "excitatory"]  # stored as bytes
        assert a.axis("microstimulation_layer") == MICRO_LAYERS
        assert list(a.axis("relu1_stc_unit")) == list(STC_UNITS["relu1"])


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
    # Without unit-analysis groups: no section, no figure and no mention of them.
    assert {path.name for path in out.glob("*.png")} == BASE_FIGURES
    assert not any(section in report for section in NEW_SECTIONS)
    assert "; also" not in result.stdout


def test_report_renders_unit_analyses(tmp_path):
    archive = write_synthetic_archive(tmp_path / "units.h5", unit_analyses=UNIT_ANALYSES)
    out = tmp_path / "report"
    result = run_script("report.py", archive, "--out", out)
    assert result.returncode == 0, result.stderr
    assert result.stdout.rstrip().endswith("; also STA, activations, microstimulation, STC)")
    figures = {"sta_conv1.png", "activations_conv1.png", "activations_fc1.png", "microstimulation.png",
               "stc_components.png"}
    assert {path.name for path in out.glob("*.png")} == BASE_FIGURES | figures  # no STA figure for fc1
    for name in figures:
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    report = (out / "report.md").read_text(encoding="utf-8")
    for section in NEW_SECTIONS:
        assert report.count(section + "\n") == 1, section
    for name in figures:
        assert f"]({name})" in report, name

    # /sta: the planted correlations (median of the finite ones 0.62; unit 5 NaN) and the layers.
    assert "min 0.350, median 0.620, max 0.910 over 5 of 6 units" in report
    assert "| 2 | 0.620 |" in report and "| 5 | n/a |" in report
    assert "| conv1 | conv2d | 6 | [6, 1, 3, 3] |" in report
    assert f"| fc1 | linear | {FC_UNITS} | [{FC_UNITS}, 1, 8, 8] |" in report

    # /activations: per class its count and each layer's mean output (noise / CI); the class never
    # predicted at gamma 0 has NaN rows, shown as such.
    with h5py.File(archive, "r") as f:
        layers = [(f[f"activations/{name}/mean_by_predicted_class"][()],
                   f[f"activations/{name}/of_classification_image"][()]) for name in ("conv1", "fc1")]
        counts = f["activations/conv1/count"][()]
    for k, (name, count) in enumerate(zip(CLASS_NAMES, counts)):
        if k == NEVER_PREDICTED[1]:
            assert f"| {name} | 0 | never predicted | never predicted |" in report
        else:
            means = " | ".join(f"{np.mean(noise[k]):.3f} / {np.mean(image[k]):.3f}" for noise, image in layers)
            assert f"| {name} | {count:,} | {means} |" in report

    # /microstimulation: means over classes and weights, 0.6 at k = 0, then as planted at k = 4.
    assert "| direction | mean at k = 0 | mean at k = 4 | change |" in report
    assert "| conv1 | 0.1 | relu1 | inhibitory | 0.600 | 0.280 | -0.320 |" in report
    assert "| conv1 | 0.1 | relu1 | excitatory | 0.600 | 0.720 | +0.120 |" in report
    assert "| fc1 | 0.01 | relu3 | inhibitory | 0.600 | 0.400 | -0.200 |" in report
    assert "| fc1 | 0.01 | relu3 | excitatory | 0.600 | 0.680 | +0.080 |" in report

    # /stc: leading eigenvalues with their significance, the null range, a unit that did not fire.
    assert "| relu1 | 2 | +0.052*, -0.031*, +0.012 | [-0.02, +0.03] | 2 of 9 |" in report
    assert "| relu1 | 5 | did not fire" in report
    assert "| relu3 | 4 | +0.41*, +0.22, -0.18 | [-0.3, +0.35] | 1 of 64 |" in report


def test_report_renders_template_classification(tmp_path):
    archive = write_synthetic_archive(tmp_path / "templates.h5")
    K = len(CLASS_NAMES)
    templates = np.random.default_rng(1).uniform(0, 1, size=(K, 1, 8, 8))
    templates[2] = np.nan  # a class never predicted: no template
    with h5py.File(archive, "a") as f:
        write_dataset(f, "templates/templates", templates, ["class", "channel", "y", "x"])
        write_dataset(f, "templates/per_class_accuracy", np.array([0.5, 0.25, 0.0, 0.75]), ["true_class"])
        write_dataset(f, "templates/model_per_class_accuracy", np.array([0.9, 0.8, 0.95, np.nan]), ["true_class"])
        f["templates"].attrs.update({"accuracy": 0.3, "chance_level": 0.25, "model_accuracy": 0.875,
                                      "test_images": np.int64(2000)})
    out = tmp_path / "report"
    result = run_script("report.py", archive, "--out", out)
    assert result.returncode == 0, result.stderr
    report = (out / "report.md").read_text(encoding="utf-8")
    assert report.count("## Template classification\n") == 1
    assert "classify 2,000 test images: accuracy **0.3000**, 1.20× chance (0.2500); the model itself: 0.8750." in report
    assert "3 of 4 classes have a template." in report
    assert "| zero | 0.500 | 0.900 |" in report
    assert "| two | no template | 0.950 |" in report
    assert "| three | 0.750 | n/a |" in report


def test_report_omits_a_test_accuracy_that_was_never_evaluated(tmp_path):
    archive = write_synthetic_archive(tmp_path / "torchscript.h5")
    with h5py.File(archive, "a") as f:
        f.attrs["model_test_accuracy"] = -1.0  # wna_mpi's mark for a TorchScript model
    out = tmp_path / "report"
    assert run_script("report.py", archive, "--out", out).returncode == 0
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "test accuracy" not in report and "-1.0000" not in report


def test_report_handles_colour_images_and_some_groups(tmp_path):
    # The groups whose images have the input's channels (STAs in RGB, STC components' first
    # channel); the other groups are absent, and so are their sections.
    archive = write_synthetic_archive(tmp_path / "rgb.h5", gammas=[0.0, 0.2, 0.4], channels=3,
                                      unit_analyses=("sta", "stc"))
    out = tmp_path / "report"
    result = run_script("report.py", archive, "--out", out)
    assert result.returncode == 0, result.stderr
    assert {path.name for path in out.glob("*.png")} == BASE_FIGURES | {"sta_conv1.png", "stc_components.png"}
    report = (out / "report.md").read_text(encoding="utf-8")
    assert [section for section in NEW_SECTIONS if section in report] == [NEW_SECTIONS[0], NEW_SECTIONS[3]]
    assert "| conv1 | conv2d | 6 | [6, 3, 3, 3] |" in report and "2 of 27 |" in report


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


def test_compare_allow_new_accepts_added_datasets_only(archive, tmp_path):
    newer = shutil.copy(archive, tmp_path / "newer.h5")
    with h5py.File(newer, "r+") as f:
        f["added/values"] = np.arange(3.0)
    assert wna_archive.compare_archives(archive, newer) == ["/added/values"]
    assert wna_archive.compare_archives(archive, newer, allow_new=True) == []
    with h5py.File(newer, "r+") as f:
        del f["raw/class_image_limbs"]
        f["classification_images/count"][0, 0] += 1
    assert wna_archive.compare_archives(archive, newer, allow_new=True) == ["/classification_images/count",
                                                                           "/raw/class_image_limbs"]
    result = run_script("compare_archives.py", "--allow-new", archive, newer)
    assert result.returncode == 1 and "/raw/class_image_limbs" in result.stdout


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
