#!/bin/bash
# No password outlives its request in the daemon's memory.
#
# Each run starts the daemon, sends it requests with random passwords (right
# and wrong ones, short and long, through authmux, testsaslauthd and raw
# frames: 4 and 5 fields, trickled, malformed after the password, cut off by
# the read deadline or by the client), waits until every one is answered,
# and then reads the daemon's whole writable memory through /proc/PID/mem
# (memscan.c) looking for any 12-byte piece of any of the passwords.  Runs:
# the file backend, the file backend with the cache, shadow and pam (with
# accounts made here), and ldap (bind and custom, against slapd_lib.sh's
# server) when they are built and their tools are there.
#
# The search must be able to fail, so the first run is a positive control:
# testmod's "testmod_leak: yes" keeps a copy of every password it is asked
# about, and memscan has to find every one of them.  The login names,
# which are not secret and stay in memory (the password file's table, the
# last log lines), are a second control in the file run.
#
# Needs root: /proc/PID/mem of a process that is not dumpable takes
# CAP_SYS_PTRACE, and the shadow and pam runs make accounts.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/slapd_lib.sh"

[ "$(id -u)" = 0 ] || skip "needs root (reads the daemon's memory through /proc/PID/mem)"
MEMSCAN="$top_builddir/tests/integration/memscan"
[ -x "$MEMSCAN" ] || skip "memscan is not built"
for c in openssl perl od base64; do
	command -v "$c" >/dev/null || skip "$c is missing"
done
# valgrind keeps freed blocks as they were, to report their misuse
[ -z "${AUTHMUXD_WRAPPER:-}" ] || skip "not under AUTHMUXD_WRAPPER (valgrind keeps freed memory unwiped)"
# A sanitizer build has ASan's allocator instead of the daemon's wiping
# one (src/wipe.c): have ASan wipe what it frees, as that one does.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}max_free_fill_size=1048576:free_fill_byte=0"
FILE_MODDIR=$MODDIR
MEMSCAN_OUT="$T/memscan.out"

# rand N: N random letters and digits
rand() {
	head -c $(($1 * 2 + 64)) /dev/urandom | base64 -w0 | tr -dc 'A-Za-z0-9' | head -c "$1"
}
# secret N [FILE]: a new random password of N bytes, printed, and kept
# in FILE (the needles memscan looks for; default $NEEDLES)
NEEDLES="$T/needles"
: > "$NEEDLES"
secret() {
	_s=$(rand "$1")
	printf '%s\n' "$_s" >> "${2:-$NEEDLES}"
	printf '%s' "$_s"
}
# field TEXT: the counted string of the wire format, in hex
field() { printf '%04x' "${#1}"; printf '%s' "$1" | od -An -v -tx1 | tr -d ' \n'; }

# scan: memscan over the daemon; 0 nothing found, 1 found, 2 cannot read
scan() {
	"$MEMSCAN" "$DAEMON_PID" "${1:-$NEEDLES}" > "$MEMSCAN_OUT" 2>&1
}
# scan_clean DESC: none of the passwords is in the daemon's memory
scan_clean() {
	alive || { fail "$1 (the daemon is gone)"; return; }
	if scan; then
		pass "$1 ($(tail -n 1 "$MEMSCAN_OUT" | sed 's/^memscan: pid [0-9]*: //'))"
	else
		fail "$1"
		sed 's/^/#   /' "$MEMSCAN_OUT" | head -n 60
	fi
}
# scan_finds DESC FILE MIN: at least MIN of the needles in FILE are found
scan_finds() {
	scan "$2"
	n=$(sed -n 's/.* \([0-9]*\) of [0-9]* needles found$/\1/p' "$MEMSCAN_OUT")
	if [ -n "$n" ] && [ "$n" -ge "$3" ]; then
		pass "$1 ($n found)"
	else
		fail "$1 (found ${n:-none}, wanted at least $3)"
		sed 's/^/#   /' "$MEMSCAN_OUT" | tail -n 5
	fi
}

OK='0: OK "Success."'
NO='0: NO "authentication failed"'
A() { "$AUTHMUX" -f "$SOCK" "$@"; }
TSA=$(command -v testsaslauthd)

# settle: the last replies are out; connections cut by the read deadline
# (read_timeout 1) are gone too
settle() { sleep 1.5; }

