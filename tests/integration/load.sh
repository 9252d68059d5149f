#!/bin/bash
# Load: 2,000 idle connections beside a real client, slow senders, a
# connection flood past the listen backlog, and SIGHUP and SIGTERM under
# full load.  The daemon keeps answering, logs each kind of trouble once
# per burst, and loses no request it has read.
. "$top_srcdir/tests/integration/lib.sh"

use_testmod
LOADGEN="$top_builddir/tests/bench/loadgen"
[ -x "$LOADGEN" ] || skip "tests/bench/loadgen is not built (run make)"

W() { "$WIRE" -f "$SOCK" "$@"; }
# log_since LINE: what the daemon logged after line LINE, less the
# lines that are one per request by design (-d's debug lines, attempts)
log_since() {
	sed -n "$(($1 + 1)),\$p" "$LOG" | grep -vE ': accepted \(|-field request to the workers|auth (success|failure): '
}
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

# --- 2,000 idle connections and a real client ------------------------------
# the soft limit only: the daemon raises its own within the hard one
ulimit -Sn 8192 2>/dev/null || ulimit -Sn "$(ulimit -Hn)"
write_conf "read_timeout: 8"
start_daemon -n 2 || { fail "daemon starts"; done_testing; }
t0=$(date +%s%N)
W idle 2000 20 > "$T/idle.out" 2>&1 &
IDLE=$!
# until the daemon holds them all (its descriptors: the 2,000 and a few)
i=0
while [ $i -lt 100 ] && [ "$(ls "/proc/$DAEMON_PID/fd" | wc -l)" -lt 2000 ]; do
	sleep 0.05; i=$((i + 1))
done
held=$(ls "/proc/$DAEMON_PID/fd" | wc -l)
check "the daemon holds the 2,000 idle connections ($held descriptors)" [ "$held" -ge 2000 ]
out=$(W latency 200 alice alice-pw)
echo "# 200 sequential logins beside 2,000 idle connections: $out"
check "200 logins answered OK" [ "$(value_of "$out" ok)" = 200 ]
p99=$(value_of "$out" p99_ms)
check "p99 under 100 ms (${p99} ms)" both [ -n "$p99" ] -- [ "$p99" -lt 100 ]
wait $IDLE
ms=$(ms_since "$t0")
cat "$T/idle.out"
check "the idle ones are dropped by read_timeout" grep -q "closed-by-server: 2000 of 2000" "$T/idle.out"
check "... at the deadline, 8 s (all gone after ${ms} ms)" both [ "$ms" -ge 7900 ] -- [ "$ms" -lt 15000 ]
log_wait "connections closed: no complete request in time: " 3
n=$(log_count "closed: no complete request within 8000 ms")
check "logged once, not 2,000 times ($n full line)" [ "$n" = 1 ]
total=$(burst_total "closed: no complete request within 8000 ms" "connections closed: no complete request in time")
check "and summed up: $total of 2000" [ "$total" = 2000 ]
grep -F "no complete request" "$LOG" | sed 's/^/# /'
check "daemon alive" alive
stop_daemon

# --- slow senders ------------------------------------------------------------
# One worker.  A request trickled in under read_timeout is answered; one
# trickled slower is cut at the deadline; neither holds the worker, so a
# real client meanwhile is answered at once.
: > "$LOG"
write_conf "read_timeout: 2"
start_daemon -n 1 || { fail "daemon starts"; done_testing; }
GOOD="$(field alice)$(field alice-pw)$(field imap)$(field '')"	# 25 bytes
for i in $(seq 1 20); do
	( W trickle "$GOOD" 30 > "$T/fast.$i" 2>/dev/null ) &
	( s=$(date +%s%N); W trickle "$GOOD" 150 > "$T/slow.$i" 2>/dev/null
	  ms_since "$s" >> "$T/slow.$i" ) &
