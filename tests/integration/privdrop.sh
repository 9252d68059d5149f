#!/bin/bash
# What the process gives away: no core dumps and not dumpable from the
# start, and with "user" set, the drop from root once the sockets are
# bound and preinit has run.  Checked from outside, in /proc/PID: the core
# limit, the ids, the groups, and the owner of /proc/PID/status (root's
# for a process that is not dumpable, the process's own otherwise).
. "$top_srcdir/tests/integration/lib.sh"

[ "$(id -u)" = 0 ] || skip "needs root (the daemon drops to nobody)"
command -v setpriv >/dev/null || skip "setpriv is missing (Debian: util-linux)"
id nobody >/dev/null 2>&1 || skip "no user nobody"
NOBODY_UID=$(id -u nobody)
NOBODY_GID=$(id -g nobody)
NOBODY_GROUP=$(id -gn nobody)

OK='0: OK "Success."'
A() { "$AUTHMUX" -f "$SOCK" "$@"; }
# ids LINE: the four ids of a Uid: or Gid: line of /proc/PID/status
ids() { sed -n "s/^$1:[[:space:]]*//p" "/proc/$DAEMON_PID/status" | tr -s '[:space:]' ' ' | sed 's/ $//'; }
owner() { stat -c %u "/proc/$DAEMON_PID/status"; }
core_limit() { sed -n 's/^Max core file size *\([^ ]*\) *\([^ ]*\) .*/\1 \2/p' "/proc/$DAEMON_PID/limits"; }

# --- as root: no core dumps --------------------------------------------------
write_conf
start_daemon || { fail "daemon starts"; done_testing; }
check "no core dumps: RLIMIT_CORE 0, soft and hard (got $(core_limit))" [ "$(core_limit)" = "0 0" ]
check "without user it stays root" [ "$(ids Uid)" = "0 0 0 0" ]
stop_daemon

# --- started unprivileged: only the daemon's own prctl makes it not
# dumpable (no change of uid does it for it) --------------------------------
NB="$T/nobody"
mkdir -p "$NB"
chown nobody "$NB"
chmod 755 "$T"
printf '%s\n' "file_path: $USERS" "pid_file: $NB/authmuxd.pid" > "$NB/conf"
setpriv --reuid=nobody --regid="$NOBODY_GID" --clear-groups \
    "$AUTHMUXD" -d -a file -m "$NB/run" -O "$NB/conf" --module-dir "$MODDIR" \
    >>"$LOG" 2>&1 &
DAEMON_PID=$!
SOCK_SAVED=$SOCK SOCK="$NB/run/mux"
wait_socket || fail "an unprivileged daemon starts"
check "started as nobody it runs as nobody" [ "$(ids Uid)" = "$NOBODY_UID $NOBODY_UID $NOBODY_UID $NOBODY_UID" ]
check "... and is not dumpable: /proc/PID/status is root's (owner $(owner))" [ "$(owner)" = 0 ]
check "... and has no core dumps (got $(core_limit))" [ "$(core_limit)" = "0 0" ]
stop_daemon
SOCK=$SOCK_SAVED

# --- user: nobody --------------------------------------------------------------
# started by hand, without -a: a reload may then change the backends
: > "$LOG"
write_conf "mechanisms: file" "user: nobody"
"$AUTHMUXD" -d -c -m "$RUN" -O "$CONF" --module-dir "$MODDIR" >>"$LOG" 2>&1 &
DAEMON_PID=$!
wait_socket || { fail "daemon starts with user: nobody"; done_testing; }
check "uids are nobody's: $(ids Uid)" [ "$(ids Uid)" = "$NOBODY_UID $NOBODY_UID $NOBODY_UID $NOBODY_UID" ]
check "gids are nobody's group's: $(ids Gid)" [ "$(ids Gid)" = "$NOBODY_GID $NOBODY_GID $NOBODY_GID $NOBODY_GID" ]
check "supplementary groups are nobody's: $(ids Groups)" [ "$(ids Groups)" = "$(id -G nobody)" ]
check "no capabilities left (CapEff $(sed -n 's/^CapEff:[[:space:]]*//p' "/proc/$DAEMON_PID/status"))" \
    grep -q '^CapEff:[[:space:]]*0*$' "/proc/$DAEMON_PID/status"
# (the kernel does it too when fs.suid_dumpable is 0; the daemon sets it
# again for systems where it is not)
check "not dumpable after the drop: /proc/PID/status is root's (owner $(owner))" [ "$(owner)" = 0 ]
check "no core dumps after the drop (got $(core_limit))" [ "$(core_limit)" = "0 0" ]
log_has "the drop is logged" "running as user nobody (uid $NOBODY_UID), group $NOBODY_GROUP (gid $NOBODY_GID)"
expect_out "logins work" 0 "$OK" A -u alice -p alice-pw
out=$("$AUTHMUX" -f "$RUN/authmuxd.ctl" cache stats); rc=$?
check "the control socket still serves root (exit $rc)" both [ $rc = 0 ] -- grep -q '^entries: ' <<< "$out"
check "the pid file was written (as root)" [ "$(cat "$RUN/authmuxd.pid")" = "$DAEMON_PID" ]

