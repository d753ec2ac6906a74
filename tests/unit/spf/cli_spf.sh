#!/bin/sh
# CLI checks for `mailsec spf`: text and --json output, --trace, the null
# reverse-path (HELO identity), explanations, exit codes 0/1/2.
# usage: cli_spf.sh PATH/TO/mailsec SOURCE_DIR
set -u
M=$1
src=$2
Z=$src/examples/example.zone
. "$src/tests/lib.sh"
run() { "$M" spf "$@" >"$tmp/out" 2>"$tmp/err"; echo $? >"$tmp/rc"; }
rc() { cat "$tmp/rc"; }

run --dns-zone "$Z" --ip 192.0.2.25 --mail-from alice@example.org --json
check "pass exit 0" '[ "$(rc)" = 0 ]'
json_ok "pass by ip4" 'd["result"] == "pass" and d["mechanism"] == "ip4:192.0.2.0/24" and d["lookups"] == 0 and d["explanation"] is None and d["received_spf"].startswith("pass (") and "identity=mailfrom" in d["received_spf"] and d["authentication_results"] == "spf=pass smtp.mailfrom=alice@example.org"'

run --dns-zone "$Z" --ip 198.51.100.7 --mail-from alice@example.org --json --trace
json_ok "pass through include" 'd["result"] == "pass" and d["mechanism"] == "include:_spf.example.net" and d["lookups"] == 1 and any(e["kind"] == "query" and "_spf.example.net TXT" in e["text"] for e in d["trace"]) and any(e["depth"] == 1 for e in d["trace"])'

run --dns-zone "$Z" --ip 203.0.113.9 --mail-from alice@example.org --json
check "fail exit 0" '[ "$(rc)" = 0 ]'
json_ok "fail with explanation" 'd["result"] == "fail" and d["mechanism"] == "-all" and isinstance(d["explanation"], str) and "203.0.113.9" in d["explanation"]'

run --dns-zone "$Z" --ip 2001:db8:5::1 --mail-from bob@example.org
check "text output" 'grep -q "^spf: pass" "$tmp/out" && grep -q "^Received-SPF: pass" "$tmp/out"'
check "authserv-id defaults to unknown" 'grep -q "^Authentication-Results: unknown; spf=pass smtp.mailfrom=bob@example.org$" "$tmp/out"'
run --dns-zone "$Z" --ip 2001:db8:5::1 --mail-from bob@example.org --receiver mx.example.net
check "authserv-id is the receiver" 'grep -q "^Authentication-Results: mx.example.net; spf=pass" "$tmp/out" && grep -q "receiver=mx.example.net;" "$tmp/out"'

run --dns-zone "$Z" --ip 2001:db8:99::1 --mail-from bob@example.org --trace
check "trace text" 'grep -q "? query _spf.example.net TXT" "$tmp/out" && grep -q "^spf: fail" "$tmp/out"'

# Null reverse-path: postmaster@HELO, identity helo.
run --dns-zone "$Z" --ip 192.0.2.30 --mail-from '' --helo relay.example.org --json
json_ok "helo pass" 'd["result"] == "pass" and d["identity"] == "helo" and d["sender"] == "postmaster@relay.example.org" and d["authentication_results"] == "spf=pass smtp.helo=relay.example.org" and "envelope-from" not in d["received_spf"]'
run --dns-zone "$Z" --ip 192.0.2.31 --mail-from '' --helo relay.example.org --json
json_ok "helo fail" 'd["result"] == "fail" and d["mechanism"] == "-all"'

run --dns-zone "$Z" --ip 192.0.2.1 --mail-from a@nope.example.org --json
json_ok "none" 'd["result"] == "none" and d["mechanism"] is None'

printf '%s\n' 'x.test. TXT "v=spf1 a:%{q}.test -all"' > "$tmp/z"
run --dns-zone "$tmp/z" --ip 192.0.2.1 --mail-from a@x.test --json
json_ok "permerror" 'd["result"] == "permerror" and "problem=" in d["received_spf"] and d["problem"]'
printf '%s\n' 'y.test. TXT "v=spf1 a:slow.test -all"' '$TIMEOUT slow.test.' > "$tmp/z"
run --dns-zone "$tmp/z" --ip 192.0.2.1 --mail-from a@y.test --json
json_ok "temperror" 'd["result"] == "temperror"'

run --dns-zone "$Z" --ip 192.0.2.300 --mail-from a@example.org
check "bad ip exit 1" '[ "$(rc)" = 1 ] && grep -q "not an IPv4 or IPv6" "$tmp/err"'
run --dns-zone "$Z" --mail-from a@example.org
check "no --ip exit 2" '[ "$(rc)" = 2 ]'
run --dns-zone "$Z" --ip 192.0.2.1
check "no --mail-from exit 2" '[ "$(rc)" = 2 ]'
run --dns-zone "$Z" --ip 192.0.2.1 --mail-from a@example.org --bogus
check "unknown option exit 2" '[ "$(rc)" = 2 ]'
run --dns-zone /nonexistent --ip 192.0.2.1 --mail-from a@example.org
check "missing zone exit 1" '[ "$(rc)" = 1 ]'
"$M" help spf >"$tmp/out" 2>&1
check "help" 'grep -q "usage: mailsec spf" "$tmp/out"'

echo "cli_spf: $checks checks, $fails failed"
[ "$fails" -eq 0 ]
