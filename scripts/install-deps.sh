#!/bin/sh
# Installs the Debian packages mailsec needs to build, test and run.
# (nettle-dev: libunbound.pc requires hogweed and nettle.)
# This is the one list; `make run` and `make test` call it. It installs
# only what is missing, so a prepared machine pays one dpkg query.
set -eu

PACKAGES="
	build-essential cmake pkg-config clang libclang-rt-14-dev llvm
	libssl-dev libcurl4-openssl-dev libunbound-dev nettle-dev libidn2-dev libpsl-dev publicsuffix
	libevent-dev libyaml-dev libcmocka-dev
	libxml2-dev libxml2-utils zlib1g-dev libsqlite3-dev
	dns-root-data ca-certificates
	nsd iproute2 util-linux python3 swaks
	python3-spf spfquery python3-dkim python3-nacl python3-dnspython python3-yaml python3-authres
	opendkim-tools libmail-dkim-perl libopendkim-dev
"

missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
	    grep -q '^install ok installed$'; then
		missing="$missing $p"
	fi
done

[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages:$missing" >&2
	echo "install-deps: run as root (or: sudo apt-get install$missing)" >&2
	exit 1
fi

echo "install-deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
# nsd is a test oracle, started by the tests themselves; keep the
# packaged service from holding port 53 where an init system runs it.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
	systemctl disable --now nsd >/dev/null 2>&1 || true
fi
