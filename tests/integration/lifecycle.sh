#!/bin/bash
# Startup, reload, shutdown, and the refusals a serious daemon owes the
# administrator.
. "$top_srcdir/tests/integration/lib.sh"

OK='0: OK "Success."'
NO='0: NO "authentication failed"'

start_daemon || { fail "daemon starts"; done_testing; }
check "pid file written" grep -qx "$DAEMON_PID" "$RUN/authmuxd.pid"

# a second instance on the same directory is refused with exit 2
"$AUTHMUXD" -d -a file -m "$RUN" -O "$CONF" --module-dir "$MODDIR" > "$T/second.log" 2>&1
check "second instance exits 2" [ $? -eq 2 ]
check "second instance says why" grep -q "already answering on $SOCK" "$T/second.log"
expect_out "first instance still serves" 0 "$OK" "$AUTHMUX" -f "$SOCK" -u alice -p alice-pw

# SIGHUP: new config (another password file) without closing the socket,
# while a client keeps asking
grep '^alice:' "$USERS" > "$T/other.passwd"
cat >> "$T/other.passwd" <<'P'
zoe:$6$EH2SUvEnLqfvJo5u$fjjKjWV9PvWS1OxRy.MS.EW/OPvjRPzEzZhW7trT6H1pJn5l4ORcBnwN/OVrJElpvrTdXeen7.O2BmxTWpO82/
P
chmod 600 "$T/other.passwd"
ino_before=$(stat -c %i "$SOCK")
( for i in $(seq 1 60); do "$AUTHMUX" -q -f "$SOCK" -u alice -p alice-pw -R 1 || echo "LOST $i"; done ) > "$T/during.out" 2>&1 &
LOAD=$!
sleep 0.2
printf '%s\n' "file_path: $T/other.passwd" > "$CONF"
kill -HUP "$DAEMON_PID"
wait $LOAD
i=0; while [ $i -lt 50 ] && ! grep -q "reloaded: backends file" "$LOG"; do sleep 0.1; i=$((i + 1)); done
log_has "reload logged" "reloaded: backends file"
check "no request refused or dropped during the reload" [ ! -s "$T/during.out" ]
check "socket kept across reload" [ "$(stat -c %i "$SOCK")" = "$ino_before" ]
# zoe's password is mkpasswd -m sha-512 zoe-pw
expect_out "new config in force after SIGHUP" 0 "$OK" "$AUTHMUX" -f "$SOCK" -u zoe -p zoe-pw
expect_out "old password file no longer used" 255 "$NO" "$AUTHMUX" -f "$SOCK" -u carol -p carol-pw

# a broken config on SIGHUP keeps the old one
printf '%s\n' "file_path: relative/path" "threads: many" > "$CONF"
kill -HUP "$DAEMON_PID"
i=0; while [ $i -lt 50 ] && ! grep -q "reload failed" "$LOG"; do sleep 0.1; i=$((i + 1)); done
log_has "failed reload logged" "reload failed; still serving with the old configuration"
log_has "the error names file:line and key" "$CONF:2: threads:"
expect_out "still serving the old config" 0 "$OK" "$AUTHMUX" -f "$SOCK" -u zoe -p zoe-pw

# SIGTERM: clean exit, socket and pid file gone
stop_daemon; rc=$?
check "SIGTERM: exit status 0" [ $rc -eq 0 ]
check "SIGTERM: socket removed" [ ! -e "$SOCK" ]
check "SIGTERM: pid file removed" [ ! -e "$RUN/authmuxd.pid" ]
log_has "stop logged" "stopped"

# a stale socket (daemon killed hard) is replaced
write_conf
start_daemon || fail "restart"
kill -KILL "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null; DAEMON_PID=
check "stale socket left behind" [ -S "$SOCK" ]
start_daemon || fail "start over a stale socket"
log_has "stale socket replaced" "removed stale socket $SOCK"
expect_out "serves after replacing a stale socket" 0 "$OK" "$AUTHMUX" -f "$SOCK" -u alice -p alice-pw
stop_daemon

