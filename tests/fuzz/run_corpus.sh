#!/bin/bash
# run_corpus.sh -- run the fuzz harness, built without libFuzzer, over the
# seed corpus: every seed must pass the codec's invariants, and an empty
# run (wrong path, lost corpus) must not look like success.
set -u

top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
harness=$top_builddir/tests/fuzz/fuzz_proto
corpus=$top_srcdir/tests/fuzz/corpus

if [ ! -x "$harness" ]; then
	echo "run_corpus: $harness not built" >&2
	exit 99
fi
out=$("$harness" "$corpus")
rc=$?
printf '%s\n' "$out"
if [ "$rc" -ne 0 ]; then
	echo "run_corpus: fuzz_proto exited with status $rc" >&2
	exit 1
fi
n=$(printf '%s\n' "$out" | sed -n 's/^fuzz_proto: ran \([0-9]*\) inputs$/\1/p')
if [ -z "$n" ] || [ "$n" -eq 0 ]; then
	echo "run_corpus: no inputs ran from $corpus" >&2
	exit 1
fi
exit 0
