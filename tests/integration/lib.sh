# lib.sh -- shared setup for the integration tests: start the real daemon
# on a temporary socket directory and talk to it with real clients.
#
# Sourced by each test.  Environment (set by "make check"):
#   top_builddir, top_srcdir   the build and source trees
#   AUTHMUXD_WRAPPER           optional command prefix for the daemon,
#                              e.g. "valgrind --error-exitcode=99 -q"
#   CI                         when set, a missing component is a failure,
#                              never a skip
set -u

: "${top_builddir:?run through make check}"
: "${top_srcdir:?run through make check}"

AUTHMUXD="$top_builddir/src/authmuxd"
AUTHMUX="$top_builddir/src/authmux"
WIRE="$top_builddir/tests/integration/wire"
MODDIR="$top_builddir/modules/.libs"
USERS="$top_srcdir/tests/integration/users.passwd"

# unix socket paths are short: keep the directory short too
T=$(mktemp -d /tmp/amtest.XXXXXX)
RUN="$T/run"
SOCK="$RUN/mux"
LOG="$T/daemon.log"
CONF="$T/authmuxd.conf"
DAEMON_PID=
failures=0
ntests=0

cleanup() {
	if [ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2>/dev/null; then
		kill -TERM "$DAEMON_PID" 2>/dev/null
		wait "$DAEMON_PID" 2>/dev/null
	fi
	rm -rf "$T"
}
trap cleanup EXIT

# skip REASON: exit 77, but never in CI, where everything must run.
skip() {
	if [ -n "${CI:-}" ]; then
		echo "FAIL (CI may not skip): $*"
		exit 99
	fi
	echo "SKIP: $*"
	exit 77
}

pass() { ntests=$((ntests + 1)); echo "ok $ntests - $*"; }
fail() { ntests=$((ntests + 1)); failures=$((failures + 1)); echo "not ok $ntests - $*"; }

# check DESCRIPTION COMMAND...: pass when the command succeeds.
check() {
	desc=$1; shift
	if "$@"; then pass "$desc"; else fail "$desc"; fi
}

# own_make_env: for the package tests, which run make and package builds
# of their own.  The make that runs a test hands its command line
# (TESTS=that test) down in MAKEFLAGS; inherited by the package build, it
# would make dh_auto_test's or %check's "make check-unit" run the test
# again inside it, and so on without end.  So clear make's variables, and
# refuse to start inside a run of the same test.
own_make_env() {
	_marker=AUTHMUXD_IN_$(basename "$0" .sh | tr -c 'a-zA-Z0-9\n' _)
	if [ -n "$(printenv "$_marker")" ]; then
		echo "Bail out! $0 started inside its own package build"
		exit 99
	fi
	export "$_marker=1"
	unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES
}

# not_under_valgrind CHECK...: run the check (check, log_has, ...) unless
# the daemon runs under valgrind (./run-tests' valgrind stage), where
# timings stretch many times and valgrind keeps descriptors and the
# open-files limit partly for itself; that stage looks for memory errors.
not_under_valgrind() {
	case "${AUTHMUXD_WRAPPER:-}" in
	*valgrind*) echo "# not checked under valgrind: $2" ;;
	*) "$@" ;;
	esac
}

# not COMMAND...: the command fails (for check).
not() { ! "$@"; }

# both TEST1... -- TEST2...: both commands succeed (for check, which
# runs one command: "check DESC [ a ] && [ b ]" would test only [ a ]).
both() {
	a=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do a+=("$1"); shift; done
	shift
	"${a[@]}" && "$@"
}

# expect_out DESCRIPTION EXPECTED_STATUS EXPECTED_STDOUT COMMAND...
expect_out() {
	desc=$1 want_rc=$2 want_out=$3; shift 3
	out=$("$@" 2>"$T/stderr"); rc=$?
	if [ "$rc" = "$want_rc" ] && [ "$out" = "$want_out" ]; then
		pass "$desc"
	else
		fail "$desc (exit $rc, wanted $want_rc; got \"$out\", wanted \"$want_out\")"
		sed 's/^/#   stderr: /' "$T/stderr"
	fi
}

# log_has DESCRIPTION FIXED_STRING: the daemon's log has a line with it.
# The event loop writes its own lines in batches, when it has nothing else
# to do: a line may land a moment after the reply, so wait up to 3 s.
log_wait() { # FIXED_STRING [SECONDS]
	_w=0
	while [ $_w -lt $((${2:-3} * 20)) ]; do
		grep -qF -- "$1" "$LOG" && return 0
		sleep 0.05; _w=$((_w + 1))
	done
	return 1
}

log_has() {
	if log_wait "$2"; then pass "$1"; else
		fail "$1 (no \"$2\" in the log)"; sed 's/^/#   log: /' "$LOG" | tail -n 15
	fi
}

