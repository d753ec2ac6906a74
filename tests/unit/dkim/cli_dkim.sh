#!/bin/sh
# CLI checks for `mailsec dkim`: keygen (file mode, record), sign (several
# signatures, LF files, options), verify (--json shape, --trace, tamper),
# record, and exit codes 0/1/2.
# usage: cli_dkim.sh PATH/TO/mailsec SOURCE_DIR
set -u
M=$1
src=$2
. "$src/tests/lib.sh"

$M dkim keygen --domain example.org --selector r1 --out "$tmp" \
    > "$tmp/r1.out" ||
    bad "keygen rsa"
$M dkim keygen --domain example.org --selector e1 --type ed25519 \
    --out "$tmp" > "$tmp/e1.out" || bad "keygen ed25519"
check "key mode 0600" '[ "$(stat -c %a "$tmp/r1.example.org.private")" = 600 ]'
check "keygen refuses to overwrite" \
    '! $M dkim keygen --domain example.org --selector r1 --out "$tmp" \
    >/dev/null 2>&1'
check "zone strings <= 255" \
    '! grep -q "\"[^\"]\{256,\}\"" "$tmp/r1.out"'
# Zone from the zone-file form keygen printed.
grep -v '^;' "$tmp/r1.out" | sed '/^v=DKIM1/d' > "$tmp/z.zone"
grep -v '^;' "$tmp/e1.out" | sed '/^v=DKIM1/d' >> "$tmp/z.zone"
printf '%s\n' "revoked._domainkey.example.org. IN TXT \"v=DKIM1; p=\"" \
    >> "$tmp/z.zone"

printf 'From: a@example.org\nTo: b@example.net\nSubject: hi\n\nbody  \n\n' \
    > "$tmp/lf.eml"
$M dkim sign --domain example.org --selector r1 \
    --key "$tmp/r1.example.org.private" --selector e1 \
    --key "$tmp/e1.example.org.private" "$tmp/lf.eml" > "$tmp/s.eml" ||
    bad "sign two keys"
check "LF in, LF out" '! grep -q "$(printf "\r")" "$tmp/s.eml"'
check "two signatures" '[ "$(grep -c "^DKIM-Signature:" "$tmp/s.eml")" = 2 ]'
check "same t= for both" \
    '[ "$(grep -o "t=[0-9]*;" "$tmp/s.eml" | sort -u | wc -l)" = 1 ]'
$M dkim verify --dns-zone "$tmp/z.zone" --json "$tmp/s.eml" > "$tmp/v.json" ||
    bad "verify exit"
check "json shape" "/usr/bin/python3 -c '
import json,sys
d=json.load(open(sys.argv[1]))
s=d[\"signatures\"]
assert [x[\"result\"] for x in s]==[\"pass\",\"pass\"], s
assert [x[\"algorithm\"] for x in s]==[\"rsa-sha256\",\"ed25519-sha256\"]
for x in s:
    for k in (\"domain\",\"selector\",\"reason\"): assert x[k]
' '$tmp/v.json'"
sed 's/^body/Body/' "$tmp/s.eml" > "$tmp/t.eml"
$M dkim verify --dns-zone "$tmp/z.zone" --trace "$tmp/t.eml" > "$tmp/t.out"
check "tamper: body hash" 'grep -q "fail (body hash did not verify)" "$tmp/t.out"'
check "trace shows hashes" 'grep -q "body hash computed:" "$tmp/t.out" &&
    grep -q "dkim-signature:v=1" "$tmp/t.out"'
$M dkim sign --domain example.org --selector revoked \
    --key "$tmp/r1.example.org.private" --canon simple/simple --expire 60 \
    --headers from:to:subject "$tmp/lf.eml" > "$tmp/rv.eml" || bad "sign opts"
check "simple canon, x=, h=" 'grep -q "c=simple/simple;" "$tmp/rv.eml" &&
    grep -q "x=" "$tmp/rv.eml" && grep -q "h=from:to:subject;" "$tmp/rv.eml"'
check "revoked key" '$M dkim verify --dns-zone "$tmp/z.zone" "$tmp/rv.eml" |
    grep -q "permerror (key revoked"'
check "record: usable" '$M dkim record --domain example.org --selector e1 \
    --dns-zone "$tmp/z.zone" | grep -q "usable"'
check "record: json" '$M dkim record --domain example.org --selector r1 \
    --dns-zone "$tmp/z.zone" --json | grep -q "\"key_bits\": 2048"'
check "no signatures" \
    '$M dkim verify --dns-zone "$tmp/z.zone" "$tmp/lf.eml" | grep -q "no DKIM"'
$M dkim sign --domain example.org --selector r1 "$tmp/lf.eml" >/dev/null 2>&1
check "usage error exit 2" '[ $? = 2 ]'
$M dkim sign --domain example.org --selector r1 --key /nonexistent \
    "$tmp/lf.eml" >/dev/null 2>&1
check "missing key exit 1" '[ $? = 1 ]'
printf 'To: b@example.net\n\nx\n' > "$tmp/nofrom.eml"
$M dkim sign --domain example.org --selector r1 \
    --key "$tmp/r1.example.org.private" "$tmp/nofrom.eml" >/dev/null 2>&1
check "no From exit 1" '[ $? = 1 ]'
$M dkim bogus >/dev/null 2>&1
check "unknown subcommand exit 2" '[ $? = 2 ]'
check "help" '$M help dkim | grep -q "mailsec dkim verify"'

echo "cli_dkim: $checks checks, $fails failed"
[ "$fails" = 0 ]
