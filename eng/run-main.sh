#!/usr/bin/env bash
# The README's main-job command: native prerequisites, then the main sample (Release).
set -euo pipefail
cd "$(dirname "$0")/.."
bash eng/native-prereqs.sh
dotnet run -c Release --project samples/Almost.Quickstart -- "$@"
