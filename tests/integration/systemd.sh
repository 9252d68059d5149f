#!/bin/bash
# systemd integration with real peers: sd_notify messages to a socat
# receiver (Type=notify), socket activation by systemd-socket-activate
# (an authmuxd.socket unit), and -L/--listen.
# shellcheck disable=SC2317  # the helpers are called through check
. "$top_srcdir/tests/integration/lib.sh"

command -v socat >/dev/null || skip "socat not installed (Debian: apt-get install socat)"
SSA=$(command -v systemd-socket-activate) ||
	skip "systemd-socket-activate not installed (Debian: apt-get install systemd)"
TSA=$(command -v testsaslauthd || ls /usr/sbin/testsaslauthd 2>/dev/null)
[ -n "$TSA" ] || skip "testsaslauthd not installed (Debian: apt-get install sasl2-bin)"
# testmod's password "env" shows what a child of the daemon inherits;
# its testmod_init_ms makes a slow start
use_testmod
MECH=testmod,file

OK='0: OK "Success."'
NO='0: NO "authentication failed"'
NOTIFY="$T/notify.sock"
NLOG="$T/notify.log"
RECV_PID=

systemd_cleanup() {
	[ -n "$RECV_PID" ] && kill "$RECV_PID" 2>/dev/null
	cleanup
}
trap systemd_cleanup EXIT

# start_receiver [RECV SEND]: a fresh socat receiving datagrams into $NLOG
# (one after the other, with no separator between them), on socat's
# address RECV (default: the path $NOTIFY); SEND is the address to reach
# it, for a probe that says it is listening.
start_receiver() {
	_recv=${1:-UNIX-RECV:$NOTIFY} _send=${2:-UNIX-SENDTO:$NOTIFY}
	[ -n "$RECV_PID" ] && kill "$RECV_PID" 2>/dev/null && wait "$RECV_PID" 2>/dev/null
	rm -f "$NOTIFY" "$NLOG"
	socat -u "$_recv" "OPEN:$NLOG,creat,append" 2>>"$T/socat.err" &
	RECV_PID=$!
	_i=0
	while [ $_i -lt 100 ]; do
		echo probe | socat -u - "$_send" 2>/dev/null
		grep -q probe "$NLOG" 2>/dev/null && return 0
		sleep 0.05; _i=$((_i + 1))
	done
	return 1
}

# events: the state changes received so far, in order
events() {
	grep -o 'READY=1\|RELOADING=1\|STOPPING=1' "$NLOG" 2>/dev/null | tr '\n' ' '
}

# wait_events EXPECTED: until events says exactly that (3 s at most)
wait_events() {
	_i=0
	while [ "$_i" -lt 60 ]; do
		[ "$(events)" = "$1" ] && return 0
		sleep 0.05; _i=$((_i + 1))
	done
	echo "# events: \"$(events)\", wanted \"$1\""
	return 1
}

has_mainpid() { grep -q "MAINPID=$1\([^0-9]\|\$\)" "$NLOG"; }

# wait_gone PID: until the process has exited (5 s at most)
wait_gone() {
	_i=0
	while kill -0 "$1" 2>/dev/null && [ "$_i" -lt 100 ]; do sleep 0.05; _i=$((_i + 1)); done
	! kill -0 "$1" 2>/dev/null
}

# activate DIR LISTEN_FLAGS...: systemd-socket-activate with those flags
# (-l PATH...) in front of the daemon with -m DIR; sets DAEMON_PID, and
# waits until the first socket is there.  systemd-socket-activate passes
# on only a few variables: -E hands on the sanitizers' options.
activate() {
	_dir=$1; shift
	_envs=()
	for _v in ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS; do
		[ -n "${!_v:-}" ] && _envs+=(-E "$_v=${!_v}")
	done
	# shellcheck disable=SC2086
	"$SSA" "$@" "${_envs[@]}" -- ${AUTHMUXD_WRAPPER:-} "$AUTHMUXD" -d -a "$MECH" \
	    -m "$_dir" -O "$CONF" --module-dir "$MODDIR" >>"$LOG" 2>&1 &
	DAEMON_PID=$!
	_i=0
	while [ ! -S "$2" ] && alive && [ "$_i" -lt 100 ]; do sleep 0.02; _i=$((_i + 1)); done
}

