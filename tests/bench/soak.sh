#!/bin/bash
# soak.sh -- does the daemon's memory stay flat under hours of load?
#
#   tests/bench/soak.sh [-d SECONDS] [-c THREADS] [-p PHASE_SECONDS]
#
# Runs the built tree's authmuxd (-a file, 4 threads) on a directory of
# its own, and loadgen against it for SECONDS (default 600) with THREADS
# threads (default 8): the test users (every hash format the file backend
# reads), 20% wrong passwords and an unknown user.  Every PHASE_SECONDS
# (default 60) a SIGHUP turns the cache on or off (it starts on), so the
# run alternates cached and uncached load, and each reload builds a new
# chain (the file module's state, dlopen) and drops the old one.  The
# daemon's RSS (VmRSS) is sampled every 10 s and printed; at the end, for
# the samples with the cache on and those with it off apart, the
# least-squares slope after the warm-up (the first fifth of the run) and
# the growth it amounts to over that stretch, in % of the fitted start:
# "RSS flat" when both are under 1%.  Also loadgen's line and what the daemon
# logged besides attempts.  Not run by make check (it takes minutes):
# BENCHMARKS.md has its results.  Needs a built tree (make).
set -u
cd "$(dirname "$0")/../.." || exit 1
top=$PWD
dur=600 threads=8 phase=60
while getopts d:c:p:h o; do
	case $o in
	d) dur=$OPTARG ;;
	c) threads=$OPTARG ;;
	p) phase=$OPTARG ;;
	*) sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
	esac
done
for f in src/authmuxd modules/.libs/file.so tests/bench/loadgen; do
	[ -e "$f" ] || { echo "soak.sh: $f is missing: build the tree first (make)" >&2; exit 1; }
done

T=$(mktemp -d /tmp/amsoak.XXXXXX)
LG=
cleanup() {
	[ -n "$LG" ] && kill "$LG" 2>/dev/null
	[ -n "${PID:-}" ] && kill -TERM "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

grep -v '^#' tests/integration/users.passwd | grep : > "$T/users.passwd"
chmod 600 "$T/users.passwd"
# the passwords of tests/integration/users.passwd (basic.sh), and a user
# no backend knows
printf '%s\n' alice:alice-pw bob:bob-plain-pw carol:carol-pw dave:dave-pw \
    erin:erin-pw frank:frank-pw nobody:nobody-pw > "$T/load.users"
conf() { printf '%s\n' "file_path: $T/users.passwd" "cache: $1" > "$T/authmuxd.conf"; }
conf yes
src/authmuxd -f -a file -n 4 -m "$T/run" -O "$T/authmuxd.conf" \
    --module-dir "$top/modules/.libs" 2> >(grep --line-buffered -vE \
    "auth (success|failure): " > "$T/daemon.log") &
PID=$!
i=0
while [ ! -S "$T/run/mux" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
[ -S "$T/run/mux" ] || { cat "$T/daemon.log" >&2; exit 1; }

rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$PID/status"; }
echo "# soak: $dur s, loadgen -c $threads, cache on/off every $phase s, daemon pid $PID"
tests/bench/loadgen -q -f "$T/run/mux" -u "$T/load.users" -c "$threads" \
    -w 20 -d "$dur" > "$T/loadgen.out" 2>&1 &
LG=$!
start=$(date +%s)
cache=yes next_toggle=$phase next_sample=0
echo "seconds rss_kib cache"
while :; do
	now=$(( $(date +%s) - start ))
	[ "$now" -ge "$dur" ] && break
	# each sample is labelled with the cache state it was taken under
	if [ "$now" -ge "$next_sample" ]; then
		echo "$now $(rss) $cache" | tee -a "$T/samples"
		next_sample=$((next_sample + 10))
	fi
	if [ "$now" -ge "$next_toggle" ]; then
		cache=$([ $cache = yes ] && echo no || echo yes)
		conf $cache
		kill -HUP "$PID"
		next_toggle=$((next_toggle + phase))
	fi
	sleep 1
done
wait "$LG"; LG=
echo "$dur $(rss) $cache" | tee -a "$T/samples"
echo "# loadgen: $(cat "$T/loadgen.out")"
kill -0 "$PID" 2>/dev/null || { echo "# the daemon died"; exit 1; }
# least squares over the samples after the warm-up, for each cache state
# apart (the cache's pages come and go with it)
fit() { # STATE
	awk -v warm=$((dur / 5)) -v state="$1" '$1 >= warm && $3 == state {
		n++; sx += $1; sy += $2; sxx += $1 * $1; sxy += $1 * $2
		if (min == "" || $2 < min) min = $2; if ($2 > max) max = $2
		if (n == 1) t0 = $1; t1 = $1 }
	END {
		if (n < 3) { printf "# cache %s: too few samples after the warm-up\n", state; exit 2 }
		b = (n * sxy - sx * sy) / (n * sxx - sx * sx); a = (sy - b * sx) / n
		growth = 100 * b * (t1 - t0) / (a + b * t0)
		printf "# cache %s, after the warm-up (%d s): %d samples, RSS %d..%d KiB, slope %+.2f KiB/min, growth %+.2f%% over %d s\n",
		    state, warm, n, min, max, b * 60, growth, t1 - t0
		exit (growth < 1 && growth > -1) ? 0 : 1 }' "$T/samples"
}
fit yes; on=$?
fit no; off=$?
if [ $on = 0 ] && [ $off = 0 ]; then echo "# RSS flat (growth under 1% in both states)"
else echo "# RSS NOT flat"; fi
reloads=$(grep -c "reloaded: backends" "$T/daemon.log")
echo "# $reloads reloads; the daemon logged, besides attempts and reloads:"
grep -vE "auth (success|failure): |SIGHUP: reloading|reloaded: backends|cache: (on|off)|file: loaded" "$T/daemon.log" | sort | uniq -c | sort -rn | head -n 10 | sed 's/^/#   /'
