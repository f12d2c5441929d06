#!/usr/bin/env bash
# lovebank against PostgreSQL 15, side by side in one run (issue #29): see bench/compare.py.
#   bench/compare.sh [--runs 3] [--seconds 10] [--clients 1,4,16,64] [--sides pg,grpc,http,floor]
# Installs PostgreSQL 15 and pgbench when missing (Debian's postgresql-15, whose cluster service is
# never used: the benchmark runs its own throwaway server) and builds Release in build-release.
set -euo pipefail
cd "$(dirname "$0")/.."
LOVEBANK_EXTRA_PACKAGES="postgresql-15 postgresql-client-15 ${LOVEBANK_EXTRA_PACKAGES:-}" \
  BUILD_TYPE=Release BUILD_DIR=${BUILD_DIR:-build-release} LOVEBANK_SKIP_BUILD=1 scripts/setup.sh
cmake --build "${BUILD_DIR:-build-release}" --target lovebankd lovebank_load grpc_floor -- --quiet
exec python3 bench/compare.py --build "${BUILD_DIR:-build-release}" "$@"
