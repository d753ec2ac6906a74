#!/usr/bin/env bash
# bench/smtp/run.sh - the gateway's accept rate and memory per idle connection,
# side by side with Postfix, Postfix + OpenDKIM + OpenDMARC, OpenSMTPD and
# smtp-sink in one run of the peer-bench SMTP harness
# (../shared/peer-bench/smtp/run-smtp-anchors), mailsec as its candidate.
#
#   bench/smtp/run.sh setup     copy the harness, install the peers (Debian
#                               packages, the OpenSMTPD .deb); once, as root
#   bench/smtp/run.sh [run]     copy the harness if needed, run it (about
#                               15 minutes with 3 rounds), print the table
#   bench/smtp/run.sh report    the table of the last run again
#   bench/smtp/run.sh down      tear down what a killed run left behind
#   bench/smtp/run.sh profile [C [N]]   mailsec alone with the harness's nsd:
#                               N messages (2000) at concurrency C (20)
#                               under `perf record -g` of the workers,
#                               then fsync-family calls per message
#                               (strace -f on the workers, 20 messages at
#                               c=1; the harness attaches to the master
#                               only and so counts none for mailsec)
#   bench/smtp/run.sh memory    idle memory of a freshly started gateway:
#                               PSS of its process tree before and after
#                               SMTP_IDLE (1000) connections said EHLO and
#                               wait (the harness's own figure is taken
#                               after the throughput rounds, on a heap they
#                               already grew; it restarts Postfix and
#                               OpenSMTPD first, not the candidate)
#
# What is measured (the harness's README): Postfix's smtp-source sends 10 KB
# DKIM-signed messages (sender@bench.example -> rcpt@sink.example, one
# session per message) at concurrency 1, 20 and 100, inside a network
# namespace with only "lo" and nsd on 127.0.0.1:53; interleaved rounds,
# medians; then SMTP_IDLE connections that said EHLO and wait, and the
# server's whole process tree's PSS before and after; then fsync calls per
# message (strace).
#
# The candidate: `mailsec serve --foreground --config
# bench/smtp/mailsec-bench.conf --state-dir $SMTP_ANCHOR_STATE` on
# 127.0.0.1:2529 - the full pipeline (SPF, DKIM, DMARC, Authentication-
# Results), "250" only after the queue's group commit, delivery to a Maildir
# under the state directory. Its queue (files in queue/incoming) is reported
# to the harness, so "drain" covers local delivery too.
#
# Needs root (network namespace, apt-get). Environment (all optional):
#   MAILSEC=PATH        the binary (default: build-bench/cli/mailsec, built
#                       Release from this tree when missing)
#   SMTP_BENCH_DIR=DIR  where the harness is copied (default /tmp/pb-smtp)
#   SMTP_NETNS=NAME     namespace (default smtpbench-ms: the machine is shared)
#   SMTP_ROUNDS, SMTP_CONC, SMTP_MSGS, SMTP_CELL_S, SMTP_IDLE, SMTP_ONLY,
#   SMTP_FSYNC_CHECK    passed to the harness (defaults there; SMTP_ROUNDS=3)
# Results: $SMTP_BENCH_DIR/smtp/.work/{table.md,results.json,candidate.log}.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HARNESS=${SMTP_HARNESS:-$ROOT/../shared/peer-bench}
DIR=${SMTP_BENCH_DIR:-/tmp/pb-smtp}
export SMTP_NETNS=${SMTP_NETNS:-smtpbench-ms}
export SMTP_ROUNDS=${SMTP_ROUNDS:-3}
MAILSEC=${MAILSEC:-$ROOT/build-bench/cli/mailsec}
CONF=$ROOT/bench/smtp/mailsec-bench.conf
PORT=2529

copy_harness() {
	if [[ ! -x $DIR/smtp/run-smtp-anchors ]]; then
		rm -rf "$DIR"
		cp -r "$HARNESS" "$DIR"
		chmod -R u+w "$DIR"
	fi
	# the harness's setup fetches into .work before creating it
	mkdir -p "$DIR/smtp/.work"
}

