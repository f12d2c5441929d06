#!/usr/bin/env bash
# The sources as clang-format (.clang-format: Google style, 100 columns) writes them. Run by
# scripts/test.sh before the build; fails listing the files to format:
#   git ls-files '*.cc' '*.h' | xargs clang-format -i     # formats them all
set -euo pipefail
cd "$(dirname "$0")/.."
command -v clang-format >/dev/null || { echo "format-check: no clang-format (scripts/setup.sh installs it)" >&2; exit 1; }
mapfile -t files < <(git ls-files '*.cc' '*.h')
bad=()
for f in "${files[@]}"; do
  if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then bad+=("$f"); fi
done
if [ ${#bad[@]} -gt 0 ]; then
  echo "format-check: ${#bad[@]} file(s) differ from clang-format:" >&2
  printf '  %s\n' "${bad[@]}" >&2
  exit 1
fi
echo "format-check: ${#files[@]} files as clang-format writes them" >&2
