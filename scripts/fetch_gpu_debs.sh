#!/usr/bin/env bash
# Fetches the Debian packages that bench/gpu_check.sh unpacks on a GPU machine without a package
# registry, into .gpu-debs/ (ignored by git; carry it to the machine with the working tree): the
# headers and libraries wna builds against beside the machine's own CUDA LibTorch (Open MPI,
# parallel HDF5, Boost.Serialization, CLI11, inih, fmt, libzip, OpenSSL, zlib, Random123,
# GoogleTest, pkgconf) and every library they load: 128 packages, 43 MB on 2026-12-07. Left out: what the machine's own
# system and compiler provide (the C and C++ runtime, the toolchain, perl, python).
#   scripts/fetch_gpu_debs.sh [folder = .gpu-debs]
set -euo pipefail
folder=${1:-.gpu-debs}
wanted=(libopenmpi-dev openmpi-bin libhdf5-openmpi-dev libboost-serialization1.74-dev libcli11-dev libinih-dev
        libfmt-dev librandom123-dev libzip-dev zlib1g-dev libssl-dev libgtest-dev pkgconf)
# The machine's system has these (newer); a Debian copy would shadow them.
system_provided='^(libc6|libc6-dev|libc-dev-bin|libgcc-s1|libstdc\+\+6|libgcc-.*-dev|libstdc\+\+-.*-dev|gcc.*|g\+\+.*|cpp.*|gfortran.*|flang.*|libflang.*|libllvm.*|libclang.*|libmlir.*|perl.*|libperl.*|python3.*|libpython.*|dpkg.*|debconf.*|cdebconf|tar|coreutils|debianutils|adduser|passwd|install-info|binutils.*|libbinutils|libctf.*|libgprofng.*|linux-libc-dev|lib.*san[0-9]*|libquadmath0|libgfortran.*|libgomp1|libitm1|libatomic1|libcc1-0|libisl23|libmpc3|libmpfr6|libcrypt1|libcrypt-dev|libicu.*|libz3.*|openssh.*|libpam.*|libaudit.*|libselinux1|libsemanage.*|libsepol.*|libsystemd0|libudev1|libtinfo6|libncurses.*|gcc-12-base|automake|autoconf|m4|autotools-dev|libjs-.*|libx11.*|libxcb.*|libxau6|libxdmcp6|libslang2|libnss3|libnspr4|libcurl3-nss|.*-doc|mpi-default-.*)$'
mkdir -p "$folder"
packages=$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks --no-replaces \
             --no-enhances "${wanted[@]}" | grep '^[a-z0-9]' | sort -u | grep -Ev "$system_provided")
cd "$folder"
rm -f ./*.deb
# shellcheck disable=SC2086 # one argument per package
apt-get download $packages
echo "fetch_gpu_debs: $(ls ./*.deb | wc -l) packages, $(du -sh . | cut -f1) in $folder"
