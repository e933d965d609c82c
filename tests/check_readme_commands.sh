#!/usr/bin/env bash
# The README's second command (the tests) must be the one .ci/run runs, and its first command
# must run the setup script and the demo: keeps the two commands true.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
mapfile -t cmds < <(awk '/^```bash$/{getline; print}' "$root/README.md" | head -2)
[[ ${#cmds[@]} -eq 2 ]] || { echo "README: expected two bash blocks at the top"; exit 1; }
[[ "${cmds[0]}" == "bash tools/setup.sh && "*"build/capflow demo" ]] || { echo "README first command: ${cmds[0]}"; exit 1; }
grep -qxF "${cmds[1]}" "$root/.ci/run" || { echo ".ci/run does not run the README's test command: ${cmds[1]}"; exit 1; }
echo "README commands match .ci/run"
