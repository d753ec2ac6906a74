#!/bin/sh
# `mailsec arc verify | seal` end to end: two hops (Ed25519 then RSA keys
# from `mailsec dkim keygen`, a zone file for the keys, SPF and DMARC of
# the author's domain), the first hop assessing the message itself
# (--ip/--mail-from), the second copying its Authentication-Results;
# the JSON the issue promises (result, instances, oldest_pass, reason);
# a changed body, a removed seal and a cv=fail chain; LF files in, LF
# out; usage errors.
# usage: test_arc.sh MAILSEC_BINARY SOURCE_DIR
set -u
bin=$1
src=$2
. "$src/tests/lib.sh"

# keys and zone
expect 0 "keygen ed25519" "$bin" dkim keygen --domain list.example \
    --selector ed --type ed25519 --out "$tmp" && cp "$tmp/out" "$tmp/ed.txt"
expect 0 "keygen rsa" "$bin" dkim keygen --domain fwd.example --selector rsa \
    --type rsa --bits 1024 --out "$tmp" && cp "$tmp/out" "$tmp/rsa.txt"
{
	sed -n '/IN TXT (/,/)/p' "$tmp/ed.txt" "$tmp/rsa.txt"
	echo 'orig.example. IN TXT "v=spf1 ip4:192.0.2.1 -all"'
	echo '_dmarc.orig.example. IN TXT "v=DMARC1; p=reject"'
} >"$tmp/zone"
printf 'From: Alice <alice@orig.example>\nTo: list@list.example\nSubject: hi\nDate: Mon, 01 Jan 2024 10:00:00 +0000\nMessage-ID: <1@orig.example>\n\nHello list.\n' \
    >"$tmp/m0.eml"

# no chain
expect 0 "verify, no chain" "$bin" arc verify --json --dns-zone "$tmp/zone" \
    "$tmp/m0.eml" &&
    json_ok "none: result, instances, oldest_pass, reason" \
    'd["result"] == "none" and d["instances"] == 0 and d["oldest_pass"] is None and d["reason"]'

# hop 1: the list assesses the message itself
expect 0 "seal hop 1 (assessing)" "$bin" arc seal --dns-zone "$tmp/zone" \
    --domain list.example --selector ed --key "$tmp/ed.list.example.private" \
    --authserv-id mx.list.example --ip 192.0.2.1 \
    --mail-from alice@orig.example --time 1700000000 "$tmp/m0.eml" &&
    cp "$tmp/out" "$tmp/m1.eml"
has "out err" '^ARC-Seal: i=1; a=ed25519-sha256; cv=none; d=list.example; s=ed;' \
    "hop 1 seal on top, cv=none"
has "out err" '^ARC-Authentication-Results: i=1; mx.list.example; arc=none' \
    "hop 1 AAR from its own assessment"
has "out err" 'spf=pass smtp.mailfrom=alice@orig.example' "hop 1 AAR has SPF"
has "out err" 'dmarc=pass header.from=orig.example' "hop 1 AAR has DMARC"
if grep -q "$(printf '\r')" "$tmp/m1.eml"; then
	echo "FAIL: an LF file came out with CR"
	fails=$((fails + 1))
fi
checks=$((checks + 1))
expect 0 "verify hop 1" "$bin" arc verify --json --dns-zone "$tmp/zone" \
    "$tmp/m1.eml" &&
    json_ok "one set passes" \
    'd["result"] == "pass" and d["instances"] == 1 and d["oldest_pass"] == 0 and d["sets"][0]["seal"]["domain"] == "list.example"'

# hop 2: a forwarder that recorded its Authentication-Results on arrival
{
	echo 'Authentication-Results: mx.fwd.example; arc=pass'
	echo '  header.oldest-pass=0; spf=fail smtp.mailfrom=alice@orig.example'
	cat "$tmp/m1.eml"
} >"$tmp/m1ar.eml"
expect 0 "seal hop 2 (copying AR)" "$bin" arc seal --dns-zone "$tmp/zone" \
    --domain fwd.example --selector rsa --key "$tmp/rsa.fwd.example.private" \
    --authserv-id mx.fwd.example --algorithm rsa-sha256 "$tmp/m1ar.eml" &&
    cp "$tmp/out" "$tmp/m2.eml"
has "out err" '^ARC-Seal: i=2; a=rsa-sha256; cv=pass; d=fwd.example; s=rsa;' \
    "hop 2 seal, cv=pass"