# --- positive control: a password kept on purpose is found ---------------
use_testmod
LEAKED="$T/leaked"
: > "$LEAKED"
write_conf "testmod_leak: yes"
MECH=testmod,file start_daemon || { fail "daemon starts with testmod"; done_testing; }
for i in 1 2 3 4 5; do
	A -u "known-$i" -p "$(secret 32 "$LEAKED")" >/dev/null
	A -u "someone$i" -p "$(secret 40 "$LEAKED")" >/dev/null
done
scan "$LEAKED"
if [ $? = 2 ]; then
	cat "$MEMSCAN_OUT"
	skip "cannot read the daemon's memory: CAP_SYS_PTRACE is needed"
fi
n=$(sed -n 's/.* \([0-9]*\) of [0-9]* needles found$/\1/p' "$MEMSCAN_OUT")
check "control: all 10 passwords testmod keeps are found (found $n)" [ "$n" = 10 ]
stop_daemon
MODDIR=$FILE_MODDIR

# --- the file backend -----------------------------------------------------
# one user per hash scheme, each with a random login and password
PWFILE="$T/users"
LOGINS="$T/logins"
: > "$PWFILE"; : > "$LOGINS"
declare -A PW
adduser_() { # SCHEME
	_l="m$(rand 15)"; printf '%s\n' "$_l" >> "$LOGINS"
	_p=$(secret 40)
	case $1 in
	sha512) _h=$(openssl passwd -6 "$_p") ;;
	sha256) _h=$(openssl passwd -5 "$_p") ;;
	md5) _h=$(openssl passwd -1 "$_p") ;;
	apr1) _h=$(openssl passwd -apr1 "$_p") ;;
	yescrypt) _h=$(perl -e 'print crypt($ARGV[0], "\$y\$j9T\$".$ARGV[1]."/\$")' "$_p" "$(rand 21)") ;;
	bcrypt) _h=$(perl -e 'print crypt($ARGV[0], "\$2b\$05\$".$ARGV[1])' "$_p" "$(rand 22)") ;;
	ssha) _h="{SSHA}$( (printf '%s' "$_p"; printf 'salt') | openssl dgst -sha1 -binary | cat - <(printf 'salt') | base64 -w0)" ;;
	sha) _h="{SHA}$(printf '%s' "$_p" | openssl dgst -sha1 -binary | base64 -w0)" ;;
	esac
	printf '%s:%s\n' "$_l" "$_h" >> "$PWFILE"
	PW[$_l]=$_p
	USERS_MADE="${USERS_MADE:-} $_l"
}
for s in sha512 sha256 md5 apr1 yescrypt bcrypt ssha sha; do adduser_ $s; done
# a 300-byte password, hashed
LONG_USER="m$(rand 15)"; printf '%s\n' "$LONG_USER" >> "$LOGINS"
LONG_PW=$(secret 300)
# (openssl passwd cuts passwords at 256 bytes)
printf '%s:%s\n' "$LONG_USER" "$(perl -e 'print crypt($ARGV[0], "\$6\$".$ARGV[1])' "$LONG_PW" "$(rand 16)")" >> "$PWFILE"

