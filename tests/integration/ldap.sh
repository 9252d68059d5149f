#!/bin/bash
# The ldap backend through the real daemon against a real slapd: the three
# auth methods, every filter token, group checks, escaping of hostile
# logins, passwords checked by the server every time, pooled connections,
# the DN cache, and the configuration checks.  TLS and failover have
# their own scripts (ldap_tls.sh, ldap_failover.sh).
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/slapd_lib.sh"

[ -f "$MODDIR/ldap.so" ] || skip "the ldap backend is not built (configure --with-ldap)"
slapd_start s1 || { fail "slapd starts"; done_testing; }
MECH=ldap
SLOG="$T/ldap/s1/slapd.log"

OK='0: OK "Success."'
NO='0: NO "authentication failed"'
yes_() { desc=$1; shift; expect_out "$desc" 0 "$OK" "$AUTHMUX" -f "$SOCK" "$@"; }
no_() { desc=$1; shift; expect_out "$desc" 255 "$NO" "$AUTHMUX" -f "$SOCK" "$@"; }

# run_with LINE...: (re)start the daemon on a configuration of these lines
# (the server and the service account come first; later lines win).
run_with() {
	if [ -n "$DAEMON_PID" ]; then stop_daemon; fi
	: > "$LOG"
	printf '%s\n' "ldap_servers: $s1_URI" "ldap_search_base: $BASE" \
	    "ldap_bind_dn: $SVC_DN" "ldap_password: $SVC_PW" "$@" > "$CONF"
	start_daemon
}
# slapd's count of lines with a fixed string, to see what the server did
scount() { grep -cF -- "$1" "$SLOG"; }

# --- bind: service bind, search, user bind -----------------------------
run_with || { fail "daemon starts on the ldap backend"; done_testing; }
yes_ "bind: right password" -u alice -p "$ALICE_PW"
no_ "bind: wrong password" -u alice -p wrong
no_ "bind: unknown user" -u nobody -p "$ALICE_PW"
no_ "bind: empty password never reaches a bind" -u alice -p ""
yes_ "bind: a 300-byte password is sent whole" -u longpw -p "$(printf 'L%.0s' $(seq 300))"
no_ "bind: ... and its first 127 bytes are not enough" -u longpw -p "$(printf 'L%.0s' $(seq 127))"
no_ "bind: two entries match: refused" -u twin -p twin-pw
log_has "wrong password logged" "[user=alice] [service=imap] [realm=] [mech=ldap] [reason=wrong password]"
log_has "unknown user logged" "[user=nobody] [service=imap] [realm=] [mech=ldap] [reason=unknown user]"
log_has "ambiguous filter logged" "[user=twin] [service=imap] [realm=] [mech=ldap] [reason=more than one entry matches; refused]"
log_lacks "no password in the log" "$ALICE_PW"

# hostile logins match only themselves (RFC 4515 escaping)
no_ "injection: * matches nobody" -u '*' -p "$ALICE_PW"
no_ "injection: al* is not alice" -u 'al*' -p "$ALICE_PW"
no_ "injection: alice)(uid=* is nobody" -u 'alice)(uid=*' -p "$ALICE_PW"
no_ "injection: *)(|(uid=* is nobody" -u '*)(|(uid=*' -p "$ALICE_PW"
no_ "injection: * with star*'s password" -u '*' -p star-pw
yes_ "the user named star* is found, literally" -u 'star*' -p star-pw
yes_ "the user named paren)(x is found" -u 'paren)(x' -p paren-pw
yes_ "the user named back\\slash is found" -u 'back\slash' -p back-pw
no_ "injection: back\\5cslash is not back\\slash" -u 'back\5cslash' -p back-pw
# a NUL inside the login never reaches LDAP: the codec refuses the frame
out=$("$WIRE" -f "$SOCK" send "0003610041""0008616c6963652d7077""0004696d6170""0000")
check "injection: NUL in the login is refused (got: $out)" [ "${out#reply: NO}" != "$out" ]
check "slapd got the escaped filter for *" grep -qF 'filter="(uid=\2A)"' "$SLOG"
check "slapd got the escaped filter for alice)(uid=*" grep -qF 'filter="(uid=alice\29\28uid=\2A)"' "$SLOG"
check "no raw * reached slapd from a login" [ "$(grep -cF 'filter="(uid=*)"' "$SLOG")" = 0 ]

