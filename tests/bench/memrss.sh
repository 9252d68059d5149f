#!/bin/sh
# memrss.sh -- summed resident memory of processes, in KiB.
#
#   memrss.sh [-P] [-v] PID...
#   memrss.sh [-P] [-v] -n NAME
#
# Prints one number: the sum of VmRSS (from /proc/PID/status) over the
# PIDs given, or over every process whose name (/proc/PID/comm, which
# the kernel cuts to 15 bytes) is NAME.  Threads are part of their
# process and are not counted twice.
#
# RSS counts shared pages (libc, a pre-forked parent's pages shared
# copy-on-write with its children) once per process, so summing it
# over saslauthd's forked workers overstates their real footprint.  -P
# sums Pss from /proc/PID/smaps_rollup instead (each shared page divided
# among the processes that map it): the fair number for comparing a
# multi-process daemon with a multi-threaded one.  Reading another
# user's smaps_rollup needs root.
#
# -v also prints "PID NAME KiB" for each process on stderr.  Processes
# that vanish while being read are skipped.  Exits 1 when no process
# matched (and prints 0).

usage() {
	cat >&2 <<EOF
usage: memrss.sh [-P] [-v] PID...
       memrss.sh [-P] [-v] -n NAME
Prints the sum of VmRSS (KiB) of the PIDs, or of all processes named NAME.
  -P  sum Pss from /proc/PID/smaps_rollup instead (fair for forked workers)
  -v  also print "PID NAME KiB" per process on stderr
EOF
	exit 2
}

field=VmRSS
file=status
name=
verbose=0
while getopts n:Pvh opt; do
	case $opt in
	n) name=$OPTARG ;;
	P) field=Pss; file=smaps_rollup ;;
	v) verbose=1 ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))

if [ -n "$name" ]; then
	[ $# -eq 0 ] || usage
	# comm holds at most 15 bytes of the name.
	short=$(printf '%s' "$name" | cut -c1-15)
	pids=
	for d in /proc/[0-9]*; do
		pid=${d#/proc/}
		[ "$pid" = "$$" ] && continue
		comm=$(cat "$d/comm" 2>/dev/null) || continue
		[ "$comm" = "$short" ] && pids="$pids $pid"
	done
	# PIDs are digits only: splitting is what is wanted here.
	# shellcheck disable=SC2086
	set -- $pids
else
	[ $# -gt 0 ] || usage
	for pid in "$@"; do
		case $pid in
		''|*[!0-9]*) echo "memrss.sh: not a PID: $pid" >&2; exit 2 ;;
		esac
	done
fi

total=0
n=0
for pid in "$@"; do
	# Kernel threads and zombies have no VmRSS/Pss line: they add 0.
	kib=$(awk -v f="$field:" '$1 == f { print $2; found = 1; exit }
	    END { if (!found) print 0 }' "/proc/$pid/$file" 2>/dev/null) ||
		continue
	[ -n "$kib" ] || continue
	total=$((total + kib))
	n=$((n + 1))
	if [ "$verbose" = 1 ]; then
		printf '%s %s %s\n' "$pid" \
		    "$(cat "/proc/$pid/comm" 2>/dev/null)" "$kib" >&2
	fi
done
echo "$total"
[ "$n" -gt 0 ]
