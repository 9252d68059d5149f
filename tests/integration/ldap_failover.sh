#!/bin/bash
# ldap failover against two real slapd instances: a stopped server, a
# frozen one (SIGSTOP: TCP still accepted, nothing answered), both gone,
# and the way back to the first server once it answers again.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/slapd_lib.sh"

[ -f "$MODDIR/ldap.so" ] || skip "the ldap backend is not built (configure --with-ldap)"
slapd_start s1 || { fail "slapd s1 starts"; done_testing; }
slapd_start s2 || { fail "slapd s2 starts"; done_testing; }
MECH=ldap
L1="$T/ldap/s1/slapd.log"
L2="$T/ldap/s2/slapd.log"
# alice's user binds seen by each server
binds() { grep -cF "BIND dn=\"$ALICE_DN\"" "$1"; }

OK='0: OK "Success."'
NO='0: NO "authentication failed"'
login() { "$AUTHMUX" -f "$SOCK" -u alice -p "$ALICE_PW"; }
# timed_login: run one login, set $out and $ms (wall time)
timed_login() {
	t0=$(date +%s%N); out=$(login 2>&1); t1=$(date +%s%N)
	ms=$(( (t1 - t0) / 1000000 ))
}

printf '%s\n' "ldap_servers: $s1_URI $s2_URI" "ldap_search_base: $BASE" \
    "ldap_bind_dn: $SVC_DN" "ldap_password: $SVC_PW" \
    "ldap_timeout: 2" "ldap_time_limit: 2" "ldap_probe_interval: 1" > "$CONF"
start_daemon -n 4 || { fail "daemon starts"; done_testing; }

expect_out "both up: login works" 0 "$OK" login
b1=$(binds "$L1"); b2=$(binds "$L2")
check "both up: the first server answers ($b1 on s1, $b2 on s2)" both [ "$b1" -ge 1 ] -- [ "$b2" = 0 ]

# --- the first server stops: the second takes over at once -------------
slapd_stop s1
ok_n=0
for i in 1 2 3 4 5; do [ "$(login)" = "$OK" ] && ok_n=$((ok_n + 1)); done
check "s1 stopped: 5 of 5 logins succeed on s2 ($ok_n)" [ "$ok_n" = 5 ]
check "s1 stopped: s2 served them" [ "$(binds "$L2")" -ge 5 ]
log_has "s1 marked down, with the reason" "ldap: server $s1_URI is down: "
log_has "... and the switch named" "now using $s2_URI"
check "marked down once, not per request" [ "$(grep -cF "server $s1_URI is down" "$LOG")" = 1 ]

# --- it comes back: the prober finds it, traffic returns ------------------
slapd_start s1 || fail "slapd s1 restarts"
check "s1 back: the prober notices within 5 s" log_wait "ldap: server $s1_URI answers again; using it" 5
b1=$(binds "$L1"); b2=$(binds "$L2")
for i in 1 2 3; do login >/dev/null; done
check "s1 back: traffic returns to s1" both [ "$(binds "$L1")" -ge $((b1 + 3)) ] -- [ "$(binds "$L2")" = "$b2" ]

# --- the first server freezes: one timeout, then s2 without waiting -------
slapd_freeze s1
timed_login
check "s1 frozen: the first login still succeeds ($out, ${ms} ms)" both [ "$out" = "$OK" ] -- [ "$ms" -lt 6000 ]
slow=0
for i in 1 2 3 4 5; do
	timed_login
	[ "$out" = "$OK" ] || fail "s1 frozen: login $i ($out)"
	[ "$ms" -lt 1000 ] || slow=$((slow + 1))
done
check "s1 frozen: the next logins do not wait for it ($slow slow)" [ "$slow" = 0 ]
log_has "the frozen server is marked down with the timeout" "server $s1_URI is down: no answer within 2 s (ldap_time_limit)"

# a reload while a server is frozen must not stall the event loop: the old
# configuration's prober is then in a probe of s1 (it starts one second
# after the outage and waits 2 s for an answer)
sleep 1.5
t0=$(date +%s%N)
kill -HUP "$DAEMON_PID"
log_wait "reloaded: backends ldap" 5 || fail "reload while s1 is frozen"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "reload with s1 frozen: done at once, the old prober waited for elsewhere ($ms ms)" [ "$ms" -lt 1000 ]
# the new configuration learns about s1 afresh: one timeout, once
timed_login
check "after the reload: the first login succeeds ($ms ms)" both [ "$out" = "$OK" ] -- [ "$ms" -lt 6000 ]
timed_login
check "after the reload: the next one at once ($ms ms)" both [ "$out" = "$OK" ] -- [ "$ms" -lt 1000 ]
slapd_thaw s1
check "s1 thawed: answers again" log_wait "ldap: server $s1_URI answers again" 8

# --- no server at all: a temporary failure, never a plain refusal --------
slapd_stop s1
slapd_stop s2
timed_login
check "no server: NO, quickly ($ms ms)" both [ "$out" = "$NO" ] -- [ "$ms" -lt 6000 ]
timed_login
check "no server: the next NO comes at once ($ms ms)" both [ "$out" = "$NO" ] -- [ "$ms" -lt 500 ]
log_has "no server: logged as a temporary failure with the reason" "[reason=temporary failure: no LDAP server answers: $s1_URI: "
check "the daemon is alive" alive
slapd_start s2 || fail "slapd s2 restarts"
check "s2 back: the prober notices" log_wait "ldap: server $s2_URI answers again; using it" 5
expect_out "s2 back: logins work again" 0 "$OK" login

# --- a single frozen server: bounded, never a hang ------------------------
stop_daemon
: > "$LOG"
sed -i "s|^ldap_servers:.*|ldap_servers: $s2_URI|" "$CONF"
start_daemon || fail "daemon starts on s2 alone"
expect_out "s2 alone: login works" 0 "$OK" login
slapd_freeze s2
timed_login
check "s2 frozen: NO after the timeout, no hang ($ms ms)" both [ "$out" = "$NO" ] -- [ "$ms" -lt 6000 ]
timed_login
check "s2 frozen: then NO at once ($ms ms)" both [ "$out" = "$NO" ] -- [ "$ms" -lt 500 ]
slapd_thaw s2
check "s2 thawed: the prober notices" log_wait "ldap: server $s2_URI answers again" 8
expect_out "s2 thawed: logins work again" 0 "$OK" login

stop_daemon; check "SIGTERM: exit 0" [ $? -eq 0 ]
done_testing
