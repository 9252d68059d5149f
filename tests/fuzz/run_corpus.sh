#!/bin/bash
# run_corpus.sh -- run each fuzz harness, built without libFuzzer (linked
# with standalone.c), over its seed corpus tests/fuzz/corpus/NAME/: every
# seed must pass the harness's invariants, and an empty run (a wrong path,
# a lost corpus) must not look like success.  FUZZ_HARNESSES (set by make
# check) names the harnesses this configuration builds.
set -u

top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
harnesses=${FUZZ_HARNESSES:-$(cd "$top_srcdir/tests/fuzz/corpus" && echo *)}
rc=0

for h in $harnesses; do
	harness=$top_builddir/tests/fuzz/fuzz_$h
	corpus=$top_srcdir/tests/fuzz/corpus/$h
	if [ ! -x "$harness" ]; then
		echo "run_corpus: $harness not built" >&2
		exit 99
	fi
	out=$("$harness" "$corpus")
	st=$?
	printf '%s\n' "$out"
	n=$(printf '%s\n' "$out" |
	    sed -n "s/^fuzz_$h: ran \([0-9]*\) inputs\$/\1/p")
	if [ "$st" -ne 0 ]; then
		echo "not ok - fuzz_$h exited with status $st" >&2
		rc=1
	elif [ -z "$n" ] || [ "$n" -eq 0 ]; then
		echo "not ok - fuzz_$h: no inputs ran from $corpus" >&2
		rc=1
	else
		echo "ok - fuzz_$h: $n seeds"
	fi
done
exit $rc
