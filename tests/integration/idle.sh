#!/bin/bash
# Idle clients never freeze the daemon: saslauthd with 5 processes is
# stopped by 5 idle connections; here 500 must not slow a real client.
. "$top_srcdir/tests/integration/lib.sh"


write_conf "read_timeout: 10"
start_daemon -n 2 || { fail "daemon starts"; done_testing; }

"$WIRE" -f "$SOCK" idle 500 6 > "$T/idle.out" 2>&1 &
IDLE=$!
sleep 1.5
out=$("$WIRE" -f "$SOCK" latency 50 alice alice-pw)
echo "# with 500 idle connections: $out"
case "$out" in
ok:\ 50\ no:\ 0\ *) pass "50 logins answered OK while 500 clients sit idle" ;;
*) fail "50 logins answered OK while 500 clients sit idle ($out)" ;;
esac
max=$(echo "$out" | sed -n 's/.*max_ms: \([0-9]*\).*/\1/p')
check "slowest answer under 100 ms (got ${max} ms)" both [ -n "$max" ] -- [ "$max" -lt 100 ]
wait $IDLE
cat "$T/idle.out"
check "the idle clients were not cut before the deadline" grep -q "closed-by-server: 0 of 500" "$T/idle.out"
check "daemon alive" alive
stop_daemon

# With a connection limit, idle clients are dropped oldest first to make
# room for new ones; the real client is still served.
: > "$LOG"
write_conf "read_timeout: 30" "max_connections: 64"
start_daemon -n 2 || fail "daemon starts with max_connections"
"$WIRE" -f "$SOCK" idle 200 3 > "$T/idle2.out" 2>&1 &
IDLE=$!
sleep 1
out=$("$WIRE" -f "$SOCK" latency 20 alice alice-pw)
echo "# with 200 idle connections and a limit of 64: $out"
case "$out" in
ok:\ 20\ no:\ 0\ *) pass "logins answered past the connection limit" ;;
*) fail "logins answered past the connection limit ($out)" ;;
esac
wait $IDLE
cat "$T/idle2.out"
log_has "eviction logged" "connection limit (64) reached, dropping the oldest idle client"
check "daemon alive" alive
stop_daemon
done_testing
