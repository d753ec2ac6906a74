#!/bin/sh
# `mailsec check` end to end on the shipped sample message and zone
# (examples/example.zone: example.org publishes SPF, an Ed25519 DKIM key
# (RFC 8463's example key, selector sel1) and DMARC p=reject): the verdict,
# each method's result, the JSON the issue promises, and an
# Authentication-Results field that python3-authres parses to the same
# results.
# usage: test_check.sh MAILSEC_BINARY SOURCE_DIR
set -u
bin=$1
src=$2
zone=$src/examples/example.zone
. "$src/tests/lib.sh"

# json DESCRIPTION ASSERTION: d is the object; the Authentication-Results
# value must also parse with python3-authres to the methods and results
# of d (the oracle).
json() {
	checks=$((checks + 1))
	if ! /usr/bin/python3 - "$tmp/out" "$2" >"$tmp/py" 2>&1 <<'PY'
import json, sys
import authres
d = json.load(open(sys.argv[1]))
assert eval(sys.argv[2]), d
ar = authres.AuthenticationResultsHeader.parse(
    "Authentication-Results: " + d["authentication_results"])
got = [(r.method, r.result) for r in ar.results]
want = [("spf", d["spf"]["result"])]
want += [("dkim", s["result"]) for s in d["dkim"]] or [("dkim", "none")]
want += [("arc", d["arc"]["result"])]
want += [("dmarc", d["dmarc"]["result"])]
assert got == want, (got, want)
for r in ar.results:
    props = {(p.type, p.name): p.value for p in r.properties}
    if r.method == "dmarc" and d["dmarc"]["from_domain"]:
        assert props[("header", "from")] == d["dmarc"]["from_domain"], props
    if r.method == "dkim" and d["dkim"]:
        assert ("header", "d") in props, props
PY
	then
		echo "FAIL: $1"
		sed 's/^/  /' "$tmp/py" | tail -8
		fails=$((fails + 1))
	fi
}

printf 'nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=' >"$tmp/sel1.key"
chmod 600 "$tmp/sel1.key"
"$bin" dkim sign --domain example.org --selector sel1 --key "$tmp/sel1.key" \
    "$src/examples/sample.eml" >"$tmp/signed.eml" || {
	echo "FAIL: could not sign the sample"; exit 1; }
# A signature by a domain that is not the author's: passes, not aligned.
"$bin" dkim sign --domain example.net --selector sel1 --key "$tmp/sel1.key" \
    "$src/examples/sample.eml" >"$tmp/other.eml" || exit 1

# 1. Signed, from an address SPF allows: everything passes.
expect 0 "all pass" "$bin" check --dns-zone "$zone" --ip 192.0.2.10 \
    --helo mail.example.org --mail-from alice@example.org \
    --authserv-id mx.test "$tmp/signed.eml" &&
	has "out err" '^Authentication-Results: mx.test;' "authserv-id first" &&
	has "out err" 'spf=pass smtp.mailfrom=alice@example.org' "spf result" &&
	has "out err" 'dkim=pass.*header.d=example.org' "dkim result" &&
	has "out err" 'header.b=([A-Za-z0-9+]{8}( |;|$)|"[A-Za-z0-9+/]{8}")' \
	    "header.b: an 8-character prefix (quoted when it holds a /)" &&
	has "out err" 'dmarc=pass' "dmarc result" &&
	has "out err" '^verdict: accept' "verdict"
expect 0 "all pass, json" "$bin" check --dns-zone "$zone" --ip 192.0.2.10 \
    --mail-from alice@example.org --authserv-id mx.test --json \
    "$tmp/signed.eml" &&
	json "json: pass" 'd["spf"]["result"] == "pass" and d["spf"]["domain"] == "example.org" and d["dkim"][0]["result"] == "pass" and d["dkim"][0]["selector"] == "sel1" and d["dmarc"]["result"] == "pass" and d["dmarc"]["spf_aligned"] and d["dmarc"]["dkim_aligned"] and d["dmarc"]["policy"] == "reject" and d["dmarc"]["disposition"] == "none" and d["dmarc"]["policy_domain"] == "example.org" and d["mode"] == "rfc9989"'

# 2. Unsigned, from a host SPF refuses: DMARC fails, p=reject applies.
expect 0 "spoofed" "$bin" check --dns-zone "$zone" --ip 203.0.113.9 \
    --helo evil.test --mail-from alice@example.org --json \
    "$src/examples/sample.eml" &&
	json "json: reject" 'd["spf"]["result"] == "fail" and d["dkim"] == [] and d["dmarc"]["result"] == "fail" and d["dmarc"]["disposition"] == "reject" and d["verdict"] == "reject" and not d["dmarc"]["spf_aligned"]'