has "out err" '^ARC-Authentication-Results: i=2; mx.fwd.example; arc=pass' \
    "hop 2 AAR copies the AR"
expect 0 "verify hop 2" "$bin" arc verify --json --dns-zone "$tmp/zone" \
    "$tmp/m2.eml" &&
    json_ok "two sets pass" \
    'd["result"] == "pass" and d["instances"] == 2 and d["oldest_pass"] == 0 and [s["cv"] for s in d["sets"]] == ["none", "pass"] and "arc=pass" in d["authentication_results"]'
expect 0 "verify hop 2, text" "$bin" arc verify --dns-zone "$tmp/zone" \
    "$tmp/m2.eml" && has "out err" '^arc: pass \(2 sets, oldest-pass 0\)' "text verdict"

# breakage, each with its reason
sed 's/Hello list./Hello list!/' "$tmp/m2.eml" >"$tmp/bad1.eml"
expect 0 "verify changed body" "$bin" arc verify --json --dns-zone "$tmp/zone" \
    "$tmp/bad1.eml" &&
    json_ok "changed body: AMS(2) fails" \
    'd["result"] == "fail" and d["oldest_pass"] is None and d["reason_code"] == "ams" and d["fail_instance"] == 2 and "AMS(2)" in d["reason"]'
awk 'BEGIN{skip=0} /^ARC-Seal: i=1;/{skip=1; next} skip && /^[ \t]/{next} {skip=0; print}' \
    "$tmp/m2.eml" >"$tmp/bad2.eml"
expect 0 "verify without AS(1)" "$bin" arc verify --json --dns-zone "$tmp/zone" \
    "$tmp/bad2.eml" &&
    json_ok "no AS(1): structure" \
    'd["result"] == "fail" and d["reason_code"] == "missing" and "ARC-Seal" in d["reason"]'
expect 0 "seal the changed body" "$bin" arc seal --dns-zone "$tmp/zone" \
    --domain fwd.example --selector rsa --key "$tmp/rsa.fwd.example.private" \
    --authserv-id mx.other.example --ip 198.51.100.1 --mail-from '' \
    --helo relay.example "$tmp/bad1.eml" && cp "$tmp/out" "$tmp/m3.eml"
has "out err" '^ARC-Seal: i=3; a=rsa-sha256; cv=fail;' "a failed chain is sealed cv=fail"
expect 0 "seal a cv=fail chain" "$bin" arc seal --dns-zone "$tmp/zone" \
    --domain fwd.example --selector rsa --key "$tmp/rsa.fwd.example.private" \
    --authserv-id mx.other.example --ip 198.51.100.1 --mail-from '' \
    --helo relay.example "$tmp/m3.eml"
has "out err" 'not sealed: the chain already failed' "no set after cv=fail"
checks=$((checks + 1))
if ! cmp -s "$tmp/out" "$tmp/m3.eml"; then
	echo "FAIL: a cv=fail chain came out changed"
	fails=$((fails + 1))
fi

# usage and input errors
expect 2 "seal without a key" "$bin" arc seal --domain a.example \
    --selector s --authserv-id mx "$tmp/m0.eml"
has "out err" 'seal needs --domain, --selector, --key and --authserv-id' "usage text"
expect 1 "seal with no AR and no --ip" "$bin" arc seal --dns-zone "$tmp/zone" \
    --domain list.example --selector ed --key "$tmp/ed.list.example.private" \
    --authserv-id mx.nobody.example "$tmp/m0.eml"
has "out err" 'give --ip and --mail-from' "says how to assess"
expect 2 "bad algorithm" "$bin" arc seal --algorithm rsa-sha1 --domain a \
    --selector s --key k --authserv-id mx "$tmp/m0.eml"
expect 1 "algorithm not the key's" "$bin" arc seal --dns-zone "$tmp/zone" \
    --domain list.example --selector ed --key "$tmp/ed.list.example.private" \
    --authserv-id mx.list.example --algorithm rsa-sha256 --ip 192.0.2.1 \
    --mail-from alice@orig.example "$tmp/m0.eml"
expect 2 "unknown subcommand" "$bin" arc frobnicate
expect 2 "unknown option" "$bin" arc verify --bogus "$tmp/m0.eml"
expect 1 "missing file" "$bin" arc verify --dns-zone "$tmp/zone" "$tmp/nope.eml"
expect 0 "help" "$bin" help arc && has "out err" 'mailsec arc seal' "help text"

echo "cli arc: $((checks - fails))/$checks checks passed"
[ "$fails" -eq 0 ]
