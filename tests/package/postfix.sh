# postfix.sh -- Postfix end to end, sourced by deb.sh while the package is
# installed: Debian's postfix with smtpd chrooted (as in Debian's default
# master.cf) on a loopback port, libsasl2 with pwcheck_method saslauthd,
# and authmuxd answering in the chroot at
# /var/spool/postfix/var/run/saslauthd/mux.  swaks plays the client.
# Every message goes to the discard transport: nothing leaves the machine.
#
# postfix_users FILE   write the test users into the file backend's file
# postfix_e2e          configure and start Postfix, run the checks, stop
# postfix_restore      put /etc/postfix back as it was (also on exit)

PF_SAVE="$T/postfix-etc"
PF_PORT=$((20000 + RANDOM % 20000))
PF_LOG=/var/log/authmuxd-test-postfix.log
CAROL_PW="car0l.$$"
DAVE_PW="dave.$$"

postfix_users() {
	printf 'carol:%s\ndave@example.test:%s\n' \
	    "$(openssl passwd -6 "$CAROL_PW")" "$(openssl passwd -6 "$DAVE_PW")" >"$1"
	chmod 600 "$1"
}

postfix_restore() {
	[ -d "$PF_SAVE" ] || return 0
	postfix stop >/dev/null 2>&1
	rm -rf /etc/postfix
	cp -a "$PF_SAVE" /etc/postfix
	rm -rf "$PF_SAVE"
	rm -f "$PF_LOG"
}

# swaks_to RCPT [SWAKS ARGS...]: one SMTP session; prints the server's
# replies (the lines swaks marks "<-" and "<**")
swaks_to() {
	_rcpt=$1; shift
	swaks --server "127.0.0.1:$PF_PORT" --from sender@example.test \
	    --to "$_rcpt" --timeout 20 "$@" 2>&1 | sed -n 's/^<[-*~]* *//p'
}
# smtp_has DESCRIPTION REPLY_PREFIX SWAKS ARGS...
smtp_has() {
	_d=$1 _want=$2; shift 2
	_out=$(swaks_to "$@")
	if printf '%s\n' "$_out" | grep -q "^$_want"; then pass "$_d"; else
		fail "$_d (no \"$_want\" reply)"
		printf '%s\n' "$_out" | sed 's/^/#   smtp: /'
		tail -5 "$PF_LOG" 2>/dev/null | sed 's/^/#   postfix: /'
	fi
}

postfix_e2e() {
	cp -a /etc/postfix "$PF_SAVE"
	cat >/etc/postfix/main.cf <<EOT
# authmuxd's end-to-end test: loopback only, every message discarded
compatibility_level = 3.6
myhostname = mx.example.test
mydomain = example.test
myorigin = \$mydomain
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 192.0.2.1/32
relayhost =
default_transport = discard:authmuxd test
relay_transport = discard:authmuxd test
local_transport = discard:authmuxd test
maillog_file = $PF_LOG
smtpd_sasl_auth_enable = yes
smtpd_sasl_path = smtpd
smtpd_relay_restrictions = permit_sasl_authenticated, reject_unauth_destination
smtpd_tls_security_level = none
EOT
	# Debian's master.cf, with smtpd chrooted (the "y" column) on a
	# loopback port instead of port 25
	sed -i "s|^smtp \\( *\\)inet .*|127.0.0.1:$PF_PORT inet n - y - - smtpd|" \
	    /etc/postfix/master.cf
	check "Postfix: smtpd is chrooted in master.cf" \
	    grep -q "^127.0.0.1:$PF_PORT inet n - y - - smtpd" /etc/postfix/master.cf
	mkdir -p /etc/postfix/sasl
	printf '%s\n' 'pwcheck_method: saslauthd' 'mech_list: PLAIN LOGIN' \
	    >/etc/postfix/sasl/smtpd.conf
	/usr/lib/postfix/configure-instance.sh - >/dev/null 2>&1
	postfix start >"$T/postfix.log" 2>&1
	i=0
	while ! swaks_to x@example.com --quit-after EHLO | grep -q '^250' &&
	    [ $i -lt 50 ]; do sleep 0.2; i=$((i + 1)); done
	check "Postfix: starts and answers on 127.0.0.1:$PF_PORT" [ $i -lt 50 ]

	smtp_has "Postfix: relay refused without AUTH (554)" 554 x@example.com
	smtp_has "Postfix: AUTH PLAIN, right password (235)" 235 x@example.com \
	    --auth PLAIN --auth-user carol --auth-password "$CAROL_PW"
	smtp_has "Postfix: AUTH LOGIN, right password (235)" 235 x@example.com \
	    --auth LOGIN --auth-user carol --auth-password "$CAROL_PW"
	smtp_has "Postfix: relay accepted after AUTH (250 queued)" \
	    "250 2.0.0 Ok: queued" x@example.com \
	    --auth PLAIN --auth-user carol --auth-password "$CAROL_PW"
	smtp_has "Postfix: AUTH PLAIN, wrong password (535)" 535 x@example.com \
	    --auth PLAIN --auth-user carol --auth-password wrong
	smtp_has "Postfix: AUTH LOGIN, wrong password (535)" 535 x@example.com \
	    --auth LOGIN --auth-user carol --auth-password wrong
	smtp_has "Postfix: unknown user (535)" 535 x@example.com \
	    --auth PLAIN --auth-user nobody --auth-password "$CAROL_PW"
	smtp_has "Postfix: user@realm login, right password (235)" 235 \
	    x@example.com --auth PLAIN --auth-user dave@example.test \
	    --auth-password "$DAVE_PW"
	smtp_has "Postfix: the user without its realm is someone else (535)" 535 \
	    x@example.com --auth PLAIN --auth-user dave --auth-password "$DAVE_PW"
	check "Postfix: the relayed message went to discard, nowhere else" \
	    both grep -q 'status=sent (authmuxd test)' "$PF_LOG" -- \
	    not grep -E 'relay=[^n]' "$PF_LOG"
	check "Postfix: smtpd reached authmuxd through the chroot (no saslauthd error)" \
	    not grep -q 'cannot connect to saslauthd' "$PF_LOG"
	postfix_restore
}
