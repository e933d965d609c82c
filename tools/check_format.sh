#!/usr/bin/env bash
# Checks that the C++ sources are clang-format clean (.clang-format: Google style, 100 columns;
# the tree was formatted with Debian bookworm's clang-format 14, another version may differ).
#   bash tools/check_format.sh            every tracked .cpp/.h file
#   bash tools/check_format.sh FILE…      only these
# Lists each file that is not clean and how to fix it. Exit status: 0 clean, 1 not clean,
# 77 no clang-format (tools/setup.sh installs it), 2 bad usage.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

formatter=${CLANG_FORMAT:-clang-format}
if ! command -v "$formatter" >/dev/null 2>&1; then
  echo "check_format: skipped: no $formatter (bash tools/setup.sh installs it)" >&2
  exit 77
fi

files=("$@")
if [[ ${#files[@]} -eq 0 ]]; then
  if git -C "$root" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    # Tracked sources still in the work tree (a file deleted but not yet committed is skipped).
    mapfile -t files < <(git ls-files '*.cpp' '*.h' | while read -r f; do [[ -f "$f" ]] && echo "$f"; done)
  else
    # Not a git checkout: every source outside build folders (build, build-gpu, build-asan…).
    mapfile -t files < <(find . -mindepth 1 \( -name 'build*' -o -name '.*' \) -prune -o \
                           \( -name '*.cpp' -o -name '*.h' \) -print | sed 's|^\./||' | sort)
  fi
fi

bad=()
for f in "${files[@]}"; do
  [[ -f "$f" ]] || { echo "check_format: no such file: $f" >&2; exit 2; }
  "$formatter" --dry-run -Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done
if [[ ${#bad[@]} -gt 0 ]]; then
  echo "check_format: ${#bad[@]} of ${#files[@]} files are not clang-format clean:" >&2
  printf '  %s\n' "${bad[@]}" >&2
  echo "fix: clang-format -i ${bad[*]}   (or, for staged changes only: git clang-format)" >&2
  exit 1
fi
echo "check_format: ${#files[@]} files are clang-format clean"
