#!/bin/bash
# The shadow backend through the real daemon, against real system accounts
# made with useradd/chpasswd/chage/usermod (so it needs root), and against
# a shadow(5) file of its own (shadow_file).
. "$top_srcdir/tests/integration/lib.sh"

[ "$(id -u)" = 0 ] || skip "the shadow test creates system accounts: run it as root"
[ -f "$MODDIR/shadow.so" ] || skip "the shadow backend is not built (configure --with-shadow)"
for tool in useradd userdel chpasswd chage usermod passwd; do
	command -v "$tool" >/dev/null 2>&1 || PATH="$PATH:/usr/sbin:/sbin"
	command -v "$tool" >/dev/null 2>&1 || skip "$tool is missing (Debian: passwd)"
done

# One run at a time on this machine (another tree, another engineer's
# "make check"): the accounts below are system-wide.  The lock goes with
# the process.
if command -v flock >/dev/null 2>&1; then
	exec 9>>/tmp/authmuxd-shadow-test.lock
	flock -w 240 9 || { fail "another shadow test kept /tmp/authmuxd-shadow-test.lock"; done_testing; }
fi

USERS_MADE="amsh1 amsh2 amsh3 amsh4 amsh5 amsh6 amsh7"
PW1='Sh1 yescrypt pw'
PW2='Sh2-sha512-pw'
PW='Shx-common-pw'

# Another test may hold /etc/passwd's lock for a moment: try again.
retry() {
	i=0
	while ! "$@" 2>"$T/retry.err"; do
		i=$((i + 1))
		if [ $i -ge 25 ]; then sed 's/^/#   /' "$T/retry.err"; return 1; fi
		sleep 0.2
	done
}
set_pw() { # USER PASSWORD [chpasswd flags]
	u=$1 p=$2; shift 2
	retry sh -c 'u=$1 p=$2; shift 2; printf "%s:%s\n" "$u" "$p" | chpasswd "$@"' sh "$u" "$p" "$@"
}
drop_users() {
	for u in $USERS_MADE; do
		if getent passwd "$u" >/dev/null; then retry userdel "$u"; fi
	done
}
shadow_cleanup() {
	drop_users
	cleanup
}
trap shadow_cleanup EXIT

drop_users		# left over from a run that was killed
for u in $USERS_MADE; do
	retry useradd -M -s /usr/sbin/nologin "$u" || { fail "useradd $u"; done_testing; }
done
set_pw amsh1 "$PW1" &&			# the default: PAM's pam_unix, yescrypt
set_pw amsh2 "$PW2" -c SHA512 &&
set_pw amsh3 "$PW" && retry chage -E 2000-01-01 amsh3 &&
set_pw amsh4 "$PW" && retry chage -d 0 amsh4 &&
set_pw amsh5 "$PW" && retry chage -M 1 -d 2000-01-01 amsh5 &&
set_pw amsh6 "$PW" && retry usermod -L amsh6 &&
retry passwd -d amsh7 >/dev/null || { fail "accounts set up"; done_testing; }
sp() { getent shadow "$1" | cut -d: -f2; }
check "amsh1 has a yescrypt hash" [ "$(sp amsh1 | cut -c1-3)" = '$y$' ]
check "amsh2 has a sha512crypt hash" [ "$(sp amsh2 | cut -c1-3)" = '$6$' ]
check "amsh6 is locked" [ "$(sp amsh6 | cut -c1)" = '!' ]
check "amsh7 has an empty password field" [ -z "$(sp amsh7)" ]

OK='0: OK "Success."'
NO='0: NO "authentication failed"'
A() { "$AUTHMUX" -f "$SOCK" "$@"; }
F() { printf '[user=%s] [service=imap] [realm=%s] [mech=%s]' "$@"; }

start_daemon -a shadow || { fail "daemon starts with -a shadow"; done_testing; }

