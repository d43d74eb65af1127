#!/usr/bin/env bash
# Fetches the Debian packages that bench/gpu_check.sh unpacks on a GPU machine without a package
# registry, into .gpu-debs/ (ignored by git; carry it to the machine with the working tree).
# Today that is the Random123 headers, all the CUDA noise kernel's check needs.
#   scripts/fetch_gpu_debs.sh [folder = .gpu-debs]
set -euo pipefail
folder=${1:-.gpu-debs}
mkdir -p "$folder"
cd "$folder"
apt-get download librandom123-dev
ls -l ./*.deb
