#!/usr/bin/python3
"""Turns a wna_mpi archive into figures, a Markdown report and a self-contained HTML report.

    report.py ARCHIVE.h5 --out DIR [--export EXPORT_DIR]

Writes into DIR:
  ci_gamma_grid.png  classification images, rows = gamma, columns = class, each panel with its
                     sample count and a colour bar of its own value range (a CI of few samples
                     spans the noise's range, one of many a narrow band), the class's share of
                     the samples and what the model predicts for the CI fed back (the original
                     project's visualise_classification_images figure)
  zmaps.png          per-pixel z scores of the CIs at every gamma, thresholded: only pixels
                     significant at a false discovery rate of 5% (Benjamini-Hochberg over each
                     map's pixels, two-sided normal p-values) keep their colour; the
                     significant clusters of the cluster test are outlined
  histogram.png      predicted-class histogram per gamma
  convergence.png    correlation of the CI with the final CI as samples grow, at gamma 0
and, for each optional unit-analysis group the archive holds (docs/archive.md):
  sta_<layer>.png    /sta: the STAs of every unit of the first conv layer, each titled with
                     its Pearson r with the unit's filter
  activations_<layer>.png
                     /activations: per predicted class, the layer's mean output on the noise
                     predicted as the class and its output for the class's CI (channel mean;
                     heat maps classes x units for layers without maps)
  microstimulation.png
                     /microstimulation: fraction of each class's stimuli predicted as the class
                     against the image weight, one curve per bias step, per layer and direction
  stc_components.png /stc: the leading STC components of every listed unit, with eigenvalues
  attack.png         /attack: success of the black-box attack against gamma, per input base, for
                     the classification images and the mean training images
  rare_classes.png   /rare_classes: per listed class, the plain classification image at gamma 0
                     beside the importance-sampled (or subset-simulated) one, with P(pred = class)
                     and effective samples
  report.md          run facts, provenance, per-gamma tables, the unit analyses' tables and the
                     figures
  report.html        the same, one file with the figures embedded (python3-markdown)
and prints a one-line summary. With --export, EXPORT_DIR receives every classification image
(ci_<gamma>_<class>) and every STA (sta_<layer>_<unit>) at native resolution as .npy (the
archive's float64 values, channel x y x x) and .png (min-max scaled, one pixel per pixel).
"""

import argparse
import base64
import datetime
import html
import math
import pathlib
import re
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 (the backend must be chosen first)
import matplotlib.ticker  # noqa: E402
import markdown  # noqa: E402
import numpy as np  # noqa: E402

from wna_archive import as_text, open_archive  # noqa: E402

FIGURES = {
    "ci_gamma_grid": "ci_gamma_grid.png",
    "zmaps": "zmaps.png",
    "histogram": "histogram.png",
    "convergence": "convergence.png",
    "sta": "sta_{layer}.png",
    "activations": "activations_{layer}.png",
    "microstimulation": "microstimulation.png",
    "stc": "stc_components.png",
    "attack": "attack.png",
    "rare_classes": "rare_classes.png",
    "backdoor": "backdoor.png",
}
SELF_COLOUR, OTHER_COLOUR = "tab:green", "tab:red"
FDR_LEVEL = 0.05     # false discovery rate of the thresholded z-maps
FEW_SAMPLES = 100    # CI panels of fewer samples (or effective samples) are marked as such


class Results:
    """Everything the figures and the report read from one archive."""

    def __init__(self, archive):
        self.path = archive.path
        self.gammas = archive.gammas
        self.names = archive.class_names
        self.stage_samples = archive.stage_samples
        self.attributes = archive.attributes()
        self.confidence_floor = archive.file["/classification_images"].attrs.get("confidence_floor")
        self.mean = archive.ci("mean")
        self.zmap = archive.ci("zmap")
        ci_group = archive.file["/classification_images"]
        # Archived since wna computes them; recomputed here for older archives.
        self.zmap_significant = ci_group["zmap_significant"][()].astype(bool) if "zmap_significant" in ci_group else None
        self.cluster_significant = (ci_group["zmap_cluster_significant"][()] != 0
                                    if "zmap_cluster_significant" in ci_group else None)
        self.informational_value = ci_group["informational_value"][()] if "informational_value" in ci_group else None
        self.count = archive.ci("count")
        self.histogram = archive.ci("histogram")
        self.defined = archive.defined()
        self.feedback_prediction = archive.ci("feedback_prediction")
        self.feedback_softmax = archive.ci("feedback_softmax")
        self.convergence = archive.ci("convergence")
        self.split_half = archive.ci("split_half_reliability")
        self.sta = read_sta(archive)
        self.activations = read_activations(archive)
        self.microstimulation = read_microstimulation(archive)
        self.stc = read_stc(archive)
        self.psychometric_accuracy = (archive.file["psychometric/accuracy"][()]
                                      if archive.has("psychometric") else None)
        self.templates = read_templates(archive)
        self.attack = read_attack(archive)
        self.rare_classes = read_rare_classes(archive)
        self.backdoor = read_backdoor(archive)

    @property
    def noise_index(self):
        """Row of gamma 0 (pure noise), or of the smallest gamma when 0 was not run."""
        return int(np.argmin(np.abs(self.gammas)))

    def feedback(self, g, k):
        """(predicted class index, its softmax) for CI k at gamma row g fed back as an input."""
        predicted = int(self.feedback_prediction[g, k])
        return predicted, float(self.feedback_softmax[g, k, predicted])

    def self_classified(self, g):
        """(CIs classified as their own class when fed back, defined CIs) at gamma row g."""
        defined = np.flatnonzero(self.defined[g])
        return int(sum(self.feedback_prediction[g, k] == k for k in defined)), len(defined)

    def never_predicted(self, g):
        return [self.names[k] for k in np.flatnonzero(~self.defined[g])]

    @property
    def unit_analyses(self):
        """Names of the optional unit-analysis groups the archive holds."""
        groups = (("STA", self.sta), ("activations", self.activations),
                  ("microstimulation", self.microstimulation), ("STC", self.stc), ("attack", self.attack),
                  ("rare classes", self.rare_classes), ("backdoor", self.backdoor))
        return [name for name, group in groups if group is not None]


def group_gamma(archive, group):
    """The gamma value a unit-analysis group was taken at (its attribute `gamma`), NaN if absent."""
    return float(archive.file[group].attrs.get("gamma", np.nan))


def read_sta(archive):
    """/sta as its gamma and, per layer: name, kind, sta ([U, C, r, r] or [U, C, H, W]) and
    filter_correlation ([U]; None except for the first conv layer). None without STAs."""
    layers = [SimpleNamespace(name=name, kind=as_text(group.attrs.get("kind", "?")), sta=group["sta"][()],
                              filter_correlation=(group["filter_correlation"][()]
                                                  if "filter_correlation" in group else None))
              for name, group in archive.layers("sta")]
    return SimpleNamespace(gamma=group_gamma(archive, "sta"), layers=layers) if layers else None


def read_activations(archive):
    """/activations as its gamma and, per layer: name, count [K], noise (mean_by_predicted_class)
    and image (of_classification_image), each [K, C', H', W'] or [K, U], NaN rows where count
    is 0. None without activation maps."""
    layers = [SimpleNamespace(name=name, count=group["count"][()], noise=group["mean_by_predicted_class"][()],
                              image=group["of_classification_image"][()])
              for name, group in archive.layers("activations")]
    return SimpleNamespace(gamma=group_gamma(archive, "activations"), layers=layers) if layers else None


