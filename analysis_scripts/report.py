#!/usr/bin/python3
"""Turns a wna_mpi archive into figures and a Markdown report.

    report.py ARCHIVE.h5 --out DIR

Writes into DIR:
  ci_gamma_grid.png  classification images, rows = gamma, columns = class, with each class's
                     share of the samples and what the model predicts for the CI fed back
                     (the original project's visualise_classification_images figure)
  zmaps.png          per-pixel z scores of the CIs at gamma 0
  histogram.png      predicted-class histogram per gamma
  convergence.png    correlation of the CI with the final CI as samples grow, at gamma 0
  report.md          run facts, per-gamma tables and the figures
and prints a one-line summary.
"""

import argparse
import datetime
import math
import pathlib

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 (the backend must be chosen first)
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402

from wna_archive import open_archive  # noqa: E402

FIGURES = {
    "ci_gamma_grid": "ci_gamma_grid.png",
    "zmaps": "zmaps.png",
    "histogram": "histogram.png",
    "convergence": "convergence.png",
}
SELF_COLOUR, OTHER_COLOUR = "tab:green", "tab:red"


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
        self.count = archive.ci("count")
        self.histogram = archive.ci("histogram")
        self.defined = archive.defined()
        self.feedback_prediction = archive.ci("feedback_prediction")
        self.feedback_softmax = archive.ci("feedback_softmax")
        self.convergence = archive.ci("convergence")
        self.split_half = archive.ci("split_half_reliability")

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


def mark_never_predicted(ax, image_shape):
    """An empty panel of the image's proportions, for a class whose CI is undefined."""
    ax.set_box_aspect(image_shape[-2] / image_shape[-1])
    ax.set_facecolor("0.93")
    ax.text(0.5, 0.5, "never\npredicted", transform=ax.transAxes, ha="center", va="center", fontsize=9,
            color="0.35")


def run_title(r):
    a = r.attributes
    return (f"{a.get('model_architecture', '?')} on {a.get('model_dataset', '?')}, "
            f"{a.get('noise_kind', '?')} noise, {int(a.get('samples', 0)):,} samples per γ")


