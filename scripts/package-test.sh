#!/usr/bin/env bash
# The Debian package (issue #28): builds it with Debian's own tooling (debhelper) from the tested
# build in build/, installs it, starts lovebankd as the lovebank user the way the systemd unit
# does — without systemd, which a CI container does not run — checks it serves (health, the
# pages, /metrics, the CLI against it), then removes and purges the package and checks that
# nothing of it is left but the ledger, which a purge keeps by design (docs/operations.md).
# Run by scripts/test.sh after the tests.
#
# It installs and removes a package and a system user, so it runs only on a machine where none
# of lovebank is installed (a CI container, a throwaway VM), as root or with passwordless sudo;
# anywhere else it builds the package and says why it did not install it:
#   LOVEBANK_PACKAGE_BUILD_ONLY=1 scripts/package-test.sh   # build/deb/lovebank_*.deb only
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}
sudo_cmd=()
if [ "$(id -u)" != "0" ]; then sudo_cmd=(sudo -n); fi
LOVEBANK_EXTRA_PACKAGES="debhelper dpkg-dev curl ${LOVEBANK_EXTRA_PACKAGES:-}" LOVEBANK_SKIP_BUILD=1 \
  scripts/setup.sh
fail() { echo "package-test: FAILED: $*" >&2; exit 1; }

# Build: dpkg-buildpackage writes into the parent directory; the .deb is moved into the build.
out="$build_dir/deb"
rm -rf "$out" && mkdir -p "$out"
version=$(dpkg-parsechangelog -S Version)
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
BUILD_DIR="$build_dir" dpkg-buildpackage -b -nc -uc -us --no-sign >"$out/build.log" 2>&1 ||
  { tail -40 "$out/build.log" >&2; fail "dpkg-buildpackage"; }
mv "../lovebank_${version}_${arch}.deb" "$out/"
rm -f ../lovebank_"${version}"_"${arch}".{buildinfo,changes} ../lovebank-dbgsym_"${version}"_*.deb
rm -rf debian/lovebank debian/.debhelper debian/debhelper-build-stamp debian/files \
  debian/lovebank.substvars debian/lovebank.postinst.debhelper debian/lovebank.postrm.debhelper \
  debian/lovebank.debhelper.log
deb="$out/lovebank_${version}_${arch}.deb"
dpkg-deb --contents "$deb" > "$out/contents.txt"
for path in ./usr/bin/lovebankd ./usr/bin/lovebank ./usr/bin/lovebank-audit \
  ./usr/share/lovebank/web/notice/index.html ./usr/share/doc/lovebank/operations.md \
  ./etc/lovebank/lovebankd.conf ./lib/systemd/system/lovebank.service; do
  grep -q " $path\$" "$out/contents.txt" || fail "$path is not in the package"
done
depends=$(dpkg-deb -f "$deb" Depends)
grep -q fonts-noto-cjk <<<"$depends" || fail "no fonts-noto-cjk dependency"
echo "package-test: built $deb" >&2

# Never on a machine that runs lovebank: installing and purging would replace its settings, and
# the test's clean-up would delete its ledger.
why_not=""
if [ "${LOVEBANK_PACKAGE_BUILD_ONLY:-0}" = "1" ]; then why_not="LOVEBANK_PACKAGE_BUILD_ONLY=1"
elif dpkg -s lovebank >/dev/null 2>&1; then why_not="lovebank is installed here"
elif [ -e /var/lib/lovebank ] || getent passwd lovebank >/dev/null; then
  why_not="/var/lib/lovebank or the user lovebank exists here"
elif [ "$(id -u)" != "0" ] && ! sudo -n true 2>/dev/null; then why_not="neither root nor sudo"
fi
if [ -n "$why_not" ]; then
  echo "package-test: not installed ($why_not): built only" >&2
  exit 0
fi

# From here on the machine is changed: whatever happens, it is put back as it was.
daemon=""
cleanup() {
  if [ -n "$daemon" ]; then "${sudo_cmd[@]}" kill -KILL "$daemon" 2>/dev/null || true; fi
  "${sudo_cmd[@]}" dpkg -P lovebank >/dev/null 2>&1 || true
  "${sudo_cmd[@]}" rm -rf /var/lib/lovebank
  "${sudo_cmd[@]}" deluser --quiet lovebank >/dev/null 2>&1 || true
}
trap cleanup EXIT