def read_microstimulation(archive):
    """/microstimulation as its axes (layers, directions, steps, weights), curves [L, D, T, Wg]:
    the fraction predicted as the target class averaged over the classes that have test images,
    each layer's step size and activation layer, and the group's attributes as str.
    None without microstimulation."""
    if not archive.has("microstimulation"):
        return None
    group = archive.file["microstimulation"]
    layers = archive.axis("microstimulation_layer")
    with_images = group["images"][()] > 0
    return SimpleNamespace(
        layers=layers, directions=archive.axis("direction"), steps=archive.axis("microstimulation_step"),
        weights=archive.axis("microstimulation_weight"),
        curves=group["fraction_predicted"][()][:, with_images].mean(axis=1),
        step_sizes=[float(group[name].attrs["step_size"]) for name in layers],
        activation_layers=[as_text(group[name].attrs.get("activation_layer", "?")) for name in layers],
        attributes={name: as_text(value) for name, value in group.attrs.items()})


def read_stc(archive):
    """/stc as its gamma and, per layer: name, kind, the listed units [M], fired (sum of the
    activation > 0; the statistics are NaN where not), the leading eigenvalues and their
    significance [M, k], components [M, k, C, r, r] (or [M, k, C, H, W]), null_lower and
    null_upper [M], and how many of all P eigenvalues are significant. None without STCs."""
    layers = [SimpleNamespace(name=name, kind=as_text(group.attrs.get("kind", "?")), units=group["unit"][()],
                              fired=group["sum_activation"][()] > 0,
                              eigenvalues=group["component_eigenvalues"][()],
                              significant=group["component_significant"][()].astype(bool),
                              components=group["components"][()],
                              null_lower=group["null_lower"][()], null_upper=group["null_upper"][()],
                              significant_count=group["significant"][()].sum(axis=1),
                              eigenvalue_count=group["eigenvalues"].shape[1])
              for name, group in archive.layers("stc")]
    return SimpleNamespace(gamma=group_gamma(archive, "stc"), layers=layers) if layers else None


def read_attack(archive):
    """/attack as its gammas, perturbation and base names, mean_success [2, 2, A], success
    [2, 2, A, K] and attributes. None without the attack."""
    if not archive.has("attack"):
        return None
    group = archive.file["attack"]
    return SimpleNamespace(gammas=archive.axis("attack_gamma"), perturbations=archive.axis("perturbation"),
                           bases=archive.axis("base"), mean_success=group["mean_success"][()],
                           success=group["success"][()],
                           attributes={name: as_text(value) for name, value in group.attrs.items()})


def read_rare_classes(archive):
    """/rare_classes as its method ("importance" or "subset"), the listed classes' indices and
    names, their CIs [R, C, H, W], probability, standard error, effective samples, hits and
    split-half reliability [R]; importance sampling adds the tilt scale and samples per class,
    subset simulation each replica's last level [R, replicas], the model queries [R] and the
    samples per level. None without it."""
    if not archive.has("rare_classes"):
        return None
    group = archive.file["rare_classes"]
    names = [as_text(name) for name in archive.axis("rare_class")]
    common = SimpleNamespace(
        method=as_text(group.attrs.get("method", "importance")),
        names=names, indices=[archive.class_names.index(name) for name in names],
        ci=group["classification_image"][()], probability=group["probability"][()],
        standard_error=group["probability_standard_error"][()], effective=group["effective_samples"][()],
        hits=group["hits"][()], split_half=group["split_half_reliability"][()])
    if common.method == "subset":
        return SimpleNamespace(**vars(common), last_level=group["last_level"][()], queries=group["model_queries"][()],
                               reached=group["reached_class"][()], samples=int(group.attrs["level_samples"]),
                               replicas=int(group.attrs["replicas"]))
    return SimpleNamespace(**vars(common), scale=group["tilt_scale"][()], samples=int(group.attrs["samples"]))


def read_backdoor(archive):
    """/backdoor as its per-class datasets [K] (window, concentration, patch success, baseline,
    flagged, IoUs when a planted trigger was given) and attributes. None without it."""
    if not archive.has("backdoor"):
        return None
    group = archive.file["backdoor"]
    names = ("window_top", "window_left", "window_size", "concentration", "patch_success", "baseline", "flagged",
             "window_iou", "top_pixels_iou")
    return SimpleNamespace(**{name: group[name][()] for name in names if name in group},
                           attributes={name: as_text(value) for name, value in group.attrs.items()})


def pearson(a, b):
    """Pearson correlation of two images (NaN where either is undefined or constant)."""
    a, b = np.ravel(a), np.ravel(b)
    if np.isnan(a).any() or np.isnan(b).any() or a.std() == 0 or b.std() == 0:
        return math.nan
    return float(np.corrcoef(a, b)[0, 1])


def read_templates(archive):
    """/templates as accuracy, chance, model_accuracy, test_images (its attributes), the
    per-class accuracies of templates and model [K] and whether each class has a template [K].
    None without template classification."""
    if not archive.has("templates"):
        return None
    group = archive.file["templates"]
    templates = group["templates"][()]
    return SimpleNamespace(
        accuracy=float(group.attrs["accuracy"]), chance=float(group.attrs["chance_level"]),
        model_accuracy=float(group.attrs["model_accuracy"]), test_images=int(group.attrs["test_images"]),
        per_class=group["per_class_accuracy"][()], model_per_class=group["model_per_class_accuracy"][()],
        defined=~np.isnan(templates.reshape(len(templates), -1)).any(axis=1))


def gamma_label(gamma):
    return f"γ = {gamma:g}"


def display_image(ci):
    """A (channel, y, x) CI as an image in [0, 1]: RGB for 3 channels, else the channel mean;
    min-max scaled so each panel uses the full range."""
    image = np.moveaxis(ci, 0, -1) if ci.shape[0] == 3 else ci.mean(axis=0)
    low, high = np.min(image), np.max(image)
    return (image - low) / (high - low) if high > low else np.full_like(image, 0.5)


def blank_panel(ax):
    ax.set_xticks([])
    ax.set_yticks([])


def mark_empty(ax, image_shape, text):
    """An empty panel of the image's proportions saying why it has no image."""
    ax.set_box_aspect(image_shape[-2] / image_shape[-1])
    ax.set_facecolor("0.93")
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", fontsize=9, color="0.35")


def mark_never_predicted(ax, image_shape):
    """An empty panel for a class whose CI is undefined."""
    mark_empty(ax, image_shape, "never\npredicted")


def run_title(r):
    a = r.attributes
    return (f"{a.get('model_architecture', '?')} on {a.get('model_dataset', '?')}, "
            f"{a.get('noise_kind', '?')} noise, {int(a.get('samples', 0)):,} samples per γ")


