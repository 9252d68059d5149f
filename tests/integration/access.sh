#!/bin/bash
# allow_users and allow_groups: who may use the saslauthd sockets beyond
# what the directory's mode lets in, judged by the kernel's word
# (SO_PEERCRED, SO_PEERGROUPS) on real accounts made here: a user listed
# by name, one in a listed group as a supplementary group, one whose
# primary group is listed, and one listed nowhere; root always.  A refused
# peer gets NO before any byte of its request is read, and one log line
# naming its uid and gid.  Reload changes the lists; an unknown name is an
# error at file:line.
. "$top_srcdir/tests/integration/lib.sh"

[ "$(id -u)" = 0 ] || skip "needs root (makes test accounts)"
for c in useradd userdel groupadd groupdel runuser; do
	command -v "$c" >/dev/null || skip "$c is missing (Debian: passwd, util-linux)"
done

P=$$
GRP=amgrp$P	# the listed group
UA=ama$P	# listed by name
US=ams$P	# in GRP as a supplementary group
UP=amp$P	# GRP is its primary group
UN=amn$P	# listed nowhere
MADE= GMADE=
# shellcheck disable=SC2317  # called by the trap
access_cleanup() {
	for u in $MADE; do userdel "$u" 2>/dev/null; done
	for g in $GMADE; do groupdel "$g" 2>/dev/null; done
	cleanup
}
trap access_cleanup EXIT
trap 'exit 1' HUP INT TERM

groupadd "$GRP" && GMADE=$GRP || { fail "make group $GRP"; done_testing; }
for u in "$UA" "$US" "$UP" "$UN"; do
	case $u in
	"$US") extra=(-G "$GRP") ;;
	"$UP") extra=(-g "$GRP") ;;
	*) extra=() ;;
	esac
	useradd -M -N -s /usr/sbin/nologin "${extra[@]}" "$u" ||
	    { fail "make test account $u"; done_testing; }
	MADE="$MADE $u"
done

OK='0: OK "Success."'
NO='0: NO "authentication failed"'
A() { "$AUTHMUX" -f "$SOCK" "$@"; }
# as USER ARGS...: authmux run by that user
as() { _u=$1; shift; runuser -u "$_u" -- "$AUTHMUX" -f "$SOCK" "$@"; }
refused_line() { echo "refused [peer=uid $(id -u "$1") gid $(id -g "$1") pid "; }

# the test users must reach the socket: through $T, and a directory
# anyone may enter
chmod 755 "$T"
write_conf "socket_dir_mode: 0755" "allow_users: $UA" "allow_groups: $GRP"
start_daemon || { fail "daemon starts"; done_testing; }

expect_out "root is always allowed" 0 "$OK" A -u alice -p alice-pw
expect_out "allow_users: $UA may ask" 0 "$OK" as "$UA" -u alice -p alice-pw
log_has "its attempt names it" "[peer=uid $(id -u "$UA") gid $(id -g "$UA") pid "
expect_out "allow_groups: $US, in $GRP as a supplementary group, may ask" 0 "$OK" as "$US" -u alice -p alice-pw
expect_out "allow_groups: $UP, of primary group $GRP, may ask" 0 "$OK" as "$UP" -u alice -p alice-pw
expect_out "$UN is refused" 255 "$NO" as "$UN" -u alice -p alice-pw
log_has "the refusal names uid and gid" "$(refused_line "$UN")"
log_has "... and the rule" "]: not root and not in allow_users or allow_groups; answered NO"
check "no attempt of $UN reached the backends" \
    not grep -q "auth .*\[peer=uid $(id -u "$UN") " "$LOG"
out=$(runuser -u "$UN" -- "$WIRE" -f "$SOCK" req alice alice-pw imap "" 2>&1)
check "a refused client reads a clean NO, no reset (got $out)" [ "$out" = "reply: NO" ]
n=$(grep -cF "$(refused_line "$UN")" "$LOG")
check "one line per refused connection (2, got $n)" [ "$n" = 2 ]

# a reload changes the lists: a number instead of a name
write_conf "socket_dir_mode: 0755" "allow_users: nobody, $(id -u "$UN")"
check "reload with new lists" hup_wait "reloaded: backends file"
expect_out "after reload: $UN (by number) may ask" 0 "$OK" as "$UN" -u alice -p alice-pw
expect_out "after reload: $UA is refused" 255 "$NO" as "$UA" -u alice -p alice-pw
expect_out "after reload: $US is refused" 255 "$NO" as "$US" -u alice -p alice-pw
expect_out "after reload: root still may" 0 "$OK" A -u alice -p alice-pw

# an unknown name fails the reload; the old lists stay
write_conf "socket_dir_mode: 0755" "allow_users: $UA" "allow_groups: nosuchgroup$P"
check "an unknown group fails the reload" hup_wait "reload failed; still serving with the old configuration"
log_has "... named at file:line" "$CONF:4: allow_groups: no such group \"nosuchgroup$P\""
expect_out "the old lists still hold: $UN may" 0 "$OK" as "$UN" -u alice -p alice-pw
expect_out "... and $UA may not" 255 "$NO" as "$UA" -u alice -p alice-pw

# no lists: the socket's mode alone decides
write_conf "socket_dir_mode: 0755"
check "reload without lists" hup_wait "reloaded: backends file"
expect_out "without lists $UA may ask again" 0 "$OK" as "$UA" -u alice -p alice-pw
stop_daemon

# --check-config names an unknown user at file:line
write_conf "allow_users: $UA nosuchuser$P"
out=$("$AUTHMUXD" --check-config -a file -O "$CONF" --module-dir "$MODDIR" 2>&1); rc=$?
check "check-config: an unknown user is an error (exit $rc)" [ $rc = 1 ]
check "... at file:line" grep -qF "$CONF:2: allow_users: no such user \"nosuchuser$P\"" <<< "$out"

done_testing