# --- Type=notify, in the foreground --------------------------------------
start_receiver || { fail "socat receives on $NOTIFY"; done_testing; }
# init takes 1.5 s: a READY=1 sent before the sockets and the backends were
# up would be seen while the socket cannot answer yet
write_conf "testmod_init_ms: 1500"
NOTIFY_SOCKET="$NOTIFY" ${AUTHMUXD_WRAPPER:-} "$AUTHMUXD" -d -a "$MECH" -m "$RUN" \
    -O "$CONF" --module-dir "$MODDIR" >>"$LOG" 2>&1 &
DAEMON_PID=$!
i=0; while [ $i -lt 500 ] && ! grep -q 'READY=1' "$NLOG" 2>/dev/null; do sleep 0.02; i=$((i + 1)); done
expect_out "READY=1 comes when the socket answers at once" 0 "$OK" \
    timeout 1 "$TSA" -f "$SOCK" -u alice -p alice-pw
check "READY=1 only once" wait_events "READY=1 "
check "MAINPID is the daemon's pid ($DAEMON_PID)" has_mainpid "$DAEMON_PID"
check "STATUS says ready, with the backends" grep -qF "STATUS=Ready: backends $MECH" "$NLOG"
# /proc/PID/environ keeps the environment the process started with, even
# after unsetenv(3): ask a real child of the daemon instead
expect_out "a child of the daemon does not see NOTIFY_SOCKET" 0 "$OK" \
    "$AUTHMUX" -f "$SOCK" -u known-x -p env

write_conf
before=$("$WIRE" monotonic)
kill -HUP "$DAEMON_PID"
check "SIGHUP: RELOADING=1, then READY=1" wait_events "READY=1 RELOADING=1 READY=1 "
after=$("$WIRE" monotonic)
usec=$(grep -o 'MONOTONIC_USEC=[0-9]*' "$NLOG" | head -n 1 | cut -d= -f2)
check "RELOADING=1 with MONOTONIC_USEC of CLOCK_MONOTONIC ($before <= ${usec:-none} <= $after)" \
    both [ "$before" -le "${usec:-0}" ] -- [ "${usec:-0}" -le "$after" ]
check "STATUS says reloaded" grep -qF "STATUS=Reloaded: backends $MECH" "$NLOG"
expect_out "serving after the reload" 0 "$OK" "$TSA" -f "$SOCK" -u alice -p alice-pw

printf '%s\n' "file_path: relative/path" > "$CONF"
kill -HUP "$DAEMON_PID"
check "failed reload: RELOADING=1, then READY=1" \
    wait_events "READY=1 RELOADING=1 READY=1 RELOADING=1 READY=1 "
check "failed reload: STATUS says the old configuration is serving" \
    grep -qF "STATUS=Reload failed; still serving with the old configuration" "$NLOG"
expect_out "failed reload: the old configuration answers" 0 "$OK" "$TSA" -f "$SOCK" -u alice -p alice-pw

stop_daemon; rc=$?
check "SIGTERM: exit 0" [ $rc -eq 0 ]
check "SIGTERM: STOPPING=1" \
    wait_events "READY=1 RELOADING=1 READY=1 RELOADING=1 READY=1 STOPPING=1 "

# --- Type=notify, daemonized ---------------------------------------------
write_conf
start_receiver || fail "socat receives again"
NOTIFY_SOCKET="$NOTIFY" "$AUTHMUXD" -a "$MECH" -m "$RUN" -O "$CONF" \
    --module-dir "$MODDIR" 2>>"$LOG" &
