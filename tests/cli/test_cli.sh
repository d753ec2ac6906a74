#!/bin/sh
# Checks the `mailsec` command as a user meets it: exit status 0 (done),
# 1 (input/runtime error, one line on stderr), 2 (usage error), help on
# every command, and --json output that parses.
# usage: test_cli.sh MAILSEC_BINARY SOURCE_DIR
set -u
bin=$1
src=$2
. "$src/tests/lib.sh"

# --- version, help, usage errors
expect 0 "version" -- "$bin" --version && has out '^mailsec [0-9]+\.' "version"
expect 0 "help" -- "$bin" help && has out 'commands:' "overview"
expect 2 "no command" -- "$bin"
expect 2 "unknown command" -- "$bin" frobnicate && has err "unknown command 'frobnicate'" "names it"
for c in message dns help version; do
	expect 0 "help $c" -- "$bin" help "$c" && has out "usage: mailsec $c" "usage of $c"
	expect 0 "$c --help" -- "$bin" "$c" --help && has out "usage: mailsec $c" "usage of $c"
done
expect 2 "help unknown" -- "$bin" help nope
expect 2 "unknown option" -- "$bin" message --bogus && has err "unknown option '--bogus'" "names the option"
expect 2 "dns without name" -- "$bin" dns
expect 2 "dns bad type" -- "$bin" dns example.org NOPE && has err "unknown record type" "says why"
expect 2 "dns option without value" -- "$bin" dns example.org --dns-zone

# --- message
expect 0 "message sample" -- "$bin" message "$src/examples/sample.eml"
has out 'author: ok' "sample author ok"
has out 'author domain: example.org' "sample author domain"
expect 0 "message --json" -- "$bin" message --json --headers "$src/examples/sample.eml"
json_ok "message json" 'd["author"]["status"] == "ok" and d["author"]["domains"] == ["example.org"] and d["fields"] == 10 and d["converted_from_lf"] is True and d["headers"][0]["name"] == "Return-Path"'

printf 'From: a@one.example, b@two.example\r\nSubject: x\r\n\r\nbody\r\n' >"$tmp/multi.eml"
expect 0 "multi-author" -- "$bin" message --json "$tmp/multi.eml"
json_ok "multiple addresses" 'd["author"]["status"] == "multiple_addresses" and d["author"]["domains"] == ["one.example", "two.example"] and d["converted_from_lf"] is False'

printf 'Subject: no author\r\n\r\n' >"$tmp/nofrom.eml"
expect 0 "no From" -- "$bin" message --json "$tmp/nofrom.eml"
json_ok "no From" 'd["author"]["status"] == "no_from" and d["author"]["domains"] == []'

printf 'From: a@x.example\nFrom: b@y.example\n\nbody\n' >"$tmp/twofrom.eml"
expect 0 "two From" -- "$bin" message --json "$tmp/twofrom.eml"
json_ok "two From" 'd["author"]["status"] == "multiple_from" and d["author"]["from_fields"] == 2'

printf 'From: undisclosed-recipients:;\n\n' >"$tmp/group.eml"
expect 0 "empty group" -- "$bin" message --json "$tmp/group.eml"
json_ok "empty group From" 'd["author"]["status"] == "unparseable" and d["author"]["reason"]'

printf 'From: a@x.example\nthis line has no colon\n\nbody\n' >"$tmp/bad.eml"
expect 1 "not a message" -- "$bin" message "$tmp/bad.eml"
has err 'not a message: .*line 2' "names the line"
checks=$((checks + 1))
[ "$(wc -l <"$tmp/err")" -eq 1 ] || { echo "FAIL: error is not one line"; fails=$((fails + 1)); }
expect 1 "missing file" -- "$bin" message "$tmp/does-not-exist.eml"
has err 'does-not-exist.eml: No such file' "names the file"
expect 0 "stdin" -- sh -c "\"$bin\" message --json < \"$src/examples/sample.eml\""
json_ok "stdin message" 'd["author"]["domains"] == ["example.org"]'

# --- dns through the zone backend
zone="$src/examples/example.zone"
expect 0 "dns MX" -- "$bin" dns --dns-zone "$zone" example.org MX --json
json_ok "MX answer" 'd["status"] == "answer" and sorted(r["data"]["preference"] for r in d["records"]) == [10, 20] and d["secure"] is False'
expect 0 "dns TXT joined" -- "$bin" dns --dns-zone "$zone" sel1._domainkey.example.org --json
json_ok "TXT strings joined" 'd["records"][0]["data"].startswith("v=DKIM1; k=ed25519; p=11qY")'
expect 0 "dns TLSA" -- "$bin" dns --dns-zone "$zone" _25._tcp.mail.example.org TLSA --json
json_ok "TLSA" 'd["records"][0]["data"]["usage"] == 3 and d["records"][0]["data"]["data"].startswith("0c72ac70")'
expect 0 "dns nxdomain" -- "$bin" dns --dns-zone "$zone" nope.example.org TXT --json
json_ok "NXDOMAIN" 'd["status"] == "nxdomain" and d["records"] == []'
expect 0 "dns nodata" -- "$bin" dns --dns-zone "$zone" mail.example.org TXT --json
json_ok "NODATA" 'd["status"] == "nodata"'
expect 0 "dns text" -- "$bin" dns --dns-zone "$zone" mail.example.org AAAA
has out 'mail.example.org AAAA: answer \(1 record, not DNSSEC-validated\)' "text form"
has out '2001:db8::10' "address shown"
expect 1 "dns bad name" -- "$bin" dns --dns-zone "$zone" 'a..b' TXT
has err 'not a valid DNS name' "says why"
printf 'bad line without type\n' >"$tmp/bad.zone"
expect 1 "bad zone" -- "$bin" dns --dns-zone "$tmp/bad.zone" x.example TXT
has err 'bad.zone: line 1: ' "zone error names file and line"
expect 2 "bad timeout" -- "$bin" dns --dns-timeout 0 example.org

echo "cli: $checks checks, $fails failed"
[ "$fails" -eq 0 ]
