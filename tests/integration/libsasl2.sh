#!/bin/bash
# A real libsasl2 application (pwcheck_method: saslauthd) through
# authmuxd, as Postfix's smtpd and Cyrus IMAP use it.
. "$top_srcdir/tests/integration/lib.sh"

CP="$top_builddir/tests/integration/sasl_checkpass"
[ -x "$CP" ] || skip "sasl_checkpass not built (Debian: apt-get install libsasl2-dev, then reconfigure)"

start_daemon || { fail "daemon starts"; done_testing; }

expect_out "libsasl2: good password" 0 "OK" "$CP" "$SOCK" alice alice-pw
check "libsasl2: wrong password refused" sh -c "! '$CP' '$SOCK' alice wrong >/dev/null"
check "libsasl2: unknown user refused" sh -c "! '$CP' '$SOCK' nobody alice-pw >/dev/null"
# libsasl2 splits user@realm at the last @ and sends the realm apart
expect_out "libsasl2: user@realm" 0 "OK" "$CP" "$SOCK" bob@example.com bob-realm-pw
log_has "libsasl2 sends service and realm" "[user=bob] [service=smtp] [realm=example.com] [mech=file]"
expect_out "libsasl2: server realm" 0 "OK" "$CP" "$SOCK" bob bob-realm-pw smtp example.com
check "libsasl2: wrong realm password refused" sh -c "! '$CP' '$SOCK' bob@example.com bob-plain-pw >/dev/null"
check "daemon still alive" alive

stop_daemon
done_testing
