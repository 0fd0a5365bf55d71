#!/usr/bin/env bash
# The whole test suite: installs what is missing, then type check, lint, cdk synth (offline) and jest.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
step() { printf '\n== %s\n' "$*"; }

step "dependencies"
scripts/ensure-deps.sh
echo "all present"
# The project's own Node (the npm package `node`, the major Lambda and the worker image run), not the machine's.
export PATH="$ROOT/node_modules/.bin:$PATH"
echo "node $(node --version)"

step "type check (tsc, sources and tests)"
node_modules/.bin/tsc --noEmit -p tsconfig.json

step "lint (eslint)"
node_modules/.bin/eslint .

step "cdk synth (offline)"
node_modules/.bin/cdk synth --quiet >/dev/null 2>cdk.out.log || { cat cdk.out.log; exit 1; }
rm -f cdk.out.log
echo "synthesised: $(ls cdk.out/*.template.json)"

step "tests (jest: unit, integration, e2e)"
results=$(mktemp)
status=0
node --experimental-vm-modules --no-warnings=ExperimentalWarning node_modules/jest/bin/jest.js --json --outputFile="$results" "$@" || status=$?
node -e 'const r=JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed`)' "$results"
rm -f "$results"
exit $status
