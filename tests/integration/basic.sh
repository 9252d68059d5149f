#!/bin/bash
# The file backend through the real daemon, driven by authmux.
. "$top_srcdir/tests/integration/lib.sh"

start_daemon || { fail "daemon starts"; done_testing; }

OK='0: OK "Success."'
NO='0: NO "authentication failed"'

expect_out "good password (sha512crypt)" 0 "$OK" "$AUTHMUX" -f "$SOCK" -u alice -p alice-pw
expect_out "wrong password" 255 "$NO" "$AUTHMUX" -f "$SOCK" -u alice -p wrong
expect_out "unknown user" 255 "$NO" "$AUTHMUX" -f "$SOCK" -u nobody -p alice-pw
expect_out "sha256crypt" 0 "$OK" "$AUTHMUX" -f "$SOCK" -u bob -p bob-plain-pw
expect_out "bcrypt \$2y\$" 0 "$OK" "$AUTHMUX" -f "$SOCK" -u carol -p carol-pw
expect_out "apr1" 0 "$OK" "$AUTHMUX" -f "$SOCK" -u dave -p dave-pw
expect_out "md5crypt" 0 "$OK" "$AUTHMUX" -f "$SOCK" -u erin -p erin-pw
expect_out "{SHA}" 0 "$OK" "$AUTHMUX" -f "$SOCK" -u frank -p frank-pw
expect_out "realm entry (yescrypt)" 0 "$OK" "$AUTHMUX" -f "$SOCK" -u bob -r example.com -p bob-realm-pw
expect_out "realm entry refuses the realm-less password" 255 "$NO" "$AUTHMUX" -f "$SOCK" -u bob -r example.com -p bob-plain-pw
expect_out "realm-less entry serves another realm" 0 "$OK" "$AUTHMUX" -f "$SOCK" -u alice -r example.org -p alice-pw
expect_out "5 fields: client address" 0 "$OK" "$AUTHMUX" -f "$SOCK" -u alice -p alice-pw -s smtp -a "192.0.2.7;2525"
expect_out "repeat -R 3" 0 "$(printf '0: OK "Success."\n1: OK "Success."\n2: OK "Success."')" "$AUTHMUX" -f "$SOCK" -u alice -p alice-pw -R 3
expect_out "password from stdin when -p is absent" 0 "$OK" sh -c "echo alice-pw | '$AUTHMUX' -f '$SOCK' -u alice"
expect_out "usage error exits 1" 1 "" "$AUTHMUX" -f "$SOCK" -p x
expect_out "no daemon: exit 255" 255 "0: " "$AUTHMUX" -f "$T/nothing" -u alice -p alice-pw

log_has "success line" "auth success: [user=alice] [service=imap] [realm=] [mech=file]"
log_has "failure line in saslauthd's shape" "auth failure: [user=alice] [service=imap] [realm=] [mech=file] [reason=wrong password]"
log_has "unknown user reason" "auth failure: [user=nobody] [service=imap] [realm=] [mech=file] [reason=unknown user]"
log_has "client address logged" "[client=192.0.2.7;2525]"
log_has "time logged" "[time="
log_has "the peer logged (SO_PEERCRED)" "[peer=uid $(id -u) gid $(id -g) pid "
log_has "malformed password file line reported" "users.passwd:9:"
log_lacks "no password in the log" "alice-pw"
log_lacks "no wrong password in the log" "[reason=wrong password] wrong"

stop_daemon; check "SIGTERM: exit 0" [ $? -eq 0 ]

# -r: the backend sees login@realm
: > "$LOG"
start_daemon -r || fail "daemon starts with -r"
expect_out "-r joins login@realm" 0 "$OK" "$AUTHMUX" -f "$SOCK" -u bob -r example.com -p bob-realm-pw
expect_out "-r without realm uses the plain login" 0 "$OK" "$AUTHMUX" -f "$SOCK" -u bob -p bob-plain-pw
stop_daemon
done_testing
