#!/usr/bin/env bash
# The Debian package (issue #28): builds it with Debian's own tooling (debhelper) from the tested
# build in build/, installs it, starts lovebankd as the lovebank user the way the systemd unit
# does — without systemd, which a CI container does not run — checks it serves (health, the
# pages, /metrics, the CLI against it), then removes and purges the package and checks that
# nothing of it is left but the ledger, which a purge keeps by design (docs/operations.md).
# Needs root (or sudo): it installs a package. Run by scripts/test.sh after the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}
sudo_cmd=()
if [ "$(id -u)" != "0" ]; then sudo_cmd=(sudo); fi
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
dpkg-deb -f "$deb" Depends | grep -q fonts-noto-cjk || fail "no fonts-noto-cjk dependency"

# Install (apt resolves its dependencies), then what the package promised is there.
if dpkg -s lovebank >/dev/null 2>&1; then "${sudo_cmd[@]}" dpkg -P lovebank >/dev/null; fi
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "$(realpath "$deb")" \
  >"$out/install.log" 2>&1 ||
  { cat "$out/install.log" >&2; fail "apt-get install"; }
getent passwd lovebank >/dev/null || fail "no lovebank user"
[ "$(stat -c '%U %a' /var/lib/lovebank)" = "lovebank 700" ] || fail "/var/lib/lovebank is not lovebank's, 0700"
/usr/bin/lovebankd --version | grep -q "^lovebankd .* (commit " || fail "lovebankd --version"
/usr/bin/lovebank --version | grep -q "^lovebank " || fail "lovebank --version"
/usr/bin/lovebank-audit --version | grep -q "^lovebank-audit " || fail "lovebank-audit --version"

# Start as the unit does (its user, its config), on free ports instead of the configured ones.
log="$out/lovebankd.log"
"${sudo_cmd[@]}" setpriv --reuid=lovebank --regid=lovebank --init-groups -- /usr/bin/lovebankd --config /etc/lovebank/lovebankd.conf \
  --listen 127.0.0.1:0 --http-listen 127.0.0.1:0 2>"$log" &
daemon=$!
http_port=""
for _ in $(seq 1 100); do
  http_port=$(sed -n 's/.*serving HTTP\/JSON on port \([0-9]*\).*/\1/p' "$log" | head -1)
  grep_port=$(sed -n 's/.*msg="listening on port \([0-9]*\)".*/\1/p' "$log" | head -1)
  [ -n "$http_port" ] && [ -n "$grep_port" ] && break
  sleep 0.1
done
[ -n "$http_port" ] || { cat "$log" >&2; fail "lovebankd did not start"; }
curl -fsS "http://127.0.0.1:$http_port/healthz" | grep -q SERVING || fail "/healthz"
curl -fsS "http://127.0.0.1:$http_port/notice/" | grep -q "<html" || fail "the pages"
curl -fsS "http://127.0.0.1:$http_port/metrics" | grep -q "^lovebank_head_seq " || fail "/metrics"
token_file=/var/lib/lovebank/ledger/admin.token
token=$("${sudo_cmd[@]}" cat "$token_file")
[ "$(stat -c '%U %a' "$token_file")" = "lovebank 600" ] || fail "the admin token is not lovebank's, 0600"
LOVEBANK_TOKEN="$token" /usr/bin/lovebank --server "127.0.0.1:$grep_port" digest | grep -q ":" ||
  fail "lovebank digest against the installed lovebankd"
"${sudo_cmd[@]}" kill -TERM "$daemon"
wait "$daemon" || fail "lovebankd did not stop cleanly on SIGTERM"
grep -q "stopped cleanly" "$log" || fail "no clean stop in the log"

# Remove, then purge: the programs, the unit and the settings go; the ledger stays.
"${sudo_cmd[@]}" apt-get remove -y -qq lovebank >/dev/null 2>&1 || fail "apt-get remove"
[ ! -e /usr/bin/lovebankd ] || fail "lovebankd is still installed"
[ ! -e /lib/systemd/system/lovebank.service ] || fail "the unit is still installed"
"${sudo_cmd[@]}" dpkg -P lovebank >/dev/null 2>&1 || fail "dpkg -P"
[ ! -e /etc/lovebank/lovebankd.conf ] || fail "the settings survived a purge"
"${sudo_cmd[@]}" test -f /var/lib/lovebank/ledger/db/CURRENT || fail "a purge deleted the ledger"
# This test's own ledger and user, so that the machine is as it was.
"${sudo_cmd[@]}" rm -rf /var/lib/lovebank
"${sudo_cmd[@]}" deluser --quiet lovebank >/dev/null 2>&1 || true
echo "package-test: $deb built, installed, served, removed and purged" >&2
