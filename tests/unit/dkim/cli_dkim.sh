#!/bin/sh
# CLI checks for `mailsec dkim`: keygen (file mode, record), sign (several
# signatures, LF files, options), verify (--json shape, --trace, tamper),
# record, and exit codes 0/1/2.
# usage: cli_dkim.sh PATH/TO/mailsec
set -u
M=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
n=0
ok() { n=$((n + 1)); }
bad() { n=$((n + 1)); fails=$((fails + 1)); echo "FAIL: $*"; }
check() { if eval "$2"; then ok; else bad "$1"; fi; }

$M dkim keygen --domain example.org --selector r1 --out "$T" > "$T/r1.out" ||
    bad "keygen rsa"
$M dkim keygen --domain example.org --selector e1 --type ed25519 \
    --out "$T" > "$T/e1.out" || bad "keygen ed25519"
check "key mode 0600" '[ "$(stat -c %a "$T/r1.example.org.private")" = 600 ]'
check "keygen refuses to overwrite" \
    '! $M dkim keygen --domain example.org --selector r1 --out "$T" \
    >/dev/null 2>&1'
check "zone strings <= 255" \
    '! grep -q "\"[^\"]\{256,\}\"" "$T/r1.out"'
# Zone from the zone-file form keygen printed.
grep -v '^;' "$T/r1.out" | sed '/^v=DKIM1/d' > "$T/z.zone"
grep -v '^;' "$T/e1.out" | sed '/^v=DKIM1/d' >> "$T/z.zone"
printf '%s\n' "revoked._domainkey.example.org. IN TXT \"v=DKIM1; p=\"" \
    >> "$T/z.zone"

printf 'From: a@example.org\nTo: b@example.net\nSubject: hi\n\nbody  \n\n' \
    > "$T/lf.eml"
$M dkim sign --domain example.org --selector r1 \
    --key "$T/r1.example.org.private" --selector e1 \
    --key "$T/e1.example.org.private" "$T/lf.eml" > "$T/s.eml" ||
    bad "sign two keys"
check "LF in, LF out" '! grep -q "$(printf "\r")" "$T/s.eml"'
check "two signatures" '[ "$(grep -c "^DKIM-Signature:" "$T/s.eml")" = 2 ]'
check "same t= for both" \
    '[ "$(grep -o "t=[0-9]*;" "$T/s.eml" | sort -u | wc -l)" = 1 ]'
$M dkim verify --dns-zone "$T/z.zone" --json "$T/s.eml" > "$T/v.json" ||
    bad "verify exit"
check "json shape" "/usr/bin/python3 -c '
import json,sys
d=json.load(open(sys.argv[1]))
s=d[\"signatures\"]
assert [x[\"result\"] for x in s]==[\"pass\",\"pass\"], s
assert [x[\"algorithm\"] for x in s]==[\"rsa-sha256\",\"ed25519-sha256\"]
for x in s:
    for k in (\"domain\",\"selector\",\"reason\"): assert x[k]
' '$T/v.json'"
sed 's/^body/Body/' "$T/s.eml" > "$T/t.eml"
$M dkim verify --dns-zone "$T/z.zone" --trace "$T/t.eml" > "$T/t.out"
check "tamper: body hash" 'grep -q "fail (body hash did not verify)" "$T/t.out"'
check "trace shows hashes" 'grep -q "body hash computed:" "$T/t.out" &&
    grep -q "dkim-signature:v=1" "$T/t.out"'
$M dkim sign --domain example.org --selector revoked \
    --key "$T/r1.example.org.private" --canon simple/simple --expire 60 \
    --headers from:to:subject "$T/lf.eml" > "$T/rv.eml" || bad "sign opts"
check "simple canon, x=, h=" 'grep -q "c=simple/simple;" "$T/rv.eml" &&
    grep -q "x=" "$T/rv.eml" && grep -q "h=from:to:subject;" "$T/rv.eml"'
check "revoked key" '$M dkim verify --dns-zone "$T/z.zone" "$T/rv.eml" |
    grep -q "permerror (key revoked"'
check "record: usable" '$M dkim record --domain example.org --selector e1 \
    --dns-zone "$T/z.zone" | grep -q "usable"'
check "record: json" '$M dkim record --domain example.org --selector r1 \
    --dns-zone "$T/z.zone" --json | grep -q "\"key_bits\": 2048"'
check "no signatures" \
    '$M dkim verify --dns-zone "$T/z.zone" "$T/lf.eml" | grep -q "no DKIM"'
$M dkim sign --domain example.org --selector r1 "$T/lf.eml" >/dev/null 2>&1
check "usage error exit 2" '[ $? = 2 ]'
$M dkim sign --domain example.org --selector r1 --key /nonexistent \
    "$T/lf.eml" >/dev/null 2>&1
check "missing key exit 1" '[ $? = 1 ]'
printf 'To: b@example.net\n\nx\n' > "$T/nofrom.eml"
$M dkim sign --domain example.org --selector r1 \
    --key "$T/r1.example.org.private" "$T/nofrom.eml" >/dev/null 2>&1
check "no From exit 1" '[ $? = 1 ]'
$M dkim bogus >/dev/null 2>&1
check "unknown subcommand exit 2" '[ $? = 2 ]'
check "help" '$M help dkim | grep -q "mailsec dkim verify"'

echo "cli_dkim: $n checks, $fails failed"
[ "$fails" = 0 ]
