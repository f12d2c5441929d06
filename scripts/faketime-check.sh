#!/usr/bin/env bash
# Hermetic time (issue #22 item 1): the suites that deal in dates pass whatever today's date is.
# Builds the CLI, daemon and service tests without jemalloc (it deadlocks under libfaketime, see
# CMakeLists.txt) in build-faketime, then runs them under libfaketime at dates around month and
# year ends and a leap day. The wall clock advances from the given instant ('@'), and only the
# wall clock is faked (DONT_FAKE_MONOTONIC=1): a frozen clock, or a faked monotonic one, stops
# gRPC's own timers (a call's deadline then never fires), which is not a date dependency.
# Two deadline tests are left out: under libfaketime gRPC's deadlines never fire, even on the
# monotonic clock (Daemon.SigtermDuringLoad…: 16 Earn calls blocked in Pluck for minutes with a
# 10 s deadline; CliTest.ARedeemWhoseReplyWasLost…: a 0.5 s deadline on a frozen daemon). They
# test shutdown under load and lost replies, not dates.
#   scripts/faketime-check.sh            # the default dates
#   scripts/faketime-check.sh '2030-02-28 23:59:50'
set -euo pipefail
cd "$(dirname "$0")/.."
LOVEBANK_EXTRA_PACKAGES="faketime ${LOVEBANK_EXTRA_PACKAGES:-}" BUILD_DIR=build-faketime \
  LOVEBANK_SKIP_BUILD=1 scripts/setup.sh -DLOVEBANK_JEMALLOC=OFF -DLOVEBANK_BUILD_BENCH=OFF
ninja -C build-faketime --quiet cli_test daemon_test service_test lovebankd lovebank lovebank-audit
dates=("$@")
if [ ${#dates[@]} -eq 0 ]; then
  dates=('2028-12-31 23:30:00' '2027-02-28 23:59:00' '2028-02-29 12:00:00' '2026-11-30 16:00:00')
fi
for when in "${dates[@]}"; do
  echo "faketime-check: $when" >&2
  DONT_FAKE_MONOTONIC=1 faketime -f "@$when" ctest --test-dir build-faketime --output-on-failure -j "${CTEST_JOBS:-2}" \
    -R '^(CliTest|CliTls|ServiceTest)\.|^Daemon\.A' -E 'ReplyWasLost'
done
