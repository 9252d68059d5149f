#!/bin/bash
# fuzz.sh -- build the libFuzzer harnesses (build.sh) and run each for a
# bounded time on a copy of its seed corpus.  Fails on any crash, failed
# invariant, sanitizer report, leak, timeout or memory blow-up, and
# prints the reproducer's path and what it does.
#
#   tests/fuzz/fuzz.sh                        every harness, 20 s each
#   FUZZ_SECONDS=3600 tests/fuzz/fuzz.sh passwd   a long run of one
#
# Environment:
#   FUZZ_SECONDS    seconds per harness (default 20)
#   FUZZ_HARNESSES  which ones (default: all, one per corpus/NAME/; make
#                   check passes those this configuration builds);
#                   arguments win over it
#   FUZZ_WORK       where the grown corpora and logs go (default: a
#                   temporary directory, removed unless something failed)
#   FUZZ_ARTIFACTS  where reproducers go (default:
#                   tests/fuzz/artifacts/NAME/ in the build tree)
#   CI              when set, a missing clang or libFuzzer is a failure
# Without clang and libFuzzer the test is skipped (exit 77).
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-.}
export top_srcdir top_builddir
seconds=${FUZZ_SECONDS:-20}
harnesses=${*:-${FUZZ_HARNESSES:-$(cd "$top_srcdir/tests/fuzz/corpus" && echo *)}}
bin=$top_builddir/tests/fuzz/libfuzzer
artifacts=${FUZZ_ARTIFACTS:-$top_builddir/tests/fuzz/artifacts}
cc=${CC_FUZZ:-clang}

# skip (exit 77, but never in CI), pass, fail, done_testing; $T, removed
# at exit
. "$top_srcdir/tests/integration/lib.sh"

command -v "$cc" >/dev/null || skip "no $cc (Debian: apt-get install clang)"
printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n)%s\n' \
    '{ return 0; }' > "$T/probe.c"
if ! "$cc" -fsanitize=fuzzer,address,undefined "$T/probe.c" \
    -o "$T/probe" 2>"$T/probe.err"; then
	sed 's/^/# /' "$T/probe.err" | head -5
	skip "$cc cannot build libFuzzer programs (Debian: apt-get install libclang-rt-14-dev)"
fi

# shellcheck disable=SC2086 # a list of names
if ! "$top_srcdir/tests/fuzz/build.sh" "$bin" $harnesses; then
	fail "tests/fuzz/build.sh builds the harnesses"
	done_testing
fi

if [ -n "${FUZZ_WORK:-}" ]; then
	work=$FUZZ_WORK
	mkdir -p "$work" || exit 99
else
	work=$(mktemp -d /tmp/amfuzz.XXXXXX) || exit 99
fi
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
for h in $harnesses; do
	corpus=$work/$h/corpus
	art=$artifacts/$h/
	mkdir -p "$corpus" "$art" || exit 99
	cp "$top_srcdir/tests/fuzz/corpus/$h/"* "$corpus/" || exit 99
	touch "$work/$h.start"
	# -close_fd_mask=2: the parsers' log lines go nowhere; libFuzzer's
	# own output and the sanitizers' reports still reach the log.  nice:
	# the time is bounded anyway, and make check runs timing-sensitive
	# tests beside it.
	nice -n 10 "$bin/fuzz_$h" -max_total_time="$seconds" -timeout=5 \
	    -rss_limit_mb=1024 -detect_leaks=1 -close_fd_mask=2 \
	    -print_final_stats=1 -artifact_prefix="$art" \
	    "$corpus" >"$work/$h.log" 2>&1
	rc=$?
	# the last status line: "#N DONE cov: C ft: F corp: ..."
	stats=$(grep -E '^#[0-9]+' "$work/$h.log" | tail -n 1)
	echo "fuzz_$h: ${stats:-no status line} (exit $rc)"
	new=$(find "$art" -type f -newer "$work/$h.start" -printf '%f\n')
	if [ "$rc" -eq 0 ] && [ -z "$new" ]; then
		pass "fuzz_$h: ${seconds} s, no failure"
		continue
	fi
	fail "fuzz_$h (log: $work/$h.log)"
	grep -E '^SUMMARY' "$work/$h.log" | sed 's/^/#   /'
	for f in $new; do
		echo "#   reproducer: $art$f"
		echo "#   rerun it:   $bin/fuzz_$h $art$f"
		# once more, for what the closed stderr kept back (a failed
		# CHECK's message), and the stack in our own sources
		"$bin/fuzz_$h" "$art$f" 2>&1 | grep -E -e 'invariant failed' \
		    -e 'runtime error' -e '^==[0-9]+==ERROR' \
		    -e "^ +#[0-9]+ .* $top_srcdir/" | head -n 15 |
		    sed 's/^/#     /'
	done
done
if [ "$failures" -eq 0 ] && [ -z "${FUZZ_WORK:-}" ]; then
	rm -rf "$work"
fi
done_testing
