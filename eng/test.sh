#!/usr/bin/env bash
# The README's test command: native prerequisites, then every test project in the solution (Release, CPU).
set -euo pipefail
cd "$(dirname "$0")/.."
bash eng/native-prereqs.sh
dotnet test Almost.sln -c Release --logger "console;verbosity=normal" "$@"
