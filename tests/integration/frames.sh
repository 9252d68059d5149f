#!/bin/bash
# Hostile and malformed frames: every one gets a defined answer (NO or a
# closed connection) and a log line, and the daemon keeps serving.
. "$top_srcdir/tests/integration/lib.sh"

rep() { printf "%${2}s" "" | tr ' ' "$1"; }

write_conf "read_timeout: 1"
start_daemon || { fail "daemon starts"; done_testing; }

GOOD="$(field alice)$(field alice-pw)$(field imap)$(field '')"
W() { "$WIRE" -f "$SOCK" "$@"; }

expect_out "well-formed request" 0 "reply: OK" W send "$GOOD"
expect_out "5 fields" 0 "reply: OK" W send "$GOOD$(field '203.0.113.5;587')"
expect_out "login of 257 bytes: NO before its bytes arrive" 0 "reply: NO " W send "0101"
expect_out "login at the cap (256) is decoded" 0 "reply: NO" W send "$(field "$(rep a 256)")$(field x)$(field imap)$(field '')"
expect_out "password of 1025 bytes" 0 "reply: NO " W send "$(field alice)0401"
expect_out "password at its cap (1024) reaches the backend" 0 "reply: NO" W send "$(field alice)$(field "$(rep p 1024)")$(field imap)$(field '')"
expect_out "service of 257 bytes" 0 "reply: NO " W send "$(field alice)$(field alice-pw)0101"
expect_out "realm of 257 bytes" 0 "reply: NO " W send "$(field alice)$(field alice-pw)$(field imap)0101"
expect_out "address of 257 bytes" 0 "reply: NO " W send "${GOOD}0101"
expect_out "length 0xffff" 0 "reply: NO " W send "ffff"
expect_out "NUL in the login" 0 "reply: NO " W send "0006616c69636500$(field alice-pw)$(field imap)$(field '')"
expect_out "NUL in the password" 0 "reply: NO " W send "$(field alice)0009616c6963652d707700$(field imap)$(field '')"
expect_out "empty login" 0 "reply: NO NULL login received" W send "$(field '')$(field alice-pw)$(field imap)$(field '')"
expect_out "empty password" 0 "reply: NO NULL password received" W send "$(field alice)$(field '')$(field imap)$(field '')"
expect_out "bytes after the fifth field" 0 "reply: NO " W send "$GOOD$(field '203.0.113.5;587')00"
expect_out "an HTTP request" 0 "reply: NO " W send "$(printf 'GET / HTTP/1.0\r\n\r\n' | od -An -v -tx1 | tr -d ' \n')"
expect_out "truncated request, then the client hangs up" 0 "closed" W send "$(field alice)$(field alice-pw)00" 100
expect_out "nothing at all, then the client hangs up" 0 "closed" W send "" 50
expect_out "half a length field, then silence: cut at the deadline" 0 "closed" W send "00"
expect_out "4 fields and half a fifth: cut at the deadline" 0 "closed" W send "${GOOD}00"
expect_out "a 4-field request trickled byte by byte is answered" 0 "reply: OK" W trickle "$GOOD" 15
expect_out "a trickle slower than the deadline is cut" 0 "closed" W trickle "$GOOD" 150
# a few kilobytes of noise, in several shapes
for seed in 1 2 3 4 5 6 7 8; do
	noise=$(head -c $((seed * 700)) /dev/urandom | od -An -v -tx1 | tr -d ' \n')
	out=$(W send "$noise" 100)
	case "$out" in
	"reply: NO"*|closed) pass "random noise $seed: $out" ;;
	*) fail "random noise $seed: $out" ;;
	esac
done

check "daemon still alive" alive
expect_out "and still answers" 0 "reply: OK" W send "$GOOD"
log_has "oversized field logged, naming field and sender" "bad request [peer=uid $(id -u) gid $(id -g) pid "
log_has "... and the field and the problem" "]: login: field too long; answered NO"
log_has "NUL logged" ": password: NUL byte in field; answered NO"
log_has "empty login logged" ": login: empty login; answered NO"
log_has "empty password logged" ": password: empty password; answered NO"
log_has "trailing bytes logged" "trailing bytes after request; answered NO"
log_has "deadline logged" "no complete request within 1000 ms"
log_has "hang-up logged" "client hung up after"
n=$(grep -c "bad request \[peer=uid " "$LOG")
check "one log line per bad request (>= 12, got $n)" [ "$n" -ge 12 ]

stop_daemon; check "clean exit after abuse" [ $? -eq 0 ]
done_testing