def plot_ci_grid(r, path):
    rows, columns = len(r.gammas), len(r.names)
    fig, axes = plt.subplots(rows, columns, figsize=(1.75 * columns + 1.0, 2.35 * rows + 1.2), squeeze=False,
                             layout="constrained")
    for g, gamma in enumerate(r.gammas):
        for k, name in enumerate(r.names):
            ax = axes[g, k]
            blank_panel(ax)
            if k == 0:
                ax.set_ylabel(gamma_label(gamma), fontsize=11)
            if not r.defined[g, k]:
                mark_never_predicted(ax, r.mean.shape)
                ax.set_title(f"{name}  n = 0", fontsize=9)
                continue
            ci = r.mean[g, k]
            shown = np.moveaxis(ci, 0, -1) if ci.shape[0] == 3 else ci.mean(axis=0)
            low, high = float(np.min(shown)), float(np.max(shown))
            picture = ax.imshow(display_image(ci) if ci.shape[0] == 3 else shown, cmap="gray",
                                vmin=low, vmax=high if high > low else low + 1e-12, interpolation="nearest")
            if ci.shape[0] != 3:  # the panel's own value range: a CI of few samples spans the noise's
                bar = fig.colorbar(picture, ax=ax, fraction=0.046, pad=0.03, ticks=[low, high])
                bar.ax.tick_params(labelsize=6)
                bar.ax.set_yticklabels([f"{low:.3g}", f"{high:.3g}"])
            predicted, confidence = r.feedback(g, k)
            few = "  (few!)" if r.count[g, k] < FEW_SAMPLES else ""
            ax.set_title(f"{name}  n = {r.count[g, k]:,}{few}\n{r.histogram[g, k]:.1%} → {r.names[predicted]} "
                         f"({confidence:.2f})", fontsize=8, color=SELF_COLOUR if predicted == k else OTHER_COLOUR)
    fig.suptitle(f"Classification images (mean stimulus per predicted class): {run_title(r)}", fontsize=11)
    fig.supxlabel("predicted class, n = its samples (share of all) → the model's prediction for the CI fed back "
                  "(softmax); green: its own class.\nEach panel is scaled to its own range (colour bar: the CI's "
                  "smallest and largest pixel value)", fontsize=9)
    fig.supylabel("signal level γ", fontsize=10)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def fdr_significant(z, level=FDR_LEVEL):
    """Boolean mask of the z scores significant at false discovery rate `level` (Benjamini-
    Hochberg over all finite entries, two-sided normal p-values); non-finite z are not."""
    finite = np.isfinite(z)
    p = np.array([math.erfc(abs(value) / math.sqrt(2.0)) for value in z[finite]])
    mask = np.zeros(z.shape, dtype=bool)
    if p.size == 0:
        return mask
    order = np.argsort(p)
    passed = np.flatnonzero(p[order] <= level * np.arange(1, p.size + 1) / p.size)
    if passed.size:
        significant = np.zeros(p.size, dtype=bool)
        significant[order[:passed[-1] + 1]] = True
        mask[finite] = significant
    return mask