parent=$!
wait "$parent"; rc=$?
check "daemon mode: the parent exits 0" [ $rc -eq 0 ]
pid=$(cat "$RUN/authmuxd.pid" 2>/dev/null)
check "daemon mode: READY=1" wait_events "READY=1 "
check "daemon mode: MAINPID is the forked child's, as in the pid file ($pid)" \
    both [ -n "$pid" -a "$pid" != "$parent" ] -- has_mainpid "$pid"
expect_out "daemon mode: a child of the daemon does not see NOTIFY_SOCKET" 0 "$OK" \
    "$AUTHMUX" -f "$SOCK" -u known-x -p env
kill -TERM "$pid"
check "daemon mode: stops" wait_gone "$pid"
check "daemon mode: STOPPING=1" wait_events "READY=1 STOPPING=1 "

# --- NOTIFY_SOCKET in the abstract namespace, and one that is not there ---
write_conf
: > "$LOG"
name="authmux-test-$$"
start_receiver "ABSTRACT-RECV:$name" "ABSTRACT-SENDTO:$name" ||
	fail "socat receives on @$name"
NOTIFY_SOCKET="@$name" start_daemon || fail "starts with NOTIFY_SOCKET=@$name"
check "@name: READY=1 with MAINPID" both wait_events "READY=1 " -- has_mainpid "$DAEMON_PID"
stop_daemon
NOTIFY_SOCKET="$T/nobody.sock" start_daemon || fail "starts with a NOTIFY_SOCKET nobody listens on"
expect_out "no receiver: serving all the same" 0 "$OK" "$TSA" -f "$SOCK" -u alice -p alice-pw
kill -HUP "$DAEMON_PID"
log_has "no receiver: reloaded" "reloaded: backends $MECH"
stop_daemon; rc=$?
check "no receiver: exit 0" [ $rc -eq 0 ]
check "no receiver: the error is logged once, for READY=1" \
    both [ "$(grep -c 'cannot tell the service manager' "$LOG")" = 1 ] -- \
    grep -q 'cannot tell the service manager "READY=1" (NOTIFY_SOCKET): No such file or directory' "$LOG"

# --- socket activation ----------------------------------------------------
# systemd-socket-activate binds the sockets, waits for the first
# connection, then execs the daemon in its own process with LISTEN_FDS.
# Three sockets: the run directory's mux, one at a path the daemon was not
# told about, and a TCP socket, which the daemon must refuse and close.
EXTRA="$T/extra/mux"
: > "$LOG"
mkdir -p "$RUN" "$T/extra"
for _ in 1 2 3 4 5; do
	port=$((20000 + RANDOM % 30000))
	activate "$RUN" -l "$SOCK" -l "$EXTRA" -l "127.0.0.1:$port"
	i=0; while [ $i -lt 100 ] && ! grep -q "127.0.0.1:$port as" "$LOG" && alive; do
		sleep 0.02; i=$((i + 1))
	done
	alive && break		# else the port was taken: another one
done
check "systemd-socket-activate made the socket" [ -S "$SOCK" ]
log_lacks "the daemon is started at the first connection, not before" "ready: backends"
expect_out "activated: good password" 0 "$OK" "$TSA" -f "$SOCK" -u alice -p alice-pw
expect_out "activated: wrong password" 255 "$NO" "$TSA" -f "$SOCK" -u alice -p nope
check "activated: it is the daemon that answers, in systemd-socket-activate's process" \
    grep -q "Execing .*authmuxd" "$LOG"
log_has "the log says the socket came from the service manager" \
    "$SOCK: socket from the service manager"
expect_out "the extra socket is served" 0 "$OK" "$TSA" -f "$EXTRA" -u alice -p alice-pw
log_has "the extra socket is logged as such" \
    "$EXTRA: socket from the service manager, not a run_dir or listen path; serving it with the saslauthd protocol"
log_has "the TCP socket is refused" "descriptor 5 from the service manager: not a unix socket; closed"
check "the TCP socket is closed" not socat -u /dev/null "TCP:127.0.0.1:$port" 2>/dev/null
expect_out "the control socket is the daemon's own (mode 0600)" 0 600 stat -c %a "$RUN/authmuxd.ctl"
expect_out "a child of the daemon does not see LISTEN_*" 0 "$OK" \
    "$AUTHMUX" -f "$SOCK" -u known-x -p env
