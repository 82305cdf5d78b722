#!/usr/bin/env bash
# The README's test command: native prerequisites, then every test project in the solution (Release, CPU).
# Ends with one summary line "N passed, N failed, N skipped" over all test projects.
set -euo pipefail
cd "$(dirname "$0")/.."
bash eng/native-prereqs.sh
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
dotnet test Almost.sln -c Release "$@" 2>&1 | tee "$log" || status=$?
# Per-project lines look like: "Passed!  - Failed:     0, Passed:   170, Skipped:     0, Total:   170, ..."
awk '/(Passed|Failed)! +- Failed:/ {
       gsub(",", ""); for (i = 1; i <= NF; i++) { if ($i == "Failed:") f += $(i+1); if ($i == "Passed:") p += $(i+1); if ($i == "Skipped:") s += $(i+1) }
     }
     END { printf "%d passed, %d failed, %d skipped\n", p, f, s }' "$log"
exit "$status"
