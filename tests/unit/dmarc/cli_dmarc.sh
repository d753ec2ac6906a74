#!/bin/sh
# CLI checks for `mailsec dmarc`: text and --json output, both modes and
# their difference, psd=, np=, tag-by-tag problems, temperror, exit codes.
# usage: cli_dmarc.sh PATH/TO/mailsec SOURCE_DIR
set -u
M=$1
src=$2
Z=$src/examples/dmarc/example.zone
. "$src/tests/lib.sh"
run() { "$M" dmarc "$@" >"$tmp/out" 2>"$tmp/err"; echo $? >"$tmp/rc"; }
rc() { cat "$tmp/rc"; }

run --dns-zone "$Z" example.org --json
check "exit 0" '[ "$(rc)" = 0 ]'
json_ok "own record" 'd["domain"] == "example.org" and d["answer"]["mode"] == "rfc9989" and d["answer"]["policy"] == "reject" and d["answer"]["policy_tag"] == "p" and d["answer"]["queried_name"] == "_dmarc.example.org" and d["answer"]["record"]["adkim"] == "s" and d["answer"]["record"]["rua"][0]["address"] == "dmarc@example.org" and d["differs"] is False and d["rfc7489"]["policy"] == "reject"'

run --dns-zone "$Z" news.example.org --json
json_ok "sp for an existing subdomain" 'd["answer"]["policy"] == "quarantine" and d["answer"]["policy_tag"] == "sp" and d["answer"]["exists"] is True and d["answer"]["org_domain"] == "example.org"'
run --dns-zone "$Z" ghost.example.org --json
json_ok "np for a non-existent subdomain" 'd["answer"]["policy"] == "reject" and d["answer"]["policy_tag"] == "np" and d["answer"]["exists"] is False and d["rfc7489"]["policy"] == "quarantine" and d["differs"] is True'

run --dns-zone "$Z" a.b.example.net
check "walk vs PSL text" 'grep -q "^policy: quarantine (p=) from _dmarc.b.example.net" "$tmp/out" && grep -q "^rfc7489 differs:" "$tmp/out" && grep -q "^  policy: none applies" "$tmp/out" && grep -q "^  organizational domain: example.net" "$tmp/out"'
run --dns-zone "$Z" --rfc7489 a.b.example.net --json
json_ok "--rfc7489 first" 'd["answer"]["mode"] == "rfc7489" and d["answer"]["policy"] is None and d["answer"]["org_domain"] == "example.net" and d["rfc9989"]["policy"] == "quarantine"'

run --dns-zone "$Z" mail.giant.bank.example --json
json_ok "org under a PSD" 'd["answer"]["policy"] == "none" and d["answer"]["policy_domain"] == "giant.bank.example" and d["answer"]["org_domain"] == "giant.bank.example"'
run --dns-zone "$Z" newco.bank.example --json
json_ok "PSD record applies" 'd["answer"]["policy"] == "reject" and d["answer"]["policy_domain"] == "bank.example" and d["answer"]["psd_domain"] == "bank.example"'

run --dns-zone "$Z" sloppy.example --json
json_ok "problems tag by tag" 'd["answer"]["record"]["usable"] is True and d["answer"]["policy"] == "none" and d["rfc7489"]["record"]["pct"] == 50 and any(p["tag"] == "p" and p["severity"] == "error" and p["offset"] == 12 for p in d["answer"]["record"]["problems"]) and any(p["tag"] == "adkim" for p in d["answer"]["record"]["problems"]) and any(p["tag"] == "pct" and p["severity"] == "warning" for p in d["answer"]["record"]["problems"]) and any(p["tag"] == "foo" for p in d["answer"]["record"]["problems"])'
run --dns-zone "$Z" sloppy.example
check "problems text" 'grep -q "^error: p= at offset 12:" "$tmp/out" && grep -q "^warning: foo= at offset" "$tmp/out"'

run --dns-zone "$Z" twice.example --json
json_ok "two records: none" 'd["answer"]["policy"] is None and d["answer"]["result"] == "none"'
run --dns-zone "$Z" broken.example --json
json_ok "temperror" 'd["answer"]["result"] == "temperror" and d["answer"]["policy"] is None'
run --dns-zone "$Z" nothing.example
check "no policy text" 'grep -q "^policy: none applies" "$tmp/out"'

run --dns-zone "$Z"
check "missing domain: usage" '[ "$(rc)" = 2 ]'
run --dns-zone "$Z" "bad domain"
check "bad domain: usage" '[ "$(rc)" = 2 ]'
run --dns-zone "$Z" --bogus example.org
check "unknown option: usage" '[ "$(rc)" = 2 ]'
run --dns-zone "$Z" --psl /nonexistent example.org
check "missing PSL file: error" '[ "$(rc)" = 1 ]'
run --dns-zone /nonexistent example.org
check "missing zone: error" '[ "$(rc)" = 1 ]'

echo "cli_dmarc: $((checks - fails))/$checks passed"
[ "$fails" = 0 ]