done
sleep 0.3
out=$(W latency 50 alice alice-pw)
echo "# 50 logins beside 40 trickling clients: $out"
check "50 logins answered OK meanwhile" [ "$(value_of "$out" ok)" = 50 ]
max=$(value_of "$out" max_ms)
not_under_valgrind check "none waited for a trickler (max ${max} ms < 100)" [ "$max" -lt 100 ]
wait_jobs
fast=$(cat "$T"/fast.* | grep -c "^reply: OK$")
check "20 requests trickled within read_timeout answered OK ($fast)" [ "$fast" = 20 ]
slow=$(cat "$T"/slow.* | grep -c "^closed$")
check "20 trickled past it closed ($slow)" [ "$slow" = 20 ]
late=$(cat "$T"/slow.* | grep -E '^[0-9]+$' | sort -n | tail -n 1)
check "... at the deadline (the last after ${late} ms < 3500)" [ "$late" -lt 3500 ]
log_wait "connections closed: no complete request in time: " 3
check "the cut ones logged once ($(log_count "closed: no complete request within 2000 ms") full line)" [ "$(log_count "closed: no complete request within 2000 ms")" = 1 ]
check "and summed up ($(burst_total "closed: no complete request within 2000 ms" "connections closed: no complete request in time") of 20)" \
    [ "$(burst_total "closed: no complete request within 2000 ms" "connections closed: no complete request in time")" = 20 ]
stop_daemon

# --- a connection flood --------------------------------------------------------
# The listen backlog is SOMAXCONN.  First 5,000 connects from 4 processes
# at a running daemon (it drops idle ones past max_connections), then
# 6,000 at a daemon stopped with SIGSTOP, so the backlog fills and the
# kernel refuses the rest.  Either way the daemon stays up, logs a few
# lines, and answers a real client at once afterwards.
: > "$LOG"
write_conf "max_connections: 2000"
start_daemon || { fail "daemon starts"; done_testing; }
flood() { # N_EACH HOLD_MS
	for k in 1 2 3 4; do W flood "$1" "$2" > "$T/flood.$k" 2>&1 & done
	wait_jobs
	cat "$T"/flood.* | awk '/^connected/ { c += $2; r += $4; f += $6 }
	    END { printf "connected %d, refused by the kernel %d, failed %d\n", c, r, f }'
}
before=$(wc -l < "$LOG")
echo "# flood at a running daemon: $(flood 1250 1500)"
sleep 1.2	# for the bursts' summaries
log_since "$before" | sed 's/^/#   /'
lines=$(log_since "$before" | wc -l)
check "daemon alive after 5,000 connects" alive
check "a few log lines, not thousands ($lines)" [ "$lines" -le 6 ]
out=$(W latency 20 alice alice-pw)
check "a real client is answered at once after the flood ($out)" both [ "$(value_of "$out" ok)" = 20 ] -- [ "$(value_of "$out" max_ms)" -lt 100 ]

kill -STOP "$DAEMON_PID"
before=$(wc -l < "$LOG")
res=$(flood 1500 500)
echo "# flood at a stopped daemon: $res"
refused=$(echo "$res" | sed -n 's/.*kernel \([0-9]*\).*/\1/p')
check "the kernel refused the connects past the backlog ($refused)" [ "$refused" -gt 0 ]
kill -CONT "$DAEMON_PID"
t0=$(date +%s%N)
expect_out "a real client is answered once it runs again" 0 '0: OK "Success."' "$AUTHMUX" -f "$SOCK" -u alice -p alice-pw
ms=$(ms_since "$t0")
check "... behind the backlog's dead connections, within 1 s (${ms} ms)" [ "$ms" -lt 1000 ]
sleep 1.2
log_since "$before" | sed 's/^/#   /'
lines=$(log_since "$before" | wc -l)
check "a few log lines ($lines)" [ "$lines" -le 6 ]
check "daemon alive" alive
stop_daemon

# --- SIGHUP and SIGTERM under full load ---------------------------------------
# loadgen, 16 threads, on the chain testmod,file: file users, a backend
# that takes 200 ms (testmod "hang") and failure delays (testmod "delay").
printf '%s\n' alice:alice-pw bob:bob-pw dave:dave-pw known-a:hang \
    known-b:delay known-c:ok > "$T/load.users"
# loadgen's count of one kind of error from its summary (0 when none)
errs() { sed -n "s|.*$1 \([0-9]*\).*|\1|p" "$T/lg.err" | head -n 1 | grep . || echo 0; }
auth_lines() { grep -cE "auth (success|failure): " "$LOG"; }

