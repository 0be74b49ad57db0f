#!/usr/bin/env bash
# Compares goka and franz-go with stream.ChangelogStore (see main.go) over kfake in a
# process of its own: the throughput of one processor over N events, then K kill -9s of
# the processor while it works through N more (each run killed once it owns all 4
# partitions and is processing, at a random moment within its share of the work),
# restarting it each time, and the updates lost and applied twice once a last run has
# caught up. Last, goka over input partitioned as Kafka's clients do (murmur2, not goka's
# FNV-32a), a second run on a new local directory, as on another machine. The README's
# "Why franz-go and not goka" has the figures.
#   bench/gokaeval/run.sh [-n EVENTS] [-keys KEYS] [-kills K] [-seed S] [-only goka|franz]
# KEEP=1 keeps the logs (and dumps the goroutines of a last run that does not catch up).
set -euo pipefail
cd "$(dirname "$0")"
n=1000000 keys=1000 kills=5 seed=1 impls='goka franz'
while [ $# -gt 0 ]; do
	case $1 in
	-n) n=$2; shift 2 ;;
	-keys) keys=$2; shift 2 ;;
	-kills) kills=$2; shift 2 ;;
	-seed) seed=$2; shift 2 ;;
	-only) impls=$2; shift 2 ;;
	*) echo "unknown flag $1" >&2; exit 2 ;;
	esac
done
work=$(mktemp -d)
bin=$work/gokaeval
go build -o "$bin" .
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; [ -n "${KEEP:-}" ] || rm -rf "$work"; }
trap cleanup EXIT
RANDOM=$seed

# working LOG: waits (60s at most) until the processor logging to LOG owns the 4
# partitions and has processed events.
working() {
	for _ in $(seq 6000); do
		grep -qE 'int32\{0, 1, 2, 3\}|owns partitions \[0 1 2 3\]' "$1" && grep -qE 'processed [1-9]' "$1" && return 0
		sleep 0.01
	done
	echo "$1: the processor never owned all partitions" >&2
	return 1
}

for impl in $impls; do
	port=$((19100 + RANDOM % 800))
	addr=127.0.0.1:$port
	"$bin" broker -addr "$addr" -partitions 4 >"$work/broker.log" 2>&1 &
	broker=$!; pids+=("$broker")
	sleep 1
	"$bin" produce -addr "$addr" -n "$n" -keys "$keys"
	echo "== $impl: one processor over $n events ($keys keys, 4 partitions)"
	line=$("$bin" "$impl" -addr "$addr" -until "$n" -dir "$work/leveldb" 2>/dev/null | grep events/s)
	echo "$line"
	rate=$(echo "$line" | sed -E 's/.* ([0-9]+) events\/s.*/\1/')
	"$bin" check -addr "$addr" -impl "$impl" -n "$n" -keys "$keys"

	echo "== $impl: $kills kill -9 while processing $n more events"
	"$bin" produce -addr "$addr" -n "$n" -keys "$keys"
	for k in $(seq "$kills"); do
		log=$work/$impl-$k.log
		"$bin" "$impl" -addr "$addr" -dir "$work/leveldb" >"$log" 2>&1 &
		p=$!; pids+=("$p")
		working "$log"
		# A random moment within this run's share of the work.
		sleep "$(awk -v r=$RANDOM -v n="$n" -v rate="$rate" -v k="$kills" 'BEGIN { printf "%.3f", r / 32767 * n / rate / (k + 1) }')"
		kill -9 "$p"; wait "$p" 2>/dev/null || true
		echo "kill -9 $k: after $(grep -o 'processed [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2) events processed by this run"
	done
	"$bin" "$impl" -addr "$addr" -dir "$work/leveldb" >"$work/$impl-last.log" 2>&1 &
	p=$!; pids+=("$p")
	if ! "$bin" check -addr "$addr" -impl "$impl" -n $((2 * n)) -keys "$keys"; then
		[ -z "${KEEP:-}" ] || kill -QUIT "$p"
		for f in "$work/$impl"-*.log; do echo "-- $f"; grep -v 'processed [0-9]*$' "$f" | tail -n 8; grep 'processed' "$f" | tail -n 1; done
	fi
	kill "$p"; wait "$p" 2>/dev/null || true
	kill "$broker"; wait "$broker" 2>/dev/null || true
	rm -rf "$work/leveldb"
done

case " $impls " in *" goka "*)
	port=$((19100 + RANDOM % 800))
	addr=127.0.0.1:$port
	"$bin" broker -addr "$addr" -partitions 4 >"$work/broker.log" 2>&1 &
	broker=$!; pids+=("$broker")
	sleep 1
	echo "== goka: input partitioned by murmur2, $n events, then $n more on a new local directory"
	for run in 1 2; do
		"$bin" produce -addr "$addr" -n "$n" -keys "$keys" -hash murmur2
		"$bin" goka -addr "$addr" -until "$n" -dir "$work/leveldb-$run" 2>/dev/null | grep events/s
	done
	"$bin" check -addr "$addr" -impl goka -n $((2 * n)) -keys "$keys"
	kill "$broker"; wait "$broker" 2>/dev/null || true
esac
