#!/bin/bash
# The pam backend against real PAM stacks (no mocks): pam_unix with test
# accounts made here, pam_pwdfile with a password file, pam_exec to see
# PAM_RHOST; failure delays carried out as timers, not by the workers.
# Needs root: it writes /etc/pam.d files and makes accounts, and removes
# both on exit.
. "$top_srcdir/tests/integration/lib.sh"

[ "$(id -u)" = 0 ] || skip "needs root (writes /etc/pam.d/authmux-*, makes test accounts)"
[ -f "$MODDIR/pam.so" ] || skip "the pam backend is not built (configure --with-pam; Debian: libpam0g-dev)"
for c in useradd userdel usermod chpasswd chage; do
	command -v "$c" >/dev/null || skip "$c is missing (Debian: passwd)"
done
PWDFILE_SO=$(find /lib /usr/lib /lib64 /usr/lib64 -name pam_pwdfile.so 2>/dev/null | head -n 1)
[ -n "$PWDFILE_SO" ] || skip "pam_pwdfile.so is missing (Debian: apt-get install libpam-pwdfile)"

P=$$
SVC=authmux-test-$P		# pam_unix
SVC_PWD=authmux-pwdfile-$P	# pam_pwdfile
SVC_RHOST=authmux-rhost-$P	# pam_exec writes PAM_RHOST, then pam_unix
SVC_NOFILE=authmux-nofile-$P	# pam_pwdfile without its file
SVC_NOMOD=authmux-nomod-$P	# a module that is not there
SVC_FILES="/etc/pam.d/$SVC /etc/pam.d/$SVC_PWD /etc/pam.d/$SVC_RHOST
 /etc/pam.d/$SVC_NOFILE /etc/pam.d/$SVC_NOMOD"
# short names: useradd allows 32 bytes
G=amg$P		# good
E=ame$P		# account expired
L=aml$P		# locked (usermod -L)
X=amx$P		# password expired (chage -d 0)
U=amu$P		# never made
MADE=

# shellcheck disable=SC2317  # called by the trap
pam_cleanup() {
	for u in $MADE; do userdel "$u" 2>/dev/null; done
	# shellcheck disable=SC2086
	rm -f $SVC_FILES
	cleanup
}
trap pam_cleanup EXIT
trap 'exit 1' HUP INT TERM

mkuser() {
	useradd -M -N -s /usr/sbin/nologin "$1" || return 1
	MADE="$MADE $1"
	printf '%s:%s\n' "$1" "$2" | chpasswd -c SHA512
}
for u in $G $E $L $X; do
	mkuser "$u" "$u-pw" || { fail "make test account $u"; done_testing; }
done
chage -E 2000-01-01 "$E"
usermod -L "$L"
chage -d 0 "$X"

printf '%s\n' "auth required pam_unix.so" "account required pam_unix.so" \
    > "/etc/pam.d/$SVC"
# alice (sha512crypt) and bob (sha256crypt) of the file backend's tests
grep -E '^(alice|bob):' "$USERS" > "$T/pwdfile"
chmod 600 "$T/pwdfile"
printf '%s\n' "auth required pam_pwdfile.so pwdfile=$T/pwdfile" \
    "account required pam_permit.so" > "/etc/pam.d/$SVC_PWD"
printf '%s\n' "auth required pam_pwdfile.so pwdfile=$T/missing" \
    "account required pam_permit.so" > "/etc/pam.d/$SVC_NOFILE"
printf '%s\n' "auth required pam_authmux_nonexistent.so" \
    "account required pam_permit.so" > "/etc/pam.d/$SVC_NOMOD"
# its stdout comes to the conversation as PAM_TEXT_INFO
cat > "$T/rhost.sh" <<EOF
#!/bin/sh
printf '[%s]\n' "\$PAM_RHOST" > "$T/rhost.out"
echo "note [from] the stack"
EOF
chmod 700 "$T/rhost.sh"
printf '%s\n' "auth requisite pam_exec.so stdout $T/rhost.sh" \
    "auth required pam_unix.so" "account required pam_unix.so" \
    > "/etc/pam.d/$SVC_RHOST"