expect_out "yescrypt: good password" 0 "$OK" A -u amsh1 -p "$PW1"
expect_out "sha512crypt: good password" 0 "$OK" A -u amsh2 -p "$PW2"
expect_out "yescrypt: wrong password" 255 "$NO" A -u amsh1 -p "$PW2"
expect_out "sha512crypt: wrong password" 255 "$NO" A -u amsh2 -p "$PW1"
expect_out "unknown user" 255 "$NO" A -u amsh-nobody -p "$PW1"
expect_out "expired account (chage -E)" 255 "$NO" A -u amsh3 -p "$PW"
expect_out "password must be changed (chage -d 0)" 255 "$NO" A -u amsh4 -p "$PW"
expect_out "password expired (chage -M 1)" 255 "$NO" A -u amsh5 -p "$PW"
expect_out "locked (usermod -L), right password" 255 "$NO" A -u amsh6 -p "$PW"
expect_out "empty password field (passwd -d)" 255 "$NO" A -u amsh7 -p "$PW"
expect_out "locked system account root" 255 "$NO" A -u root -p "$PW"
expect_out "NIS-style name is not looked up" 255 "$NO" A -u +amsh1 -p "$PW1"
expect_out "the realm is ignored without -r" 0 "$OK" A -u amsh1 -r example.com -p "$PW1"
expect_out "service smtp" 0 "$OK" A -u amsh1 -s smtp -p "$PW1"
expect_out "expired account, wrong password" 255 "$NO" A -u amsh3 -p "$PW1"

log_has "success logged" "auth success: $(F amsh1 '' shadow)"
log_has "reason: wrong password" "$(F amsh1 '' shadow) [reason=wrong password]"
log_has "reason: wrong password (sha512crypt)" "$(F amsh2 '' shadow) [reason=wrong password]"
log_has "reason: unknown user" "$(F amsh-nobody '' shadow) [reason=unknown user]"
log_has "reason: account expired" "$(F amsh3 '' shadow) [reason=account expired]"
log_has "reason: password must be changed" "$(F amsh4 '' shadow) [reason=password must be changed]"
log_has "reason: password expired" "$(F amsh5 '' shadow) [reason=password expired]"
log_has "reason: account locked" "$(F amsh6 '' shadow) [reason=account locked]"
log_has "reason: empty password field" "$(F amsh7 '' shadow) [reason=account locked (empty password field)]"
log_has "reason: NIS-style name" "$(F +amsh1 '' shadow) [reason=unknown user]"
log_has "a wrong guess at an expired account says so" "$(F amsh3 '' shadow) [reason=wrong password]"
log_has "the dummy hash method is logged" 'unknown users hashed with $y$'
log_lacks "no password in the log (1)" "$PW1"
log_lacks "no password in the log (2)" "$PW2"
log_lacks "no password in the log (3)" "$PW"

# Timing: an unknown user costs what a wrong password does.  Medians of 10
# sequential requests each, after a warm-up; within a factor of 2.
p50() { "$WIRE" -f "$SOCK" latency 10 "$1" "$2" | sed -n 's/.*p50_ms: \([0-9.]*\).*/\1/p'; }
p50 amsh1 warmup >/dev/null
t_wrong=$(p50 amsh1 "not-$PW1")
t_unknown=$(p50 amsh-nobody "not-$PW1")
t_good=$(p50 amsh1 "$PW1")
echo "# median ms: wrong password $t_wrong, unknown user $t_unknown, good $t_good"
within2() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a > 0 && b > 0 && a <= 2 * b && b <= 2 * a) }'; }
check "unknown user costs about a wrong password ($t_unknown vs $t_wrong ms)" within2 "$t_unknown" "$t_wrong"
check "and about a good one ($t_unknown vs $t_good ms)" within2 "$t_unknown" "$t_good"
t_locked=$(p50 amsh6 "$PW")
check "a locked account too ($t_locked vs $t_wrong ms)" within2 "$t_locked" "$t_wrong"

stop_daemon; check "SIGTERM: exit 0" [ $? -eq 0 ]

# -r: the backend gets login@realm, which is nobody's name; never stripped
: > "$LOG"
start_daemon -a shadow -r || fail "daemon starts with -r"
expect_out "-r: amsh1@example.com is not amsh1" 255 "$NO" A -u amsh1 -r example.com -p "$PW1"
expect_out "-r without a realm: the plain login" 0 "$OK" A -u amsh1 -p "$PW1"
expect_out "a login with '@' is not stripped" 255 "$NO" A -u amsh1@example.com -p "$PW1"
log_has "-r: unknown user" "$(F amsh1 example.com shadow) [reason=unknown user]"
log_has "'@' login: unknown user" "$(F amsh1@example.com '' shadow) [reason=unknown user]"
stop_daemon

