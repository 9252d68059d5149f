#!/bin/bash
# Backend chains, TEMPFAIL, failure delays and hung backends, with the
# test module in front of the real file backend.
. "$top_srcdir/tests/integration/lib.sh"

use_testmod

OK='0: OK "Success."'
NO='0: NO "authentication failed"'
A() { "$AUTHMUX" -f "$SOCK" "$@"; }

write_conf "testmod_hang_ms: 2500" "backend_timeout: 1"
start_daemon -a testmod,file -n 2 || { fail "daemon starts"; done_testing; }

expect_out "first backend answers OK" 0 "$OK" A -u known-x -p ok
expect_out "first backend's DENY ends the chain" 255 "$NO" A -u known-x -p deny
expect_out "unknown to the first: the second answers" 0 "$OK" A -u alice -p alice-pw
expect_out "unknown to both: NO" 255 "$NO" A -u nobody -p x
log_has "decided by file" "[user=alice] [service=imap] [realm=] [mech=file]"
log_has "unknown to all: reason" "[user=nobody] [service=imap] [realm=] [mech=file] [reason=unknown user]"
expect_out "TEMPFAIL is NO, never OK" 255 "$NO" A -u known-x -p tempfail
log_has "TEMPFAIL logged as temporary" "[mech=testmod] [reason=temporary failure: test server down]"

# a failure delay is a timer, not a sleeping worker: with 2 workers, 6
# delayed denials at once take about one delay, and a good login
# meanwhile is not held up
start=$(date +%s%N)
pids=
for i in 1 2 3 4 5 6; do A -q -u known-x -p delay & pids="$pids $!"; done
sleep 0.1
t0=$(date +%s%N); A -q -u known-x -p ok; t1=$(date +%s%N)
# shellcheck disable=SC2086
wait $pids
end=$(date +%s%N)
ms=$(( (end - start) / 1000000 )); okms=$(( (t1 - t0) / 1000000 ))
check "delayed denials waited their delay (${ms} ms >= 400)" [ "$ms" -ge 400 ]
check "6 delayed denials on 2 workers overlap (${ms} ms < 1000)" [ "$ms" -lt 1000 ]
check "a good login during the delays is prompt (${okms} ms < 200)" [ "$okms" -lt 200 ]

# a hung backend: the client gets NO after backend_timeout, not never
t0=$(date +%s%N); out=$(A -u known-x -p hang); rc=$?; t1=$(date +%s%N)
ms=$(( (t1 - t0) / 1000000 ))
check "hung backend: NO after the timeout ($out, exit $rc)" both [ "$out" = "$NO" ] -- [ $rc = 255 ]
check "hung backend: answered in about 1 s (${ms} ms)" both [ "$ms" -ge 900 ] -- [ "$ms" -lt 2000 ]
log_has "hung backend logged" "backend testmod,file did not answer within 1 s"
expect_out "the other worker still serves meanwhile" 0 "$OK" A -u alice -p alice-pw
sleep 2
log_has "the late answer is still logged" "auth success: [user=known-x]"
expect_out "and the stuck worker is back" 0 "$OK" A -u known-x -p ok
# SIGHUP while a request is in flight: it finishes on the old chain,
# which is let go only afterwards
write_conf "testmod_hang_ms: 1500" "backend_timeout: 10"
kill -HUP "$DAEMON_PID"
sleep 0.5
: > "$LOG"
A -u known-x -p hang > "$T/inflight.out" &
INFLIGHT=$!
sleep 0.3
write_conf "testmod_hang_ms: 100" "backend_timeout: 10"
kill -HUP "$DAEMON_PID"
wait $INFLIGHT; rc=$?
check "request in flight across SIGHUP answered OK" [ $rc -eq 0 ] && grep -qF "$OK" "$T/inflight.out"
order=$(grep -oE "reloaded: backends|auth success: \[user=known-x\]|testmod: deinit \(hang_ms 1500\)" "$LOG" | tr '\n' '|')
check "reload, then the old request's answer, then the old chain's deinit ($order)" \
    [ "$order" = "reloaded: backends|auth success: [user=known-x]|testmod: deinit (hang_ms 1500)|" ]
t0=$(date +%s%N); A -q -u known-x -p hang; t1=$(date +%s%N)
check "new requests use the new config (hang $(( (t1 - t0) / 1000000 )) ms < 1000)" [ $(( (t1 - t0) / 1000000 )) -lt 1000 ]

check "daemon alive" alive
stop_daemon; check "clean exit" [ $? -eq 0 ]
done_testing
