#!/bin/sh
# tests/integration/run_nsd.sh TEST_BINARY ZONE_FILE
#
# Runs TEST_BINARY against a real authoritative server: nsd serving
# ZONE_FILE (example.test) on loopback, inside a network namespace of our
# own so that nothing can leave the machine and no port can clash.
#
#   1. re-executes itself under `unshare --net` (as root), or under
#      `unshare --user --map-root-user --net` (unprivileged user
#      namespaces); if neither is permitted it stays on the host loopback
#      with a random high port and says so;
#   2. writes nsd.conf into a temporary directory, starts nsd in the
#      foreground (in the background of this shell) and waits, bounded,
#      until its UDP socket is bound;
#   3. runs TEST_BINARY with MAILSEC_TEST_DNS=127.0.0.1@PORT (and
#      MAILSEC_TEST_DNS6=::1@PORT where loopback has IPv6), which waits
#      until the zone answers before its first check;
#   4. stops nsd and removes the directory (trap), whatever happened.
#
# It never reads or writes /etc/resolv.conf and sends nothing but to
# loopback. A missing nsd is a failure, not a skip: nsd is in
# scripts/install-deps.sh.
set -u

me=run_nsd.sh
die() {
	echo "$me: FAIL: $*" >&2
	exit 1
}

[ $# -eq 2 ] || die "usage: $me TEST_BINARY ZONE_FILE"
bin=$1
zone=$2
[ -x "$bin" ] || die "test binary '$bin' is not executable"
[ -r "$zone" ] || die "zone file '$zone' cannot be read"

# ---- 1. our own network namespace -------------------------------------
if [ -z "${MAILSEC_NETNS:-}" ]; then
	if unshare --net true 2>/dev/null; then
		export MAILSEC_NETNS=netns
		exec unshare --net sh "$0" "$@"
	elif unshare --user --map-root-user --net true 2>/dev/null; then
		export MAILSEC_NETNS=userns
		exec unshare --user --map-root-user --net sh "$0" "$@"
	fi
	MAILSEC_NETNS=host
	echo "$me: NOTE: cannot create a network namespace (unshare" \
	    "refused); using the host loopback with a random port"
fi
export MAILSEC_NETNS

if [ "$MAILSEC_NETNS" = host ]; then
	# 20000..59999, from the clock and our pid
	port=$(( ( $(date +%s) + $$ * 7 ) % 40000 + 20000 ))
else
	ip link set lo up || die "cannot bring up lo in the namespace"
	port=5353
fi

# MAILSEC_NSD names another nsd binary
nsd_bin=${MAILSEC_NSD:-}
if [ -z "$nsd_bin" ]; then
	nsd_bin=$(command -v nsd 2>/dev/null || true)
	[ -n "$nsd_bin" ] || for p in /usr/sbin/nsd /sbin/nsd; do
		[ -x "$p" ] && nsd_bin=$p && break
	done
fi
[ -n "$nsd_bin" ] && [ -x "$nsd_bin" ] ||
    die "nsd is not installed (Debian package nsd, listed in" \
    "scripts/install-deps.sh)"

# ---- 2. nsd, configured in a temporary directory ------------------------
dir=$(mktemp -d "${TMPDIR:-/tmp}/mailsec-nsd.XXXXXX") ||
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

cp "$zone" "$dir/example.test.zone" || die "cannot copy the zone"
mkdir "$dir/xfr"

# ::1 only where the namespace (or host) has it
ip6=no
if ip -6 addr show dev lo 2>/dev/null | grep -q 'inet6 ::1'; then
	ip6=yes
fi

{
	echo "server:"
	echo "	ip-address: 127.0.0.1@$port"
	[ $ip6 = yes ] && echo "	ip-address: ::1@$port"
	echo "	do-ip6: $ip6"
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
	echo "	name: example.test"
	echo "	zonefile: example.test.zone"
} >"$dir/nsd.conf"

if command -v nsd-checkconf >/dev/null 2>&1; then
	nsd-checkconf "$dir/nsd.conf" || die "nsd-checkconf refused nsd.conf"
fi

"$nsd_bin" -d -c "$dir/nsd.conf" >"$dir/nsd.out" 2>&1 &
nsd_pid=$!

# bound within 5 s, or nsd died: either way we know
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
	if [ $i -ge 50 ]; then
		cat "$dir/nsd.out" "$dir/nsd.log" 2>/dev/null >&2
		die "nsd did not bind 127.0.0.1@$port within 5 s"
	fi
	sleep 0.1
done
echo "$me: nsd $("$nsd_bin" -v 2>&1 | head -n 1 | sed 's/^NSD version //')" \
    "serving example.test on 127.0.0.1@$port (namespace: $MAILSEC_NETNS," \
    "ipv6: $ip6)"

# ---- 3. the test itself --------------------------------------------------
MAILSEC_TEST_DNS=127.0.0.1@$port
MAILSEC_TEST_DNS6=
[ $ip6 = yes ] && MAILSEC_TEST_DNS6=::1@$port
export MAILSEC_TEST_DNS MAILSEC_TEST_DNS6
"$bin"
rc=$?
if [ $rc -ne 0 ]; then
	echo "$me: test binary exited $rc; nsd log:" >&2
	cat "$dir/nsd.log" 2>/dev/null >&2
fi
exit $rc
