#!/bin/sh
# `make run`: until the gateway lands, show the fullest verdict the
# command gives so far on the shipped sample message and zone: the
# author analysis, SPF for the sending host, and a DKIM signature made
# and verified (RFC 8463's example Ed25519 key, published in the zone).
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