build() {
	[[ -x $MAILSEC ]] && return 0
	if [[ $MAILSEC != "$ROOT/build-bench/cli/mailsec" ]]; then
		echo "run.sh: $MAILSEC is not executable" >&2
		exit 1
	fi
	cmake -S "$ROOT" -B "$ROOT/build-bench" -DCMAKE_BUILD_TYPE=Release \
	    >/dev/null
	cmake --build "$ROOT/build-bench" -j2 --target mailsec >/dev/null
}

memory_down() {
	if [[ -n $MEM_PID ]]; then
		kill "$MEM_PID" 2>/dev/null || true
		wait "$MEM_PID" 2>/dev/null || true
	fi
	ip netns del "$MEM_NS" 2>/dev/null || true
	rm -rf "$MEM_ST" "$MEM_ST.log"
}

# Fresh daemon, own namespace (no DNS needed: EHLO only), idle connections
# from the harness's idle_conns.py, PSS from its procmem.py.
memory() {
	local n=${SMTP_IDLE:-1000} pid before line after lib=$DIR/smtp/lib i

	MEM_NS=$SMTP_NETNS-mem
	MEM_PID=
	MEM_ST=$(mktemp -d "$DIR/mem-state.XXXXXX")
	trap memory_down EXIT
	local ns=$MEM_NS st=$MEM_ST
	ip netns add "$ns"
	ip netns exec "$ns" ip link set lo up
	ip netns exec "$ns" "$MAILSEC" serve --foreground --config "$CONF" \
	    --state-dir "$st" >"$st.log" 2>&1 &
	pid=$!
	MEM_PID=$pid
	for i in $(seq 100); do
		ip netns exec "$ns" bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT" \
		    2>/dev/null && break
		sleep 0.1
	done
	sleep 2
	before=$(python3 "$lib/procmem.py" "$pid")
	coproc IDLE { exec ip netns exec "$ns" python3 "$lib/idle_conns.py" \
	    127.0.0.1 "$PORT" "$n" 120; }
	read -r line <&"${IDLE[0]}"
	sleep 2
	after=$(python3 "$lib/procmem.py" "$pid")
	echo >&"${IDLE[1]}"
	wait "$IDLE_PID" || true
	python3 - "$n" "$line" "$before" "$after" <<'PY'
import sys
n, line = int(sys.argv[1]), sys.argv[2].split()
b = dict(kv.split("=") for kv in sys.argv[3].split())
a = dict(kv.split("=") for kv in sys.argv[4].split())
ok = int(line[1])
d = int(a["pss_kib"]) - int(b["pss_kib"])
print(f"mailsec (fresh): {ok} of {n} idle after EHLO, processes "
      f"{b['procs']} -> {a['procs']}, PSS {b['pss_kib']} -> {a['pss_kib']} KiB, "
      f"{d / max(ok, 1):.1f} KiB per connection; RSS {b['rss_kib']} -> "
      f"{a['rss_kib']} KiB")
PY
}

profile_down() {
	if [[ -n ${PROF_PID:-} ]]; then
		kill "$PROF_PID" 2>/dev/null || true
		wait "$PROF_PID" 2>/dev/null || true
	fi
	(cd "$DIR/smtp" && bash lib/netns.sh down .work) || true
}

