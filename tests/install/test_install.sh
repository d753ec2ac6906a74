#!/bin/sh
# Installs the build into a scratch prefix and checks what a packager and
# an embedding program see.
# usage: test_install.sh BUILD_DIR SOURCE_DIR [CONSUMER_CFLAGS]
set -eu
build=$1
src=$2
cflags=${3:-}
tmp=$(mktemp -d /tmp/mailsec-install.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix

cmake --install "$build" --prefix "$prefix" >"$tmp/log"
libdir=$(dirname "$(find "$prefix" -name 'libmailsec.so.0' | head -n 1)")
fail=0
for f in bin/mailsec include/mailsec/mailsec.h include/mailsec/dns.h \
    share/man/man1/mailsec.1; do
	[ -e "$prefix/$f" ] || { echo "FAIL: $f not installed"; fail=1; }
done
for f in libmailsec.a libmailsec.so pkgconfig/mailsec.pc; do
	[ -e "$libdir/$f" ] || { echo "FAIL: $libdir/$f not installed"; fail=1; }
done
[ $fail -eq 0 ] || exit 1

# Only mailsec_* leaves the shared library.
leaked=$(nm -D --defined-only "$libdir/libmailsec.so" |
    awk '$2 ~ /^[TDB]$/ && $3 !~ /^mailsec_/ && $3 !~ /^_/ { print $3 }')
if [ -n "$leaked" ]; then
	echo "FAIL: symbols exported beyond mailsec_*:"
	echo "$leaked"
	exit 1
fi

# The public headers stand alone and the library links through the .pc
# (its prefix line is rewritten to the scratch prefix).
sed "s|^prefix=.*|prefix=$prefix|" "$libdir/pkgconfig/mailsec.pc" \
    >"$tmp/mailsec.pc"
cat >"$tmp/use.c" <<'C'
#include <mailsec/mailsec.h>
#include <stdio.h>
#include <string.h>

int
main(void)
{
	struct mailsec_msg *m = NULL;
	struct mailsec_author *a = NULL;
	const char msg[] = "From: A <a@Example.ORG>\r\n\r\nhi\r\n";

	if (mailsec_msg_parse(msg, sizeof msg - 1, NULL, 0, &m, NULL) != 0 ||
	    mailsec_msg_author(m, &a) != 0 || a->ndomains != 1 ||
	    strcmp(a->domains[0], "example.org") != 0)
		return 1;
	printf("%s %s\n", mailsec_version(), a->domains[0]);
	mailsec_author_free(a);
	mailsec_msg_free(m);
	return 0;
}
C
flags=$(PKG_CONFIG_PATH=$tmp pkg-config --cflags --libs mailsec)
# shellcheck disable=SC2086
cc -Wall -Werror $cflags "$tmp/use.c" $flags -Wl,-rpath,"$libdir" -o "$tmp/use"
out=$("$tmp/use")
[ "$out" = "$(sed -n 's/^#define MAILSEC_VERSION_STRING "\(.*\)"/\1/p' \
    "$src/include/mailsec/version.h") example.org" ] ||
    { echo "FAIL: program built against the install printed '$out'"; exit 1; }
"$prefix/bin/mailsec" --version >/dev/null
echo "install: ok ($out)"
