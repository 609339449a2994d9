#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs Prometheus and the test tools if missing,
# installs and builds, checks that the checked-in spec and client match a fresh build, then
# runs every test (unit, integration on a real Prometheus, end to end).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
PROMBACKUP_WITH_TEST_TOOLS=1 source scripts/ensure-deps.sh

if git -C "$repo" rev-parse --git-dir >/dev/null 2>&1; then
  drift=$(git status --porcelain -- openapi libs/client/src)
  if [ -n "$drift" ]; then
    echo "openapi/ or libs/client/src differ from a fresh build; run 'npm run build' and commit them:" >&2
    echo "$drift" >&2
    git --no-pager diff --stat -- openapi libs/client/src >&2
    exit 1
  fi
fi

# Specs and tests are not part of the build; check their types too.
npm run --silent typecheck

mkdir -p test-artifacts
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json=test-artifacts/vitest.json "$@" || status=$?
# One plain closing line, whatever the reporters print above it.
if [ -f test-artifacts/vitest.json ]; then
  node -e 'const r = require("./test-artifacts/vitest.json");
    console.log(`vitest: ${r.numPassedTests} passed, ${r.numFailedTests} failed` + (r.numPendingTests ? `, ${r.numPendingTests} skipped` : ""));'
fi
exit "$status"
