#!/bin/bash
# The credential cache through the real daemon: hits answered without the
# backends, cached failures, a password change, stale answers while the
# backends are down, the control socket, eviction, and the -c -s -t flags.
# The test module sits in front of the file backend and logs
# "testmod: call N" for every request that reaches the backends.
. "$top_srcdir/tests/integration/lib.sh"

use_testmod

# a password file of our own, to change under the daemon
cp "$USERS" "$T/users.passwd"
USERS="$T/users.passwd"
CTL="$RUN/authmuxd.ctl"
DOWN="$T/backend-down"

OK='0: OK "Success."'
NO='0: NO "authentication failed"'
A() { "$AUTHMUX" -f "$SOCK" "$@"; }
ctl() { "$AUTHMUX" -f "$CTL" cache "$@"; }
# stat NAME: one value of "cache stats"
stat_of() { ctl stats | sed -n "s/^$1: //p"; }

# The log from a mark on: what the last requests did.
mark() { MARK=$(wc -l < "$LOG"); }
since() { tail -n +"$((MARK + 1))" "$LOG"; }
calls() { since | grep -c 'testmod: call '; }
since_has() {
	# loop lines are flushed in batches: give them a moment (3 s at most)
	_w=0
	while [ $_w -lt 60 ] && ! since | grep -qF -- "$2"; do
		sleep 0.05; _w=$((_w + 1))
	done
	if since | grep -qF -- "$2"; then pass "$1"; else
		fail "$1 (no \"$2\" since the mark)"; since | sed 's/^/#   log: /' | tail -n 10
	fi
}
since_lacks() {
	if since | grep -qF -- "$2"; then
		fail "$1 (\"$2\" is there)"; since | sed 's/^/#   log: /' | tail -n 10
	else pass "$1"; fi
}
# calls_are DESCRIPTION N: N requests reached the backends since the mark
calls_are() {
	n=$(calls)
	if [ "$n" = "$2" ]; then pass "$1"; else
		fail "$1 ($n backend calls, wanted $2)"; since | sed 's/^/#   log: /' | tail -n 10
	fi
}

# replace the password file as an editor does (rename), so the file
# backend sees a new inode
set_hash() {	# USER HASH
	awk -F: -v u="$1" -v h="$2" 'BEGIN { OFS = ":" }
	    $1 == u { print u, h; next } { print }' "$USERS" > "$USERS.new" &&
	    mv "$USERS.new" "$USERS"
}
BOB_HASH=$(grep '^bob:' "$USERS" | cut -d: -f2-)
ALICE_HASH=$(grep '^alice:' "$USERS" | cut -d: -f2-)

# ---- a: hits, b: cached failures, e: stats and flush ------------------
write_conf "cache: yes"
start_daemon -a testmod,file || { fail "daemon starts"; done_testing; }

# a fresh daemon: only wait_socket's probe (x/y, unknown: a negative
# entry) has been asked
expect_out "fresh daemon: cache stats" 0 "entries: 1
capacity: 262144
hits: 0
negative_hits: 0
misses: 1
hit_ratio: 0.0000
evictions: 0
stale_answers: 0" ctl stats

mark
expect_out "a: first login" 0 "$OK" A -u known-a -p ok
calls_are "a: the first login reached the backend" 1
mark
expect_out "a: the same login again" 0 "$OK" A -u known-a -p ok
calls_are "a: the repeated login did not reach the backend" 0
since_has "a: answered from the cache" "auth success: [user=known-a] [service=imap] [realm=] [mech=cache]"
mark
expect_out "a: another service is another question" 0 "$OK" A -u known-a -p ok -s smtp
calls_are "a: another service reached the backend" 1

