#!/usr/bin/env bash
# bench/run.sh: Tripline's end-to-end benchmark (issue 7).
#
# Builds the tools, generates a seeded workload (bench/gen), and prints one table whose rows are
# all measured in this run, each under /usr/bin/time -v for its peak RSS:
#   - line split only (the I/O floor: reading and splitting lines, nothing parsed)
#   - full parse (the baseline: every line fully parsed by valyala/fastjson, every value visited)
#   - input decode only: reading and decoding with Tripline's selective decoder the fields the
#     single-event filter reads, then those all 1,024 rules read (bench/decodeonly), nothing else
#   - tripline query, a single-event filter           (GOMAXPROCS=1 and 2)
#   - tripline detect, the seed rule                   (GOMAXPROCS=1 and 2)
#   - tripline detect, all 1,024 EQL rules of ../shared/rules/detection-rules, when present
#     (--rule-types eql), then its 454 query rules (KQL and Lucene), then both together; the
#     notes give the rules loaded and the alerts of each
#   - tripline detect, all the rules that run without indicators (EQL, query, threshold and new
#     terms; the indicator-match rules need --indicators), without and with --state-dir (two
#     procs; the notes give the state directory's size)
#   - tripline serve, all 1,024 EQL rules, fed over loopback by bench/loadbulk (its bulks
#     encoded before its first request): 1,000-document
#     bulks from 4 connections, then 10-document bulks from 200 (overload: the rows' peak RSS
#     must stay bounded, shippers get 429 and retry); events/s from the first request to the
#     last answer, with the p50 and p99 latency of a bulk and serve's events/s as a share of
#     detect's (two procs, its start-up less, measured on an empty input) in the notes
# Each row gives events/s, MB/s (10^6 bytes), peak RSS, its time as a multiple of the
# full-parse time (lower is better; 1.00x = as fast as fully parsing the input) and the user
# CPU seconds of its least costly run (steadier than the time on a shared machine).
# Tripline rows print "not built yet" until `tripline query` / `tripline detect` exist.
# The input is read once before timing, so every row reads from the page cache.
#
# The seed-rule rows check the rule's MATCHES column of the summary against the planted count
# of the generator's manifest (each planted sequence is one match); a wrong count fails the run.
#
# Usage: bench/run.sh [-n EVENTS] [-s SEED] [-r RUNS] [-k] [-m]
#   -n EVENTS  events to generate (default 1000000; CI uses a small -n)
#   -s SEED    generator seed (default 1)
#   -r RUNS    run each row RUNS times in a row and keep the fastest (default 1): on a shared
#              machine the best of 3 is steadier than one run; peak RSS is the largest seen
#   -k         keep the temporary directory (events, manifest, outputs) and print its path
#   -m         also measure sequence state memory (engine BenchmarkSequenceByMaxspan: a 2-stage
#              sequence by, maxspan=1s, 1M distinct keys, over 1M then 10M events, 100 events per
#              ms, no sequence completing so every candidate waits for maxspan): peak live heap
#              and bytes per pending candidate; the heap must not grow with the stream; and
#              new-terms state (detect BenchmarkNewTerms1M): 1M distinct values through the
#              detector, heap per value, and state directory bytes per value after a checkpoint
# Environment: TRIPLINE_BIN=path uses that binary instead of building ./cmd/tripline.
set -euo pipefail

n=1000000
seed=1
runs=1
keep=0
mem=0
while getopts "n:s:r:kmh" opt; do
	case "$opt" in
	n) n=$OPTARG ;;
	s) seed=$OPTARG ;;
	r) runs=$OPTARG ;;
	k) keep=1 ;;
	m) mem=1 ;;
	h)
		sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
		exit 0
		;;
	*) exit 2 ;;
	esac
done
case "$n" in '' | *[!0-9]*) echo "run.sh: -n wants a number, got '$n'" >&2; exit 2 ;; esac
case "$runs" in '' | *[!0-9]* | 0) echo "run.sh: -r wants a positive number, got '$runs'" >&2; exit 2 ;; esac

