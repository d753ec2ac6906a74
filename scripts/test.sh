#!/bin/sh
# The whole test run behind `make test`:
#   1. the CTest suite, normal build (warnings are errors)
#   2. the same suite built with AddressSanitizer + UBSan
#   3. a short run of every libFuzzer target over its seed corpus
# and it ends with the CTest summary lines of both runs.
# Environment: JOBS (parallelism), FUZZ_SECONDS (per target, default 15),
# MAILSEC_TESTSUITES (the shared conformance suites).
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
FUZZ_SECONDS=${FUZZ_SECONDS:-15}
logs=$(mktemp -d /tmp/mailsec-test.XXXXXX)
status=0

suite() {	# suite NAME BUILD_DIR CMAKE_ARGS...
	name=$1 dir=$2
	shift 2
	echo "==> [$name] configure and build in $dir"
	if ! cmake -S . -B "$dir" "$@" >"$logs/$name.configure" 2>&1; then
		cat "$logs/$name.configure"
		echo "[$name] configure FAILED" >"$logs/$name.summary"
		status=1
		return
	fi
	if ! cmake --build "$dir" -j "$JOBS" >"$logs/$name.build" 2>&1; then
		cat "$logs/$name.build"
		echo "[$name] build FAILED" >"$logs/$name.summary"
		status=1
		return
	fi
	echo "==> [$name] ctest"
	(cd "$dir" && ctest --output-on-failure -j "$JOBS" --timeout 600) \
	    >"$logs/$name.ctest" 2>&1
	rc=$?
	cat "$logs/$name.ctest"
	[ $rc -eq 0 ] || status=1
	{
		grep -E 'tests passed|tests failed' "$logs/$name.ctest" |
		    sed "s/^/[$name] /"
		grep -E '^Total Test time' "$logs/$name.ctest" |
		    sed "s/^/[$name] /"
	} >"$logs/$name.summary"
	[ -s "$logs/$name.summary" ] ||
	    echo "[$name] ctest produced no summary (rc $rc)" >"$logs/$name.summary"
}

suite plain build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMAILSEC_WERROR=ON
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1} \
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
    suite asan+ubsan build-asan -DCMAKE_BUILD_TYPE=Debug \
    -DMAILSEC_SANITIZE=ON -DMAILSEC_WERROR=ON

echo "==> [fuzz] build with clang in build-fuzz"
fuzzsum="$logs/fuzz.summary"
: >"$fuzzsum"
if CC=clang cmake -S . -B build-fuzz -DMAILSEC_FUZZ=ON \
    -DCMAKE_BUILD_TYPE=Debug >"$logs/fuzz.build" 2>&1 &&
    cmake --build build-fuzz -j "$JOBS" >>"$logs/fuzz.build" 2>&1; then
	for bin in build-fuzz/fuzz/fuzz_*; do
		[ -x "$bin" ] || continue
		name=${bin##*/fuzz_}
		seeds="$top/fuzz/corpus/$name"
		work="$logs/corpus-$name"
		mkdir -p "$work"
		echo "==> [fuzz] $name for ${FUZZ_SECONDS}s"
		if "$bin" -max_total_time="$FUZZ_SECONDS" -timeout=10 \
		    -rss_limit_mb=2048 -print_final_stats=1 \
		    "$work" "$seeds" >"$logs/fuzz-$name.log" 2>&1; then
			runs=$(sed -n 's/^stat::number_of_executed_units: *//p' \
			    "$logs/fuzz-$name.log")
			echo "[fuzz] $name: ok, ${runs:-?} runs in ${FUZZ_SECONDS}s" \
			    >>"$fuzzsum"
		else
			tail -n 60 "$logs/fuzz-$name.log"
			echo "[fuzz] $name: FAILED (log above)" >>"$fuzzsum"
			status=1
		fi
	done
else
	cat "$logs/fuzz.build"
	echo "[fuzz] build FAILED" >>"$fuzzsum"
	status=1
fi

echo
echo "==> summary"
cat "$fuzzsum" "$logs/plain.summary" "$logs/asan+ubsan.summary"
rm -rf "$logs"
exit $status
