#!/usr/bin/env bash
# The sanitizer and fuzzing stage (issue #8), run by scripts/test.sh after the main tests:
# a clang build in build-san with AddressSanitizer + UBSan (-fno-sanitize-recover) and the
# libFuzzer targets, then
#   - the unit and integration tests under the sanitizers (every CTest test except the ones that
#     drive the `lovebank` command line as one process per step: CliTest, CliTls, audit_cli and
#     python_client; their code paths run under the sanitizers through the service tests, and
#     ASan's start-up cost per process made them 40% of a 16-minute stage);
#   - each fuzz target from its seed corpus for LOVEBANK_FUZZ_RUNS executions (CTest fuzz.*).
# Exits non-zero on any failure. `BUILD_DIR` picks another directory.
set -euo pipefail
cd "$(dirname "$0")/.."
export LOVEBANK_EXTRA_PACKAGES="clang libclang-rt-14-dev llvm"
export CC=clang CXX=clang++
build_dir=${BUILD_DIR:-build-san}
start=$(date +%s)
BUILD_DIR=$build_dir BUILD_TYPE=Debug scripts/setup.sh \
  "-DCMAKE_CXX_FLAGS_DEBUG=-O1 -g" -DLOVEBANK_SANITIZE=ON -DLOVEBANK_FUZZ=ON \
  -DLOVEBANK_BUILD_BENCH=OFF
built=$(date +%s)
echo "sanitize: build ${build_dir} in $((built - start)) s" >&2
# halt_on_error: the first report fails the test; the symbolizer names the lines.
export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# The clients in other languages and the browser run in the main stage; the server code they
# drive runs under the sanitizers here through http_test and service_test.
ctest --test-dir "$build_dir" --output-on-failure -j "${CTEST_JOBS:-2}" \
  -E '^(CliTest\.|CliTls\.|audit_cli$|python_client$|node_client(_deps)?$|browser$|web_reasons$|web_qr$)' "$@"
echo "sanitize: tests in $(( $(date +%s) - built )) s" >&2
