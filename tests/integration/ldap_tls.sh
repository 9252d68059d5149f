#!/bin/bash
# ldap over TLS against real slapd: StartTLS and ldaps:// with a CA the
# daemon trusts, and a server whose certificate another CA signed, which
# ldap_tls_check_peer must refuse (and say why).
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/slapd_lib.sh"

[ -f "$MODDIR/ldap.so" ] || skip "the ldap backend is not built (configure --with-ldap)"
slapd_start s1 || { fail "slapd s1 starts"; done_testing; }
slapd_start ev evil || { fail "slapd with an untrusted certificate starts"; done_testing; }
MECH=ldap
SLOG="$T/ldap/s1/slapd.log"

OK='0: OK "Success."'
NO='0: NO "authentication failed"'
yes_() { desc=$1; shift; expect_out "$desc" 0 "$OK" "$AUTHMUX" -f "$SOCK" "$@"; }
no_() { desc=$1; shift; expect_out "$desc" 255 "$NO" "$AUTHMUX" -f "$SOCK" "$@"; }

run_with() {
	if [ -n "$DAEMON_PID" ]; then stop_daemon; fi
	: > "$LOG"
	printf '%s\n' "ldap_search_base: $BASE" "ldap_bind_dn: $SVC_DN" \
	    "ldap_password: $SVC_PW" "ldap_tls_check_peer: yes" \
	    "ldap_tls_cacert_file: $LDAP_CA" "ldap_timeout: 3" \
	    "ldap_time_limit: 3" "$@" > "$CONF"
	start_daemon
}

# --- StartTLS on ldap:// -----------------------------------------------------
run_with "ldap_servers: $s1_URI" "ldap_start_tls: yes" || fail "daemon starts (StartTLS)"
yes_ "StartTLS, trusted certificate: login works" -u alice -p "$ALICE_PW"
no_ "StartTLS: wrong password" -u alice -p wrong
check "slapd saw the StartTLS request" grep -qF 'oid=1.3.6.1.4.1.1466.20037' "$SLOG"
# the service bind came after StartTLS on the same connection
conn=$(grep -F 'oid=1.3.6.1.4.1.1466.20037' "$SLOG" | head -n 1 | sed 's/.*\(conn=[0-9]*\) .*/\1/')
check "the service bind went over TLS ($conn)" grep -qF "$conn op=1 BIND dn=\"$SVC_DN\"" "$SLOG"

# --- ldaps:// -----------------------------------------------------------------
run_with "ldap_servers: $s1_LDAPS" || fail "daemon starts (ldaps)"
yes_ "ldaps, trusted certificate: login works" -u alice -p "$ALICE_PW"
no_ "ldaps: wrong password" -u alice -p wrong

# --- a certificate from another CA ---------------------------------------------
run_with "ldap_servers: $ev_LDAPS" || fail "daemon starts (ldaps, untrusted)"
no_ "ldaps, untrusted certificate: refused" -u alice -p "$ALICE_PW"
log_has "ldaps: the server is refused as down, with the TLS error" "ldap: server $ev_LDAPS is down: "
log_has "ldaps: a temporary failure for the user, not a wrong password" "[user=alice] [service=imap] [realm=] [mech=ldap] [reason=temporary failure: no LDAP server answers"
log_has "ldaps: the log names the certificate problem" "is down: TLS: certificate refused: "
check "ldaps: no bind reached the untrusted server" [ "$(grep -cE 'BIND dn="(cn=authmux|uid=alice)' "$T/ldap/ev/slapd.log")" = 0 ]

run_with "ldap_servers: $ev_URI" "ldap_start_tls: yes" || fail "daemon starts (StartTLS, untrusted)"
no_ "StartTLS, untrusted certificate: refused" -u alice -p "$ALICE_PW"
log_has "StartTLS: the TLS error is logged" "ldap: server $ev_URI is down: TLS: certificate refused: "
check "StartTLS: no bind reached the untrusted server" [ "$(grep -cE 'BIND dn="(cn=authmux|uid=alice)' "$T/ldap/ev/slapd.log")" = 0 ]

# --- failover from the untrusted server to the trusted one ---------------------
run_with "ldap_servers: $ev_LDAPS $s1_LDAPS" || fail "daemon starts (untrusted first)"
yes_ "an untrusted first server is skipped for a trusted second" -u alice -p "$ALICE_PW"

stop_daemon; check "SIGTERM: exit 0" [ $? -eq 0 ]
done_testing