mark
expect_out "b: wrong password" 255 "$NO" A -u known-b -p wrong
calls_are "b: the first wrong password reached the backend" 1
mark
expect_out "b: the same wrong password again" 255 "$NO" A -u known-b -p wrong
calls_are "b: the repeated wrong password did not" 0
since_has "b: cached failure logged" "auth failure: [user=known-b] [service=imap] [realm=] [mech=cache] [reason=cached failure"
mark
expect_out "b: the right password right after: OK" 0 "$OK" A -u known-b -p ok
calls_are "b: the right password reached the backend" 1
since_has "b: answered by the backend" "auth success: [user=known-b] [service=imap] [realm=] [mech=testmod]"

# probe (miss), a (miss, hit), a smtp (miss), b wrong (miss, negative
# hit), b ok (miss); entries: probe's negative, a imap, a smtp, b's
# negative, b
expect_out "e: stats count what happened" 0 "entries: 5
capacity: 262144
hits: 1
negative_hits: 1
misses: 5
hit_ratio: 0.2857
evictions: 0
stale_answers: 0" ctl stats

# e: flush one user
expect_out "e: alice logs in" 0 "$OK" A -u alice -p alice-pw
mark
expect_out "e: alice again" 0 "$OK" A -u alice -p alice-pw -R 1
calls_are "e: alice again: from the cache" 0
expect_out "e: cache flush alice" 0 "flushed: 1" ctl flush alice
log_has "e: flush logged" "control: cache flushed for user alice (1 entries)"
mark
expect_out "e: alice after the flush" 0 "$OK" A -u alice -p alice-pw
calls_are "e: alice after the flush reached the backend" 1
since_has "e: decided by the file backend" "auth success: [user=alice] [service=imap] [realm=] [mech=file]"
mark
expect_out "e: known-a is still cached" 0 "$OK" A -u known-a -p ok
calls_are "e: flushing alice left known-a alone" 0
expect_out "e: flush of a user with no entries" 0 "flushed: 0" ctl flush nobody
check "e: entries before flushing all: 6" [ "$(stat_of entries)" = 6 ]
expect_out "e: cache flush (all)" 0 "flushed: 6" ctl flush
check "e: entries after flushing all: 0" [ "$(stat_of entries)" = 0 ]
log_has "e: flush of all logged" "control: cache flushed"
mark
expect_out "e: known-a after flushing all" 0 "$OK" A -u known-a -p ok
calls_are "e: known-a after flushing all reached the backend" 1
expect_out "e: unknown control command: exit 1" 1 "" ctl frobnicate
check "e: and it says so" grep -q "error: unknown command" "$T/stderr"

# ---- c: a password change in the file backend -------------------------
mark
expect_out "c: alice, old password" 0 "$OK" A -u alice -p alice-pw
expect_out "c: alice, old password, cached" 0 "$OK" A -u alice -p alice-pw
calls_are "c: one backend call for both" 1
# alice gets bob's hash: her new password is bob-plain-pw
set_hash alice "$BOB_HASH"
mark
expect_out "c: after the change, the old password is still a hit (until ttl)" 0 "$OK" A -u alice -p alice-pw
calls_are "c: ... answered from the cache" 0
mark
expect_out "c: the new password: OK" 0 "$OK" A -u alice -p bob-plain-pw
calls_are "c: the new password reached the backend" 1
since_has "c: the new password decided by the file backend" "auth success: [user=alice] [service=imap] [realm=] [mech=file]"
mark
expect_out "c: then the old password: NO" 255 "$NO" A -u alice -p alice-pw
calls_are "c: the old password reached the backend" 1
since_has "c: refused by the file backend" "auth failure: [user=alice] [service=imap] [realm=] [mech=file] [reason="
since_lacks "c: not from the cache" "[user=alice] [service=imap] [realm=] [mech=cache]"
mark
expect_out "c: the new password again: from the cache" 0 "$OK" A -u alice -p bob-plain-pw
expect_out "c: the old password again: cached failure" 255 "$NO" A -u alice -p alice-pw
calls_are "c: neither reached the backend" 0
set_hash alice "$ALICE_HASH"

# ---- g: only root may use the control socket --------------------------
if [ "$(id -u)" != 0 ]; then
	echo "# not root: the refusal of other users is not tested"
