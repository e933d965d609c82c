#!/usr/bin/env bash
# Installs, with apt, the Debian packages capflow needs that are not installed yet.
# Idempotent and fast when nothing is missing (one dpkg-query, no apt-get update).
#   bash tools/setup.sh            install what is missing
#   bash tools/setup.sh --check    list what is missing, install nothing (exit 1 if any)
set -euo pipefail

PACKAGES=(
  # toolchain
  g++ make cmake pkg-config ccache git clang-format
  # graph engine and parallelism
  libtbb-dev
  # model: LibTorch (CPU) with oneDNN, and a fast BLAS behind it
  libtorch-dev libdnnl-dev libopenblas0-openmp
  # distributed: Gloo's headers (LibTorch's c10d ProcessGroupGloo needs them); ip netns and tc
  libgloo-dev iproute2
  # image codecs
  libturbojpeg0-dev libspng-dev
  # configuration, command line, tests, benchmarks
  libyaml-cpp-dev nlohmann-json3-dev libcli11-dev libgtest-dev libgmock-dev libbenchmark-dev
  # dataset maker: RDKit depiction, Open Babel InChI
  librdkit-dev rdkit-data libboost-dev libcairo2-dev libopenbabel-dev
  # the PyTorch peer and the TorchScript export checks
  python3 python3-torch python3-numpy python3-pil python3-yaml
)

missing=()
while read -r pkg status; do
  [[ "$status" == "installed" ]] || missing+=("$pkg")
done < <(for p in "${PACKAGES[@]}"; do
           s=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
           echo "$p ${s:-absent}"
         done)

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "setup: all ${#PACKAGES[@]} Debian packages are installed"
  exit 0
fi

echo "setup: missing Debian packages: ${missing[*]}"
if [[ "${1:-}" == "--check" ]]; then
  exit 1
fi

SUDO=()
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null; then SUDO=(sudo); else
    echo "setup: not root and no sudo; install as root: apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -q
"${SUDO[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
echo "setup: installed ${#missing[@]} package(s)"
