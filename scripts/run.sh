#!/bin/sh
# `make run`: a short demo on the shipped sample message and zone (the
# author analysis, SPF for the sending host, a DKIM signature made and
# verified with RFC 8463's example Ed25519 key, published in the zone,
# and `mailsec check` on the signed and on a spoofed copy),
# then the gateway itself in the foreground: `mailsec serve` with zero
# configuration (loopback ports 2525/2587/2465, state in ./var) and DNS
# from the example zone, so it works offline. It prints a swaks line to
# send a test message; Ctrl-C stops it.
set -eu
bin=${1:-build/cli/mailsec}
cd "$(dirname "$0")/.."
tmp=$(mktemp -d /tmp/mailsec-run.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
zone=examples/example.zone
printf 'nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=' >"$tmp/sel1.key"
chmod 600 "$tmp/sel1.key"
set -x
"$bin" --version
"$bin" message examples/sample.eml
"$bin" dns --dns-zone "$zone" example.org MX
"$bin" spf --dns-zone "$zone" --ip 192.0.2.10 --helo mail.example.org \
    --mail-from alice@example.org
"$bin" dkim sign --domain example.org --selector sel1 --key "$tmp/sel1.key" \
    examples/sample.eml >"$tmp/signed.eml"
"$bin" dkim verify --dns-zone "$zone" "$tmp/signed.eml"
"$bin" check --dns-zone "$zone" --ip 192.0.2.10 --mail-from alice@example.org \
    --authserv-id mx.example.net "$tmp/signed.eml"
"$bin" check --dns-zone "$zone" --ip 203.0.113.5 --mail-from alice@example.org \
    --authserv-id mx.example.net examples/sample.eml
set +x
rm -rf "$tmp"
trap - EXIT
echo
echo "== the gateway (Ctrl-C stops it; docs/gateway.md) =="
exec "$bin" serve --foreground --dns-zone "$zone"
