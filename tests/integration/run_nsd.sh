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
. "$(dirname "$0")/nsd_lib.sh"

[ $# -eq 2 ] || die "usage: $me TEST_BINARY ZONE_FILE"
bin=$1
zone=$2
[ -x "$bin" ] || die "test binary '$bin' is not executable"
[ -r "$zone" ] || die "zone file '$zone' cannot be read"

nsd_netns "$@"
trap nsd_stop EXIT
trap 'exit 1' HUP INT PIPE TERM
nsd_start example.test "$zone" auto
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
