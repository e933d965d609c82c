#!/usr/bin/env bash
# Fetches, here, the Debian packages that tools/gpu_check.sh needs on a GPU machine that has
# CUDA, PyTorch (CUDA), CMake and a compiler but no package registry: the headers, CMake and
# pkg-config files and shared libraries of capflow's build without chemistry
# (-DCAPFLOW_CHEMISTRY=OFF -DCAPFLOW_BENCH=OFF): oneTBB, yaml-cpp, nlohmann-json, CLI11,
# GoogleTest, libspng (+ zlib headers), TurboJPEG and pkgconf. LibTorch comes from PyTorch
# there, so it is not among them. `apt-get download` needs no root; the .deb files
# (about 3 MB) go to third_party/debs/ (ignored by git), with their list in MANIFEST.
#   bash tools/fetch_gpu_debs.sh [OUT_DIR]
# Then make the small dataset the check trains on (a full build here):
#   build/capflow data make --out data/gpu-check --count 2000 --seed 7 --no-progress
# and run the check there, carrying third_party/debs and data/gpu-check (docs/gpu.md).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root/third_party/debs}"

packages=(
  libtbb-dev libtbb12 libtbbmalloc2 libtbbbind-2-5 libhwloc15
  libyaml-cpp-dev libyaml-cpp0.7
  nlohmann-json3-dev libcli11-dev libgtest-dev
  libspng-dev libspng0 zlib1g-dev
  libturbojpeg0-dev libturbojpeg0
  pkgconf pkgconf-bin libpkgconf3
)

[[ "$(dpkg --print-architecture)" == amd64 ]] || { echo "fetch_gpu_debs: the GPU machine is x86-64; run this on an amd64 Debian" >&2; exit 2; }
command -v apt-get >/dev/null || { echo "fetch_gpu_debs: needs apt-get (Debian bookworm)" >&2; exit 2; }
mkdir -p "$out"
cd "$out"
rm -f ./*.deb MANIFEST
if ! apt-get download "${packages[@]}" >/dev/null 2>download.log; then
  echo "fetch_gpu_debs: apt-get download failed (run 'apt-get update' once as root, then again):" >&2
  cat download.log >&2
  exit 1
fi
rm -f download.log
for deb in ./*.deb; do dpkg-deb --showformat='${Package} ${Version}\n' -W "$deb"; done > MANIFEST
echo "fetch_gpu_debs: $(ls ./*.deb | wc -l) packages, $(du -sh . | cut -f1) in $out"