# a password changed on the server counts at once: no connection keeps
# saying yes to an old one (saslauthd's defect)
yes_ "bob before the change" -u bob -p "$BOB_PW"
ldap_set_password "$BOB_DN" bob-new-pw
no_ "bob's old password is refused at once" -u bob -p "$BOB_PW"
yes_ "bob's new password works" -u bob -p bob-new-pw
ldap_set_password "$BOB_DN" "$BOB_PW"

# pooled connections: 20 logins do not open 20 connections
conns_before=$(scount "ACCEPT from")
for i in $(seq 20); do "$AUTHMUX" -f "$SOCK" -u alice -p "$ALICE_PW" >/dev/null; done
conns=$(( $(scount "ACCEPT from") - conns_before ))
check "20 logins reuse pooled connections ($conns new)" [ "$conns" -le 2 ]
# after a user bind the service identity is restored before the next search
searches=$(grep -c "SRCH base=\"$BASE\"" "$SLOG")
check "every login searched ($searches searches)" [ "$searches" -ge 20 ]

# --- anonymous searches (no ldap_bind_dn) ------------------------------
run_with "ldap_bind_dn:" "ldap_password:"
yes_ "anonymous search, then bind" -u alice -p "$ALICE_PW"
no_ "anonymous search, wrong password" -u alice -p wrong

# --- fastbind: the filter is the DN -------------------------------------
run_with "ldap_auth_method: fastbind" "ldap_filter: uid=%u,$PEOPLE"
yes_ "fastbind: right password" -u alice -p "$ALICE_PW"
no_ "fastbind: wrong password" -u alice -p wrong
no_ "fastbind: unknown user" -u nobody -p "$ALICE_PW"
yes_ "fastbind: back\\slash escaped as a DN value" -u 'back\slash' -p back-pw
no_ "fastbind: a login with a DN in it is one value" -u "alice,$PEOPLE" -p "$ALICE_PW"
before=$(scount "SRCH base=")
yes_ "fastbind again" -u alice -p "$ALICE_PW"
check "fastbind does not search" [ "$(scount "SRCH base=")" = "$before" ]

# --- custom: the service reads the hash, the user never binds ------------
run_with "ldap_auth_method: custom"
for u in c_crypt c_md5 c_smd5 c_sha c_ssha c_ssha256 c_ssha512 c_plain; do
	yes_ "custom: $u" -u "$u" -p custom-pw
	no_ "custom: $u, wrong password" -u "$u" -p custom-pW
done
no_ "custom: unknown user" -u nobody -p custom-pw
binds=$(scount "BIND dn=\"uid=c_ssha,$PEOPLE\"")
check "custom: the user never binds" [ "$binds" = 0 ]
run_with "ldap_auth_method: custom" "ldap_bind_dn:" "ldap_password:"
no_ "custom: anonymous cannot read the hash" -u c_ssha -p custom-pw
log_has "unreadable hash explained" "[reason=no password attribute readable"

