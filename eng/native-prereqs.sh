#!/usr/bin/env bash
# Makes sure TorchSharp 0.107.0's native library can load: libLibTorchSharp.so needs GLIBCXX_3.4.32
# (libstdc++ from GCC 13+). Idempotent: does nothing when the symbol version is already there.
#
# On Debian 12 (bookworm, which ships GLIBCXX_3.4.30) it installs libstdc++6 from Debian 13 (trixie) through a
# private apt source list, so /etc/apt/sources.list.d/debian.sources is never edited. Elsewhere it fails with a
# message saying what is needed.
set -euo pipefail

need="GLIBCXX_3.4.32"

has_symbol() {
  local lib
  for lib in $(ldconfig -p 2>/dev/null | awk '/libstdc\+\+\.so\.6 .*x86-64|libstdc\+\+\.so\.6 \(libc6,x86-64\)/ {print $NF}') \
             /usr/lib/x86_64-linux-gnu/libstdc++.so.6 /lib/x86_64-linux-gnu/libstdc++.so.6; do
    if [ -r "$lib" ] && grep -qa "$need" "$lib"; then return 0; fi
  done
  return 1
}

if [ "$(uname -s)" != "Linux" ]; then
  exit 0   # Windows/macOS ship their own C++ runtime with TorchSharp's native packages.
fi

if has_symbol; then
  exit 0
fi

. /etc/os-release 2>/dev/null || true
if [ "${ID:-}" != "debian" ] || [ "${VERSION_ID:-}" != "12" ]; then
  echo "native-prereqs: TorchSharp 0.107.0 needs $need (libstdc++ from GCC 13 or newer), which this system's" >&2
  echo "libstdc++.so.6 lacks. Install libstdc++6 from GCC 13+ (for example Debian 13, Ubuntu 24.04) and run again." >&2
  exit 1
fi

if [ "$(id -u)" != "0" ]; then
  echo "native-prereqs: $need is missing; installing libstdc++6 from Debian 13 needs root (run this script with sudo)." >&2
  exit 1
fi

src=/etc/apt/sources.list.d/debian.sources
state="${ALMOST_APT_DIR:-/var/tmp/almost-apt}"
mkdir -p "$state/sources" "$state/lists/partial"
cp "$src" "$state/sources/debian.sources"
uri=$(awk '/^URIs:/ {print $2; exit}' "$src")
keyring=$(awk '/^Signed-By:/ {print $2; exit}' "$src")
{
  echo "Types: deb"
  echo "URIs: ${uri:-http://deb.debian.org/debian}"
  echo "Suites: trixie"
  echo "Components: main"
  [ -n "$keyring" ] && echo "Signed-By: $keyring"
} > "$state/sources/trixie.sources"

opts=(-o Dir::Etc::SourceList=/dev/null -o "Dir::Etc::SourceParts=$state/sources" -o "Dir::State::Lists=$state/lists")
echo "native-prereqs: installing libstdc++6 from Debian 13 (trixie) for $need ..." >&2
log="$state/install.log"
if ! { DEBIAN_FRONTEND=noninteractive apt-get "${opts[@]}" -q update &&
       DEBIAN_FRONTEND=noninteractive apt-get "${opts[@]}" -q install -y -t trixie --no-install-recommends libstdc++6; } >"$log" 2>&1; then
  cat "$log" >&2
  echo "native-prereqs: installing libstdc++6 from trixie failed (log above, also in $log)." >&2
  exit 1
fi
ldconfig || true

if ! has_symbol; then
  echo "native-prereqs: libstdc++6 from trixie was installed but $need is still missing." >&2
  exit 1
fi
echo "native-prereqs: $need is available." >&2
