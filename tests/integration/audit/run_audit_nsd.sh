#!/bin/sh
# tests/integration/audit/run_audit_nsd.sh TEST_BINARY ZONE_FILE [MAILSEC]
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
# With MAILSEC (the `mailsec` binary) it also serves the MTA-STS policies
# over HTTPS before step 3: a test CA and a server certificate naming the
# mta-sts hosts of the sts*.test domains (openssl), mtasts_server.py on
# 127.0.0.1:443 (/usr/bin/python3); TEST_BINARY gets the CA in
# MAILSEC_TEST_CA, then `mailsec audit` is run against the same servers
# (--dns, --dns-zone, --ca-file, --no-fetch). Port 443 needs the
# namespace: on the host loopback this mode exits 77 (skipped).
#
# Nothing leaves loopback; /etc/resolv.conf is never read. A missing nsd
# is a failure (scripts/install-deps.sh installs it).
set -u

me=run_audit_nsd.sh
. "$(dirname "$0")/../nsd_lib.sh"

[ $# -eq 2 ] || [ $# -eq 3 ] ||
    die "usage: $me TEST_BINARY ZONE_FILE [MAILSEC]"
bin=$1
zone=$2
mailsec=${3:-}
here=$(cd "$(dirname "$0")" && pwd)
[ -z "$mailsec" ] || [ -x "$mailsec" ] ||
    die "mailsec binary '$mailsec' is not executable"
[ -x "$bin" ] || die "test binary '$bin' is not executable"
[ -r "$zone" ] || die "zone file '$zone' cannot be read"

nsd_netns "$@"

if [ "$MAILSEC_NETNS" = host ] && [ -n "$mailsec" ]; then
	echo "$me: SKIP: the HTTPS policy server needs port 443 in a" \
	    "network namespace"
	exit 77
fi

web_pid=
cleanup() {
	if [ -n "$web_pid" ] && kill -0 "$web_pid" 2>/dev/null; then
		kill "$web_pid" 2>/dev/null
		wait "$web_pid" 2>/dev/null
	fi
	nsd_stop
}
trap cleanup EXIT
trap 'exit 1' HUP INT PIPE TERM
nsd_start test "$zone" no audit-nsd
echo "$me: nsd serving test. on 127.0.0.1@$port (namespace: $MAILSEC_NETNS)"

MAILSEC_TEST_DNS=127.0.0.1@$port
export MAILSEC_TEST_DNS

# ---- the MTA-STS policy server (with MAILSEC) ---------------------------
# A CA and a server certificate for the mta-sts hosts of the sts*.test
# domains, mta-sts.stswrongcert.test left out on purpose.
https_serve() {
	hosts=
	for d in stsgood ststypo stsnoage stsmx stsredirect sts404 ststype \
	    stsbig stsstream; do
		hosts="${hosts:+$hosts,}DNS:mta-sts.$d.test"
	done
	{
		echo "basicConstraints = critical, CA:FALSE"
		echo "keyUsage = critical, digitalSignature"
		echo "extendedKeyUsage = serverAuth"
		echo "subjectAltName = $hosts"
	} >"$dir/server.ext"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
	    -nodes -keyout "$dir/ca.key" -out "$dir/ca.pem" -days 2 \
	    -subj "/CN=mailsec test CA" \
	    -addext "basicConstraints = critical, CA:TRUE" \
	    -addext "keyUsage = critical, keyCertSign, cRLSign" \
	    >"$dir/openssl.out" 2>&1 &&
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
	    -nodes -keyout "$dir/server.key" -out "$dir/server.csr" \
	    -subj "/CN=mta-sts.stsgood.test" >>"$dir/openssl.out" 2>&1 &&
	openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" \
	    -CAkey "$dir/ca.key" -CAcreateserial -days 2 \
	    -extfile "$dir/server.ext" -out "$dir/server.pem" \
	    >>"$dir/openssl.out" 2>&1 ||
	    { cat "$dir/openssl.out" >&2; die "openssl failed"; }

	/usr/bin/python3 "$here/mtasts_server.py" "$dir/server.pem" \
	    "$dir/server.key" 127.0.0.1 443 "$dir/web.log" \
	    >"$dir/web.out" 2>&1 &
	web_pid=$!
	i=0
	while ! ss -Hltn "sport = :443" 2>/dev/null | grep -q .; do
		if ! kill -0 "$web_pid" 2>/dev/null; then
			cat "$dir/web.out" >&2
			web_pid=
			die "the policy server exited at start (above)"
		fi
		i=$((i + 1))
		[ $i -ge 50 ] && die "the policy server did not bind" \
		    "127.0.0.1:443 within 5 s"
		sleep 0.1
	done
	echo "$me: policies served on https://127.0.0.1:443"
	MAILSEC_TEST_CA=$dir/ca.pem
	export MAILSEC_TEST_CA
}

# `mailsec audit` against the same servers: expect RC NAME PATTERN
# [!PATTERN] -- ARGS (the output must match PATTERN, and not !PATTERN).
cli_fails=0
cli_checks=0
expect() {
	want=$1 name=$2 pat=$3 notpat=$4
	shift 5
	cli_checks=$((cli_checks + 1))
	"$mailsec" "$@" >"$dir/cli.out" 2>&1
	got=$?
	if [ "$got" -ne "$want" ] || ! grep -q -e "$pat" "$dir/cli.out" ||
	    { [ -n "$notpat" ] && grep -q -e "$notpat" "$dir/cli.out"; }; then
		echo "$me: FAIL: $name: exit $got (want $want), want" \
		    "/$pat/${notpat:+, not /$notpat/}:" >&2
		cat "$dir/cli.out" >&2
		cli_fails=$((cli_fails + 1))
	fi
}

cli_run() {
	ns=127.0.0.1@$port
	ca=$dir/ca.pem
	expect 0 "fetched, clean" '^stsgood\.test: grade A' \
	    'mtasts-policy' -- audit stsgood.test --selector s1 --dns "$ns" \
	    --ca-file "$ca"
	expect 0 "fetched, json" '"mta_sts_policy": "version: STSv1' '' -- \
	    audit stsgood.test --selector s1 --dns "$ns" --ca-file "$ca" --json
	expect 0 "offline zone end to end" '^stsgood\.test: grade A' \
	    'mtasts-policy' -- audit stsgood.test --selector s1 \
	    --dns-zone "$zone" --ca-file "$ca"
	expect 0 "mode typo" '"code": "mtasts-policy-mode"' '' -- \
	    audit ststypo.test --selector s1 --dns "$ns" --ca-file "$ca" --json
	expect 0 "redirect" 'mtasts-policy-fetch: .*HTTP status 301' '' -- \
	    audit stsredirect.test --selector s1 --dns "$ns" --ca-file "$ca"
	expect 0 "oversized" 'mtasts-policy-fetch: .*larger than 65536' '' -- \
	    audit stsbig.test --selector s1 --dns "$ns" --ca-file "$ca"
	expect 0 "system store" 'mtasts-policy-fetch: .*certificate' '' -- \
	    audit stsgood.test --selector s1 --dns "$ns"
	expect 0 "no fetch" 'mtasts-policy-not-fetched' 'mtasts-policy-fetch' \
	    -- audit stsgood.test --selector s1 --dns "$ns" --no-fetch
	expect 1 "CA file missing" 'cannot be read' '' -- \
	    audit stsgood.test --dns "$ns" --ca-file "$dir/none.pem"
	expect 2 "CA file without value" 'unknown option' '' -- \
	    audit stsgood.test --dns "$ns" --ca-file
	echo "$me: mailsec audit: $cli_checks checks, $cli_fails failed"
	[ "$cli_fails" -eq 0 ]
}

[ -z "$mailsec" ] || https_serve
"$bin"
rc=$?
if [ $rc -eq 0 ] && [ -n "$mailsec" ]; then
	cli_run || rc=1
fi
if [ $rc -ne 0 ]; then
	echo "$me: test binary exited $rc; nsd log:" >&2
	cat "$dir/nsd.log" 2>/dev/null >&2
	[ -z "$mailsec" ] || { echo "$me: policy server log:" >&2;
	    cat "$dir/web.log" "$dir/web.out" 2>/dev/null >&2; }
fi
exit $rc