elif ! command -v setpriv >/dev/null 2>&1; then
	echo "# no setpriv (util-linux): the refusal of other users is not tested"
else
	chmod 666 "$CTL"
	chmod o+x "$T" "$RUN"
	mark
	setpriv --reuid=65534 --regid=65534 --clear-groups \
	    "$AUTHMUX" -f "$CTL" cache stats > "$T/nobody.out" 2> "$T/nobody.err"
	rc=$?
	check "g: uid 65534 is refused (exit $rc)" [ $rc != 0 ]
	check "g: ... and gets no stats" [ ! -s "$T/nobody.out" ]
	since_has "g: the refusal is logged, naming the peer" "refused [peer=uid 65534 gid 65534 pid "
	check "g: ... exit 1 and the client says why (exit $rc)" \
	    both [ $rc = 1 ] -- grep -q "only root may use" "$T/nobody.err"
	chmod 600 "$CTL"
	expect_out "g: root still may" 0 "0" stat_of evictions
fi

check "daemon alive" alive
stop_daemon; check "clean exit" [ $? -eq 0 ]

# ---- d: stale answers while the backends are down ---------------------
write_conf "cache: yes" "cache_ttl: 1" "cache_stale: 60" "testmod_down_file: $DOWN"
start_daemon -a testmod,file || { fail "daemon starts (stale 60)"; done_testing; }
expect_out "d: login while the backend is up" 0 "$OK" A -u known-s -p ok
sleep 1.2
touch "$DOWN"
mark
expect_out "d: backend down, entry past ttl: served stale" 0 "$OK" A -u known-s -p ok
calls_are "d: the backend was asked first" 1
since_has "d: logged as served-stale" "auth success: [user=known-s] [service=imap] [realm=] [mech=testmod] [note=served-stale from the cache; backend: temporary failure: test server down]"
mark
expect_out "d: backend down, another password: NO" 255 "$NO" A -u known-s -p other
since_has "d: the other password is a temporary failure" "[user=known-s] [service=imap] [realm=] [mech=testmod] [reason=temporary failure: test server down]"
since_lacks "d: not served stale" "served-stale"
expect_out "d: backend down, a login never cached: NO" 255 "$NO" A -u known-t -p ok
check "d: stale_answers: 1" [ "$(stat_of stale_answers)" = 1 ]
rm -f "$DOWN"
mark
expect_out "d: backend back: OK" 0 "$OK" A -u known-s -p ok
since_lacks "d: no longer stale" "served-stale"

# a password the backend refused is not served stale on the next outage,
# even with failures not cached
cp "$USERS" "$T/users.saved"
write_conf "cache: yes" "cache_ttl: 1" "cache_stale: 60" \
    "cache_negative_ttl: 0" "testmod_down_file: $DOWN"
n0=$(grep -c 'reloaded: backends' "$LOG")
kill -HUP "$DAEMON_PID"
i=0; while [ $i -lt 50 ] && [ "$(grep -c 'reloaded: backends' "$LOG")" -le "$n0" ]; do sleep 0.1; i=$((i + 1)); done
expect_out "d: alice logs in" 0 "$OK" A -u alice -p alice-pw
set_hash alice "$BOB_HASH"
sleep 1.2
expect_out "d: the password is changed: the old one is refused" 255 "$NO" A -u alice -p alice-pw
touch "$DOWN"
mark
expect_out "d: an outage does not bring back a refused password" 255 "$NO" A -u alice -p alice-pw
since_lacks "d: ... not served stale" "served-stale"
rm -f "$DOWN"
cp "$T/users.saved" "$USERS"

check "daemon alive" alive
stop_daemon; check "clean exit" [ $? -eq 0 ]

