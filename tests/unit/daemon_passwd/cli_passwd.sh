#!/bin/sh
# tests/unit/daemon_passwd/cli_passwd.sh - `mailsec passwd`: add, change,
# list, delete, --stdin, --state-dir, file mode, usage errors.
# usage: cli_passwd.sh PATH/TO/mailsec
set -u
mailsec=$1
dir=$(mktemp -d) || exit 1
trap 'rm -rf "$dir"' EXIT
fails=0
check() {	# check NAME CONDITION...
	name=$1
	shift
	if "$@"; then
		echo "ok: $name"
	else
		echo "FAIL: $name"
		fails=$((fails + 1))
	fi
}
f=$dir/passwd

printf 'secret one\n' | "$mailsec" passwd --file "$f" --stdin alice \
    2>"$dir/err"
check "add exits 0" test $? -eq 0
check "add says added" grep -q "added 'alice'" "$dir/err"
check "file is 0600" test "$(stat -c %a "$f")" = 600
b64='[A-Za-z0-9+/]'
check "line format" grep -Eq \
    "^alice:\\\$scrypt\\\$ln=15,r=8,p=1\\\$$b64{22}\\\$$b64{43}\$" "$f"

printf 'pw2\r\n' | "$mailsec" passwd --file "$f" --stdin bob@example.org \
    2>/dev/null
check "second login" test "$(grep -c '^bob@example.org:' "$f")" -eq 1
old=$(grep '^alice:' "$f")
printf 'secret two\n' | "$mailsec" passwd --file "$f" --stdin alice \
    2>"$dir/err"
check "change says changed" grep -q "changed the password of 'alice'" \
    "$dir/err"
check "hash changed" test "$(grep '^alice:' "$f")" != "$old"
check "still one alice" test "$(grep -c '^alice:' "$f")" -eq 1

"$mailsec" passwd --file "$f" --list >"$dir/out"
check "list" test "$(cat "$dir/out")" = "alice
bob@example.org"

"$mailsec" passwd --file "$f" --delete alice 2>/dev/null
check "delete exits 0" test $? -eq 0
check "deleted" test "$(grep -c '^alice:' "$f")" -eq 0
"$mailsec" passwd --file "$f" --delete alice 2>"$dir/err"
check "delete unknown exits 1" test $? -eq 1
check "delete unknown says so" grep -q "no login 'alice'" "$dir/err"

printf '\n' | "$mailsec" passwd --file "$f" --stdin carol 2>"$dir/err"
check "empty password refused" test $? -eq 1
check "empty password message" grep -q "empty password refused" "$dir/err"
check "carol not added" test "$(grep -c '^carol:' "$f")" -eq 0

printf 'x\n' | "$mailsec" passwd --file "$f" --stdin 'a:b' 2>/dev/null
check "bad login is a usage error" test $? -eq 2
"$mailsec" passwd --file "$f" 2>/dev/null
check "no USER is a usage error" test $? -eq 2
"$mailsec" passwd --file "$f" --list --delete x 2>/dev/null
check "two actions is a usage error" test $? -eq 2
"$mailsec" passwd --file 2>/dev/null
check "missing value is a usage error" test $? -eq 2

# no terminal and no --stdin: refused, nothing written
setsid -w "$mailsec" passwd --file "$dir/none" dave </dev/null 2>"$dir/err" \
    >/dev/null
rc=$?
check "no tty refused" test $rc -eq 1
check "no file created" test ! -e "$dir/none"

# --state-dir DIR writes DIR/passwd
mkdir "$dir/state"
printf 'pw\n' | "$mailsec" passwd --state-dir "$dir/state" --stdin erin \
    2>/dev/null
check "state-dir" grep -q '^erin:' "$dir/state/passwd"

# --list of a missing file is an error
"$mailsec" passwd --file "$dir/missing" --list 2>/dev/null
check "list of a missing file fails" test $? -eq 1

# a world-writable file is used, with a warning
chmod 666 "$f"
"$mailsec" passwd --file "$f" --list 2>"$dir/err" >/dev/null
check "world-writable warned" grep -q "world-writable" "$dir/err"

if [ $fails -ne 0 ]; then
	echo "$fails failed"
	exit 1
fi
echo "all passed"
