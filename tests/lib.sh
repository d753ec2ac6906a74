# The prelude the shell tests share: source it with
#	. "$src/tests/lib.sh"
# It makes $tmp (a directory removed on exit) and the counters $checks and
# $fails, and gives the helpers below. A test ends with its own summary
# line and `[ "$fails" -eq 0 ]`.
tmp=$(mktemp -d /tmp/mailsec-test.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT
fails=0
checks=0

# ok: one check passed; bad MESSAGE: one check failed, says why
ok() {
	checks=$((checks + 1))
}

bad() {
	checks=$((checks + 1))
	fails=$((fails + 1))
	echo "FAIL: $*"
}

# check DESCRIPTION SHELL-CONDITION: evaluates the condition; on failure
# shows $tmp/out and $tmp/err where they exist
check() {
	if eval "$2"; then
		ok
	else
		bad "$1"
		for checkf in out err; do
			if [ -s "$tmp/$checkf" ]; then
				sed "s/^/  $checkf: /" "$tmp/$checkf" | head -20
			fi
		done
	fi
}

# expect STATUS DESCRIPTION [--] COMMAND...: runs it, output in
# $tmp/out and $tmp/err; returns 1 when the exit status is not STATUS
expect() {
	want=$1 what=$2
	shift 2
	if [ "${1-}" = "--" ]; then shift; fi
	checks=$((checks + 1))
	"$@" >"$tmp/out" 2>"$tmp/err"
	got=$?
	if [ "$got" -ne "$want" ]; then
		echo "FAIL: $what: exit $got, wanted $want: $*"
		sed 's/^/  stdout: /' "$tmp/out" | head -20
		sed 's/^/  stderr: /' "$tmp/err" | head -20
		fails=$((fails + 1))
		return 1
	fi
	return 0
}

# has "FILE..." PATTERN DESCRIPTION: grep -E on the named files of $tmp
# (one name, or several separated by spaces: "out err")
has() {
	checks=$((checks + 1))
	hasfiles=
	for hasf in $1; do
		hasfiles="$hasfiles $tmp/$hasf"
	done
	# shellcheck disable=SC2086 # $tmp holds no spaces (mktemp above)
	if ! grep -Eq -- "$2" $hasfiles; then
		echo "FAIL: $3: no /$2/ in $1:"
		# shellcheck disable=SC2086
		sed 's/^/  /' $hasfiles | head -30
		fails=$((fails + 1))
	fi
}

# json_ok DESCRIPTION PYTHON-EXPRESSION: the expression, over d (the JSON
# object in $tmp/out), is true
json_ok() {
	checks=$((checks + 1))
	if ! /usr/bin/python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert eval(sys.argv[2]), d' "$tmp/out" "$2" >"$tmp/pyerr" 2>&1; then
		echo "FAIL: $1"
		sed 's/^/  /' "$tmp/pyerr" | tail -5
		fails=$((fails + 1))
	fi
}