expect 0 "spoofed, text" "$bin" check --dns-zone "$zone" --ip 203.0.113.9 \
    --mail-from alice@example.org "$src/examples/sample.eml" &&
	has "out err" '^verdict: reject' "reject verdict" &&
	has "out err" 'dkim=none' "no signature: dkim=none"

# 3. SPF passes for another domain, DKIM by another domain: neither aligns.
expect 0 "unaligned" "$bin" check --dns-zone "$zone" --ip 198.51.100.7 \
    --mail-from bounce@example.net --json "$tmp/other.eml" &&
	json "json: unaligned" 'd["dmarc"]["result"] == "fail" and not d["dmarc"]["dkim_aligned"] and not d["dmarc"]["spf_aligned"] and d["dkim"][0]["domain"] == "example.net"'

# 4. Compatibility mode names itself.
expect 0 "rfc7489" "$bin" check --dns-zone "$zone" --ip 192.0.2.10 \
    --mail-from alice@example.org --rfc7489 --json "$tmp/signed.eml" &&
	json "json: rfc7489" 'd["mode"] == "rfc7489" and d["dmarc"]["result"] == "pass" and d["dmarc"]["org_domain"] == "example.org"'

# 4b. A forwarder changed the message (DKIM breaks) and sealed it with ARC
# (example.org's key stands in for the forwarder's): the chain passes;
# DMARC still fails unless the sealer is trusted, then the override is
# recorded and the message accepted.
sed 's/^Subject: /Subject: [list] /' "$tmp/signed.eml" >"$tmp/changed.eml"
"$bin" arc seal --dns-zone "$zone" --domain example.org --selector sel1 \
    --key "$tmp/sel1.key" --authserv-id fwd.example --ip 192.0.2.10 \
    --mail-from alice@example.org "$tmp/changed.eml" >"$tmp/sealed.eml" || {
	echo "FAIL: could not seal"; fails=$((fails + 1)); }
expect 0 "arc, untrusted" "$bin" check --dns-zone "$zone" --ip 203.0.113.9 \
    --mail-from list@example.net --json "$tmp/sealed.eml" &&
	json "json: arc pass, dmarc fail" 'd["arc"]["result"] == "pass" and d["arc"]["instances"] == 1 and d["dkim"][0]["result"] == "fail" and d["dmarc"]["result"] == "fail" and d["verdict"] == "reject" and d["dmarc"]["overrides"] == []'
expect 0 "arc, trusted" "$bin" check --dns-zone "$zone" --ip 203.0.113.9 \
    --mail-from list@example.net --trusted-arc example.org --json \
    "$tmp/sealed.eml" &&
	json "json: trusted arc overrides" 'd["arc"]["result"] == "pass" and d["dmarc"]["result"] == "fail" and d["verdict"] == "accept" and d["dmarc"]["overrides"][0]["type"] == "local_policy"'
expect 0 "arc, text" "$bin" check --dns-zone "$zone" --ip 203.0.113.9 \
    --mail-from list@example.net "$tmp/sealed.eml" &&
	has "out err" 'arc=pass' "arc in Authentication-Results" &&
	has "out err" '^arc:   pass \(1 set\)' "arc line"
expect 0 "no chain" "$bin" check --dns-zone "$zone" --ip 192.0.2.10 \
    --mail-from alice@example.org --json "$tmp/signed.eml" &&
	json "json: arc none" 'd["arc"]["result"] == "none" and d["arc"]["oldest_pass"] is None'

# 5. Errors: usage and unreadable input.
expect 2 "no --ip" "$bin" check --mail-from a@example.org "$tmp/signed.eml" &&
	has "out err" '--ip is required' "names the option"
expect 2 "null sender without helo" "$bin" check --ip 192.0.2.1 \
    --mail-from '' "$tmp/signed.eml"
printf 'no colon here\n\nbody\n' >"$tmp/bad.eml"
expect 1 "not a message" "$bin" check --dns-zone "$zone" --ip 192.0.2.1 \
    --mail-from a@example.org "$tmp/bad.eml" && has "out err" 'not a message' "says why"

echo "check: $checks checks, $fails failed"
[ "$fails" -eq 0 ]