OK='0: OK "Success."'
NO='0: NO "authentication failed"'
A() { "$AUTHMUX" -f "$SOCK" "$@"; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
# reason USER SERVICE TEXT: the log line's tail for a refusal
reason() { echo "[user=$1] [service=$2] [realm=] [mech=pam] [reason=$3]"; }

# --- the request's service picks the stack -------------------------------
: > "$CONF"
start_daemon -a pam -n 5 || { fail "daemon starts"; done_testing; }

expect_out "pam_unix: good password" 0 "$OK" A -s "$SVC" -u "$G" -p "$G-pw"
log_has "success logged for pam" "auth success: [user=$G] [service=$SVC] [realm=] [mech=pam]"
expect_out "pam_unix: wrong password" 255 "$NO" A -s "$SVC" -u "$G" -p wrong
log_has "wrong password: reason" "$(reason "$G" "$SVC" "wrong password (Authentication failure)")"
expect_out "pam_unix: unknown user" 255 "$NO" A -s "$SVC" -u "$U" -p x
log_has "unknown user: reason" "$(reason "$U" "$SVC" "unknown user (User not known to the underlying authentication module)")"
expect_out "pam_unix: expired account, right password" 255 "$NO" A -s "$SVC" -u "$E" -p "$E-pw"
log_has "expired account: reason" "$(reason "$E" "$SVC" "account expired (User account has expired)")"
expect_out "pam_unix: locked account, right password" 255 "$NO" A -s "$SVC" -u "$L" -p "$L-pw"
log_has "locked account: reason" "$(reason "$L" "$SVC" "account locked in shadow (Authentication failure)")"
expect_out "pam_unix: expired password, right password" 255 "$NO" A -s "$SVC" -u "$X" -p "$X-pw"
log_has "expired password: reason" "$(reason "$X" "$SVC" "password expired (Authentication token is no longer valid; new one required)")"
log_lacks "no password in the log" "$G-pw"

# a failure costs PAM's delay, a success does not
t0=$(now_ms); A -q -s "$SVC" -u "$G" -p wrong; t1=$(now_ms)
check "a wrong password is answered after PAM's delay ($((t1 - t0)) ms >= 900)" [ $((t1 - t0)) -ge 900 ]
t0=$(now_ms); A -q -s "$SVC" -u "$G" -p "$G-pw"; t1=$(now_ms)
check "a good password is answered at once ($((t1 - t0)) ms < 900)" [ $((t1 - t0)) -lt 900 ]

# empty service: PAM's "other" (Debian: common-auth, pam_unix)
expect_out "empty service uses \"other\"" 0 "$OK" A -s "" -u "$G" -p "$G-pw"
expect_out "a service with '/' is refused" 255 "$NO" A -s "../$SVC" -u "$G" -p "$G-pw"
log_has "bad service: reason" "[mech=pam] [reason=service name not usable as a PAM service]"

# pam_pwdfile with hashes from the file backend's test file
expect_out "pam_pwdfile: sha512crypt" 0 "$OK" A -s "$SVC_PWD" -u alice -p alice-pw
expect_out "pam_pwdfile: sha256crypt" 0 "$OK" A -s "$SVC_PWD" -u bob -p bob-plain-pw
expect_out "pam_pwdfile: wrong password" 255 "$NO" A -s "$SVC_PWD" -u alice -p bob-plain-pw
log_has "pam_pwdfile: wrong password reason" "$(reason alice "$SVC_PWD" "wrong password (Authentication failure)")"
expect_out "pam_pwdfile: a user not in the file" 255 "$NO" A -s "$SVC_PWD" -u "$G" -p "$G-pw"
log_has "pam_pwdfile: unknown user reason" "$(reason "$G" "$SVC_PWD" "unknown user (User not known to the underlying authentication module)")"

# PAM_RHOST: the address part of the 5th field, nothing for 4 fields
rm -f "$T/rhost.out"
expect_out "client address: OK" 0 "$OK" A -a "192.0.2.9;2525" -s "$SVC_RHOST" -u "$G" -p "$G-pw"
check "the stack saw PAM_RHOST=192.0.2.9 ($(cat "$T/rhost.out" 2>/dev/null))" \
    [ "$(cat "$T/rhost.out" 2>/dev/null)" = "[192.0.2.9]" ]
rm -f "$T/rhost.out"
expect_out "no client address: OK" 0 "$OK" A -s "$SVC_RHOST" -u "$G" -p "$G-pw"
check "no PAM_RHOST without a 5th field ($(cat "$T/rhost.out" 2>/dev/null))" \
    [ "$(cat "$T/rhost.out" 2>/dev/null)" = "[]" ]
log_has "the stack's messages logged, escaped" "pam: info: note \x5bfrom\x5d the stack"

# a broken stack is a temporary failure, never OK, never "wrong password"
expect_out "pam_pwdfile without its file: NO" 255 "$NO" A -s "$SVC_NOFILE" -u alice -p alice-pw
log_has "file missing: temporary failure" "$(reason alice "$SVC_NOFILE" "temporary failure: authentication service unavailable (Authentication service cannot retrieve authentication info; pam_authenticate)")"
expect_out "a module that is not there: NO" 255 "$NO" A -s "$SVC_NOMOD" -u alice -p alice-pw
log_has "module missing: temporary failure" "$(reason alice "$SVC_NOMOD" "temporary failure: PAM stack error (Module is unknown; pam_authenticate)")"

# 5 clients sending wrong passwords to pam_unix (2 s delay each) keep no
# worker asleep: a good client meanwhile is answered at once, and the
# wrong ones still wait their delay, on a timer
end=$(( $(now_ms) + 6000 ))
pids=
for i in 1 2 3 4 5; do
	(
		while [ "$(now_ms)" -lt "$end" ]; do
			t0=$(now_ms); A -q -s "$SVC" -u "$G" -p "wrong$i"; t1=$(now_ms)
			echo $((t1 - t0))
		done > "$T/wrong.$i"
	) &
	pids="$pids $!"
done
sleep 0.5
slow=0 refused=0 max=0
for i in 1 2 3 4 5 6 7 8 9 10; do
	t0=$(now_ms); A -q -s "$SVC" -u "$G" -p "$G-pw" || refused=$((refused + 1)); t1=$(now_ms)
	[ $((t1 - t0)) -gt $max ] && max=$((t1 - t0))
	[ $((t1 - t0)) -ge 1000 ] && slow=$((slow + 1))
	sleep 0.3
done
# shellcheck disable=SC2086
wait $pids
check "10 good logins during 5 wrong-password loops: all OK ($refused refused)" [ $refused -eq 0 ]
check "and each answered within 1 s ($slow slower; slowest $max ms)" [ $slow -eq 0 ]
cat "$T"/wrong.* > "$T/wrong.all"
n=$(wc -l < "$T/wrong.all")
lo=$(sort -n "$T/wrong.all" | head -n 1)
mean=$(awk '{ s += $1 } END { if (NR) printf "%d", s / NR; else print 0 }' "$T/wrong.all")
check "the wrong-password loops got answers ($n)" [ "$n" -ge 10 ]
# libpam varies the 2 s by up to +-50% (three uniform draws averaged), so
# one answer may come after 1.1 s; the floor is 1 s, the mean about 2 s
check "each wrong password still waited PAM's delay (fastest $lo ms >= 900)" [ "${lo:-0}" -ge 900 ]
check "wrong passwords waited about 2 s on average ($mean ms >= 1500)" [ "$mean" -ge 1500 ]
log_lacks "no password in the log" "wrong1"

check "daemon alive" alive
stop_daemon; check "clean exit" [ $? -eq 0 ]

# --- pam_service fixes the stack; pam_acct_mgmt: no ------------------------
: > "$LOG"
printf '%s\n' "pam_service: $SVC_PWD" > "$CONF"
start_daemon -a pam || { fail "daemon starts (pam_service)"; done_testing; }
expect_out "pam_service: the request's service is not used" 0 "$OK" A -s "$SVC" -u alice -p alice-pw
expect_out "pam_service: pam_unix's users unknown there" 255 "$NO" A -s "$SVC" -u "$G" -p "$G-pw"
stop_daemon; check "clean exit (pam_service)" [ $? -eq 0 ]

: > "$LOG"
printf '%s\n' "pam_service: $SVC" "pam_acct_mgmt: no" > "$CONF"
start_daemon -a pam || { fail "daemon starts (pam_acct_mgmt: no)"; done_testing; }
expect_out "pam_acct_mgmt: no -- an expired account's password is enough" 0 "$OK" A -u "$E" -p "$E-pw"
expect_out "pam_acct_mgmt: no -- a wrong password is still refused" 255 "$NO" A -u "$E" -p wrong
stop_daemon; check "clean exit (pam_acct_mgmt: no)" [ $? -eq 0 ]

: > "$LOG"
printf '%s\n' "pam_service: ../etc/x" > "$CONF"
"$AUTHMUXD" --check-config -a pam -O "$CONF" --module-dir "$MODDIR" > "$T/cc.out" 2>&1
rc=$?
check "a bad pam_service fails the configuration (exit $rc)" [ $rc -ne 0 ]
check "and says which key" grep -q "pam_service: not a PAM service name" "$T/cc.out"
printf '%s\n' "pam_service: authmux-none-$P" > "$CONF"
"$AUTHMUXD" --check-config -a pam -O "$CONF" --module-dir "$MODDIR" > "$T/cc.out" 2>&1
rc=$?
check "a pam_service without a file is only a warning (exit $rc)" [ $rc -eq 0 ]
check "which says PAM will use \"other\"" grep -q "pam_service: /etc/pam.d/authmux-none-$P does not exist; PAM will use /etc/pam.d/other" "$T/cc.out"

# --- a chain: shadow first, then PAM -------------------------------------
if [ -f "$MODDIR/shadow.so" ]; then
	: > "$LOG"
	printf '%s\n' "pam_service: $SVC_PWD" > "$CONF"
	start_daemon -a shadow,pam || { fail "daemon starts (shadow,pam)"; done_testing; }
	expect_out "chain: a local user, answered by shadow" 0 "$OK" A -u "$G" -p "$G-pw"
	log_has "chain: decided by shadow" "auth success: [user=$G] [service=imap] [realm=] [mech=shadow]"
	expect_out "chain: unknown to shadow, known to PAM" 0 "$OK" A -u alice -p alice-pw
	log_has "chain: decided by pam" "auth success: [user=alice] [service=imap] [realm=] [mech=pam]"
	expect_out "chain: unknown to both" 255 "$NO" A -u "$U" -p x
	stop_daemon; check "clean exit (shadow,pam)" [ $? -eq 0 ]
else
	echo "# shadow backend not built (modules/shadow.la): chain shadow,pam not tested"
fi

done_testing
