#!/bin/sh
# `make run`: until the gateway lands, show the fullest verdict the
# command gives so far on the shipped sample message and zone.
set -eu
bin=${1:-build/cli/mailsec}
cd "$(dirname "$0")/.."
set -x
"$bin" --version
"$bin" message examples/sample.eml
"$bin" dns --dns-zone examples/example.zone example.org MX
"$bin" dns --dns-zone examples/example.zone _dmarc.example.org TXT
"$bin" dns --dns-zone examples/example.zone nonexistent.example.org TXT