# hup_wait FIXED_STRING: SIGHUP the daemon, then wait (5 s at most) for a
# log line after it with the string; fails when none comes (for check).
hup_wait() {
	_n=$(wc -l < "$LOG")
	kill -HUP "$DAEMON_PID"
	_w=0
	while [ $_w -lt 100 ] && ! tail -n +"$((_n + 1))" "$LOG" | grep -qF -- "$1"; do
		sleep 0.05; _w=$((_w + 1))
	done
	tail -n +"$((_n + 1))" "$LOG" | grep -qF -- "$1"
}

# log_count FIXED_STRING: how many lines of the log have it
log_count() { grep -cF -- "$1" "$LOG"; }

# burst_total FULL SUMMARY: how many events a burst's lines account for:
# one per line with FULL (the first of a burst, logged in full), N per
# "SUMMARY: N more in T s" line (loop_burst in loop.c).
burst_total() {
	_more=$(grep -F -- "$2: " "$LOG" | sed -n 's/.*: \([0-9]*\) more in .*/\1/p' | paste -sd+ -)
	echo $(($(log_count "$1") + ${_more:-0}))
}

log_lacks() {
	if grep -qF -- "$2" "$LOG"; then fail "$1 (\"$2\" is in the log)"; else pass "$1"; fi
}

# field STRING: STRING as a counted string of the protocol, in hex
field() { printf '%04x' "${#1}"; printf '%s' "$1" | od -An -v -tx1 | tr -d ' \n'; }

# value_of LINE KEY: the number after "KEY:" or "KEY=" in LINE (wire
# latency's "p99_ms: 1.2" gives 1, loadgen's "ok=12" gives 12)
value_of() { printf '%s\n' "$1" | sed -n "s/.*$2[:=] *\([0-9]*\).*/\1/p"; }

# wait_jobs [PID...]: wait for this shell's background jobs, except the
# daemon and the PIDs given (servers that stay up)
wait_jobs() {
	for _j in $(jobs -p); do
		case " $DAEMON_PID $* " in *" $_j "*) continue ;; esac
		wait "$_j"
	done
}

write_conf() {
	printf '%s\n' "file_path: $USERS" "$@" > "$CONF"
}

# wait_socket: until the daemon answers on $SOCK (5 s at most).
wait_socket() {
	i=0
	while [ $i -lt 100 ]; do
		if [ -S "$SOCK" ] && "$WIRE" -f "$SOCK" req x y imap "" >/dev/null 2>&1; then
			return 0
		fi
		if [ -n "$DAEMON_PID" ] && ! kill -0 "$DAEMON_PID" 2>/dev/null; then
			echo "# daemon died at startup:"; sed 's/^/#   /' "$LOG"
			return 1
		fi
		sleep 0.05; i=$((i + 1))
	done
	echo "# daemon did not come up:"; sed 's/^/#   /' "$LOG"
	return 1
}

# start_daemon [EXTRA FLAGS...]: foreground daemon, $CONF, the backends
# in $MECH (default: file).
start_daemon() {
	_m=${MECH:-file}
	[ -f "$MODDIR/${_m%%,*}.so" ] || skip "the ${_m%%,*} backend is not built (configure --with-${_m%%,*})"
	[ -f "$CONF" ] || write_conf
	# shellcheck disable=SC2086
	${AUTHMUXD_WRAPPER:-} "$AUTHMUXD" -d -a "$_m" -m "$RUN" -O "$CONF" \
	    --module-dir "$MODDIR" "$@" >>"$LOG" 2>&1 &
	DAEMON_PID=$!
	wait_socket
}

# stop_daemon: SIGTERM and wait; returns the daemon's exit status.
stop_daemon() {
	kill -TERM "$DAEMON_PID"
	wait "$DAEMON_PID"; rc=$?
	DAEMON_PID=
	return $rc
}

# use_testmod: MODDIR becomes a directory of the test's own holding the
# test backend (testmod.c) next to file.so; skips when either is not built.
use_testmod() {
	_tm="$top_builddir/tests/integration/.libs/testmod.so"
	[ -f "$_tm" ] || skip "test module not built"
	[ -f "$MODDIR/file.so" ] || skip "the file backend is not built (configure --with-file)"
	mkdir -p "$T/mods"
	ln -s "$MODDIR/file.so" "$T/mods/file.so"
	ln -s "$_tm" "$T/mods/testmod.so"
	MODDIR="$T/mods"
}

alive() { [ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2>/dev/null; }

done_testing() {
	echo "1..$ntests"
	if [ "$failures" -gt 0 ]; then
		echo "# $failures of $ntests failed"
		exit 1
	fi
	exit 0
}
