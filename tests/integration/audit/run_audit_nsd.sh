#!/bin/sh
# tests/integration/audit/run_audit_nsd.sh TEST_BINARY ZONE_FILE
#
# Runs TEST_BINARY against nsd serving ZONE_FILE as the zone "test." on
# loopback, inside a network namespace of its own (the way
# tests/integration/run_nsd.sh serves example.test; that script names its
# zone, the audit needs a whole top-level test domain so that the DMARC
# Tree Walk ends at an authoritative NXDOMAIN for _dmarc.test).
#
#   1. re-executes itself under `unshare --net` (root) or `unshare --user
#      --map-root-user --net`; if neither is permitted it stays on the
#      host loopback with a random high port and says so;
#   2. writes nsd.conf in a temporary directory, starts nsd in the
#      foreground (in our background), waits (bounded) for its socket;
#   3. runs TEST_BINARY with MAILSEC_TEST_DNS=127.0.0.1@PORT;
#   4. stops nsd and removes the directory, whatever happened.
#
# Nothing leaves loopback; /etc/resolv.conf is never read. A missing nsd
# is a failure (scripts/install-deps.sh installs it).
set -u

me=run_audit_nsd.sh
die() {
	echo "$me: FAIL: $*" >&2
	exit 1
}

[ $# -eq 2 ] || die "usage: $me TEST_BINARY ZONE_FILE"
bin=$1
zone=$2
[ -x "$bin" ] || die "test binary '$bin' is not executable"
[ -r "$zone" ] || die "zone file '$zone' cannot be read"

if [ -z "${MAILSEC_NETNS:-}" ]; then
	if unshare --net true 2>/dev/null; then
		export MAILSEC_NETNS=netns
		exec unshare --net sh "$0" "$@"
	elif unshare --user --map-root-user --net true 2>/dev/null; then
		export MAILSEC_NETNS=userns
		exec unshare --user --map-root-user --net sh "$0" "$@"
	fi
	MAILSEC_NETNS=host
	echo "$me: NOTE: cannot create a network namespace; using the host" \
	    "loopback with a random port"
fi
export MAILSEC_NETNS

if [ "$MAILSEC_NETNS" = host ]; then
	port=$(( ( $(date +%s) + $$ * 7 ) % 40000 + 20000 ))
else
	ip link set lo up || die "cannot bring up lo in the namespace"
	port=5353
fi

nsd_bin=${MAILSEC_NSD:-}
if [ -z "$nsd_bin" ]; then
	nsd_bin=$(command -v nsd 2>/dev/null || true)
	[ -n "$nsd_bin" ] || for p in /usr/sbin/nsd /sbin/nsd; do
		[ -x "$p" ] && nsd_bin=$p && break
	done
fi
[ -n "$nsd_bin" ] && [ -x "$nsd_bin" ] ||
    die "nsd is not installed (Debian package nsd)"

dir=$(mktemp -d "${TMPDIR:-/tmp}/mailsec-audit-nsd.XXXXXX") ||
    die "cannot create a temporary directory"
nsd_pid=
cleanup() {
	if [ -n "$nsd_pid" ] && kill -0 "$nsd_pid" 2>/dev/null; then
		kill "$nsd_pid" 2>/dev/null
		i=0
		while kill -0 "$nsd_pid" 2>/dev/null && [ $i -lt 30 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -9 "$nsd_pid" 2>/dev/null
	fi
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' HUP INT PIPE TERM

cp "$zone" "$dir/test.zone" || die "cannot copy the zone"
mkdir "$dir/xfr"
{
	echo "server:"
	echo "	ip-address: 127.0.0.1@$port"
	echo "	do-ip6: no"
	echo "	port: $port"
	echo "	server-count: 1"
	echo "	username: \"\""
	echo "	chroot: \"\""
	echo "	zonesdir: \"$dir\""
	echo "	database: \"\""
	echo "	zonelistfile: \"$dir/zone.list\""
	echo "	xfrdfile: \"$dir/xfrd.state\""
	echo "	xfrdir: \"$dir/xfr\""
	echo "	pidfile: \"$dir/nsd.pid\""
	echo "	logfile: \"$dir/nsd.log\""
	echo "	verbosity: 1"
	echo "	hide-version: yes"
	echo "remote-control:"
	echo "	control-enable: no"
	echo "zone:"
	echo "	name: test"
	echo "	zonefile: test.zone"
} >"$dir/nsd.conf"

if command -v nsd-checkzone >/dev/null 2>&1; then
	nsd-checkzone test "$dir/test.zone" >"$dir/check.out" 2>&1 ||
	    { cat "$dir/check.out" >&2; die "nsd-checkzone refused the zone"; }
fi

"$nsd_bin" -d -c "$dir/nsd.conf" >"$dir/nsd.out" 2>&1 &
nsd_pid=$!

i=0
while :; do
	if ! kill -0 "$nsd_pid" 2>/dev/null; then
		cat "$dir/nsd.out" "$dir/nsd.log" 2>/dev/null >&2
		nsd_pid=
		die "nsd exited at start (log above)"
	fi
	if ss -Hlun "sport = :$port" 2>/dev/null | grep -q .; then
		break
	fi
	i=$((i + 1))
	[ $i -ge 50 ] && { cat "$dir/nsd.log" 2>/dev/null >&2;
	    die "nsd did not bind 127.0.0.1@$port within 5 s"; }
	sleep 0.1
done
echo "$me: nsd serving test. on 127.0.0.1@$port (namespace: $MAILSEC_NETNS)"

MAILSEC_TEST_DNS=127.0.0.1@$port
export MAILSEC_TEST_DNS
"$bin"
rc=$?
if [ $rc -ne 0 ]; then
	echo "$me: test binary exited $rc; nsd log:" >&2
	cat "$dir/nsd.log" 2>/dev/null >&2
fi
exit $rc