root=$(cd "$(dirname "$0")/.." && pwd)
shared="$root/../shared"
if [ ! -x /usr/bin/time ]; then
	echo "run.sh: /usr/bin/time (GNU time) is needed for peak RSS" >&2
	exit 1
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tripline-bench.XXXXXX")
if [ "$keep" = 1 ]; then
	trap 'echo "kept $tmp" >&2' EXIT
else
	trap 'rm -rf "$tmp"' EXIT
fi
cd "$root"

echo "building..." >&2
go build -o "$tmp/gen" ./bench/gen
go build -o "$tmp/fullparse" ./bench/fullparse
go build -o "$tmp/decodeonly" ./bench/decodeonly
tripline=""
if [ -n "${TRIPLINE_BIN:-}" ]; then # an already built tripline (or a stand-in), for testing this script
	tripline=$TRIPLINE_BIN
elif go build -o "$tmp/tripline" ./cmd/tripline 2>"$tmp/tripline-build.log"; then
	tripline="$tmp/tripline"
else
	echo "note: ./cmd/tripline does not build; its rows are skipped (see below)" >&2
	sed 's/^/  /' "$tmp/tripline-build.log" | head -n 20 >&2
fi
has_cmd() { [ -n "$tripline" ] && "$tripline" "$1" --help >/dev/null 2>&1; }

events="$tmp/events.ndjson"
echo "generating $n events (seed $seed)..." >&2
gen_start=$(date +%s%N)
# 100 planted sequences (and 200 decoys) from 100k events up; fewer for small CI runs.
planted=$((n >= 100000 ? 100 : n / 1000))
"$tmp/gen" -n "$n" -seed "$seed" -planted "$planted" -o "$events" -manifest "$tmp/manifest.json"
gen_end=$(date +%s%N)
bytes=$(wc -c <"$events" | tr -d ' ')
expected=$(sed -n 's/.*"expected_sequences": *\([0-9][0-9]*\).*/\1/p' "$tmp/manifest.json")
cat "$events" >/dev/null # warm the page cache so that no row pays for the disk

# Rules for the seed-rule rows: the published rule file, alone in a directory.
seed_rule_src="$shared/rules/detection-rules/rules/cross-platform/execution_d4c_k8s_mda_kubernetes_api_activity_by_unusual_utilities.toml"
mkdir -p "$tmp/rules-seed"
if [ -f "$seed_rule_src" ]; then cp "$seed_rule_src" "$tmp/rules-seed/"; fi

status=0
notes=()
# Rows are collected, then printed together so that every ratio uses the full-parse time.
r_name=() r_procs=() r_ns=() r_rss=() r_text=() r_user=()
row=0
# measure NAME PROCS CMD... runs CMD $runs times under /usr/bin/time -v, with GOMAXPROCS=PROCS
# unless PROCS is "-", and keeps the fastest time and the largest peak RSS; the output of the
# last run goes to $tmp/out.ROW and $tmp/err.ROW. An exit status of $allow_rc (when set) counts
# as success too.
allow_rc=""
measure() {
	local name=$1 procs=$2
	shift 2
	row=$((row + 1))
	local start end rc=0 best=0 rss=0 r k u user=""
	for ((k = 0; k < runs; k++)); do
		start=$(date +%s%N)
		if [ "$procs" = "-" ]; then
			/usr/bin/time -v -o "$tmp/time.$row" "$@" >"$tmp/out.$row" 2>"$tmp/err.$row" || rc=$?
		else
			GOMAXPROCS=$procs /usr/bin/time -v -o "$tmp/time.$row" "$@" >"$tmp/out.$row" 2>"$tmp/err.$row" || rc=$?
		fi
		end=$(date +%s%N)
		if [ "$best" = 0 ] || [ $((end - start)) -lt "$best" ]; then
			best=$((end - start))
		fi
		r=$(sed -n 's/.*Maximum resident set size (kbytes): *\([0-9]*\).*/\1/p' "$tmp/time.$row")
		if [ "${r:-0}" -gt "$rss" ]; then
			rss=${r:-0}
		fi
		u=$(sed -n 's/.*User time (seconds): *\([0-9.]*\).*/\1/p' "$tmp/time.$row")
		if [ -n "$u" ] && { [ -z "$user" ] || awk -v a="$u" -v b="$user" 'BEGIN { exit !(a < b) }'; }; then
			user=$u
		fi
		[ "$rc" = "$allow_rc" ] && rc=0
		[ "$rc" = 0 ] || break
	done
	r_name+=("$name")
	r_procs+=("$procs")
	r_ns+=("$best")
	r_rss+=("$rss")
	r_user+=("${user:--}")
	if [ "$rc" != 0 ]; then
		r_text+=("FAILED (exit $rc): $(tail -n 1 "$tmp/err.$row")")
		status=1
	else
		r_text+=("")
	fi
}
# note_row NAME PROCS TEXT adds a row that was not measured.
note_row() {
	r_name+=("$1")
	r_procs+=("$2")
	r_ns+=(0)
	r_rss+=(0)
	r_user+=(-)
	r_text+=("$3")
}

