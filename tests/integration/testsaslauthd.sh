#!/bin/bash
# Debian's testsaslauthd (sasl2-bin) against authmuxd: the same answers,
# byte for byte, as from authmux.
. "$top_srcdir/tests/integration/lib.sh"

TSA=$(command -v testsaslauthd || ls /usr/sbin/testsaslauthd 2>/dev/null)
[ -n "$TSA" ] || skip "testsaslauthd not installed (Debian: apt-get install sasl2-bin)"

start_daemon || { fail "daemon starts"; done_testing; }

expect_out "testsaslauthd: good password" 0 '0: OK "Success."' "$TSA" -f "$SOCK" -u alice -p alice-pw
expect_out "testsaslauthd: wrong password" 255 '0: NO "authentication failed"' "$TSA" -f "$SOCK" -u alice -p nope
expect_out "testsaslauthd: unknown user" 255 '0: NO "authentication failed"' "$TSA" -f "$SOCK" -u mallory -p x
expect_out "testsaslauthd: service smtp" 0 '0: OK "Success."' "$TSA" -f "$SOCK" -u alice -p alice-pw -s smtp
expect_out "testsaslauthd: realm" 0 '0: OK "Success."' "$TSA" -f "$SOCK" -u bob -r example.com -p bob-realm-pw
expect_out "testsaslauthd: -R 2" 0 "$(printf '0: OK "Success."\n1: OK "Success."')" "$TSA" -f "$SOCK" -u alice -p alice-pw -R 2
log_has "testsaslauthd's service reaches the log" "[user=alice] [service=smtp]"

# authmux prints what testsaslauthd prints, for every case
for args in "-u alice -p alice-pw" "-u alice -p nope" "-u bob -r example.com -p bob-realm-pw" "-u alice -p alice-pw -R 3"; do
	# shellcheck disable=SC2086
	a=$("$TSA" -f "$SOCK" $args 2>&1); ra=$?
	# shellcheck disable=SC2086
	b=$("$AUTHMUX" -f "$SOCK" $args 2>&1); rb=$?
	check "authmux = testsaslauthd for: $args" both [ "$a" = "$b" ] -- [ $ra = $rb ]
done
a=$("$TSA" -p x 2>&1 >/dev/null); ra=$?
b=$("$AUTHMUX" -p x 2>&1 >/dev/null); rb=$?
check "usage error: same exit status as testsaslauthd ($ra)" [ $ra = $rb ]

stop_daemon
done_testing
