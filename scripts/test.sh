#!/usr/bin/env bash
# The whole test suite: lint, type-check, circular-import check, build, then every test
# (unit, integration with real tmpfs mounts, end-to-end through the kubelet simulator, and
# csi-sanity conformance, the Helm chart and the image) under node's test runner. `.ci/run` runs
# exactly this, on Node.js 20 and again on Node.js 24 LTS.
set -euo pipefail
cd "$(dirname "$0")/.."

echo '== lint'
npx eslint .
echo '== circular imports'
npx madge --circular --extensions ts --ts-config tsconfig.json --no-spinner src test
echo '== type-check and build (tsc, then the bundle the image runs: scripts/bundle.ts)'
rm -rf dist
npm run --silent build
echo '== csi-sanity'
bash scripts/install-csi-sanity.sh
echo '== helm and Node.js 24 (chart and image tests)'
bash scripts/install-helm.sh >/dev/null
bash scripts/install-node24.sh >/dev/null
echo '== tests'
# Integration and e2e tests mount tmpfs and start subprocesses: run files two at a time.
# The files are listed here because Node.js >= 22 no longer searches directories given to
# --test (it takes file names and globs; Node.js 20 takes directories but not globs).
mapfile -t test_files < <(find dist/test/unit dist/test/integration dist/test/e2e dist/test/conformance dist/test/bench dist/test/deploy -name '*.test.js' | sort)
node --test --test-concurrency=2 --test-reporter=spec "${test_files[@]}"