mean_size=$(awk -v b="$bytes" -v n="$n" 'BEGIN { if (n > 0) printf "%.0f", b / n; else print 0 }')
measure "line split only (I/O floor)" - "$tmp/fullparse" -mode split "$events"
measure "full parse, fastjson (baseline)" - "$tmp/fullparse" "$events"
full_ns=${r_ns[1]}

filter='process where process.name == "bash"'
measure "input decode only (fields of the filter)" 1 "$tmp/decodeonly" -query "$filter" "$events"
if [ -d "$shared/rules/detection-rules" ]; then
	measure "input decode only (fields of all 1,024 rules)" 1 "$tmp/decodeonly" -rules "$shared/rules/detection-rules" "$events"
else
	note_row "input decode only (fields of all 1,024 rules)" 1 "skipped: ../shared is absent"
fi
for procs in 1 2; do
	if has_cmd query; then
		measure "tripline query (single-event filter)" "$procs" "$tripline" query --format ndjson "$filter" "$events"
	else
		note_row "tripline query (single-event filter)" "$procs" "not built yet"
	fi
done

seed_name=""
if [ -f "$seed_rule_src" ]; then
	seed_name=$(sed -n 's/^name *= *"\(.*\)" *$/\1/p' "$seed_rule_src" | head -n 1)
fi
check_seed() { # check_seed RUN NAME: the seed rule must find exactly the planted sequences
	local out="$tmp/out.$1" got
	# Summary rows: ALERTS MATCHES CAPPED RULE-NAME.
	got=$(awk -v name="$seed_name" '$1 ~ /^[0-9]+$/ && $2 ~ /^[0-9]+$/ && $3 ~ /^[0-9]+$/ {
		line = $0; sub(/^ *[0-9]+ +[0-9]+ +[0-9]+ +/, "", line); if (line == name) print $2 }' "$out" | head -n 1)
	if [ -z "$got" ]; then
		notes+=("$2: SEED RULE NOT FOUND in the summary (rule \"$seed_name\", expected $expected matches)")
		status=1
	elif [ "$got" != "$expected" ]; then
		notes+=("$2: SEED RULE COUNT WRONG: $got matches, expected $expected")
		status=1
	else
		notes+=("$2: seed rule OK: $got matches = $expected planted")
	fi
}

for procs in 1 2; do
	if [ ! -f "$seed_rule_src" ]; then
		note_row "tripline detect (seed rule)" "$procs" "skipped: ../shared is absent"
	elif has_cmd detect; then
		measure "tripline detect (seed rule)" "$procs" "$tripline" detect --rules "$tmp/rules-seed" "$events" --format summary
		check_seed "$row" "tripline detect (seed rule), $procs procs"
	else
		note_row "tripline detect (seed rule)" "$procs" "not built yet"
	fi
done