write_conf "testmod_hang_ms: 200"
start_daemon -a testmod,file -n 4 || { fail "daemon starts"; done_testing; }
: > "$LOG"
"$LOADGEN" -f "$SOCK" -u "$T/load.users" -c 16 -d 5 > "$T/lg.out" 2> "$T/lg.err" &
LG=$!
for ms in 150 100 50; do
	sleep 1
	write_conf "testmod_hang_ms: $ms"
	kill -HUP "$DAEMON_PID"
done
wait $LG
out=$(cat "$T/lg.out")
echo "# under three SIGHUPs: $out"
check "SIGHUP under load: the reloads completed ($(log_count "reloaded: backends testmod,file") of 3)" [ "$(log_count "reloaded: backends testmod,file")" = 3 ]
check "SIGHUP under load: no request lost ($(value_of "$out" errors) errors)" [ "$(value_of "$out" errors)" = 0 ]
got=$(( $(value_of "$out" ok) + $(value_of "$out" no) ))
check "SIGHUP under load: a reply for every request the daemon logged ($got replies, $(auth_lines) attempts)" [ "$got" = "$(auth_lines)" ]
# the open-files limit follows max_connections on reload, as at start
nofile() { awk '/^Max open files/ { print $4 }' "/proc/$DAEMON_PID/limits"; }
before=$(nofile)
write_conf "testmod_hang_ms: 200" "max_connections: 9000"
kill -HUP "$DAEMON_PID"
i=0; while [ $i -lt 100 ] && [ "$(nofile)" = "$before" ]; do sleep 0.05; i=$((i + 1)); done
want=9064; hard=$(ulimit -Hn); [ "$hard" != unlimited ] && [ "$hard" -lt $want ] && want=$hard
not_under_valgrind check "a reload raising max_connections raises the open-files limit ($before, then $(nofile))" [ "$(nofile)" = $want ]

: > "$LOG"
"$LOADGEN" -f "$SOCK" -u "$T/load.users" -c 16 -d 2.5 > "$T/lg.out" 2> "$T/lg.err" &
LG=$!
sleep 1.5
t0=$(date +%s%N)
kill -TERM "$DAEMON_PID"
wait "$DAEMON_PID"; rc=$?; DAEMON_PID=
ms=$(ms_since "$t0")
wait $LG
out=$(cat "$T/lg.out")
echo "# SIGTERM under load: $out"
grep "errors:" "$T/lg.err" | sed 's/^/# /'
grep -E "stopping|stopped" "$LOG" | sed 's/^/# /'
check "SIGTERM under load: exit 0 ($rc), in ${ms} ms" both [ $rc = 0 ] -- [ "$ms" -lt 10000 ]
log_lacks "SIGTERM under load: nothing left unanswered" "unanswered"
got=$(( $(value_of "$out" ok) + $(value_of "$out" no) ))
check "SIGTERM under load: every request the daemon read got its reply ($got replies, $(auth_lines) attempts)" [ "$got" = "$(auth_lines)" ]
short=$(errs "read/short"); tmo=$(errs timeout); bad=$(errs "bad reply")
echo "# sent and not answered: $short closed unread (never read by the daemon), $tmo timeouts, $bad bad replies"
check "SIGTERM under load: no client left waiting, no bad reply" both [ "$tmo" = 0 ] -- [ "$bad" = 0 ]
check "SIGTERM under load: nothing logged as undelivered" [ "$(log_count "reply not delivered")" = 0 ]

# A request read in full but waiting for an optional fifth field (it came
# in pieces: FIFTH_FIELD_GRACE_MS) when SIGTERM comes is answered, not
# closed with the idle connections.  The last byte arrives while the
# daemon is stopped, SIGTERM follows: when it runs again, epoll hands it
# the byte first (ready first), then the signal's wakeup.
: > "$LOG"
write_conf "read_timeout: 20"
start_daemon || { fail "daemon starts"; done_testing; }
W trickle "$(field a)$(field b)$(field '')$(field '')" 1000 > "$T/grace.out" 2>&1 &
TR=$!
sleep 8.5	# bytes 1 to 9 are in, the 10th is due at 9 s
kill -STOP "$DAEMON_PID"
sleep 1
kill -TERM "$DAEMON_PID"
kill -CONT "$DAEMON_PID"
wait $TR
wait "$DAEMON_PID"; DAEMON_PID=
check "SIGTERM: a whole request waiting for a fifth field is answered ($(head -n 1 "$T/grace.out"))" grep -qx "reply: NO" "$T/grace.out"
done_testing