# Install (apt resolves its dependencies; the postinst makes the ledger), then what the package
# promised is there.
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "$(realpath "$deb")" \
  >"$out/install.log" 2>&1 || { cat "$out/install.log" >&2; fail "apt-get install"; }
getent passwd lovebank >/dev/null || fail "no lovebank user"
for dir in /var/lib/lovebank /var/lib/lovebank/backups /var/lib/lovebank/ledger; do
  [ "$("${sudo_cmd[@]}" stat -c '%U %a' "$dir")" = "lovebank 700" ] || fail "$dir is not lovebank's, 0700"
done
token_file=/var/lib/lovebank/ledger/admin.token
[ "$("${sudo_cmd[@]}" stat -c '%U %a' "$token_file")" = "lovebank 600" ] ||
  fail "the install made no admin token of lovebank's, 0600"
! grep -q "^init" /etc/lovebank/lovebankd.conf || fail "the service's settings create ledgers"
for program in lovebankd lovebank lovebank-audit; do
  version_line=$(/usr/bin/$program --version)
  grep -q "^$program .* (commit " <<<"$version_line" || fail "$program --version: $version_line"
done

# Start as the unit does (its user, its config), on free ports instead of the configured ones.
log="$out/lovebankd.log"
"${sudo_cmd[@]}" setpriv --reuid=lovebank --regid=lovebank --init-groups -- /usr/bin/lovebankd \
  --config /etc/lovebank/lovebankd.conf --listen 127.0.0.1:0 --http-listen 127.0.0.1:0 2>"$log" &
daemon=$!
http_port=""
grpc_port=""
for _ in $(seq 1 100); do
  http_port=$(sed -n 's/.*serving HTTP\/JSON on port \([0-9]*\).*/\1/p;T;q' "$log")
  grpc_port=$(sed -n 's/.*msg="listening on port \([0-9]*\)".*/\1/p;T;q' "$log")
  [ -n "$http_port" ] && [ -n "$grpc_port" ] && break
  sleep 0.1
done
[ -n "$http_port" ] && [ -n "$grpc_port" ] || { cat "$log" >&2; fail "lovebankd did not start"; }
# Each answer is read whole before it is looked at: `curl | grep -q` fails under pipefail when
# grep stops reading first (curl: (23) Failed writing body).
get() { curl -fsS "http://127.0.0.1:$http_port$1"; }
body=$(get /healthz) && grep -q SERVING <<<"$body" || fail "/healthz"
body=$(get /notice/) && grep -q "<html" <<<"$body" || fail "the pages"
body=$(get /metrics) && grep -q "^lovebank_head_seq " <<<"$body" || fail "/metrics"
token=$("${sudo_cmd[@]}" cat "$token_file")
body=$(LOVEBANK_TOKEN="$token" /usr/bin/lovebank --server "127.0.0.1:$grpc_port" digest) &&
  grep -q ":" <<<"$body" || fail "lovebank digest against the installed lovebankd"
"${sudo_cmd[@]}" kill -TERM "$daemon"
wait "$daemon" || fail "lovebankd did not stop cleanly on SIGTERM"
daemon=""
grep -q "stopped cleanly" "$log" || fail "no clean stop in the log"

# Remove, then purge: the programs, the unit and the settings go; the ledger stays.
"${sudo_cmd[@]}" apt-get remove -y -qq lovebank >/dev/null 2>&1 || fail "apt-get remove"
[ ! -e /usr/bin/lovebankd ] || fail "lovebankd is still installed"
[ ! -e /lib/systemd/system/lovebank.service ] || fail "the unit is still installed"
"${sudo_cmd[@]}" dpkg -P lovebank >/dev/null 2>&1 || fail "dpkg -P"
[ ! -e /etc/lovebank/lovebankd.conf ] || fail "the settings survived a purge"
"${sudo_cmd[@]}" test -f /var/lib/lovebank/ledger/db/CURRENT || fail "a purge deleted the ledger"
echo "package-test: $deb built, installed, served, removed and purged" >&2