# daemon mode: the parent returns once the socket listens
"$AUTHMUXD" -a file -m "$RUN" -O "$CONF" --module-dir "$MODDIR"
rc=$?
check "daemon mode: parent exits 0" [ $rc -eq 0 ]
expect_out "daemon mode: answering as soon as the parent returned" 0 "$OK" "$AUTHMUX" -f "$SOCK" -u alice -p alice-pw
pid=$(cat "$RUN/authmuxd.pid" 2>/dev/null)
check "daemon mode: pid file names a live process" kill -0 "$pid"
kill -TERM "$pid"
i=0; while [ $i -lt 100 ] && kill -0 "$pid" 2>/dev/null; do sleep 0.05; i=$((i + 1)); done
check "daemon mode: SIGTERM stops it" [ ! -e "$SOCK" ]

# daemon mode reports a startup failure through the exit status
"$AUTHMUXD" -a file -m "$RUN" -O "$T/missing.conf" --module-dir "$MODDIR" 2> "$T/err"
check "daemon mode: missing config exits 1" [ $? -eq 1 ]
check "daemon mode: error names the file" grep -q "$T/missing.conf" "$T/err"

# refusals
mkdir -p "$T/ww"; chmod 0777 "$T/ww"
"$AUTHMUXD" -d -a file -m "$T/ww" -O "$CONF" --module-dir "$MODDIR" 2> "$T/err"
check "world-writable socket directory refused" [ $? -eq 1 ]
check "refusal says why" grep -q "writable by everyone" "$T/err"
long="$T/$(printf '%0100d' 0)"
"$AUTHMUXD" -d -a file -m "$long" -O "$CONF" --module-dir "$MODDIR" 2> "$T/err"
check "socket path too long refused" [ $? -eq 1 ]
check "refusal says too long" grep -q "too long for a unix socket" "$T/err"
check "and nothing was created" [ ! -e "$long" ]
"$AUTHMUXD" -d -a nosuch -m "$RUN" -O "$CONF" --module-dir "$MODDIR" 2> "$T/err"
check "unknown backend refused" [ $? -eq 1 ]
check "unknown backend named" grep -q "backend nosuch: unknown backend" "$T/err"
# a known backend whose module file is not there: the package is missing
mkdir -p "$T/nomods"
timeout 10 "$AUTHMUXD" -d -a file -m "$RUN" -O "$CONF" --module-dir "$T/nomods" 2> "$T/err"
check "module file missing: says which package to look for" grep -q "backend file: module $T/nomods/file.so is missing; is the package that holds it installed?" "$T/err"
# a known backend this build left out (when there is one)
built=$("$AUTHMUXD" -v | sed -n 's/^authentication mechanisms: //p')
for b in file pam shadow ldap; do
	case " $built " in *" $b "*) continue ;; esac
	timeout 10 "$AUTHMUXD" -d -a "$b" -m "$RUN" -O "$CONF" --module-dir "$MODDIR" 2> "$T/err"
	check "backend not built: says so ($b)" grep -q "backend $b: not compiled in" "$T/err"
	break
done
printf 'not an ELF file' > "$T/bogus.so"
"$AUTHMUXD" -d -a bogus -m "$RUN" -O "$CONF" --module-dir "$T" 2> "$T/err"
check "module that cannot be loaded: named with the reason" grep -q "backend bogus: cannot load $T/bogus.so: " "$T/err"

# created socket directory: mode from the config
write_conf "socket_dir_mode: 0750"
RUN="$T/newdir/sub"; SOCK="$RUN/mux"
start_daemon || fail "start in a directory that does not exist yet"
check "missing directories created with the configured mode" [ "$(stat -c %a "$T/newdir/sub")" = 750 ]
stop_daemon

# several listen paths at once (the Postfix chroot case)
RUN="$T/run"; SOCK="$RUN/mux"
write_conf "listen: $T/chroot/var/run/saslauthd/mux"
start_daemon || fail "start with two sockets"
expect_out "main socket answers" 0 "$OK" "$AUTHMUX" -f "$SOCK" -u alice -p alice-pw
expect_out "chroot socket answers" 0 "$OK" "$AUTHMUX" -f "$T/chroot/var/run/saslauthd/mux" -u alice -p alice-pw
stop_daemon
check "both sockets removed at exit" both [ ! -e "$SOCK" ] -- [ ! -e "$T/chroot/var/run/saslauthd/mux" ]
done_testing