# --- tokens ---------------------------------------------------------------
run_with "ldap_filter: (&(uid=%U)(mail=%u))"
yes_ "%U and %u" -u alice@example.test -p "$ALICE_PW"
no_ "%U and %u: wrong domain" -u alice@example.org -p "$ALICE_PW"
run_with "ldap_search_base: ou=people,dc=%2,dc=%1" "ldap_filter: (uid=%U)"
yes_ "%1 %2 from the login's domain (example.org)" -u erin@example.org -p erin-pw
yes_ "%1 %2 from the login's domain (example.test)" -u alice@example.test -p "$ALICE_PW"
no_ "%1 %2: erin is not in example.test" -u erin@example.test -p erin-pw
yes_ "%d falls back to the realm" -u erin -r example.org -p erin-pw
no_ "no domain and no realm: refused, not expanded to nothing" -u erin -p erin-pw
log_has "the missing domain is explained" "[user=erin] [service=imap] [realm=] [mech=ldap] [reason=ldap_search_base: %2: the domain has no such label]"
run_with "ldap_search_base: ou=%d,dc=example,dc=test" "ldap_filter: (uid=%U)"
yes_ "%d as a DN value" -u alice@people -p "$ALICE_PW"
no_ "%d: a base that does not exist finds nobody" -u alice@nosuch -p "$ALICE_PW"
log_has "a missing base is an unknown user" "[user=alice@nosuch] [service=imap] [realm=] [mech=ldap] [reason=unknown user"
run_with "ldap_filter: (mail=%U%R)"
yes_ "%R is @realm" -u alice -r example.test -p "$ALICE_PW"
no_ "%R is empty without a realm" -u alice -p "$ALICE_PW"
run_with "ldap_filter: (mail=%U@%r)" "ldap_default_realm: example.test"
yes_ "%r: ldap_default_realm when the request has none" -u alice -p "$ALICE_PW"
no_ "%r: the request's realm wins over the default" -u alice -r example.org -p "$ALICE_PW"
run_with "ldap_search_base: ou=%s,$BASE"
yes_ "%s is the service" -u alice -s people -p "$ALICE_PW"
no_ "%s: another service finds nothing" -u alice -s smtp -p "$ALICE_PW"
run_with "ldap_filter: (&(uid=%u)(!(cn=100%%)))"
yes_ "%% is a literal %" -u alice -p "$ALICE_PW"

# --- groups ---------------------------------------------------------------
run_with "ldap_group_dn: $GROUP_MAIL_DN"
yes_ "group attr: member" -u alice -p "$ALICE_PW"
no_ "group attr: not a member" -u carol -p carol-pw
log_has "not a member explained" "[user=carol] [service=imap] [realm=] [mech=ldap] [reason=not a member of"
run_with "ldap_group_dn: cn=nosuch,ou=groups,$BASE"
no_ "group attr: a group that does not exist refuses" -u alice -p "$ALICE_PW"
run_with "ldap_group_dn: x" "ldap_group_match_method: filter" \
    "ldap_group_search_base: ou=groups,$BASE" \
    "ldap_group_filter: (&(cn=posixmail)(memberUid=%U))"
yes_ "group filter (memberUid=%U): member" -u alice -p "$ALICE_PW"
no_ "group filter (memberUid=%U): not a member" -u bob -p "$BOB_PW"
run_with "ldap_group_dn: x" "ldap_group_match_method: filter" \
    "ldap_group_filter: (&(cn=mail)(uniqueMember=%D))"
yes_ "group filter with %D: member" -u bob -p "$BOB_PW"
no_ "group filter with %D: not a member" -u carol -p carol-pw
run_with "ldap_auth_method: fastbind" "ldap_filter: uid=%u,$PEOPLE" \
    "ldap_group_dn: $GROUP_MAIL_DN"
yes_ "fastbind + group: member" -u bob -p "$BOB_PW"
no_ "fastbind + group: not a member" -u carol -p carol-pw
run_with "ldap_auth_method: custom" "ldap_group_dn: $GROUP_MAIL_DN"
no_ "custom + group: not a member" -u c_ssha -p custom-pw

# --- DN cache: a repeated login costs one bind ------------------------------
run_with "ldap_dn_cache_ttl: 60"
yes_ "dn cache: first login" -u dave -p dave-pw
s1n=$(scount 'filter="(uid=dave)"')
yes_ "dn cache: second login" -u dave -p dave-pw
yes_ "dn cache: third login" -u dave -p dave-pw
check "dn cache: no search after the first" [ "$(scount 'filter="(uid=dave)"')" = "$s1n" ]
no_ "dn cache: a wrong password is still refused" -u dave -p wrong
yes_ "dn cache: and the right one still works" -u dave -p dave-pw