# The harness's namespace and nsd, mailsec alone, perf and strace.
profile() {
	local c=${1:-20} n=${2:-2000} w=$DIR/smtp/.work st out workers i
	out=${SMTP_PROFILE_OUT:-$DIR/profile}
	mkdir -p "$out"
	[[ -s $w/data/message.eml ]] ||
	    { echo "run.sh: run the benchmark once first (test data)" >&2; exit 1; }
	st=$w/candidate-state
	rm -rf "$st"
	mkdir -p "$st"
	trap profile_down EXIT
	(cd "$DIR/smtp" && bash lib/netns.sh up .work .work/data/test.zone)
	ip netns exec "$SMTP_NETNS" "$MAILSEC" serve --foreground \
	    --config "$CONF" --state-dir "$st" >"$out/mailsec.log" 2>&1 &
	PROF_PID=$!
	for i in $(seq 100); do
		ip netns exec "$SMTP_NETNS" bash -c \
		    "exec 3<>/dev/tcp/127.0.0.1/$PORT" 2>/dev/null && break
		sleep 0.1
	done
	src() {
		ip netns exec "$SMTP_NETNS" smtp-source -F "$w/data/message.eml" \
		    -f sender@bench.example -t rcpt@sink.example \
		    -M client.bench.example -m "$1" -s "$2" "127.0.0.1:$PORT"
	}
	src 200 "$c"
	workers=$(pgrep -P "$PROF_PID" | paste -sd,)
	perf record -g -o "$out/perf.data" -p "$workers" 2>"$out/perf.err" &
	i=$!
	sleep 1
	local t0=$SECONDS
	src "$n" "$c"
	echo "profile: $n messages at c=$c in $((SECONDS - t0)) s (perf attached)"
	kill -INT "$i"
	wait "$i" || true
	# flat profiles (the Release build has no frame pointers: callers
	# of our code are incomplete); pid = thread
	for i in dso sym pid; do
		perf report -i "$out/perf.data" --no-children -g none \
		    --sort "$i" --stdio 2>/dev/null | grep -v '^#' |
		    grep -v '^$' | sed -n 1,60p >"$out/perf-$i.txt" || true
	done
	sleep 3
	local -a tp=()
	for i in $(pgrep -P "$PROF_PID"); do tp+=(-p "$i"); done
	strace -f -qq -e trace=fsync,fdatasync,sync_file_range,syncfs,sync \
	    -o "$out/strace.txt" "${tp[@]}" &
	i=$!
	sleep 1.5
	src 20 1
	sleep 3
	kill "$i"
	wait "$i" || true
	echo "profile: fsync-family calls for 20 messages at c=1, accept and" \
	    "Maildir delivery:"
	grep -o '^[0-9]* *[a-z_]*(' "$out/strace.txt" | sed 's/^[0-9]* *//' |
	    sort | uniq -c
	echo "profile: $out/perf-{dso,sym,pid}.txt, strace.txt"
}

case ${1:-run} in
profile)
	copy_harness
	build
	profile "${2:-20}" "${3:-2000}"
	exit 0
	;;
memory)
	copy_harness
	build
	memory
	exit 0
	;;
setup)
	copy_harness
	exec "$DIR/smtp/run-smtp-anchors" setup
	;;
report|down)
	exec "$DIR/smtp/run-smtp-anchors" "$1"
	;;
run)
	;;
*)
	sed -n '2,36p' "$0"
	exit 2
	;;
esac

copy_harness
build
"$MAILSEC" serve --check-config --config "$CONF" --state-dir /nonexistent \
    >/dev/null
CANDIDATE_SMTP_CMD="exec $(printf '%q' "$MAILSEC") serve --foreground"
CANDIDATE_SMTP_CMD+=" --config $(printf '%q' "$CONF")"
# a command line for the harness's bash -c, expanded there
# shellcheck disable=SC2016,SC2089,SC2090
CANDIDATE_SMTP_CMD+=' --state-dir "$SMTP_ANCHOR_STATE"'
# shellcheck disable=SC2090
export CANDIDATE_SMTP_CMD
export CANDIDATE_SMTP_PORT=$PORT
export CANDIDATE_SMTP_NAME=${CANDIDATE_SMTP_NAME:-mailsec}
# run from the harness's smtp/ folder: its work directory is .work there
export CANDIDATE_SMTP_QUEUED='find .work/candidate-state/queue/incoming -type f 2>/dev/null | wc -l'
cd "$ROOT"
exec "$DIR/smtp/run-smtp-anchors" run