def plot_zmaps(r, path):
    """Rows: every (gamma, channel); columns: classes; only FDR-significant pixels coloured, the
    significant clusters of the cluster test outlined."""
    channels, columns = r.zmap.shape[2], len(r.names)
    rows = [(g, c) for g in range(len(r.gammas)) for c in range(channels)]
    defined = r.defined
    limit = float(np.nanmax(np.abs(np.where(np.isfinite(r.zmap[defined]), r.zmap[defined], np.nan)))) \
        if defined.any() else 1.0
    limit = limit if np.isfinite(limit) and limit > 0 else 1.0
    fig, axes = plt.subplots(len(rows), columns, figsize=(1.6 * columns + 1.6, 1.95 * len(rows) + 1.2),
                             squeeze=False, layout="compressed")
    for row, (g, c) in enumerate(rows):
        for k, name in enumerate(r.names):
            ax = axes[row, k]
            blank_panel(ax)
            if k == 0:
                ax.set_ylabel(gamma_label(r.gammas[g]) + (f", channel {c}" if channels > 1 else ""), fontsize=9)
            if not defined[g, k]:
                mark_never_predicted(ax, r.zmap.shape)
                ax.set_title(f"{name}  n = 0", fontsize=8)
                continue
            z = r.zmap[g, k, c]
            significant = r.zmap_significant[g, k, c] if r.zmap_significant is not None else fdr_significant(z)
            ax.imshow(np.where(significant, z, 0.0), cmap="RdBu_r", vmin=-limit, vmax=limit, interpolation="nearest")
            clusters = ""
            if r.cluster_significant is not None and r.cluster_significant[g, k, c].any():
                in_cluster = r.cluster_significant[g, k, c]
                ax.contour(in_cluster.astype(float), levels=[0.5], colors="black", linewidths=0.8)
                clusters = f"\n{int(in_cluster.sum())} px in clusters"
            ax.set_title(f"{name}  n = {r.count[g, k]:,}\n{int(significant.sum())} px significant{clusters}", fontsize=8)
    colour_scale = plt.cm.ScalarMappable(plt.Normalize(-limit, limit), cmap="RdBu_r")
    fig.colorbar(colour_scale, ax=axes, fraction=0.02, pad=0.01, aspect=12, label="z = (CI − μ) / (σ / √n)")
    fig.suptitle(f"Per-pixel z-maps of the classification images, pixels significant at FDR {FDR_LEVEL:g} "
                 "(Benjamini–Hochberg per map; white: not significant); black outlines: significant clusters "
                 "(cluster-mass test)", fontsize=11)
    fig.supxlabel("predicted class (n = samples predicted as it)", fontsize=9)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_histogram(r, path):
    classes, gammas = len(r.names), len(r.gammas)
    fig, ax = plt.subplots(figsize=(min(14.0, 4.0 + classes * (0.3 + 0.12 * gammas)), 4.5), layout="constrained")
    width = 0.8 / gammas
    positions = np.arange(classes)
    for g, gamma in enumerate(r.gammas):
        ax.bar(positions + (g - (gammas - 1) / 2) * width, r.histogram[g], width, label=gamma_label(gamma))
    ax.axhline(1.0 / classes, color="0.3", linestyle="--", linewidth=1, label=f"chance (1/{classes})")
    ax.set_xticks(positions, r.names, rotation=30 if max(map(len, r.names)) > 3 else 0)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("fraction of samples predicted as the class")
    ax.set_ylim(0, max(1.0 / classes, float(np.max(r.histogram))) * 1.1)
    ax.set_title(f"Predicted-class histogram: {run_title(r)}", fontsize=10)
    ax.legend(fontsize=9, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def stage_ticks(stage_samples):
    """The measured stages as x ticks, leaving out those too close on the log axis to label;
    the last stage (all samples) is always labelled."""
    logs = np.log10(stage_samples)
    gap = 0.08 * max(logs[-1] - logs[0], 1.0)
    kept = [0]
    for s in range(1, len(logs)):
        if logs[s] - logs[kept[-1]] >= gap:
            kept.append(s)
    kept[-1] = len(logs) - 1
    return stage_samples[kept]


def plot_convergence(r, path):
    g = r.noise_index
    fig, ax = plt.subplots(figsize=(7.5, 4.5), layout="constrained")
    shown = np.flatnonzero(r.defined[g])
    colours = plt.get_cmap("tab10" if len(shown) <= 10 else "tab20").colors
    for i, k in enumerate(shown):
        ax.plot(r.stage_samples, r.convergence[g, k], marker="o", color=colours[i % len(colours)],
                label=r.names[k])
    ax.set_xscale("log")
    ticks = stage_ticks(r.stage_samples)
    ax.set_xticks(ticks, [f"{t:,.0f}" if t < 1e5 else f"{t:.3g}" for t in ticks])
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xlabel("samples (log scale; ticks at the measured stages)")
    ax.set_ylabel("Pearson r with the final CI")
    ax.grid(True, which="both", alpha=0.3)
    ax.set_title(f"Convergence of the classification images at {gamma_label(r.gammas[g])}", fontsize=10)
    never = r.never_predicted(g)
    if never:
        ax.text(0.99, 0.02, "not shown, never predicted: " + ", ".join(never), transform=ax.transAxes,
                ha="right", va="bottom", fontsize=8, color="0.35")
    if len(shown):
        ax.legend(title="class", loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9,
                  ncol=math.ceil(len(shown) / 15))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def layer_figure(key, layer):
    """File name of the per-layer figure `key`, with characters unsafe in file names replaced."""
    return FIGURES[key].format(layer=re.sub(r"[^\w.-]", "_", layer))


def colour_limits(values):
    """(low, high) of the finite values, for a colour scale shared by panels; widened if constant."""
    finite = values[np.isfinite(values)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    return (low, high) if high > low else (low - 0.5, low + 0.5)


def plot_sta(layer, gamma, path):
    """The STAs of every unit of the first conv layer in a grid, min-max scaled per panel (as the
    CIs), each titled with the Pearson r of the STA with the unit's filter."""
    units = len(layer.sta)
    columns = min(units, 10)
    rows = math.ceil(units / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(1.3 * columns + 0.6, 1.5 * rows + 0.9), squeeze=False,
                             layout="constrained")
    for ax in axes.flat[units:]:
        ax.set_axis_off()
    for u, ax in enumerate(axes.flat[:units]):
        blank_panel(ax)
        ax.imshow(display_image(layer.sta[u]), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        ax.set_title(f"unit {u}\nr = {number(layer.filter_correlation[u], '.2f')}", fontsize=8)
    fig.suptitle(f"Spike-triggered averages of {layer.name} ({layer.kind}) at {gamma_label(gamma)}", fontsize=11)
    fig.supxlabel("r: Pearson correlation of the unit's STA with its filter", fontsize=9)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def activation_panels(layer):
    """The layer's two activation arrays restricted to the predicted classes, as (column title,
    values): maps averaged over channels [K', H', W'] for conv-like layers, else [K', units]."""
    shown = layer.count > 0
    arrays = (("mean over the noise\npredicted as the class", layer.noise),
              ("output for the class's\nclassification image", layer.image))
    return [(title, values[shown].mean(axis=1) if values.ndim == 4 else values[shown].reshape(shown.sum(), -1))
            for title, values in arrays]


def plot_activations(layer, names, gamma, path):
    """Rows = classes predicted for the noise (n = their samples); columns = the layer's mean
    output on that noise and its output for the class's CI: channel-mean maps with one colour
    scale per column, or for layers without maps one heat map (classes x units) per column."""
    shown = np.flatnonzero(layer.count > 0)
    panels = activation_panels(layer)
    if layer.noise.ndim == 4:
        fig, axes = plt.subplots(len(shown), 2, figsize=(6.0, 1.5 * len(shown) + 1.2), squeeze=False,
                                 layout="compressed")
        for j, (title, maps) in enumerate(panels):
            low, high = colour_limits(maps)
            for i, k in enumerate(shown):
                ax = axes[i, j]
                blank_panel(ax)
                ax.imshow(maps[i], cmap="viridis", vmin=low, vmax=high, interpolation="nearest")
                if j == 0:
                    ax.set_ylabel(f"{names[k]}\nn = {layer.count[k]:,}", fontsize=9, rotation=0, ha="right",
                                  va="center")
            axes[0, j].set_title(title, fontsize=9)
            fig.colorbar(plt.cm.ScalarMappable(plt.Normalize(low, high), cmap="viridis"), ax=axes[:, j],
                         fraction=0.08, aspect=30, label="mean over channels")
    else:
        fig, axes = plt.subplots(2, 1, figsize=(9.0, 0.6 * len(shown) + 3.0), layout="constrained")
        for ax, (title, values) in zip(axes, panels):
            low, high = colour_limits(values)
            image = ax.imshow(values, aspect="auto", cmap="viridis", vmin=low, vmax=high, interpolation="nearest")
            ax.set_yticks(range(len(shown)), [f"{names[k]} (n = {layer.count[k]:,})" for k in shown], fontsize=8)
            ax.set_xlabel("unit")
            ax.set_title(title.replace("\n", " "), fontsize=9)
            fig.colorbar(image, ax=ax, label="activation")
    fig.suptitle(f"Mean activations of {layer.name} at {gamma_label(gamma)}\nrows = classes predicted for "
                 f"the noise (n = samples)", fontsize=10)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_microstimulation(m, path):
    """One panel per layer (row) and direction (column): the fraction of the stimuli predicted as
    the target class, averaged over classes, against the image weight w; one curve per bias step
    k, coloured from k = 0 (the unmodified model) to the largest k."""
    ramp = plt.get_cmap("viridis")
    steps = plt.Normalize(m.steps[0], m.steps[-1])
    fig, axes = plt.subplots(len(m.layers), len(m.directions), figsize=(4.2 * len(m.directions) + 1.4,
                             2.8 * len(m.layers) + 1.2), squeeze=False, sharex=True, sharey=True,
                             layout="constrained")
    for i, layer in enumerate(m.layers):
        for d, direction in enumerate(m.directions):
            ax = axes[i, d]
            for t, step in enumerate(m.steps):
                ax.plot(m.weights, m.curves[i, d, t], color=ramp(steps(step)), linewidth=1.2)
            ax.set_title(f"{layer} (step size {m.step_sizes[i]:g}): {direction}", fontsize=9)
            ax.set_ylim(0, 1.02)
            ax.grid(True, alpha=0.3)
    fig.colorbar(plt.cm.ScalarMappable(steps, cmap=ramp), ax=axes, aspect=30, label="step k (0: unmodified model)",
                 ticks=list(m.steps))  # integer steps only
    fig.supxlabel("image weight w (stimulus = (1 − w) · noise + w · test image)", fontsize=9)
    fig.supylabel("fraction predicted as the target class\n(mean over classes)", fontsize=9)
    fig.suptitle("Microstimulation: bias shifted by direction × k × the class's step shift", fontsize=11)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_stc(stc, path):
    """One row per listed unit, one column per leading STC component (first input channel), each
    on its own symmetric diverging scale, titled with its eigenvalue (* and black: significant);
    a unit that did not fire gets one panel saying so."""
    rows = [(layer, i) for layer in stc.layers for i in range(len(layer.units))]
    columns = max(layer.eigenvalues.shape[1] for layer in stc.layers)
    fig, axes = plt.subplots(len(rows), columns, figsize=(1.7 * columns + 1.0, 1.8 * len(rows) + 1.0),
                             squeeze=False, layout="constrained")
    for row, (layer, i) in zip(axes, rows):
        row[0].set_ylabel(f"{layer.name}\nunit {layer.units[i]}", fontsize=9)
        for j, ax in enumerate(row):
            blank_panel(ax)
            if not layer.fired[i] and j == 0:
                mark_empty(ax, layer.components.shape, "did not\nfire")
            elif not layer.fired[i] or j >= layer.eigenvalues.shape[1]:
                ax.set_axis_off()
            else:
                component = layer.components[i, j, 0]
                limit = float(np.max(np.abs(component))) or 1.0
                ax.imshow(component, cmap="RdBu_r", vmin=-limit, vmax=limit, interpolation="nearest")
                significant = layer.significant[i, j]
                ax.set_title(f"λ = {layer.eigenvalues[i, j]:+.3g}{'*' if significant else ''}", fontsize=9,
                             color="black" if significant else "0.5")
    fig.suptitle(f"Leading STC components at {gamma_label(stc.gamma)} (first input channel; red positive)",
                 fontsize=10)
    fig.supxlabel("components by |eigenvalue|; * significant: outside the shuffled-activation null range",
                  fontsize=9)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_unit_analyses(r, out_dir):
    """The figures of the unit-analysis groups the archive holds."""
    if r.sta is not None:
        for layer in r.sta.layers:
            if layer.filter_correlation is not None:
                plot_sta(layer, r.sta.gamma, out_dir / layer_figure("sta", layer.name))
    if r.activations is not None:
        for layer in r.activations.layers:
            plot_activations(layer, r.names, r.activations.gamma,
                             out_dir / layer_figure("activations", layer.name))
    if r.microstimulation is not None:
        plot_microstimulation(r.microstimulation, out_dir / FIGURES["microstimulation"])
    if r.stc is not None:
        plot_stc(r.stc, out_dir / FIGURES["stc"])
    if r.attack is not None:
        plot_attack(r.attack, len(r.names), out_dir / FIGURES["attack"])
    if r.rare_classes is not None:
        plot_rare_classes(r, out_dir / FIGURES["rare_classes"])
    if r.backdoor is not None:
        plot_backdoor(r, out_dir / FIGURES["backdoor"])


def plot_rare_classes(r, path):
    """Per listed class: the plain CI at the noise gamma (top) and the importance-sampled CI
    (bottom), each min-max scaled, titled with its sample count or P(pred = class) and ESS."""
    rc, g = r.rare_classes, r.noise_index
    fig, axes = plt.subplots(2, len(rc.names), figsize=(1.9 * len(rc.names) + 1.0, 4.8), squeeze=False,
                             layout="constrained")
    for i, (name, k) in enumerate(zip(rc.names, rc.indices)):
        plain, weighted = axes[0, i], axes[1, i]
        for ax in (plain, weighted):
            blank_panel(ax)
        if r.defined[g, k]:
            plain.imshow(display_image(r.mean[g, k]), cmap="gray", vmin=0, vmax=1)
        else:
            mark_never_predicted(plain, r.mean.shape[-2:])
        plain.set_title(f"{name}: plain, n = {int(r.count[g, k]):,}", fontsize=8)
        if np.isfinite(rc.ci[i]).all():
            weighted.imshow(display_image(rc.ci[i]), cmap="gray", vmin=0, vmax=1)
        else:
            mark_empty(weighted, rc.ci.shape[-2:], "no hit")
        few = " few!" if rc.effective[i] < FEW_SAMPLES else ""
        label = "IS" if rc.method == "importance" else "subset"
        weighted.set_title(f"{label}: P = {rc.probability[i]:.2g}\nESS = {rc.effective[i]:,.0f}{few}", fontsize=8)
    how = (f"importance sampled, {rc.samples:,} samples per class" if rc.method == "importance" else
           f"by subset simulation, {rc.replicas} replicas of {rc.samples:,} samples per level")
    fig.suptitle(f"Classification images at {gamma_label(r.gammas[g])}: plain noise (top) and {how} (bottom)",
                 fontsize=10)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_backdoor(r, path):
    """Per class: its z-map (summed over channels) at the gamma the search used with its trigger
    window drawn (red: flagged), titled with the window's concentration and patch success."""
    b = r.backdoor
    g = int(np.argmin(np.abs(r.gammas - float(b.attributes.get("probe_gamma", 0.0)))))
    fig, axes = plt.subplots(1, len(r.names), figsize=(1.7 * len(r.names) + 1.0, 2.6), squeeze=False,
                             layout="constrained")
    for k, name in enumerate(r.names):
        ax = axes[0, k]
        blank_panel(ax)
        if b.window_size[k] <= 0:
            mark_never_predicted(ax, r.zmap.shape[-2:])
            ax.set_title(name, fontsize=8)
            continue
        z = r.zmap[g, k].sum(axis=0)
        limit = float(np.nanmax(np.abs(z))) or 1.0
        ax.imshow(z, cmap="RdBu_r", vmin=-limit, vmax=limit, interpolation="nearest")
        flagged = bool(b.flagged[k])
        ax.add_patch(plt.Rectangle((b.window_left[k] - 0.5, b.window_top[k] - 0.5), b.window_size[k],
                                   b.window_size[k], fill=False, linewidth=1.5,
                                   edgecolor=OTHER_COLOUR if flagged else "0.2"))
        ax.set_title(f"{name}{' FLAGGED' if flagged else ''}\nconc {b.concentration[k]:.2f}, "
                     f"patch {b.patch_success[k]:.2f}", fontsize=8, color=OTHER_COLOUR if flagged else "black")
    fig.suptitle("Backdoor search: z-map per class (own colour scale) and its most trigger-like window", fontsize=10)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_attack(attack, classes, path):
    """Mean success over targets against gamma: one panel per input base, one line per
    perturbation, with chance (1/K)."""
    fig, axes = plt.subplots(1, len(attack.bases), figsize=(5.0 * len(attack.bases), 4.0), squeeze=False,
                             layout="constrained", sharey=True)
    for b, base in enumerate(attack.bases):
        ax = axes[0, b]
        for p, perturbation in enumerate(attack.perturbations):
            ax.plot(attack.gammas, attack.mean_success[p, b], marker="o", label=perturbation.replace("_", " "))
        ax.axhline(1.0 / classes, color="0.3", linestyle="--", linewidth=1, label=f"chance (1/{classes})")
        ax.set_title(f"inputs: {base.replace('_', ' ')} (N = {attack.attributes.get('inputs', '?')})", fontsize=10)
        ax.set_xlabel("γ: x' = (1 − γ) x + γ P_t")
        ax.set_ylim(0, 1.02)
        ax.grid(True, alpha=0.3)
    axes[0, 0].set_ylabel("fraction classified as the target t\n(mean over targets)")
    axes[0, -1].legend(fontsize=9, loc="upper left")
    fig.suptitle("Black-box attack: P_t = classification image of t (min-max scaled) or mean training image of t",
                 fontsize=10)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def duration(start, end):
    """'N s' between two ISO-8601 UTC times as wna writes them, or '' when unparsable."""
    try:
        parse = [datetime.datetime.strptime(t, "%Y-%m-%dT%H:%M:%SZ") for t in (start, end)]
    except (TypeError, ValueError):
        return ""
    return f" ({(parse[1] - parse[0]).total_seconds():.0f} s)"


def cell(text):
    return str(text).replace("|", "\\|")


def number(value, spec=".3f"):
    return "n/a" if value is None or not np.isfinite(value) else f"{value:{spec}}"


def samples_fact(a):
    """The samples per gamma this archive sums, and why the noise pass ended when
    run.target_reliability was set."""
    budget = int(a.get("samples", 0))
    first, end = int(a.get("first_sample", 0)), int(a.get("end_sample", budget))
    text = f"{end - first:,} per γ, blocks of {a.get('block_size', 'n/a')}"
    if "run.target_reliability" in a.get("stop_reason", ""):
        text += f"; {a['stop_reason']}"
    return text


def facts_table(r):
    a = r.attributes
    accuracy = a.get("model_test_accuracy")
    model = f"{a.get('model_architecture', 'n/a')} (`{a.get('model_file', 'n/a')}`)"
    if accuracy is not None and float(accuracy) >= 0:  # < 0: not evaluated (a TorchScript model)
        model += f", test accuracy {float(accuracy):.4f}"
    facts = [
        ("archive", f"`{r.path}`"),
        ("model", model),
        ("dataset", f"{a.get('model_dataset', 'n/a')} ({len(r.names)} classes: {', '.join(r.names)})"),
        ("noise", a.get("noise_kind", "n/a")),
        ("gamma values", ", ".join(f"{g:g}" for g in r.gammas)),
        ("samples", samples_fact(a)),
        ("ranks", f"{a.get('ranks', 'n/a')} (reducer {a.get('reducer', 'n/a')}), device {a.get('device', 'n/a')}"),
        ("seed", a.get("seed", "n/a")),
        ("confidence floor", "n/a" if r.confidence_floor is None else f"{float(r.confidence_floor):g}"),
        ("versions", a.get("versions", a.get("wna_version", "n/a"))),
        ("git commit", a.get("git_commit", "n/a")),
        ("time", f"{a.get('start_time', 'n/a')} to {a.get('end_time', 'n/a')}"
                 f"{duration(a.get('start_time'), a.get('end_time'))}"),
    ]
    lines = ["| fact | value |", "| --- | --- |"]
    lines += [f"| {name} | {cell(value)} |" for name, value in facts]
    return lines


def provenance_lines(r):
    """Where and how the archive was made: hosts, Slurm job, history, model and data hashes."""
    a = r.attributes
    lines = ["## Provenance", "", "| fact | value |", "| --- | --- |"]
    facts = [("hosts", a.get("hosts")), ("Slurm job", a.get("slurm_job") or "none"),
             ("samples of this archive", f"[{a.get('first_sample', '0')}, {a.get('end_sample', a.get('samples'))})"),
             ("resumed or merged samples", a.get("resumed_samples")), ("model SHA-256", a.get("model_sha256")),
             ("test images mixed in", a.get("signal_images"))]
    lines += [f"| {name} | {cell(value)} |" for name, value in facts if value is not None]
    data = (a.get("data_sha256") or "").strip()
    history = (a.get("history") or "").strip()
    if data:
        lines += ["", "Data files (SHA-256):", "", "```", data, "```"]
    if history:
        lines += ["", "History (one line per segment of the run):", "", "```", history, "```"]
    return lines


def gamma_table(r, g):
    lines = ["| class | count | share | CI fed back: prediction (softmax) | split-half reliability | informational value |",
             "| --- | ---: | ---: | --- | ---: | ---: |"]
    for k, name in enumerate(r.names):
        if r.defined[g, k]:
            predicted, confidence = r.feedback(g, k)
            mark = "own class" if predicted == k else "other class"
            fed_back = f"{cell(r.names[predicted])} ({confidence:.3f}, {mark})"
        else:
            fed_back = "never predicted"
        info = number(r.informational_value[g, k], ".1f") if r.informational_value is not None else "n/a"
        lines.append(f"| {cell(name)} | {r.count[g, k]:,} | {r.histogram[g, k]:.2%} | {fed_back} | "
                     f"{number(r.split_half[g, k])} | {info} |")
    own, defined = r.self_classified(g)
    never = r.never_predicted(g)
    lines.append("")
    lines.append(f"Fed back into the model, {own} of {defined} defined CIs are classified as their own class. "
                 f"Never predicted: {cell(', '.join(never)) if never else 'none'}.")
    return lines


def shape_text(values):
    """An array's shape as [a, b, ...], as docs/archive.md writes shapes."""
    return "[" + ", ".join(map(str, values.shape)) + "]"


def sta_section(sta):
    """The STA layers' table and, for the first conv layer, its STA figure and the Pearson r of
    each unit's STA with its filter."""
    lines = ["## Spike-triggered averages", "",
             f"At {gamma_label(sta.gamma)}: per unit, the sum of activation × stimulus over the samples "
             "divided by their number (conv-like layers: over every map position, in receptive-field "
             "coordinates).", "",
             "| layer | kind | units | shape of `sta` |", "| --- | --- | ---: | --- |"]
    lines += [f"| {cell(layer.name)} | {cell(layer.kind)} | {len(layer.sta)} | {shape_text(layer.sta)} |"
              for layer in sta.layers]
    for layer in sta.layers:
        if layer.filter_correlation is not None:
            lines += [""] + filter_correlation_lines(layer)
    return lines + [""]


def filter_correlation_lines(layer):
    """Summary, figure and per-unit table of the first conv layer's STA-filter correlations."""
    r = layer.filter_correlation
    finite = r[np.isfinite(r)]
    summary = (f"min {number(finite.min())}, median {number(np.median(finite))}, max {number(finite.max())} "
               f"over {finite.size} of {r.size} units" if finite.size else "undefined for every unit")
    lines = [f"### {layer.name}: STAs and filters", "",
             f"Pearson r of each unit's STA with its filter: {summary} (n/a: the STA or the filter is "
             "constant). STAs min-max scaled per panel.", "",
             f"![STAs of {layer.name}]({layer_figure('sta', layer.name)})", "",
             "| unit | r |", "| ---: | ---: |"]
    return lines + [f"| {u} | {number(value)} |" for u, value in enumerate(r)]


def activations_section(activations, names):
    """Per-class counts and mean outputs (noise / CI) of every layer, and one figure per layer."""
    layers = activations.layers
    lines = ["## Mean activation maps", "",
             f"At {gamma_label(activations.gamma)}, per class predicted for the noise: the layer's output "
             "averaged over the noise samples predicted as the class, and its output for the class's "
             "classification image as input. Table: samples per class and each layer's output averaged "
             "over all its values (noise / CI).", "",
             "| class | count | " + " | ".join(f"{cell(layer.name)}: noise / CI" for layer in layers) + " |",
             "| --- | ---: | " + " | ".join("---:" for _ in layers) + " |"]
    for k, name in enumerate(names):
        if layers[0].count[k] > 0:
            means = [f"{number(np.mean(layer.noise[k]))} / {number(np.mean(layer.image[k]))}" for layer in layers]
        else:
            means = ["never predicted"] * len(layers)
        lines.append(f"| {cell(name)} | {layers[0].count[k]:,} | " + " | ".join(means) + " |")
    lines += ["", "Figures: rows = predicted classes (never predicted ones left out); maps are averaged over "
              "channels with one colour scale per column; layers without maps are heat maps, classes × units.",
              ""]
    for layer in layers:
        lines += [f"![mean activations of {layer.name}]({layer_figure('activations', layer.name)})", ""]
    return lines


def microstimulation_section(m):
    """The curves figure and, per layer and direction, the mean fraction at k = 0 and the largest k."""
    a = m.attributes
    last = f"{m.steps[-1]:g}"
    lines = ["## Microstimulation", "",
             f"For each target class a layer's bias is shifted by direction × k × the class's step shift "
             f"(k = 0 … {last}; inhibitory −, excitatory +), and {a.get('images_per_class', '?')} test images "
             f"per class are mixed with noise, (1 − w) · noise + w · image, at {len(m.weights)} weights w "
             f"from {m.weights[0]:g} to {m.weights[-1]:g}. Curves: fraction predicted as the target class, "
             "averaged over classes, one per k. Table: that fraction also averaged over w.", "",
             f"![microstimulation]({FIGURES['microstimulation']})", "",
             "| layer | step size | activation read at | direction | mean at k = 0 | "
             f"mean at k = {last} | change |",
             "| --- | ---: | --- | --- | ---: | ---: | ---: |"]
    for i, layer in enumerate(m.layers):
        for d, direction in enumerate(m.directions):
            start, end = m.curves[i, d, 0].mean(), m.curves[i, d, -1].mean()
            lines.append(f"| {cell(layer)} | {m.step_sizes[i]:g} | {cell(m.activation_layers[i])} | {direction} | "
                         f"{number(start)} | {number(end)} | {number(end - start, '+.3f')} |")
    return lines + [""]


def stc_row(layer, i):
    """A table row of one listed STC unit: its leading eigenvalues (* significant), null range
    and significant eigenvalue count, or that it did not fire."""
    if not layer.fired[i]:
        return (f"| {cell(layer.name)} | {layer.units[i]} | did not fire (sum of the activation ≤ 0) | "
                "n/a | n/a |")
    leading = ", ".join(f"{value:+.3g}{'*' if significant else ''}"
                        for value, significant in zip(layer.eigenvalues[i], layer.significant[i]))
    return (f"| {cell(layer.name)} | {layer.units[i]} | {leading} | "
            f"[{layer.null_lower[i]:+.3g}, {layer.null_upper[i]:+.3g}] | "
            f"{layer.significant_count[i]} of {layer.eigenvalue_count} |")


def stc_section(stc):
    """One table row per listed unit and the components figure."""
    lines = ["## Spike-triggered covariances", "",
             f"At {gamma_label(stc.gamma)}: eigenvalues of each unit's STC (activation-weighted stimulus "
             "covariance minus the stimulus covariance; positive: excitatory directions, negative: "
             "suppressive), the leading ones by magnitude; * significant: outside the null range, the "
             "smallest and largest eigenvalues of the spectra with activations shuffled against stimuli.", "",
             "| layer | unit | leading eigenvalues (* significant) | null range | significant eigenvalues |",
             "| --- | ---: | --- | --- | ---: |"]
    lines += [stc_row(layer, i) for layer in stc.layers for i in range(len(layer.units))]
    return lines + ["", "Components (first input channel), each on its own symmetric scale:", "",
                    f"![STC components]({FIGURES['stc']})", ""]


def templates_section(t, names):
    """Accuracy of the classification images as templates against chance and the model, and per
    class (a class never predicted has no template)."""
    lines = ["## Template classification", "",
             f"The classification images (min-max scaled, L2-normalised) as templates classify "
             f"{t.test_images:,} test images: accuracy **{t.accuracy:.4f}**, {t.accuracy / t.chance:.2f}× chance "
             f"({t.chance:.4f}); the model itself: {t.model_accuracy:.4f}. "
             f"{int(t.defined.sum())} of {len(names)} classes have a template.", "",
             "| class | template accuracy | model accuracy |", "| --- | ---: | ---: |"]
    for k, name in enumerate(names):
        template = number(t.per_class[k]) if t.defined[k] else "no template"
        lines.append(f"| {cell(name)} | {template} | {number(t.model_per_class[k])} |")
    return lines + [""]


def attack_section(attack):
    """The mean success per gamma for every (perturbation, base), and the queries spent."""
    a = attack.attributes
    columns = [(p, b) for p in range(len(attack.perturbations)) for b in range(len(attack.bases))]
    header = " | ".join(f"{attack.perturbations[p].replace('_', ' ')} → {attack.bases[b].replace('_', ' ')}"
                        for p, b in columns)
    lines = ["## Black-box attack", "",
             f"x' = (1 − γ) x + γ P_t for every target t, P_t the classification image of t at γ = "
             f"{float(a.get('probe_gamma', 0)):g} (min-max scaled) or the mean training image of t; inputs: the first "
             f"{int(a.get('inputs', 0)):,} test images and as many fresh noise images. Success: the fraction "
             "classified as t, averaged over the targets that have a perturbation. Model queries: "
             f"{int(a.get('queries_attack', 0)):,} for the attack, {int(a.get('queries_classification_images', 0)):,} "
             "for the noise pass that built the classification images.", "",
             f"![black-box attack]({FIGURES['attack']})", "",
             f"| γ | {header} |", "| ---: |" + " ---: |" * len(columns)]
    for g, gamma in enumerate(attack.gammas):
        lines.append(f"| {gamma:g} | " + " | ".join(number(attack.mean_success[p, b, g]) for p, b in columns) + " |")
    return lines + [""]


def rare_classes_section(r):
    """The rare-class estimates (importance sampling or subset simulation) beside the plain
    run's, per listed class."""
    rc, g = r.rare_classes, r.noise_index
    total = float(r.count[g].sum())
    if rc.method == "importance":
        title, how = "importance sampling", (
            f"Each listed class drew {rc.samples:,} samples from noise tilted towards it, weighted by "
            "p / (a p + (1 − a) q) so that the weighted CI estimates the plain CI of infinitely many samples "
            "and sum w / N estimates P(pred = class) under the noise.")
        extra_header, extra_rule = "tilt scale", " ---: |"
    else:
        title, how = "subset simulation", (
            f"Each listed class ran {rc.replicas} replicas of subset simulation, {rc.samples:,} samples per level: "
            "Markov chains through nested levels of the class's logit margin until a level holds enough samples "
            "of the class; those samples are noise conditioned on the class (their mean is its CI) and "
            "the product of the levels' shares above their thresholds (the level fraction each, unless margins tie) and that share "
            "estimates P(pred = class), its standard error from the replicas' spread. "
            "Effective samples count lineages (samples from one level-0 ancestor are correlated).")
        extra_header, extra_rule = "levels | model queries", " ---: | ---: |"
    lines = [f"## Rare classes ({title})", "",
             how + f" Plain columns: the noise pass at "
             f"{gamma_label(r.gammas[g])}; r: Pearson correlation of the two CIs where both exist; r / √(rel rel): r "
             "corrected for the two CIs' noise by their split-half reliabilities (about 1 when the two estimate "
             "the same image). Below "
             f"{FEW_SAMPLES} effective samples (marked few!) the estimate and its standard error are not to be "
             "trusted.", "",
             f"![rare classes]({FIGURES['rare_classes']})", "",
             "| class | plain n | plain share | plain split-half | P(pred = class) | ± s.e. | effective samples "
             f"| split-half | {extra_header} | r | r / √(rel rel) |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |" + extra_rule + " ---: | ---: |"]
    for i, (name, k) in enumerate(zip(rc.names, rc.indices)):
        r_plain = pearson(r.mean[g, k], rc.ci[i]) if r.defined[g, k] else math.nan
        both_reliable = r.split_half[g, k] > 0 and rc.split_half[i] > 0
        corrected = r_plain / math.sqrt(r.split_half[g, k] * rc.split_half[i]) if both_reliable else math.nan
        if rc.method == "importance":
            extra = f"{rc.scale[i]:.3g}"
        else:
            low, high = int(rc.last_level[i].min()), int(rc.last_level[i].max())
            unreached = "" if rc.reached[i].all() else f" ({int((rc.reached[i] == 0).sum())} unreached!)"
            extra = f"{low}{'' if low == high else f'–{high}'}{unreached} | {int(rc.queries[i]):,}"
        lines.append(f"| {cell(name)} | {int(r.count[g, k]):,} | {r.count[g, k] / total:.3g} | "
                     f"{number(r.split_half[g, k])} | {rc.probability[i]:.3g} | {rc.standard_error[i]:.2g} | "
                     f"{rc.effective[i]:,.0f}{' few!' if rc.effective[i] < FEW_SAMPLES else ''} | "
                     f"{number(rc.split_half[i])} | {extra} | {number(r_plain)} | "
                     f"{number(corrected)} |")
    return lines + [""]


def backdoor_section(b, names):
    """The verdict and, per class, the trigger window, its concentration and patch success."""
    a = b.attributes
    suspect = int(a.get("suspect_class", -1))
    verdict = (f"**class {names[suspect]} is flagged** ({int(a.get('flagged_classes', 0))} flagged in all)"
               if suspect >= 0 else "no class is flagged")
    evaluate = hasattr(b, "window_iou")
    lines = ["## Backdoor search", "",
             "Per class, the square of its z-map with the largest sum of z / √pixels (one per window side), the "
             "patch it implies (1 where z > 0) stamped on the other classes' test images: patch success is the "
             "fraction the model then calls the class (baseline: without the patch); the window of the largest "
             "success is the class's, and its concentration is its share of the class's positive z energy. "
             f"Flagged: concentration ≥ {float(a.get('min_concentration', 0)):g} and patch success ≥ "
             f"{float(a.get('min_patch_success', 0)):g}, over {int(a.get('test_images', 0)):,} test images. "
             f"Verdict: {verdict}.", "",
             f"![backdoor search]({FIGURES['backdoor']})", "",
             "| class | window (row, column, side) | concentration | patch success | baseline | flagged |"
             + (" IoU with the planted trigger (window, top pixels) |" if evaluate else ""),
             "| --- | --- | ---: | ---: | ---: | --- |" + (" ---: |" if evaluate else "")]
    for k, name in enumerate(names):
        window = (f"{b.window_top[k]}, {b.window_left[k]}, {b.window_size[k]}" if b.window_size[k] > 0
                  else "never predicted")
        row = (f"| {cell(name)} | {window} | {number(b.concentration[k])} | {number(b.patch_success[k])} | "
               f"{number(b.baseline[k])} | {'yes' if b.flagged[k] else ''} |")
        if evaluate:
            row += f" {number(b.window_iou[k], '.2f')}, {number(b.top_pixels_iou[k], '.2f')} |"
        lines.append(row)
    return lines + [""]


def write_report(r, out_dir):
    a = r.attributes
    noise = gamma_label(r.gammas[r.noise_index])
    lines = [f"# White-noise analysis: {a.get('model_architecture', '?')} on {a.get('model_dataset', '?')}", "",
             "## Run", ""]
    lines += facts_table(r)
    lines += [""] + provenance_lines(r)
    lines += ["", "## Classification images", "",
              "Mean stimulus per predicted class, rows = γ, columns = class, each panel scaled to its own "
              "range (its colour bar gives the CI's smallest and largest value: a CI of few samples spans "
              "about the noise's range, one of many samples a narrow band). Titles: class, n = samples "
              "predicted as it (\"few!\" below 100), their share and, after →, the class the model predicts "
              "for the CI fed back as an input, with its softmax (green: own class).", "",
              f"![classification images per gamma and class]({FIGURES['ci_gamma_grid']})", "",
              "## Per-class statistics", ""]
    for g, gamma in enumerate(r.gammas):
        lines += [f"### {gamma_label(gamma)}", ""] + gamma_table(r, g) + [""]
    lines += ["## Z-maps", "",
              f"Per-pixel z score of each CI (at γ = 0 against the noise's known mean and standard deviation, "
              f"at γ > 0 against the stimuli's empirical ones), at every γ; a pixel keeps its colour only where "
              f"it is significant at a false discovery rate of {FDR_LEVEL:g} (Benjamini–Hochberg over the map's "
              "pixels, two-sided normal p-values). Symmetric colour limits shared by all panels.", "",
              f"![z-maps]({FIGURES['zmaps']})", "",
              "## Predicted-class histogram", "",
              f"![predicted-class histogram]({FIGURES['histogram']})", "",
              f"## Convergence ({noise})", "",
              "Pearson correlation of the CI after n samples with the final CI.", "",
              f"![convergence]({FIGURES['convergence']})", ""]
    if r.sta is not None:
        lines += sta_section(r.sta)
    if r.activations is not None:
        lines += activations_section(r.activations, r.names)
    if r.microstimulation is not None:
        lines += microstimulation_section(r.microstimulation)
    if r.stc is not None:
        lines += stc_section(r.stc)
    if r.psychometric_accuracy is not None:
        lines += ["## Psychometric curve", "",
                  "Fraction of samples predicted as the class of the test image embedded in the noise; the "
                  "noise-only classification images and confusion matrices are in /psychometric.", "",
                  "| gamma | accuracy |", "|---|---|"]
        lines += [f"| {gamma:g} | {accuracy:.4f} |" for gamma, accuracy in zip(r.gammas, r.psychometric_accuracy)]
        lines += [""]
    if r.templates is not None:
        lines += templates_section(r.templates, r.names)
    if r.attack is not None:
        lines += attack_section(r.attack)
    if r.rare_classes is not None:
        lines += rare_classes_section(r)
    if r.backdoor is not None:
        lines += backdoor_section(r.backdoor, r.names)
    if "config" in a:
        lines += ["## Resolved configuration", "", "```ini", a["config"].rstrip(), "```", ""]
    path = out_dir / "report.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


HTML_STYLE = """
body { font-family: sans-serif; max-width: 1400px; margin: 2em auto; padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.6em; }
img { max-width: 100%; height: auto; }
pre { background: #f6f6f6; padding: 0.6em; overflow-x: auto; }
"""


def write_html(markdown_path, out_dir):
    """report.html: the Markdown report as one page with every figure embedded (data: URIs)."""
    body = markdown.markdown(markdown_path.read_text(encoding="utf-8"), extensions=["tables", "fenced_code"])

    def embed(match):
        figure = out_dir / html.unescape(match.group(1))
        data = base64.b64encode(figure.read_bytes()).decode("ascii")
        return f'src="data:image/png;base64,{data}"'

    body = re.sub(r'src="([^"]+\.png)"', embed, body)
    title = html.escape(markdown_path.read_text(encoding="utf-8").splitlines()[0].lstrip("# "))
    page = (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{title}</title>\n'
            f"<style>{HTML_STYLE}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n")
    path = out_dir / "report.html"
    path.write_text(page, encoding="utf-8")
    return path


def safe_name(text):
    return re.sub(r"[^A-Za-z0-9._-]+", "_", str(text))


def export_images(archive_path, r, export_dir):
    """Every CI and every STA at native resolution: .npy (float64, as archived) and .png."""
    export_dir.mkdir(parents=True, exist_ok=True)
    written = 0

    def save(name, values):
        nonlocal written
        np.save(export_dir / f"{name}.npy", values)
        plt.imsave(export_dir / f"{name}.png", display_image(values), cmap="gray", vmin=0, vmax=1)
        written += 1

    for g, gamma in enumerate(r.gammas):
        for k, class_name in enumerate(r.names):
            if r.defined[g, k]:
                save(f"ci_{gamma:g}_{safe_name(class_name)}", r.mean[g, k])
    with open_archive(archive_path) as archive:
        for layer, group in archive.layers("sta"):
            for unit, sta in enumerate(group["sta"][()]):
                if np.isfinite(sta).all():
                    save(f"sta_{safe_name(layer)}_{unit}", sta)
    return written


def summary_line(r, report_path):
    g = r.noise_index
    top = int(np.argmax(r.histogram[g]))
    own, defined = r.self_classified(g)
    return (f"report: {report_path} ({run_title(r)}; {len(r.gammas)} gamma values x {len(r.names)} classes; "
            f"at {gamma_label(r.gammas[g])}: {defined} classes predicted, top '{r.names[top]}' "
            f"{r.histogram[g, top]:.1%}, {own}/{defined} CIs fed back as their own class"
            + (f"; also {', '.join(r.unit_analyses)})" if r.unit_analyses else ")"))


def main(argv=None):
    parser = argparse.ArgumentParser(description="Figures and a Markdown report from a wna_mpi archive.")
    parser.add_argument("archive", help="HDF5 archive written by wna_mpi")
    parser.add_argument("--out", required=True, type=pathlib.Path,
                        help="directory for the PNGs, report.md and report.html")
    parser.add_argument("--export", type=pathlib.Path,
                        help="also write every CI and STA at native resolution (.npy and .png) into this directory")
    args = parser.parse_args(argv)

    with open_archive(args.archive) as archive:
        results = Results(archive)
    args.out.mkdir(parents=True, exist_ok=True)
    plot_ci_grid(results, args.out / FIGURES["ci_gamma_grid"])
    plot_zmaps(results, args.out / FIGURES["zmaps"])
    plot_histogram(results, args.out / FIGURES["histogram"])
    plot_convergence(results, args.out / FIGURES["convergence"])
    plot_unit_analyses(results, args.out)
    report = write_report(results, args.out)
    write_html(report, args.out)
    if args.export:
        print(f"export: {export_images(args.archive, results, args.export)} images in {args.export} (.npy and .png)")
    print(summary_line(results, report))


if __name__ == "__main__":
    main()
