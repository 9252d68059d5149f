#!/bin/bash
# A backend that hangs: the ldap backend against a slapd frozen with
# SIGSTOP (TCP still accepted, nothing answered), in the chain file,ldap
# with the cache on.  Requests that need LDAP wait at most ldap_timeout
# and are answered NO; meanwhile requests answered another way (the file
# backend first in the chain, a cache hit) are answered at once.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/slapd_lib.sh"

[ -f "$MODDIR/ldap.so" ] || skip "the ldap backend is not built (configure --with-ldap)"
slapd_start s1 || { fail "slapd s1 starts"; done_testing; }
MECH=file,ldap

OK='0: OK "Success."'
NO='0: NO "authentication failed"'
# timed USER PASSWORD OUTFILE: one login; OUTFILE gets the answer, then ms
timed() {
	_t0=$(date +%s%N)
	"$AUTHMUX" -f "$SOCK" -u "$1" -p "$2" > "$3" 2>&1
	echo $(( ($(date +%s%N) - _t0) / 1000000 )) >> "$3"
}
answer() { head -n 1 "$1"; }
took() { tail -n 1 "$1"; }

# the c_* users are in LDAP only; alice and bob are in the file too
write_conf "ldap_servers: $s1_URI" "ldap_search_base: $BASE" \
    "ldap_bind_dn: $SVC_DN" "ldap_password: $SVC_PW" \
    "ldap_timeout: 2" "ldap_time_limit: 2" "ldap_probe_interval: 1"
start_daemon -n 6 -c || { fail "daemon starts"; done_testing; }
expect_out "LDAP user before the freeze" 0 "$OK" "$AUTHMUX" -f "$SOCK" -u c_ssha -p "$CUSTOM_PW"

slapd_freeze s1
# four logins that need LDAP hold four of the six workers...
for u in c_sha c_md5 c_smd5 c_crypt; do timed "$u" "$CUSTOM_PW" "$T/ldap.$u" & done
sleep 0.5
# ...while the file backend (alice, bob) and the cache (c_ssha) answer
timed alice alice-pw "$T/file.alice" &
timed bob bob-plain-pw "$T/file.bob" &
timed c_ssha "$CUSTOM_PW" "$T/cache.c_ssha" &
wait_jobs "$s1_PID"
for f in "$T"/file.* "$T"/cache.*; do
	check "answered at once beside the hung backend: ${f##*/} ($(answer "$f"), $(took "$f") ms < 500)" \
	    both [ "$(answer "$f")" = "$OK" ] -- [ "$(took "$f")" -lt 500 ]
done
for f in "$T"/ldap.*; do
	check "needs LDAP: NO within ldap_timeout, never a hang: ${f##*/} ($(answer "$f"), $(took "$f") ms)" \
	    both [ "$(answer "$f")" = "$NO" ] -- both [ "$(took "$f")" -ge 1500 ] -- [ "$(took "$f")" -lt 6000 ]
done
log_has "the hung server is named, with the timeout" "server $s1_URI is down: no answer within 2 s (ldap_time_limit)"
check "... once, not once per request" [ "$(grep -cF "server $s1_URI is down" "$LOG")" = 1 ]
log_has "each attempt logged as a temporary failure" "[user=c_sha] [service=imap] [realm=] [mech=ldap] [reason=temporary failure: "
log_lacks "no request reached backend_timeout" "did not answer within"

# the server is known to be down now: LDAP logins fail at once, the rest
# still work
timed c_sha "$CUSTOM_PW" "$T/again"
check "once it is marked down, LDAP logins are answered at once ($(answer "$T/again"), $(took "$T/again") ms)" \
    both [ "$(answer "$T/again")" = "$NO" ] -- [ "$(took "$T/again")" -lt 500 ]
expect_out "file logins still work" 0 "$OK" "$AUTHMUX" -f "$SOCK" -u alice -p alice-pw

# a reload (SIGHUP) starts a new instance of the backend: it knows the
# server is down, and does not pay ldap_time_limit again to find out
check "reloaded while the server is frozen" hup_wait "ldap: server $s1_URI is still down (no answer within 2 s"
timed c_sha "$CUSTOM_PW" "$T/reloaded"
check "after the reload, LDAP logins are still answered at once ($(answer "$T/reloaded"), $(took "$T/reloaded") ms)" \
    both [ "$(answer "$T/reloaded")" = "$NO" ] -- [ "$(took "$T/reloaded")" -lt 500 ]
check "... and the outage is not logged again as new" [ "$(grep -cF "server $s1_URI is down" "$LOG")" = 1 ]

slapd_thaw s1
i=0; while [ $i -lt 160 ] && ! grep -qF "server $s1_URI answers again" "$LOG"; do sleep 0.05; i=$((i + 1)); done
log_has "thawed: the prober finds it" "ldap: server $s1_URI answers again"
expect_out "thawed: LDAP logins work again" 0 "$OK" "$AUTHMUX" -f "$SOCK" -u c_sha -p "$CUSTOM_PW"

# every worker held by the frozen server: a cache hit needs none, and is
# still answered at once (a file login waits for a worker: size threads
# for the backend that can hang)
slapd_freeze s1
for u in c_md5 c_smd5 c_crypt c_plain c_ssha256 c_ssha512; do timed "$u" "$CUSTOM_PW" "$T/all.$u" & done
sleep 0.5
timed c_ssha "$CUSTOM_PW" "$T/cache2"
check "all 6 workers stuck: a cache hit is answered at once ($(answer "$T/cache2"), $(took "$T/cache2") ms < 500)" \
    both [ "$(answer "$T/cache2")" = "$OK" ] -- [ "$(took "$T/cache2")" -lt 500 ]
wait_jobs "$s1_PID"
n=$(cat "$T"/all.* | grep -cxF "$NO")
check "and the 6 stuck ones were answered NO in time ($n)" [ "$n" = 6 ]
slapd_thaw s1
check "daemon alive" alive
stop_daemon; check "clean exit" [ $? -eq 0 ]
done_testing
