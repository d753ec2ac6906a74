# tests/integration/nsd_lib.sh: nsd on loopback in a network namespace of
# our own, for run_nsd.sh and audit/run_audit_nsd.sh. Source it after
# setting `me` (the script's name, for messages); it gives:
#
#   die MESSAGE...      says FAIL on stderr and exits 1
#   nsd_netns "$@"      re-executes "$0" under `unshare --net` (root) or
#                       `unshare --user --map-root-user --net`; if neither
#                       is permitted it stays on the host loopback and says
#                       so. Sets MAILSEC_NETNS (netns, userns or host).
#   nsd_start ZONE FILE IP6 [TAG]
#                       nsd serving FILE as ZONE, on 127.0.0.1@$port (and
#                       ::1@$port with IP6 "auto" where loopback has IPv6;
#                       "no" for IPv4 only), configured in $dir (a fresh
#                       temporary directory); waits, bounded, until nsd's
#                       UDP socket is bound. Sets port, dir, ip6, nsd_bin,
#                       nsd_pid. MAILSEC_NSD names another nsd binary.
#   nsd_stop            stops nsd and removes $dir: the caller's EXIT trap
#
# Nothing leaves loopback; /etc/resolv.conf is never read. A missing nsd
# is a failure, not a skip: nsd is in scripts/install-deps.sh.

die() {
	echo "$me: FAIL: $*" >&2
	exit 1
}

nsd_netns() {
	if [ -z "${MAILSEC_NETNS:-}" ]; then
		if unshare --net true 2>/dev/null; then
			export MAILSEC_NETNS=netns
			exec unshare --net sh "$0" "$@"
		elif unshare --user --map-root-user --net true 2>/dev/null
		then
			export MAILSEC_NETNS=userns
			exec unshare --user --map-root-user --net sh "$0" "$@"
		fi
		MAILSEC_NETNS=host
		echo "$me: NOTE: cannot create a network namespace (unshare" \
		    "refused); using the host loopback with a random port"
	fi
	export MAILSEC_NETNS
}

nsd_pid=
dir=
nsd_stop() {
	if [ -n "$nsd_pid" ] && kill -0 "$nsd_pid" 2>/dev/null; then
		kill "$nsd_pid" 2>/dev/null
		i=0
		while kill -0 "$nsd_pid" 2>/dev/null && [ $i -lt 30 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -9 "$nsd_pid" 2>/dev/null
	fi
	[ -z "$dir" ] || rm -rf "$dir"
}

# nsd_find: nsd_bin, from MAILSEC_NSD, the PATH or /usr/sbin, /sbin
nsd_find() {
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
}

nsd_start() {
	nsd_zone=$1 nsd_file=$2 ip6=$3

	if [ "$MAILSEC_NETNS" = host ]; then
		# 20000..59999, from the clock and our pid
		port=$(( ( $(date +%s) + $$ * 7 ) % 40000 + 20000 ))
	else
		ip link set lo up || die "cannot bring up lo in the namespace"
		port=5353
	fi
	nsd_find

	dir=$(mktemp -d "${TMPDIR:-/tmp}/mailsec-${4:-nsd}.XXXXXX") ||
	    die "cannot create a temporary directory"
	cp "$nsd_file" "$dir/$nsd_zone.zone" || die "cannot copy the zone"
	mkdir "$dir/xfr"

	# ::1 only where the namespace (or host) has it
	if [ "$ip6" = auto ]; then
		ip6=no
		if ip -6 addr show dev lo 2>/dev/null | grep -q 'inet6 ::1'
		then
			ip6=yes
		fi
	fi

	{
		echo "server:"
		echo "	ip-address: 127.0.0.1@$port"
		[ "$ip6" = yes ] && echo "	ip-address: ::1@$port"
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
		echo "	name: $nsd_zone"
		echo "	zonefile: $nsd_zone.zone"
	} >"$dir/nsd.conf"

	if command -v nsd-checkconf >/dev/null 2>&1; then
		nsd-checkconf "$dir/nsd.conf" ||
		    die "nsd-checkconf refused nsd.conf"
	fi
	if command -v nsd-checkzone >/dev/null 2>&1; then
		nsd-checkzone "$nsd_zone" "$dir/$nsd_zone.zone" \
		    >"$dir/check.out" 2>&1 ||
		    { cat "$dir/check.out" >&2;
		    die "nsd-checkzone refused the zone"; }
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
}