# Chains: shadow in front of file and behind it.
: > "$LOG"
write_conf
start_daemon -a shadow,file || fail "daemon starts with -a shadow,file"
expect_out "shadow,file: a system user" 0 "$OK" A -u amsh1 -p "$PW1"
expect_out "shadow,file: unknown to shadow, known to file" 0 "$OK" A -u alice -p alice-pw
expect_out "shadow,file: shadow's DENY ends the chain" 255 "$NO" A -u amsh3 -p "$PW"
expect_out "shadow,file: unknown to both" 255 "$NO" A -u amsh-nobody -p x
log_has "shadow,file: alice decided by file" "auth success: $(F alice '' file)"
log_has "shadow,file: amsh1 decided by shadow" "auth success: $(F amsh1 '' shadow)"
log_has "shadow,file: amsh3 refused by shadow" "$(F amsh3 '' shadow) [reason=account expired]"
log_has "shadow,file: unknown to both" "$(F amsh-nobody '' file) [reason=unknown user]"
stop_daemon
: > "$LOG"
start_daemon -a file,shadow || fail "daemon starts with -a file,shadow"
expect_out "file,shadow: known to file" 0 "$OK" A -u alice -p alice-pw
expect_out "file,shadow: unknown to file, a system user" 0 "$OK" A -u amsh2 -p "$PW2"
expect_out "file,shadow: wrong password for the system user" 255 "$NO" A -u amsh2 -p alice-pw
log_has "file,shadow: amsh2 decided by shadow" "auth success: $(F amsh2 '' shadow)"
log_has "file,shadow: wrong password from shadow" "$(F amsh2 '' shadow) [reason=wrong password]"
stop_daemon

# shadow_file: the file is the only source, passwd is not asked.
SF="$T/mail.shadow"
H1=$(sp amsh1) H2=$(sp amsh2)
put_sf() { # replace $SF through rename(2), as an admin should
	printf '%s\n' "$@" > "$SF.tmp" && chmod 600 "$SF.tmp" && mv "$SF.tmp" "$SF"
}
put_sf "mailonly:$H1:20000:0:99999:7:::" \
    "# a comment" \
    "this line is malformed" \
    "badage:$H1:soon:0:99999:7:::" \
    "mail2:$H2:20000:0:99999:7:::" \
    "oldform:$H2" \
    "mailonly:$H2:20000:0:99999:7:::" \
    "gone:$H1:20000:0:99999:7::1:" \
    "mustchange:$H1:0:0:99999:7:::" \
    "stale:$H1:10957:0:1:7:::" \
    "locked:!$H1:20000:0:99999:7:::" \
    "+nis::::::::" \
    "strange:\$0\$nothing:20000:0:99999:7:::"
: > "$LOG"
write_conf "shadow_file: $SF"
start_daemon -a shadow || fail "daemon starts with shadow_file"
expect_out "shadow_file: good (yescrypt)" 0 "$OK" A -u mailonly -p "$PW1"
expect_out "shadow_file: good (sha512crypt)" 0 "$OK" A -u mail2 -p "$PW2"
expect_out "shadow_file: old two-field form" 0 "$OK" A -u oldform -p "$PW2"
expect_out "shadow_file: wrong password" 255 "$NO" A -u mailonly -p "not-$PW1"
expect_out "shadow_file: first line of a user wins" 255 "$NO" A -u mailonly -p "$PW2"
expect_out "shadow_file: unknown user" 255 "$NO" A -u nosuch -p "$PW1"
expect_out "shadow_file: a system user is unknown here" 255 "$NO" A -u amsh1 -p "$PW1"
expect_out "shadow_file: malformed line skipped" 255 "$NO" A -u badage -p "$PW1"
expect_out "shadow_file: account expired" 255 "$NO" A -u gone -p "$PW1"
expect_out "shadow_file: password must be changed" 255 "$NO" A -u mustchange -p "$PW1"
expect_out "shadow_file: password expired" 255 "$NO" A -u stale -p "$PW1"
expect_out "shadow_file: locked" 255 "$NO" A -u locked -p "$PW1"
expect_out "shadow_file: unusable hash" 255 "$NO" A -u strange -p "$PW1"
log_has "shadow_file: loaded" "shadow: loaded $SF: 8 users, 4 lines skipped"
log_has "shadow_file: malformed line named" "$SF:3: 1 ':'-separated field, wanted 9; line ignored"
log_has "shadow_file: bad number named" "$SF:4: user \"badage\": last change is not a number of days; line ignored"
log_has "shadow_file: duplicate named" "$SF:7: user \"mailonly\" is already on line 1; line ignored"
log_has "shadow_file: NIS line named" "$SF:12: NIS compat entries (\"+nis\") are not supported; line ignored"
log_has "shadow_file: unusable hash warned at load" "$SF:13: user \"strange\": the hash is not usable"
log_has "shadow_file: reason wrong password" "$(F mailonly '' shadow) [reason=wrong password]"
log_has "shadow_file: reason unknown user" "$(F amsh1 '' shadow) [reason=unknown user]"
log_has "shadow_file: reason account expired" "$(F gone '' shadow) [reason=account expired]"
log_has "shadow_file: reason password must be changed" "$(F mustchange '' shadow) [reason=password must be changed]"
log_has "shadow_file: reason password expired" "$(F stale '' shadow) [reason=password expired]"
log_has "shadow_file: reason account locked" "$(F locked '' shadow) [reason=account locked]"
log_has "shadow_file: reason unusable hash" "$(F strange '' shadow) [reason=unusable hash]"
log_lacks "shadow_file: mode 0600 draws no warning" "readable by others"