write_conf "cache: yes" "cache_ttl: 1" "cache_stale: 0" "testmod_down_file: $DOWN"
start_daemon -a testmod,file || { fail "daemon starts (stale 0)"; done_testing; }
expect_out "d: stale 0: login while the backend is up" 0 "$OK" A -u known-s -p ok
sleep 1.2
touch "$DOWN"
mark
expect_out "d: stale 0: backend down: NO" 255 "$NO" A -u known-s -p ok
since_has "d: stale 0: a temporary failure" "[reason=temporary failure: test server down]"
since_lacks "d: stale 0: not served stale" "served-stale"
rm -f "$DOWN"
stop_daemon; check "clean exit" [ $? -eq 0 ]

# ---- f: eviction: the smallest cache and more users than it holds -----
write_conf "cache: yes" "cache_size: 64"
start_daemon -a testmod,file -n 4 || { fail "daemon starts (64 KiB)"; done_testing; }
cap=$(stat_of capacity)
check "f: 64 KiB hold fewer entries than the 3000 users ($cap)" [ "${cap:-3000}" -lt 3000 ]
check "f: ... but some hundreds" [ "${cap:-0}" -ge 100 ]
t0=$(date +%s)
seq 1 3000 | xargs -P 8 -n 50 sh -c '
	client=$1 sock=$2; shift 2
	for i; do "$client" -q -f "$sock" -u "known-$i" -p ok || echo "failed: known-$i"; done
' sh "$AUTHMUX" "$SOCK" > "$T/flood.out" 2>&1
t1=$(date +%s)
echo "# 3000 logins in $((t1 - t0)) s"
check "f: 3000 distinct users logged in" [ ! -s "$T/flood.out" ]
entries=$(stat_of entries); evictions=$(stat_of evictions)
check "f: entries ($entries) <= capacity ($cap)" [ "${entries:-99999}" -le "$cap" ]
# 3001 entries stored (the probe's negative one too)
check "f: evictions ($evictions) = stored - capacity" [ "${evictions:-0}" -eq $((3001 - cap)) ]
mark
expect_out "f: the last user" 0 "$OK" A -u known-3000 -p ok
calls_are "f: ... is still a hit" 0
mark
expect_out "f: the first user" 0 "$OK" A -u known-1 -p ok
calls_are "f: ... was evicted: the backend was asked" 1
check "daemon alive" alive
stop_daemon; check "clean exit" [ $? -eq 0 ]

# ---- h: without a cache the control socket says so ---------------------
write_conf
start_daemon -a testmod,file || { fail "daemon starts (no cache)"; done_testing; }
expect_out "h: no -c: cache stats exits 1" 1 "" ctl stats
check "h: and says the cache is off" grep -q "error: the cache is off" "$T/stderr"
expect_out "h: no -c: cache flush exits 1" 1 "" ctl flush
mark
expect_out "h: no cache: a login twice" 0 "$OK
1: OK \"Success.\"" A -u known-a -p ok -R 2
calls_are "h: no cache: every request reaches the backend" 2
stop_daemon; check "clean exit" [ $? -eq 0 ]

# ---- i: -c -s -t do what the keys do ------------------------------------
start_daemon -a testmod,file -c -s 64 -t 1 || { fail "daemon starts (-c -s 64 -t 1)"; done_testing; }
check "i: -c: the cache is on" ctl stats
check "i: -s 64: the capacity of cache_size 64 ($cap)" [ "$(stat_of capacity)" = "$cap" ]
# the cache counts whole seconds: with a ttl of 1 s a second login is a
# hit only when no second ticked between the two; try a few times
hit=no
for try in 1 2 3 4 5; do
	A -q -u known-i -p ok
	mark
	A -q -u known-i -p ok
	if [ "$(calls)" = 0 ]; then hit=yes; break; fi
done
check "i: a login right after another is a hit (try $try)" [ $hit = yes ]
sleep 1.1
mark
expect_out "i: -t 1: after 1 s" 0 "$OK" A -u known-i -p ok
calls_are "i: -t 1: the entry expired, the backend was asked" 1
since_lacks "i: not from the cache" "[mech=cache]"
stop_daemon; check "clean exit" [ $? -eq 0 ]
done_testing