# The all-rules rows: the 1,024 EQL rules (as before query rules loaded, comparable with earlier
# runs), the 454 query rules (KQL and Lucene), and both together, each selected by --rule-types.
eql_row=""
for sel in "eql|all 1,024 EQL rules" "query|all 454 query rules" "eql,query|1,024 EQL + 454 query rules"; do
	types=${sel%%|*} label="tripline detect (${sel#*|})"
	for procs in 1 2; do
		if [ ! -d "$shared/rules/detection-rules" ]; then
			note_row "$label" "$procs" "skipped: ../shared is absent"
		elif has_cmd detect; then
			# Query rules whose exception lists are not loaded (endpoint_list) are skipped,
			# which detect reports with exit 3; the note below gives their number.
			allow_rc=""
			[ "$types" != eql ] && allow_rc=3
			measure "$label" "$procs" "$tripline" detect --rules "$shared/rules/detection-rules" --rule-types "$types" "$events" --format summary
			allow_rc=""
			if [ "$types" != query ]; then
				check_seed "$row" "$label, $procs procs"
			fi
			if [ "$procs" = 2 ]; then
				if [ "$types" = eql ]; then eql_row=$((${#r_ns[@]} - 1)); fi
				notes+=("$label: $(sed -n 's/^rules: *//p' "$tmp/out.$row" | head -n 1); $(sed -n 's/^alerts: *//p' "$tmp/out.$row" | head -n 1) alerts")
			fi
		else
			note_row "$label" "$procs" "not built yet"
		fi
	done
done

# All the prebuilt rules that run without indicators, together: the EQL and query rules, the 28
# threshold and 241 new-terms rules (the 6 indicator-match rules need --indicators, documents of
# threat-intelligence indices, which the workload has none of). Then the same with --state-dir
# (a fresh directory each run, removed in the run: its state on disk is in the notes).
all_types="eql,query,threshold,new_terms"
for procs in 1 2; do
	label="tripline detect (all runnable rules)"
	if [ ! -d "$shared/rules/detection-rules" ]; then
		note_row "$label" "$procs" "skipped: ../shared is absent"
	elif has_cmd detect; then
		allow_rc=3 # rules skipped (endpoint_list exceptions, a nested query), as above
		measure "$label" "$procs" "$tripline" detect --rules "$shared/rules/detection-rules" --rule-types "$all_types" "$events" --format summary
		allow_rc=""
		check_seed "$row" "$label, $procs procs"
		if [ "$procs" = 2 ]; then
			notes+=("$label: $(sed -n 's/^rules: *//p' "$tmp/out.$row" | head -n 1); $(sed -n 's/^alerts: *//p' "$tmp/out.$row" | head -n 1) alerts")
		fi
	else
		note_row "$label" "$procs" "not built yet"
	fi
done
label="tripline detect (all runnable, --state-dir)"
if [ ! -d "$shared/rules/detection-rules" ]; then
	note_row "$label" 2 "skipped: ../shared is absent"
elif has_cmd detect; then
	allow_rc=3
	measure "$label" 2 sh -c 'rm -rf "$1" && shift && exec "$@"' sh "$tmp/state" \
		"$tripline" detect --rules "$shared/rules/detection-rules" --rule-types "$all_types" --state-dir "$tmp/state" "$events" --format summary
	allow_rc=""
	check_seed "$row" "$label, 2 procs"
	notes+=("$label: $(sed -n 's/^alerts: *//p' "$tmp/out.$row" | head -n 1) alerts; state directory $(du -sm "$tmp/state" | cut -f1) MB ($(
		"$tripline" state inspect "$tmp/state" | awk '$1 == "journal" && $2 ~ /^[0-9]+$/ { printf "journal: %d events, %.0f MB", $2, $3 / 1e6 }'))")
	rm -rf "$tmp/state"
else
	note_row "$label" 2 "not built yet"
fi

# measure_serve NAME CONNS BULK runs tripline serve with every rule under /usr/bin/time -v and
# feeds it the events with bench/loadbulk ($runs times, keeping the fastest); the row's time is
# loadbulk's, from its first request to its last answer.
measure_serve() {
	local name=$1 conns=$2 bulk=$3
	row=$((row + 1))
	local k best=0 rss=0 r ns rc=0 timepid pid addr line text=""
	for ((k = 0; k < runs; k++)); do
		: >"$tmp/err.$row"
		/usr/bin/time -v -o "$tmp/time.$row" "$tripline" serve --rules "$shared/rules/detection-rules" --rule-types eql \
			--listen 127.0.0.1:0 --max-lateness 30s -o "$tmp/serve-alerts.$row" 2>"$tmp/err.$row" &
		timepid=$!
		addr=""
		for ((i = 0; i < 600; i++)); do
			addr=$(sed -n 's|^tripline: serving on http://\([^ ]*\) .*|\1|p' "$tmp/err.$row")
			[ -n "$addr" ] && break
			kill -0 "$timepid" 2>/dev/null || break
			sleep 0.1
		done
		if [ -z "$addr" ]; then
			text="FAILED: serve did not start: $(tail -n 1 "$tmp/err.$row")"
			kill "$timepid" 2>/dev/null || true
			break
		fi
		"$tmp/loadbulk" -url "http://$addr" -c "$conns" -bulk "$bulk" "$events" >"$tmp/out.$row" 2>>"$tmp/load.$row" || rc=$?
		pid=$(pgrep -P "$timepid" || true)
		[ -n "$pid" ] && kill -TERM "$pid"
		wait "$timepid" || rc=$?
		if [ "$rc" != 0 ]; then
			text="FAILED (exit $rc): $(tail -n 1 "$tmp/load.$row" 2>/dev/null) $(tail -n 1 "$tmp/err.$row")"
			break
		fi
		line=$(cat "$tmp/out.$row")
		ns=$(echo "$line" | sed -n 's/.*"seconds":\([0-9.e+-]*\).*/\1/p' | awk '{ printf "%.0f", $1 * 1e9 }')
		if [ "$best" = 0 ] || [ "$ns" -lt "$best" ]; then
			best=$ns
			cp "$tmp/out.$row" "$tmp/best.$row"
		fi
		r=$(sed -n 's/.*Maximum resident set size (kbytes): *\([0-9]*\).*/\1/p' "$tmp/time.$row")
		if [ "${r:-0}" -gt "$rss" ]; then
			rss=${r:-0}
		fi
	done
	r_name+=("$name")
	r_procs+=("$(nproc)")
	r_ns+=("$best")
	r_rss+=("$rss")
	r_user+=(-)
	r_text+=("$text")
	if [ -n "$text" ]; then
		status=1
		return
	fi
	line=$(cat "$tmp/best.$row")
	field() { echo "$line" | sed -n "s/.*\"$1\":\([0-9.e+-]*\).*/\1/p"; }
	notes+=("$name: $(field created) of $(field docs) documents acknowledged, $(field retries_429) answers 429 (retried), bulk latency p50 $(field p50_ms) ms, p99 $(field p99_ms) ms; the client used $(field client_cpu_s) CPU s of the machine meanwhile (bulks encoded beforehand)")
	if [ "$(field created)" != "$n" ]; then
		notes+=("$name: NOT EVERY DOCUMENT ACKNOWLEDGED: $(field created) of $n")
		status=1
	fi
	check_seed_in "$tmp/err.$row" "$name"
}
# check_seed_in FILE NAME: check_seed over the summary in FILE (serve prints it on stderr).
check_seed_in() {
	cp "$1" "$tmp/out.seed"
	check_seed seed "$2"
}

if [ ! -d "$shared/rules/detection-rules" ]; then
	note_row "tripline serve (all rules, 1,000-doc bulks x4)" - "skipped: ../shared is absent"
elif has_cmd serve; then
	go build -o "$tmp/loadbulk" ./bench/loadbulk
	# detect's start-up (loading and compiling the rules), to compare events/s without it.
	: >"$tmp/empty.ndjson"
	start=$(date +%s%N)
	"$tripline" detect --rules "$shared/rules/detection-rules" --rule-types eql "$tmp/empty.ndjson" --format summary >/dev/null 2>&1 || true
	startup_ns=$(($(date +%s%N) - start))
	measure_serve "tripline serve (all rules, 1,000-doc bulks x4)" 4 1000
	serve_row=$((${#r_ns[@]} - 1))
	measure_serve "tripline serve (all rules, 10-doc bulks x200)" 200 10
	detect_row=$eql_row # the all-EQL-rules detect row with 2 procs
	if [ -n "$detect_row" ] && [ -z "${r_text[$detect_row]}" ] && [ -z "${r_text[$serve_row]}" ]; then
		notes+=("$(awk -v s="${r_ns[$serve_row]}" -v d="${r_ns[$detect_row]}" -v u="$startup_ns" -v n="$n" 'BEGIN {
			printf "serve (1,000-doc bulks x4) against detect (all rules, 2 procs): %.0f%% of its events/s; %.0f%% of its events/s less its start-up (%.2f s: %.0f events/s)",
				100 * d / s, 100 * (d - u) / s, u / 1e9, n / ((d - u) / 1e9) }')")
	fi
else
	note_row "tripline serve (all rules, 1,000-doc bulks x4)" - "not built yet"
fi

echo
echo "Tripline benchmark: $n events, $bytes bytes (mean $mean_size B/event), seed $seed, $(nproc) CPUs ($(uname -m)), $(go version | cut -d' ' -f3), best of $runs run(s) per row"
awk -v ns="$((gen_end - gen_start))" -v n="$n" 'BEGIN { printf "generator: %.0f events/s (to disk)\n", n / (ns / 1e9) }'
echo "planted seed-rule sequences: $expected"
echo
printf '| %-46s | %5s | %12s | %8s | %9s | %8s | %8s | %6s |\n' "row" "procs" "events/s" "MB/s" "peak MB" "seconds" "vs full" "user s"
printf '|%s|%s|%s|%s|%s|%s|%s|%s|\n' "------------------------------------------------" "-------" "--------------" "----------" "-----------" "----------" "----------" "--------"

for i in "${!r_name[@]}"; do
	if [ -n "${r_text[$i]}" ]; then
		printf '| %-46s | %5s | %s |\n' "${r_name[$i]}" "${r_procs[$i]}" "${r_text[$i]}"
		continue
	fi
	awk -v name="${r_name[$i]}" -v procs="${r_procs[$i]}" -v ns="${r_ns[$i]}" -v full="$full_ns" -v n="$n" -v bytes="$bytes" -v rss="${r_rss[$i]:-0}" -v user="${r_user[$i]}" 'BEGIN {
		s = ns / 1e9
		printf "| %-46s | %5s | %12.0f | %8.1f | %9.1f | %8.3f | %7.2fx | %6s |\n", name, procs, n / s, bytes / 1e6 / s, rss / 1024, s, ns / full, user
	}'
done
for note in "${notes[@]+"${notes[@]}"}"; do echo "$note"; done
echo

if [ "$mem" = 1 ]; then
	echo "sequence state memory (engine BenchmarkSequenceByMaxspan, 1M keys, 100 events/ms, no match):"
	printf '| %10s | %12s | %14s | %12s | %18s |\n' "events" "events/s" "peak live MB" "peak pending" "heap B/candidate"
	printf '|%s|%s|%s|%s|%s|\n' "------------" "--------------" "----------------" "--------------" "--------------------"
	for ev in 1000000 10000000; do
		line=$(go test ./engine -run '^$' -bench 'SequenceByMaxspan$' -benchtime 1x \
			-seq.events "$ev" -seq.keys 1000000 -seq.perms 100 -seq.lag 500000 | grep '^BenchmarkSequenceByMaxspan')
		metric() { echo "$line" | awk -v unit="$1" '{ for (i = 2; i <= NF; i++) if ($i == unit) print $(i-1) }'; }
		printf '| %10s | %12s | %14s | %12s | %18s |\n' "$ev" "$(metric events/s)" "$(metric peak-live-heap-MB)" \
			"$(metric peak-pending)" "$(metric heap-bytes/pending)"
	done
	echo
	echo "new-terms state (detect BenchmarkNewTerms1M: 1,048,576 distinct host.id/process.name values, streaming, one rule):"
	printf '| %-10s | %12s | %12s | %21s | %21s |\n' "state" "events/s" "heap B/value" "disk B/value (commit)" "disk B/value (closed)"
	printf '|%s|%s|%s|%s|%s|\n' "------------" "--------------" "--------------" "-----------------------" "-----------------------"
	go test ./detect -run '^$' -bench 'NewTerms1M' -benchtime 1x | grep '^BenchmarkNewTerms1M/' | while read -r line; do
		metric() { echo "$line" | awk -v unit="$1" '{ for (i = 2; i <= NF; i++) if ($i == unit) print $(i-1) }'; }
		mode=${line#BenchmarkNewTerms1M/}
		mode=${mode%%-[0-9]*}
		printf '| %-10s | %12.0f | %12s | %21s | %21s |\n' "$mode" "$(metric events/s)" "$(metric heap-bytes/value)" \
			"$(metric disk-bytes/value)" "$(metric closed-disk-bytes/value)"
	done
	echo
fi
exit "$status"
