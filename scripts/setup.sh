#!/usr/bin/env bash
# Installs what a bare Debian 12 machine lacks, then configures and builds lovebank.
# Idempotent and silent when everything is already there.
#
#   scripts/setup.sh              # RelWithDebInfo in build/ (-O2 -g; LOVEBANK_CHECKs stay on)
#   BUILD_TYPE=Release scripts/setup.sh
#   LOVEBANK_SKIP_APT=1 scripts/setup.sh   # never touch apt (e.g. no root)
#   scripts/setup.sh -DOPTION=VALUE ...     # extra CMake options for a new build directory
#   LOVEBANK_EXTRA_PACKAGES="clang ..."     # more packages (scripts/sanitize.sh)
#   LOVEBANK_SKIP_BUILD=1 scripts/setup.sh  # install and configure only
set -euo pipefail
cd "$(dirname "$0")/.."

# Every package the project builds with. Keep in step with ../shared/BUILD-NOTES.md.
packages=(
  build-essential cmake ninja-build pkgconf ccache mold clang-format
  librocksdb-dev libprotobuf-dev protobuf-compiler
  libgrpc++-dev protobuf-compiler-grpc grpc-proto
  libboost-dev libssl-dev libabsl-dev libjemalloc-dev
  libcli11-dev nlohmann-json3-dev libcpp-httplib-dev
  libgtest-dev libbenchmark-dev libqrencode-dev
  python3 python3-grpcio python3-protobuf openssl nodejs
  chromium chromium-driver python3-selenium fonts-noto-cjk zbar-tools
)
# npm fetches the Node client test's gRPC packages (tests/service/node); a machine whose Node.js
# came with its own npm keeps it, and Debian's npm comes only where there is none.
if ! command -v npm >/dev/null 2>&1; then packages+=(npm); fi
# shellcheck disable=SC2206  # a space-separated list by design
packages+=(${LOVEBANK_EXTRA_PACKAGES:-})

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -gt 0 ] && [ "${LOVEBANK_SKIP_APT:-0}" != "1" ]; then
  echo "setup: installing ${missing[*]}" >&2
  sudo_cmd=()
  if [ "$(id -u)" != "0" ]; then sudo_cmd=(sudo); fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq >/dev/null
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

build_dir=${BUILD_DIR:-build}
build_type=${BUILD_TYPE:-RelWithDebInfo}
if [ ! -f "$build_dir/build.ninja" ]; then
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE="$build_type" "$@" >/dev/null
fi
if [ "${LOVEBANK_SKIP_BUILD:-0}" = "1" ]; then exit 0; fi  # configure only (the caller builds)
# Ninja prints only on failure with --quiet (ninja >= 1.11), except "no work to do", which is
# dropped here so that an up-to-date tree builds silently.
if ! output=$(cmake --build "$build_dir" -- --quiet 2>&1); then
  printf '%s\n' "$output" >&2
  exit 1
fi
printf '%s\n' "$output" | grep -v -x -e 'ninja: no work to do.' -e '' || true