# reload as nobody: the password file is readable by it
check "a reload works as nobody" hup_wait "reloaded: backends file"
expect_out "logins work after the reload" 0 "$OK" A -u alice -p alice-pw
write_conf "mechanisms: file" "user: root"
check "a change of user is only warned about" hup_wait "user/group: a change needs a restart; still running as nobody"
check "... and it still runs as nobody" [ "$(ids Uid)" = "$NOBODY_UID $NOBODY_UID $NOBODY_UID $NOBODY_UID" ]
# a backend that must run as root cannot come in by a reload
if [ -f "$MODDIR/pam.so" ]; then
	printf '%s\n' "mechanisms: pam" > "$CONF"
	kill -HUP "$DAEMON_PID"
	log_has "a reload to pam is refused" "user: backend pam must run as root"
	log_has "... and the old configuration stays" "reload failed; still serving with the old configuration"
	expect_out "... which still answers" 0 "$OK" A -u alice -p alice-pw
fi
stop_daemon
log_has "the pid file stays: nobody may not remove it" "pid file $RUN/authmuxd.pid stays: user nobody may not remove it"
check "the socket stays too" [ -S "$SOCK" ]
write_conf "user: $NOBODY_UID" "group: $NOBODY_GROUP"
start_daemon || fail "the next start replaces the stale socket"
check "user and group as a number and a name: $(ids Uid) / $(ids Gid)" \
    both [ "$(ids Uid)" = "$NOBODY_UID $NOBODY_UID $NOBODY_UID $NOBODY_UID" ] -- \
    [ "$(ids Gid)" = "$NOBODY_GID $NOBODY_GID $NOBODY_GID $NOBODY_GID" ]
expect_out "... and it answers" 0 "$OK" A -u alice -p alice-pw
stop_daemon

# --- refusals -------------------------------------------------------------------
# cc EXPECTED_STATUS TEXT FLAGS...: --check-config fails with TEXT in its output
cc() {
	_want=$1 _text=$2; shift 2
	out=$("$AUTHMUXD" --check-config -O "$CONF" --module-dir "$MODDIR" "$@" 2>&1); rc=$?
	if [ $rc = "$_want" ] && grep -qF -- "$_text" <<< "$out"; then pass "$DESC"; else
		fail "$DESC (exit $rc, wanted $_want; no \"$_text\" in:)"; sed 's/^/#   /' <<< "$out"
	fi
}
write_conf "user: nosuchuser$$"
DESC="an unknown user is an error at file:line" cc 1 "$CONF:2: user: no such user \"nosuchuser$$\"" -a file
write_conf "group: $NOBODY_GROUP"
DESC="group without user is an error" cc 1 "$CONF:2: group: needs user" -a file
write_conf "user: nobody" "group: nosuchgroup$$"
DESC="an unknown group is an error" cc 1 "$CONF:3: group: no such group \"nosuchgroup$$\"" -a file
if [ -f "$MODDIR/pam.so" ]; then
	write_conf "user: nobody"
	DESC="check-config: pam with user set is refused" cc 1 "$CONF:2: user: backend pam must run as root" -a pam
	out=$("$AUTHMUXD" -d -a pam -m "$RUN" -O "$CONF" --module-dir "$MODDIR" 2>&1); rc=$?
	check "the daemon refuses to start pam with user set (exit $rc)" [ $rc = 1 ]
	check "... saying why" grep -qF "user: backend pam must run as root" <<< "$out"
fi
# the password file must stay readable by the user: it is re-read
cp "$USERS" "$T/root-only.passwd"
chmod 600 "$T/root-only.passwd"
printf '%s\n' "file_path: $T/root-only.passwd" "user: nobody" > "$CONF"
out=$("$AUTHMUXD" -d -a file -m "$RUN" -O "$CONF" --module-dir "$MODDIR" 2>&1); rc=$?
check "a password file nobody cannot read stops the start (exit $rc)" [ $rc = 1 ]
check "... saying why" grep -qF "file_path: $T/root-only.passwd is not readable by uid $NOBODY_UID" <<< "$out"
DESC="check-config runs init's checks as the user too" \
    cc 1 "file_path: $T/root-only.passwd is not readable by uid $NOBODY_UID" -a file
chmod 644 "$T/root-only.passwd"
DESC="... and passes when the user may read the file" cc 0 "configuration OK" -a file
# the same for the files libldap reads for every new TLS connection
if [ -f "$MODDIR/ldap.so" ]; then
	: > "$T/ca.pem"
	chmod 600 "$T/ca.pem"
	printf '%s\n' "user: nobody" "ldap_servers: ldaps://127.0.0.1:1/" \
	    "ldap_tls_cacert_file: $T/ca.pem" > "$CONF"
	out=$("$AUTHMUXD" -d -a ldap -m "$RUN" -O "$CONF" --module-dir "$MODDIR" 2>&1); rc=$?
	check "a CA file nobody cannot read stops the start (exit $rc)" [ $rc = 1 ]
	check "... saying why" grep -qF "ldap_tls_cacert_file: $T/ca.pem is not readable by uid $NOBODY_UID" <<< "$out"
fi
# user: root drops nothing
write_conf "user: root"
start_daemon || fail "daemon starts with user: root"
check "user: root stays root" [ "$(ids Uid)" = "0 0 0 0" ]
stop_daemon

done_testing
