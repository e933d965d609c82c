#!/usr/bin/env bash
# Builds oneTBB with ThreadSanitizer from Debian's source package of the installed libtbb12
# (same version, Debian's patches applied) and installs it under PREFIX; prints the folder of
# its TBBConfig.cmake. tools/sanitize.sh tsan links the engine and distributed tests against it,
# so TSan sees oneTBB's own synchronisation instead of reporting every task hand-off as a race.
#   bash tools/sanitizers/tbb_tsan.sh PREFIX
# The source comes through apt from the machine's own Debian sources (their "deb" entries, read
# as "deb-src" into a private list folder: the system's apt settings are left as they are).
# Needs dpkg-dev (dpkg-source) and network access to those sources. Reruns reuse PREFIX.
set -euo pipefail

prefix=${1:?usage: tbb_tsan.sh PREFIX}
config=$prefix/lib/cmake/TBB
if [[ -f $config/TBBConfig.cmake ]]; then
  echo "$config"
  exit 0
fi
read -r package version < <(dpkg-query -W -f='${source:Package} ${source:Version}\n' libtbb12)
work=$prefix.work
mkdir -p "$work/parts" "$work/lists/partial"

# The machine's Debian sources as source-package sources.
for f in /etc/apt/sources.list.d/*.sources; do
  [[ -f $f ]] && sed -E 's/^Types:.*\bdeb\b.*$/Types: deb-src/' "$f" >"$work/parts/$(basename "$f")"
done
if [[ -f /etc/apt/sources.list ]]; then
  sed -nE 's/^deb (.*)$/deb-src \1/p' /etc/apt/sources.list >"$work/parts/system.list"
fi
apt_private=(-o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts="$work/parts"
             -o Dir::State::Lists="$work/lists")
echo "tbb_tsan: fetching the source of $package $version" >&2
apt-get "${apt_private[@]}" update >&2
(cd "$work" && apt-get "${apt_private[@]}" source --download-only "$package=$version" >&2)
rm -rf "$work/src"
dpkg-source -x "$work/${package}_${version#*:}.dsc" "$work/src" >&2

echo "tbb_tsan: building $package with -fsanitize=thread (a few minutes)" >&2
cmake -S "$work/src" -B "$work/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTBB_SANITIZE=thread \
  -DTBB_TEST=OFF -DTBB_EXAMPLES=OFF -DTBB_STRICT=OFF -DTBBMALLOC_BUILD=OFF \
  -DTBB_DISABLE_HWLOC_AUTOMATIC_SEARCH=ON \
  -DCMAKE_INSTALL_PREFIX="$prefix" >&2
nice -n 19 cmake --build "$work/build" -j"${CAPFLOW_JOBS:-2}" >&2
cmake --install "$work/build" >&2
echo "$config"