# --- configuration errors ---------------------------------------------------
CC() { "$AUTHMUXD" --check-config -a ldap -m "$RUN" -O "$CONF" --module-dir "$MODDIR"; }
cc_err() { # DESCRIPTION EXPECTED_TEXT LINE...
	d=$1 want=$2; shift 2
	printf '%s\n' "ldap_servers: $s1_URI" "$@" > "$CONF"
	CC > "$T/cc.out" 2>&1; rc=$?
	if [ $rc -ne 0 ] && grep -qF -- "$want" "$T/cc.out"; then pass "$d"; else
		fail "$d (exit $rc)"; sed 's/^/#   /' "$T/cc.out"; fi
}
cc_warn() { # DESCRIPTION EXPECTED_TEXT LINE...
	d=$1 want=$2; shift 2
	printf '%s\n' "ldap_servers: $s1_URI" "$@" > "$CONF"
	CC > "$T/cc.out" 2>&1; rc=$?
	if [ $rc -eq 0 ] && grep -qF -- "$want" "$T/cc.out"; then pass "$d"; else
		fail "$d (exit $rc)"; sed 's/^/#   /' "$T/cc.out"; fi
}
cc_err "bad scope" ":2: ldap_scope: \"wide\" is not sub, one or base" "ldap_scope: wide"
cc_err "bad method" "ldap_auth_method: \"magic\" is not bind, fastbind or custom" "ldap_auth_method: magic"
cc_err "bad token" ":2: ldap_filter: unknown token" "ldap_filter: (uid=%x)"
cc_err "%D outside group keys" "ldap_filter: %D (the user's DN) is only known" "ldap_filter: (member=%D)"
cc_err "bad URI" "ldap_servers: \"http://x/\" is not an LDAP URI" "ldap_servers: http://x/"
cc_err "bind DN without password" "ldap_bind_dn: set without ldap_password" "ldap_bind_dn: $SVC_DN"
cc_err "missing CA file" "ldap_tls_cacert_file: /nonexistent/ca.pem: No such file" "ldap_tls_cacert_file: /nonexistent/ca.pem"
cc_err "filter method without filter" "filter needs ldap_group_filter" "ldap_group_dn: x" "ldap_group_match_method: filter"
cc_warn "SASL binds are a warning" "ldap_use_sasl: SASL binds are not supported yet" "ldap_use_sasl: yes"
cc_warn "ldap_mech is a warning naming the key" "ldap_mech: ignored: SASL binds are not supported yet" "ldap_mech: EXTERNAL"
cc_warn "an unknown ldap_ key is a warning" "ldap_frobnicate: unknown key, ignored" "ldap_frobnicate: 1"
cc_warn "a saslauthd.conf with the aliases is accepted" "configuration OK" \
    "ldap_bind_dn: $SVC_DN" "ldap_bind_pw: $SVC_PW" "ldap_default_domain: example.test" \
    "ldap_version: 3" "ldap_scope: one" "ldap_deref: never" "ldap_referrals: no" \
    "ldap_restart: yes" "ldap_size_limit: 1" "ldap_time_limit: 5" "ldap_timeout: 5" \
    "ldap_password_attr: userPassword" "ldap_group_attr: uniqueMember" "ldap_group_scope: sub"

# the saslauthd.conf aliases take effect
stop_daemon
printf '%s\n' "ldap_servers: $s1_URI" "ldap_search_base: $BASE" \
    "ldap_bind_dn: $SVC_DN" "ldap_bind_pw: $SVC_PW" "ldap_auth_method: custom" \
    "ldap_filter: (mail=%U@%r)" "ldap_default_domain: example.test" > "$CONF"
start_daemon || fail "daemon starts with the aliases"
# custom reads alice's hash only as the service (ldap_bind_pw), and
# finds her only with the default realm (ldap_default_domain)
yes_ "ldap_bind_pw and ldap_default_domain are the aliases they are" -u alice -p "$ALICE_PW"
no_ "... and the request's realm still wins" -u alice -r example.org -p "$ALICE_PW"

stop_daemon; check "SIGTERM: exit 0" [ $? -eq 0 ]
done_testing