def plot_ci_grid(r, path):
    rows, columns = len(r.gammas), len(r.names)
    fig, axes = plt.subplots(rows, columns, figsize=(1.6 * columns + 1.0, 2.05 * rows + 1.1), squeeze=False,
                             layout="constrained")
    for g, gamma in enumerate(r.gammas):
        for k, name in enumerate(r.names):
            ax = axes[g, k]
            blank_panel(ax)
            if k == 0:
                ax.set_ylabel(gamma_label(gamma), fontsize=11)
            if not r.defined[g, k]:
                mark_never_predicted(ax, r.mean.shape)
                ax.set_title(f"{name}  (0%)", fontsize=9)
                continue
            ax.imshow(display_image(r.mean[g, k]), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
            predicted, confidence = r.feedback(g, k)
            ax.set_title(f"{name}  ({r.histogram[g, k]:.1%})\n→ {r.names[predicted]} ({confidence:.2f})",
                         fontsize=9, color=SELF_COLOUR if predicted == k else OTHER_COLOUR)
    fig.suptitle(f"Classification images (mean stimulus per predicted class): {run_title(r)}", fontsize=11)
    fig.supxlabel("predicted class (share of samples)\n→ model's prediction for the CI fed back (softmax); "
                  "green: its own class", fontsize=9)
    fig.supylabel("signal level γ", fontsize=10)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_zmaps(r, path):
    g = r.noise_index
    zmaps = r.zmap[g]
    channels, columns = zmaps.shape[1], len(r.names)
    defined = r.defined[g]
    limit = float(np.nanmax(np.abs(zmaps[defined]))) if defined.any() else 1.0
    limit = limit if limit > 0 else 1.0
    fig, axes = plt.subplots(channels, columns, figsize=(1.5 * columns + 1.4, 1.8 * channels + 1.1),
                             squeeze=False, layout="compressed")
    for c in range(channels):
        for k, name in enumerate(r.names):
            ax = axes[c, k]
            blank_panel(ax)
            if c == 0:
                ax.set_title(f"{name}\nn = {r.count[g, k]:,}", fontsize=9)
            if channels > 1 and k == 0:
                ax.set_ylabel(f"channel {c}", fontsize=10)
            if defined[k]:
                ax.imshow(zmaps[k, c], cmap="RdBu_r", vmin=-limit, vmax=limit, interpolation="nearest")
            else:
                mark_never_predicted(ax, zmaps.shape)
    colour_scale = plt.cm.ScalarMappable(plt.Normalize(-limit, limit), cmap="RdBu_r")
    fig.colorbar(colour_scale, ax=axes, fraction=0.02, pad=0.01, aspect=12, label="z = (CI − μ) / (σ / √n)")
    fig.suptitle(f"Per-pixel z-maps of the classification images at {gamma_label(r.gammas[g])}", fontsize=11)
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


def duration(start, end):
    """'N s' between two ISO-8601 UTC times as wna writes them, or '' when unparsable."""
    try:
        parse = [datetime.datetime.strptime(t, "%Y-%m-%dT%H:%M:%SZ") for t in (start, end)]
    except (TypeError, ValueError):
        return ""
    return f" ({(parse[1] - parse[0]).total_seconds():.0f} s)"


def cell(text):
    return str(text).replace("|", "\\|")


def number(value):
    return "n/a" if value is None or not np.isfinite(value) else f"{value:.3f}"


def facts_table(r):
    a = r.attributes
    accuracy = a.get("model_test_accuracy")
    model = f"{a.get('model_architecture', 'n/a')} (`{a.get('model_file', 'n/a')}`)"
    if accuracy is not None:
        model += f", test accuracy {float(accuracy):.4f}"
    facts = [
        ("archive", f"`{r.path}`"),
        ("model", model),
        ("dataset", f"{a.get('model_dataset', 'n/a')} ({len(r.names)} classes: {', '.join(r.names)})"),
        ("noise", a.get("noise_kind", "n/a")),
        ("gamma values", ", ".join(f"{g:g}" for g in r.gammas)),
        ("samples", f"{int(a.get('samples', 0)):,} per γ, blocks of {a.get('block_size', 'n/a')}"),
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


def gamma_table(r, g):
    lines = ["| class | count | share | CI fed back: prediction (softmax) | split-half reliability |",
             "| --- | ---: | ---: | --- | ---: |"]
    for k, name in enumerate(r.names):
        if r.defined[g, k]:
            predicted, confidence = r.feedback(g, k)
            mark = "own class" if predicted == k else "other class"
            fed_back = f"{cell(r.names[predicted])} ({confidence:.3f}, {mark})"
        else:
            fed_back = "never predicted"
        lines.append(f"| {cell(name)} | {r.count[g, k]:,} | {r.histogram[g, k]:.2%} | {fed_back} | "
                     f"{number(r.split_half[g, k])} |")
    own, defined = r.self_classified(g)
    never = r.never_predicted(g)
    lines.append("")
    lines.append(f"Fed back into the model, {own} of {defined} defined CIs are classified as their own class. "
                 f"Never predicted: {cell(', '.join(never)) if never else 'none'}.")
    return lines


def write_report(r, out_dir):
    a = r.attributes
    noise = gamma_label(r.gammas[r.noise_index])
    z_reference = ("the noise's known mean and standard deviation" if r.gammas[r.noise_index] == 0
                   else "the stimuli's empirical per-pixel mean and standard deviation")
    lines = [f"# White-noise analysis: {a.get('model_architecture', '?')} on {a.get('model_dataset', '?')}", "",
             "## Run", ""]
    lines += facts_table(r)
    lines += ["", "## Classification images", "",
              "Mean stimulus per predicted class (min-max scaled per panel), rows = γ, columns = class. "
              "Titles: class (share of samples) and, after →, the class the model predicts for the CI "
              "fed back as an input, with its softmax (green: own class).", "",
              f"![classification images per gamma and class]({FIGURES['ci_gamma_grid']})", "",
              "## Per-class statistics", ""]
    for g, gamma in enumerate(r.gammas):
        lines += [f"### {gamma_label(gamma)}", ""] + gamma_table(r, g) + [""]
    lines += [f"## Z-maps ({noise})", "",
              f"Per-pixel z score of each CI against {z_reference}; symmetric colour limits shared by "
              "all panels.", "",
              f"![z-maps]({FIGURES['zmaps']})", "",
              "## Predicted-class histogram", "",
              f"![predicted-class histogram]({FIGURES['histogram']})", "",
              f"## Convergence ({noise})", "",
              "Pearson correlation of the CI after n samples with the final CI.", "",
              f"![convergence]({FIGURES['convergence']})", ""]
    if "config" in a:
        lines += ["## Resolved configuration", "", "```ini", a["config"].rstrip(), "```", ""]
    path = out_dir / "report.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def summary_line(r, report_path):
    g = r.noise_index
    top = int(np.argmax(r.histogram[g]))
    own, defined = r.self_classified(g)
    return (f"report: {report_path} ({run_title(r)}; {len(r.gammas)} gamma values x {len(r.names)} classes; "
            f"at {gamma_label(r.gammas[g])}: {defined} classes predicted, top '{r.names[top]}' "
            f"{r.histogram[g, top]:.1%}, {own}/{defined} CIs fed back as their own class)")


def main(argv=None):
    parser = argparse.ArgumentParser(description="Figures and a Markdown report from a wna_mpi archive.")
    parser.add_argument("archive", help="HDF5 archive written by wna_mpi")
    parser.add_argument("--out", required=True, type=pathlib.Path, help="directory for the PNGs and report.md")
    args = parser.parse_args(argv)

    with open_archive(args.archive) as archive:
        results = Results(archive)
    args.out.mkdir(parents=True, exist_ok=True)
    plot_ci_grid(results, args.out / FIGURES["ci_gamma_grid"])
    plot_zmaps(results, args.out / FIGURES["zmaps"])
    plot_histogram(results, args.out / FIGURES["histogram"])
    plot_convergence(results, args.out / FIGURES["convergence"])
    print(summary_line(results, write_report(results, args.out)))


if __name__ == "__main__":
    main()
