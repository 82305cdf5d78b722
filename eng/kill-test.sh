#!/usr/bin/env bash
# kill -9 during SavePretrained, N times: after each kill the folder must load as one of the two saved models,
# config and weights agreeing, and the next save must leave no temporary (docs/reliability.md). Usage: bash eng/kill-test.sh [rounds=20]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-20}
dll=samples/Almost.Benchmarks/bin/Release/net10.0/Almost.Benchmarks.dll
[ -f "$dll" ] || dotnet build -c Release samples/Almost.Benchmarks >/dev/null
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
ok=0
for i in $(seq 1 "$rounds"); do
  dotnet "$dll" --save-loop "$dir/model" > "$dir/log" 2>&1 &
  pid=$!
  # Wait for the first save, then kill at a random moment within the next ~2 s.
  until grep -q "saved 0" "$dir/log" 2>/dev/null; do sleep 0.1; done
  sleep "0.$((RANDOM % 10))$((RANDOM % 10))"; sleep "$((RANDOM % 2))"
  kill -9 "$pid"; wait "$pid" 2>/dev/null || true
  saves=$(grep -c saved "$dir/log" || true)
  pending=$(ls -A "$dir/model" | grep -c -e '\.tmp$' -e journal || true)
  if dotnet "$dll" --check "$dir/model"; then ok=$((ok + 1)); else echo "round $i FAILED"; fi
  echo "round $i: killed after $saves saves, $pending temporaries/journal at the kill"
done
echo "$ok of $rounds kills left a folder that loads as one complete model and is clean after the next save"
[ "$ok" -eq "$rounds" ]
