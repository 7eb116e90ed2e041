#!/bin/sh
# Installs the Debian packages that the test suite uses for real, only when missing:
# Chromium for browser tests, age for the recovery path, gettext for translations, Go's
# sumdb packages for the interoperability tests, nginx for the shipped configuration.
# PostgreSQL: scripts/with-postgres.sh.
set -eu
missing=""
command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
command -v age >/dev/null 2>&1 || missing="$missing age"
command -v msgfmt >/dev/null 2>&1 || missing="$missing gettext"
# Go's sumdb packages are the independent implementation the evidence core is checked against.
command -v go >/dev/null 2>&1 || missing="$missing golang-go"
[ -d /usr/share/gocode/src/golang.org/x/mod/sumdb/note ] || missing="$missing golang-golang-x-mod-dev"
# Printables: poppler reads the PDFs back and zbar decodes the card's QR code in tests; Noto
# fonts give the card and packet Arabic and Chinese glyphs.
command -v pdftotext >/dev/null 2>&1 || missing="$missing poppler-utils"
command -v zbarimg >/dev/null 2>&1 || missing="$missing zbar-tools"
[ -d /usr/share/fonts/truetype/noto ] || missing="$missing fonts-noto-core"
[ -d /usr/share/fonts/opentype/noto ] || missing="$missing fonts-noto-cjk"
command -v ffmpeg >/dev/null 2>&1 || missing="$missing ffmpeg"
# nginx runs deploy/nginx/amparo.conf in front of `amparo serve` (tests/deploy/test_nginx.py).
# It lives in /usr/sbin, which is not on a non-root PATH.
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing="$missing nginx"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
echo "installing Debian packages:$missing"
$SUDO apt-get update -qq
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