t_wrong=$(p50 mailonly "not-$PW1")
t_unknown=$(p50 nosuch "not-$PW1")
check "shadow_file: unknown user costs about a wrong password ($t_unknown vs $t_wrong ms)" within2 "$t_unknown" "$t_wrong"

# reload: a rewrite is seen at the next request
sleep 0.01
put_sf "mailonly:$H2:20000:0:99999:7:::" "newcomer:$H1:20000:0:99999:7:::"
expect_out "reload: the new password holds" 0 "$OK" A -u mailonly -p "$PW2"
expect_out "reload: the old one does not" 255 "$NO" A -u mailonly -p "$PW1"
expect_out "reload: a new user" 0 "$OK" A -u newcomer -p "$PW1"
expect_out "reload: a removed user is unknown" 255 "$NO" A -u mail2 -p "$PW2"
log_has "reload logged" "shadow: reloaded $SF: 2 users, 0 lines skipped"
# a broken reload keeps the old table
rm -f "$SF"
expect_out "file removed: the last table still serves" 0 "$OK" A -u newcomer -p "$PW1"
log_has "file removed: logged" "still using the 2 users read before"
put_sf "newcomer:$H2:20000:0:99999:7:::"
chmod 644 "$SF"
expect_out "file back: read again" 0 "$OK" A -u newcomer -p "$PW2"
log_has "readable by others: warned" "shadow: $SF is readable by others (run chmod o-r on it)"
check "still alive" alive
stop_daemon; check "SIGTERM: exit 0 (shadow_file)" [ $? -eq 0 ]

# preinit's own checks, through --check-config
CC() { "$AUTHMUXD" --check-config -a shadow -m "$RUN" -O "$CONF" --module-dir "$MODDIR"; }
write_conf "shadow_file: $T/nope.shadow"
CC > "$T/out" 2> "$T/err"
check "missing shadow_file: non-zero exit" [ $? -ne 0 ]
check "missing shadow_file: named with file:line" grep -qF "$CONF:2: shadow_file: cannot open $T/nope.shadow" "$T/err"
write_conf "shadow_file: $SF"
CC > "$T/out" 2> "$T/err"
check "world-readable shadow_file: a warning, still OK" both grep -qF "configuration OK" "$T/out" -- grep -qF "shadow_file: $SF is readable by others" "$T/err"
# without root the system's shadow database cannot be read
if command -v setpriv >/dev/null 2>&1; then
	D="$T/np"; mkdir -p "$D"; chmod 755 "$T" "$D"
	: > "$D/empty.conf"; chmod 644 "$D/empty.conf"
	out=$(setpriv --reuid=65534 --regid=65534 --clear-groups \
	    "$AUTHMUXD" --check-config -a shadow -m "$D/run" -O "$D/empty.conf" \
	    --module-dir "$MODDIR" 2>&1); rc=$?
	chmod 700 "$T"
	check "unprivileged: refused (exit $rc)" [ $rc -ne 0 ]
	if grep -qF "cannot read /etc/shadow: run as root or add the daemon's user to group shadow" <<<"$out"; then
		pass "unprivileged: says how to fix it"
	else
		fail "unprivileged: says how to fix it"; echo "$out" | sed 's/^/#   /'
	fi
fi

done_testing
