#!/usr/bin/env bash
# Runs the whole suite with node's test runner. Node 20 does not expand globs, so the file list is built here.
# `scripts/test.sh unit` skips the suites that drive external clients (Python clients, Tempest).
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-all}
mapfile -t files < <(find packages bench -name '*.test.ts' -not -path '*/node_modules/*' -not -path '*/dist/*' | sort)
if [ "$mode" = unit ]; then
  mapfile -t files < <(printf '%s\n' "${files[@]}" | grep -v -e '/clients/' -e '/tempest/')
fi
if [ ${#files[@]} -eq 0 ]; then echo "no test files found" >&2; exit 1; fi
# tsx strips types without checking them: tests and benchmarks are type-checked here (the packages' builds
# exclude them), so a test cannot pass while asserting on a shape the code no longer has.
npx tsc -p tsconfig.tests.json
exec node --import tsx --test --test-concurrency=2 --test-timeout=1200000 "${files[@]}"