# requests: every user, right and wrong; unknown users; long passwords;
# 4 and 5 fields; malformed frames after the password; cut-off requests
requests() {
	for u in $USERS_MADE; do
		expect_out "$1: $u: right password" 0 "$OK" A -u "$u" -p "${PW[$u]}"
		expect_out "$1: $u: wrong password" 255 "$NO" A -u "$u" -p "$(secret 33)"
		if [ -n "$TSA" ]; then
			"$TSA" -f "$SOCK" -u "$u" -p "${PW[$u]}" >/dev/null
			"$TSA" -f "$SOCK" -u "$u" -p "$(secret 35)" >/dev/null
		fi
		"$WIRE" -f "$SOCK" req "$u" "${PW[$u]}" smtp "" "192.0.2.1;25" >/dev/null
		"$WIRE" -f "$SOCK" req "$u" "$(secret 37)" smtp "" "192.0.2.1;25" >/dev/null
	done
	expect_out "$1: 300-byte password" 0 "$OK" A -u "$LONG_USER" -p "$LONG_PW"
	expect_out "$1: unknown user" 255 "$NO" A -u "nobody$(rand 8)" -p "$(secret 24)"
	expect_out "$1: 1000-byte wrong password" 255 "$NO" A -u "$LONG_USER" -p "$(secret 1000)"
	expect_out "$1: 1024-byte wrong password" 255 "$NO" A -u "$LONG_USER" -p "$(secret 1024)"
	u=${USERS_MADE# }; u=${u%% *}
	# a password too long for the protocol: refused by its length, the
	# rest drained
	big=$(secret 1100)
	out=$("$WIRE" -f "$SOCK" send "$(field "$u")$(field "$big")$(field imap)$(field "")")
	check "$1: an over-long password is refused (got $out)" [ "$out" = "reply: NO " ]
	# the same, larger than the input buffer: the rest is read and
	# dropped until the client closes
	big=$(secret 3000)
	out=$("$WIRE" -f "$SOCK" send "$(field "$u")$(field "$big")$(field imap)$(field "")")
	check "$1: a 3000-byte password is refused (got $out)" [ "$out" = "reply: NO " ]
	# malformed after the password was decoded: trailing bytes, a realm
	# too long, a NUL in the service
	out=$("$WIRE" -f "$SOCK" send "$(field "$u")$(field "$(secret 30)")$(field imap)$(field "")$(field "1;2")$(field junk)")
	check "$1: trailing bytes refused (got $out)" [ "$out" = "reply: NO " ]
	out=$("$WIRE" -f "$SOCK" send "$(field "$u")$(field "$(secret 31)")$(field imap)$(field "$(rand 300)")")
	check "$1: a long realm refused (got $out)" [ "$out" = "reply: NO " ]
	out=$("$WIRE" -f "$SOCK" send "$(field "$u")$(field "$(secret 32)")00036900616d$(field "")")
	check "$1: NUL in the service refused (got $out)" [ "$out" = "reply: NO " ]
	# a request in pieces (the fifth-field grace), a right password
	out=$("$WIRE" -f "$SOCK" trickle "$(field "$u")$(field "${PW[$u]}")$(field imap)$(field "")" 1)
	check "$1: a trickled request is answered (got $out)" [ "$out" = "reply: OK" ]
	# half a request: the client hangs up; the read deadline cuts another
	"$WIRE" -f "$SOCK" send "$(field "$u")$(field "$(secret 34)")" 0 >/dev/null
	"$WIRE" -f "$SOCK" send "$(field "$u")$(field "$(secret 36)")0004" 1500 >/dev/null
}

write_conf "read_timeout: 1"
sed -i "s|^file_path: .*|file_path: $PWFILE|" "$CONF"
start_daemon -n 3 || { fail "daemon starts on the file backend"; done_testing; }
requests file
settle
scan_clean "file: no password in the daemon's memory"
scan_finds "control: login names are found" "$LOGINS" 1
stop_daemon

# --- the same with the cache: hits, cached refusals ---------------------
: > "$LOG"
start_daemon -n 3 -c || { fail "daemon starts with the cache"; done_testing; }
requests cache
requests cache-again
log_has "cache: hits happened" "[mech=cache]"
settle
scan_clean "cache: no password in the daemon's memory"
stop_daemon

# --- shadow and pam: accounts of our own -----------------------------------
# logins_pw LOGIN PASSWORD...: right and wrong passwords through every client
logins_pw() {
	_u=$1 _p=$2 _d=$3; shift 3
	expect_out "$_d: right password" 0 "$OK" A "$@" -u "$_u" -p "$_p"
	expect_out "$_d: wrong password" 255 "$NO" A "$@" -u "$_u" -p "$(secret 41)"
	if [ -n "$TSA" ]; then
		"$TSA" -f "$SOCK" "$@" -u "$_u" -p "$_p" >/dev/null
		"$TSA" -f "$SOCK" "$@" -u "$_u" -p "$(secret 43)" >/dev/null
	fi
	"$WIRE" -f "$SOCK" req "$_u" "$_p" "${SVC_:-imap}" "" "192.0.2.1;25" >/dev/null
	"$WIRE" -f "$SOCK" req "$_u" "$(secret 45)" "${SVC_:-imap}" "" >/dev/null
	expect_out "$_d: unknown user" 255 "$NO" A "$@" -u "amn$$" -p "$(secret 47)"
}

ACCOUNT=amm$$
PAMSVC=authmux-mem-$$
PAMSVC_PWD=authmux-mempwd-$$
MADE=
# shellcheck disable=SC2317  # called by the trap
mem_cleanup() {
	for u in $MADE; do userdel "$u" 2>/dev/null; done
	rm -f "/etc/pam.d/$PAMSVC" "/etc/pam.d/$PAMSVC_PWD"
	cleanup
}
trap mem_cleanup EXIT
trap 'exit 1' HUP INT TERM

if command -v useradd >/dev/null && command -v chpasswd >/dev/null &&
    useradd -M -N -s /usr/sbin/nologin "$ACCOUNT"; then
	MADE=$ACCOUNT
	ACCOUNT_PW=$(secret 40)
	printf '%s:%s\n' "$ACCOUNT" "$ACCOUNT_PW" | chpasswd -c SHA512
else
	echo "# no test account (useradd, chpasswd): no shadow or pam run"
fi

if [ -n "$MADE" ] && [ -f "$MODDIR/shadow.so" ]; then
	: > "$LOG"; : > "$CONF"
	start_daemon -a shadow -n 3 || { fail "daemon starts on shadow"; done_testing; }
	logins_pw "$ACCOUNT" "$ACCOUNT_PW" shadow
	settle
	scan_clean "shadow: no password in the daemon's memory"
	stop_daemon
fi

PWDFILE_SO=$(find /lib /usr/lib /lib64 /usr/lib64 -name pam_pwdfile.so 2>/dev/null | head -n 1)
if [ -n "$MADE" ] && [ -f "$MODDIR/pam.so" ]; then
	printf '%s\n' "auth required pam_unix.so nodelay" \
	    "account required pam_unix.so" > "/etc/pam.d/$PAMSVC"
	: > "$LOG"; : > "$CONF"
	start_daemon -a pam -n 3 || { fail "daemon starts on pam"; done_testing; }
	SVC_=$PAMSVC logins_pw "$ACCOUNT" "$ACCOUNT_PW" "pam_unix" -s "$PAMSVC"
	if [ -n "$PWDFILE_SO" ]; then
		PWD_USER="m$(rand 15)"; PWD_PW=$(secret 40)
		printf '%s:%s\n' "$PWD_USER" "$(openssl passwd -6 "$PWD_PW")" > "$T/pwdfile"
		printf '%s\n' "auth required pam_pwdfile.so pwdfile=$T/pwdfile" \
		    "account required pam_permit.so" > "/etc/pam.d/$PAMSVC_PWD"
		SVC_=$PAMSVC_PWD logins_pw "$PWD_USER" "$PWD_PW" "pam_pwdfile" -s "$PAMSVC_PWD"
	fi
	settle
	scan_clean "pam: no password in the daemon's memory"
	stop_daemon
fi

# --- ldap: bind and custom against a real slapd ---------------------------
if [ -f "$MODDIR/ldap.so" ] && command -v slapd >/dev/null &&
    command -v ldapmodify >/dev/null && slapd_start s1; then
	ALICE_NEW=$(secret 40)
	LONG_LDAP=$(secret 300)
	C_NEW=$(secret 40)
	ldap_set_password "uid=alice,$PEOPLE" "$ALICE_NEW" &&
	ldap_set_password "uid=longpw,$PEOPLE" "$LONG_LDAP" &&
	ldap_set_password "uid=c_ssha,$PEOPLE" "$C_NEW" ||
	    fail "ldap: new passwords set"
	for method in bind tls custom; do
		: > "$LOG"
		printf '%s\n' "ldap_servers: $s1_URI" "ldap_search_base: $BASE" \
		    "ldap_bind_dn: $SVC_DN" "ldap_password: $SVC_PW" \
		    "ldap_auth_method: $method" > "$CONF"
		if [ $method = tls ]; then
			# ldaps://: the bind is encrypted by GnuTLS (or OpenSSL)
			printf '%s\n' "ldap_servers: $s1_LDAPS" \
			    "ldap_tls_cacert_file: $LDAP_CA" \
			    "ldap_auth_method: bind" >> "$CONF"
		fi
		MECH=ldap start_daemon -n 3 || { fail "daemon starts on ldap ($method)"; done_testing; }
		if [ $method != custom ]; then
			logins_pw alice "$ALICE_NEW" "ldap bind"
			expect_out "ldap bind: a 300-byte password" 0 "$OK" A -u longpw -p "$LONG_LDAP"
		else
			logins_pw c_ssha "$C_NEW" "ldap custom"
		fi
		settle
		scan_clean "ldap $method: no password in the daemon's memory"
		stop_daemon
	done
else
	echo "# no ldap run (ldap backend, slapd or ldap-utils missing)"
fi

done_testing