kill -HUP "$DAEMON_PID"
log_has "activated: reloaded" "reloaded: backends $MECH"
log_lacks "activated: the sockets are the same after a reload" "socket changes need a restart"
expect_out "activated: answers after a reload" 0 "$OK" "$TSA" -f "$EXTRA" -u alice -p alice-pw
stop_daemon; rc=$?
check "activated: SIGTERM, exit 0" [ $rc -eq 0 ]
check "activated: the service manager's sockets are not unlinked" both [ -S "$SOCK" ] -- [ -S "$EXTRA" ]
check "activated: our control socket and pid file are removed" \
    both [ ! -e "$RUN/authmuxd.ctl" ] -- [ ! -e "$RUN/authmuxd.pid" ]

# the same socket under another path (Debian's /var/run is /run): the
# unit binds $T/real/mux, the daemon is told -m $T/alias
mkdir -p "$T/real"; ln -s real "$T/alias"
: > "$LOG"
activate "$T/alias" -l "$T/real/mux"
expect_out "through a symlinked directory: answers" 0 "$OK" "$TSA" -f "$T/alias/mux" -u alice -p alice-pw
log_has "through a symlinked directory: taken as the run_dir socket" \
    "$T/alias/mux: socket from the service manager (bound as $T/real/mux)"
log_lacks "through a symlinked directory: not served twice" "not a run_dir or listen path"
stop_daemon
check "through a symlinked directory: not unlinked" [ -S "$T/real/mux" ]

# a socket at the control socket's path is refused: that one is ours
rm -f "$SOCK"
: > "$LOG"
activate "$RUN" -l "$SOCK" -l "$RUN/authmuxd.ctl"
"$WIRE" -f "$SOCK" req alice alice-pw imap "" >/dev/null 2>&1
wait "$DAEMON_PID"; rc=$?; DAEMON_PID=
check "a socket at the control socket's path: refused, exit 1" [ $rc -eq 1 ]
log_has "a socket at the control socket's path: says so" \
    "$RUN/authmuxd.ctl: the service manager passed a socket at the control socket's path"

# --- -L / --listen -------------------------------------------------------
: > "$LOG"
rm -rf "$RUN"
start_daemon -L "$T/second/mux" --listen "$T/third/mux" -L "$SOCK" -L "$T/second/mux" ||
	fail "-L: starts, with duplicates"
expect_out "-L: the second socket answers" 0 "$OK" "$TSA" -f "$T/second/mux" -u alice -p alice-pw
expect_out "--listen: the third socket answers" 0 "$OK" "$TSA" -f "$T/third/mux" -u alice -p alice-pw
log_has "-L of run_dir/mux: skipped" "listen: $SOCK is run_dir/mux or an earlier listen path; skipped"
log_has "-L twice: skipped" "listen: $T/second/mux is run_dir/mux or an earlier listen path; skipped"
log_lacks "-L: no second instance seen" "already answering"
kill -HUP "$DAEMON_PID"
log_has "-L: reloaded" "reloaded: backends $MECH"
log_lacks "-L: kept across a reload" "socket changes need a restart"
expect_out "-L: answers after a reload" 0 "$OK" "$TSA" -f "$T/third/mux" -u alice -p alice-pw
stop_daemon
check "-L: our sockets are removed at exit" both [ ! -e "$T/second/mux" ] -- [ ! -e "$T/third/mux" ]
"$AUTHMUXD" -d -a file -m "$RUN" -O "$CONF" --module-dir "$MODDIR" -L relative/mux 2>"$T/err"
check "-L: a relative path is refused" [ $? -eq 1 ]
check "-L: ... and named as from the command line" \
    grep -qF 'command line: listen: "relative/mux" is not an absolute path' "$T/err"
done_testing
