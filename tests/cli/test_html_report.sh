#!/usr/bin/env bash
# The HTML report (analysis_scripts/report.py) of a real archive with every analysis on (the
# golden LeNet config plus psychometric, templates and the attack): one self-contained file (every figure
# embedded, nothing fetched), which headless Chromium loads with no error and in which every
# image decodes; its numbers are the archive's (counts per class, template accuracy, hosts,
# history); --export writes every defined CI and every finite STA at native resolution, the
# .npy bit for bit the archive's values. Exits 77 (skipped), saying why, without chromium.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
[[ -n $CHROMIUM ]] || { echo "SKIP: no chromium (Debian package chromium)"; exit 77; }
"$PYTHON" -c "import markdown" 2>/dev/null || fail "python3-markdown is missing for $PYTHON"

GOLDEN="$WNA_SOURCE_DIR/tests/golden"
ARCHIVE="$SCRATCH/run.h5"
"$WNA_MPI" "$GOLDEN/lenet_all_analyses.ini" --set "model.file=$GOLDEN/lenet_mnist.pt" --set "data.data_dir=$WNA_DATA_DIR" \
  --set "run.output=$ARCHIVE" --set run.samples=1000 --set psychometric.enabled=true --set templates.enabled=true \
  --set attack.enabled=true --set attack.inputs=100 \
  >"$CAPTURE/run.log" 2>&1 || { cat "$CAPTURE/run.log" >&2; fail "wna_mpi failed"; }
"$PYTHON" "$WNA_SOURCE_DIR/analysis_scripts/report.py" "$ARCHIVE" --out "$SCRATCH/report" --export "$SCRATCH/export" \
  >"$CAPTURE/report.log" 2>&1 || { cat "$CAPTURE/report.log" >&2; fail "report.py failed"; }
PAGE="$SCRATCH/report/report.html"
[[ -f $PAGE ]] || fail "report.py wrote no report.html"

# A copy of the page with a checker run first: it records every error (scripts, resources,
# console.error) and, once loaded, decodes every image in full, then writes its verdict on <body>.
"$PYTHON" - "$PAGE" "$SCRATCH/checked.html" <<'PY'
import sys
page = open(sys.argv[1], encoding="utf-8").read()
checker = """<script>
window.__errors = [];
window.addEventListener("error", e => window.__errors.push(String(e.message || (e.target && e.target.currentSrc) || "error")), true);
const consoleError = console.error;
console.error = (...args) => { window.__errors.push(args.join(" ")); consoleError(...args); };
window.addEventListener("load", () => {
  // Drawing an image onto a canvas decodes all of it, synchronously; a broken one throws.
  const images = Array.from(document.images), bad = [];
  for (const image of images) {
    try {
      if (!image.complete || image.naturalWidth === 0 || image.naturalHeight === 0) throw new Error("not loaded");
      const canvas = document.createElement("canvas");
      canvas.width = image.naturalWidth;
      canvas.height = image.naturalHeight;
      const context = canvas.getContext("2d");
      context.drawImage(image, 0, 0);
      context.getImageData(canvas.width >> 1, canvas.height >> 1, 1, 1);
    } catch (error) {
      bad.push(image.alt + ": " + error.message);
    }
  }
  document.body.setAttribute("data-check", JSON.stringify({images: images.length, bad, errors: window.__errors}));
});
</script>"""
open(sys.argv[2], "w", encoding="utf-8").write(page.replace("<head>", "<head>\n" + checker, 1))
PY
timeout 120 "$CHROMIUM" --headless=new --no-sandbox --disable-gpu --virtual-time-budget=20000 --dump-dom \
  "file://$SCRATCH/checked.html" >"$CAPTURE/dom.html" 2>"$CAPTURE/chromium.log" ||
  fail "chromium failed: $(tail -5 "$CAPTURE/chromium.log")"

"$PYTHON" - "$PAGE" "$CAPTURE/dom.html" "$ARCHIVE" "$SCRATCH/report" "$SCRATCH/export" <<'PY'
import html
import json
import pathlib
import re
import sys

import h5py
import matplotlib.image
import numpy as np

page_path, dom_path, archive, report_dir, export_dir = sys.argv[1:]
page = open(page_path, encoding="utf-8").read()
dom = open(dom_path, encoding="utf-8").read()

# Self-contained: every image is a data: URI, nothing else is fetched.
sources = re.findall(r'src="([^"]*)"', page)
assert sources and all(s.startswith("data:image/png;base64,") for s in sources), [s[:40] for s in sources]
assert not re.search(r'<(link|script|iframe)\b', page), "the page loads something"
figures = sorted(p.name for p in pathlib.Path(report_dir).glob("*.png"))
assert len(sources) == len(figures), (len(sources), figures)

verdict = re.search(r'data-check="([^"]*)"', dom)
assert verdict, "the checker did not finish: " + dom[-500:]
check = json.loads(html.unescape(verdict.group(1)))
assert check["images"] == len(figures) and not check["bad"] and not check["errors"], check
print(f"ok: chromium loads the page with no error; all {check['images']} images decode")

text = re.sub(r"<[^>]+>", " ", html.unescape(page))
with h5py.File(archive) as f:
    count = f["/classification_images/count"][()]
    gammas = list(f["/classification_images/gamma"][()])
    accuracy = f["/templates"].attrs["accuracy"]
    hosts = f.attrs["hosts"].decode()
    history = f.attrs["history"].decode()
    mean = f["/classification_images/mean"][()]
    sta = {name: group["sta"][()] for name, group in f["/sta"].items()}
    names = [c.decode() if isinstance(c, bytes) else c for c in f["/classification_images/class"][()]]
for g, gamma in enumerate(gammas):
    section = re.sub(r"<[^>]+>", " ", html.unescape(page.split(f"<h3>γ = {gamma:g}</h3>")[1].split("</table>")[0]))
    for k, name in enumerate(names):
        assert re.search(rf"\b{re.escape(name)}\s+{count[g, k]:,}\s", section), (gamma, name, count[g, k])
assert re.search(rf"accuracy\s+{accuracy:.4f}", text), accuracy
assert hosts in text and history.splitlines()[-1] in text
print("ok: the counts per class and gamma, the template accuracy, hosts and history are the archive's")

export = pathlib.Path(export_dir)
expected = 0
for g, gamma in enumerate(gammas):
    for k, name in enumerate(names):
        if count[g, k] == 0:
            assert not (export / f"ci_{gamma:g}_{name}.npy").exists()
            continue
        expected += 1
        values = np.load(export / f"ci_{gamma:g}_{name}.npy")
        assert values.dtype == np.float64 and values.tobytes() == mean[g, k].tobytes(), (gamma, name)
        assert matplotlib.image.imread(export / f"ci_{gamma:g}_{name}.png").shape[:2] == mean.shape[-2:]
for layer, stas in sta.items():
    for unit, values in enumerate(stas):
        if np.isfinite(values).all():
            expected += 1
            assert np.load(export / f"sta_{layer}_{unit}.npy").tobytes() == values.tobytes(), (layer, unit)
assert len(list(export.glob("*.npy"))) == expected == len(list(export.glob("*.png"))), expected
print(f"ok: --export wrote {expected} CIs and STAs at native resolution (.npy: the archive's bits)")
PY
finish
