#!/bin/bash
# compare.sh -- authmuxd against Debian's Cyrus saslauthd and against the
# limits of this machine, measured alternately in one run, reported as
# ratios.  Needs root (it creates and removes test accounts), a built
# tree (make), and sasl2-bin.  Only unix sockets; no network.
#
#   tests/bench/compare.sh [-d SECONDS] [-r ROUNDS] [-u USERS]
#
# Scenarios:
#   cached   every login right and cached: authmuxd -c vs saslauthd -c
#            vs the null server (the protocol's floor on this machine)
#   crypt    no cache, sha512crypt, 2 workers: authmuxd (file backend)
#            vs saslauthd -a shadow -n 2 vs an in-process crypt_rn loop
#   memory   RSS of authmuxd with 100,000 distinct users cached
#   shadow   no cache, sha512crypt: authmuxd -a shadow -n 2 vs saslauthd
#            -a shadow -n 2 vs the crypt_rn loop
#   pam      no cache, pam_unix (service ambench): authmuxd -a pam -n 2 vs
#            saslauthd -a pam -n 2 vs an in-process pam_authenticate loop
#   attack   -n 5, pam_unix: one client with the right password, alone and
#            while 5 clients send wrong passwords (pam_unix's 2 s delay);
#            RSS of authmuxd vs the summed RSS of saslauthd's processes
set -u
D=5 ROUNDS=3 NUSERS=100
while getopts d:r:u: o; do
	case $o in
	d) D=$OPTARG ;; r) ROUNDS=$OPTARG ;; u) NUSERS=$OPTARG ;;
	*) echo "usage: $0 [-d SECONDS] [-r ROUNDS] [-u USERS]" >&2; exit 1 ;;
	esac
done
[ "$(id -u)" = 0 ] || { echo "compare.sh: run as root (it creates test accounts)" >&2; exit 1; }
top=$(cd "$(dirname "$0")/../.." && pwd)
B="$top/tests/bench"
SASLAUTHD=$(command -v saslauthd || echo /usr/sbin/saslauthd)
for t in "$B/loadgen" "$B/nullserver" "$B/cryptloop" "$B/pamloop" "$top/src/authmuxd" "$top/src/authmux" "$SASLAUTHD"; do
	[ -x "$t" ] || { echo "compare.sh: $t missing (make; apt-get install sasl2-bin)" >&2; exit 1; }
done

W=$(mktemp -d /tmp/ambench.XXXXXX)
PIDS=
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	[ -f "$W/sa/saslauthd.pid" ] && kill "$(cat "$W/sa/saslauthd.pid")" 2>/dev/null
	for i in $(seq 1 "$NUSERS"); do userdel "ambench$i" 2>/dev/null; done
	rm -f /etc/pam.d/ambench
	sleep 0.3
	rm -rf "$W"
}
trap cleanup EXIT

echo "# machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(uname -r)"
echo "# saslauthd: $(dpkg-query -W -f='${Version}' sasl2-bin 2>/dev/null)  authmuxd: $("$top/src/authmuxd" -v | head -1)"
echo "# loadgen: new connection per request, 4 client threads, ${D}s per run, median of $ROUNDS alternating rounds"

# test accounts with sha512crypt hashes; the file backend gets the very
# same hashes, so both daemons do the same work per uncached login
: > "$W/users"; : > "$W/passwd"
for i in $(seq 1 "$NUSERS"); do
	useradd -M -s /usr/sbin/nologin "ambench$i" 2>/dev/null
	echo "ambench$i:pw-$i-secret" >> "$W/users"
done
chpasswd -c SHA512 < "$W/users"
for i in $(seq 1 "$NUSERS"); do
	getent shadow "ambench$i" | cut -d: -f1,2 >> "$W/passwd"
done
chmod 600 "$W/passwd"
echo "file_path: $W/passwd" > "$W/am.conf"
HASH=$(head -1 "$W/passwd" | cut -d: -f2)
PW=$(head -1 "$W/users" | cut -d: -f2)

# a PAM service of our own: pam_unix, as /etc/pam.d/smtp usually is
printf 'auth required pam_unix.so\naccount required pam_unix.so\n' > /etc/pam.d/ambench

start_am() { # DIR FLAGS... (a later -a wins over -a file)
	dir=$1; shift
	"$top/src/authmuxd" -f -a file -m "$dir" -O "$W/am.conf" \
	    --module-dir "$top/modules/.libs" "$@" 2>/dev/null &
	PIDS="$PIDS $!"; AMPID=$!
	for _ in $(seq 1 100); do [ -S "$dir/mux" ] && break; sleep 0.05; done
}
start_sa() { # DIR FLAGS...
	dir=$1; shift
	mkdir -p "$dir"
	"$SASLAUTHD" -a shadow -m "$dir" "$@"
	for _ in $(seq 1 100); do [ -S "$dir/mux" ] && break; sleep 0.05; done
}
stop_sa() { kill "$(cat "$1/saslauthd.pid")"; sleep 0.5; }
load() { # SOCKET [loadgen flags]
	s=$1; shift
	"$B/loadgen" -q -f "$s" -c 4 -d "$D" -u "$W/users" "$@"
}
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}'; }

# ---- cached ----------------------------------------------------------
"$B/nullserver" -f "$W/null.sock" & PIDS="$PIDS $!"
start_am "$W/amc" -c -n 5
start_sa "$W/sa" -c -n 5
# warm both caches with every user
"$B/loadgen" -q -f "$W/amc/mux" -c 4 -n $((NUSERS * 20)) -u "$W/users" >/dev/null
"$B/loadgen" -q -f "$W/sa/mux" -c 4 -n $((NUSERS * 20)) -u "$W/users" >/dev/null
for r in $(seq 1 "$ROUNDS"); do
	load "$W/null.sock" >> "$W/c.null"
	load "$W/amc/mux" >> "$W/c.am"
	load "$W/sa/mux" >> "$W/c.sa"
done
stop_sa "$W/sa"
cn=$(field rps < "$W/c.null" | median); ca=$(field rps < "$W/c.am" | median)
cs=$(field rps < "$W/c.sa" | median)
pa=$(field p99_ms < "$W/c.am" | median); ps=$(field p99_ms < "$W/c.sa" | median)
pn=$(field p99_ms < "$W/c.null" | median)
"$top/src/authmux" -f "$W/amc/authmuxd.ctl" cache stats > "$W/c.stats"

# ---- uncached sha512crypt, 2 workers ------------------------------------
start_am "$W/amu" -n 2
start_sa "$W/sa" -n 2
for r in $(seq 1 "$ROUNDS"); do
	"$B/cryptloop" -t 2 -d "$D" -H "$HASH" -p "$PW" >> "$W/u.crypt"
	load "$W/amu/mux" >> "$W/u.am"
	load "$W/sa/mux" >> "$W/u.sa"
done
stop_sa "$W/sa"
uc=$(field rps < "$W/u.crypt" | median); ua=$(field rps < "$W/u.am" | median)
us=$(field rps < "$W/u.sa" | median)

# ---- uncached shadow and pam, 2 workers --------------------------------
start_am "$W/ams" -a shadow -n 2
start_sa "$W/sa" -n 2
for r in $(seq 1 "$ROUNDS"); do
	"$B/cryptloop" -t 2 -d "$D" -H "$HASH" -p "$PW" >> "$W/s.crypt"
	load "$W/ams/mux" >> "$W/s.am"
	load "$W/sa/mux" >> "$W/s.sa"
done
stop_sa "$W/sa"
kill "$AMPID"
sc=$(field rps < "$W/s.crypt" | median); sam=$(field rps < "$W/s.am" | median)
ssa=$(field rps < "$W/s.sa" | median)

start_am "$W/amp" -a pam -n 2
"$SASLAUTHD" -a pam -m "$W/sa" -n 2
for _ in $(seq 1 100); do [ -S "$W/sa/mux" ] && break; sleep 0.05; done
for r in $(seq 1 "$ROUNDS"); do
	"$B/pamloop" -t 2 -d "$D" -s ambench -u ambench1 -p "$PW" >> "$W/p.loop"
	load "$W/amp/mux" -s ambench >> "$W/p.am"
	load "$W/sa/mux" -s ambench >> "$W/p.sa"
done
stop_sa "$W/sa"
kill "$AMPID"
pl=$(field rps < "$W/p.loop" | median); pam=$(field rps < "$W/p.am" | median)
psa=$(field rps < "$W/p.sa" | median)

# ---- under attack: pam_unix, -n 5 ---------------------------------------
attack() { # SOCKET RESULTFILE: one good client alone, then beside 5 attackers
	sock=$1 out=$2
	"$B/loadgen" -q -f "$sock" -c 1 -d "$D" -u "$W/users" -s ambench | field rps >> "$out.alone"
	apids=
	for a in 1 2 3 4 5; do
		"$B/loadgen" -q -f "$sock" -c 1 -d $((D + 4)) -w 100 \
		    -u "$W/users" -s ambench > "$W/attacker.$a" & apids="$apids $!"
	done
	sleep 2
	"$B/loadgen" -q -f "$sock" -c 1 -d "$D" -u "$W/users" -s ambench | field rps >> "$out.attacked"
	echo "$(memrss_of "$3")" >> "$out.rss"
	# shellcheck disable=SC2086
	wait $apids
}
memrss_of() { # PID list or -n NAME
	# shellcheck disable=SC2086
	sh "$B/memrss.sh" $1
}
start_am "$W/ama" -a pam -n 5
"$SASLAUTHD" -a pam -m "$W/sa" -n 5
for _ in $(seq 1 100); do [ -S "$W/sa/mux" ] && break; sleep 0.05; done
for r in $(seq 1 "$ROUNDS"); do
	attack "$W/ama/mux" "$W/a.am" "$AMPID"
	attack "$W/sa/mux" "$W/a.sa" "-n saslauthd"
done
sa_pss=$(sh "$B/memrss.sh" -P -n saslauthd); am_pss=$(sh "$B/memrss.sh" -P "$AMPID")
stop_sa "$W/sa"
kill "$AMPID"
aa0=$(median < "$W/a.am.alone"); aa1=$(median < "$W/a.am.attacked")
as0=$(median < "$W/a.sa.alone"); as1=$(median < "$W/a.sa.attacked")
arss=$(median < "$W/a.am.rss"); srss=$(median < "$W/a.sa.rss")

# ---- memory: 100,000 distinct users cached ----------------------------
seq 1 100000 | awk '{print "mu" $1 ":{PLAIN}pw" $1}' > "$W/mem.passwd"
seq 1 100000 | awk '{print "mu" $1 ":pw" $1}' > "$W/mem.users"
chmod 600 "$W/mem.passwd"
echo "file_path: $W/mem.passwd" > "$W/mem.conf"
"$top/src/authmuxd" -f -c -s 16384 -a file -m "$W/amm" -O "$W/mem.conf" \
    --module-dir "$top/modules/.libs" 2>/dev/null & PIDS="$PIDS $!"; MPID=$!
for _ in $(seq 1 100); do [ -S "$W/amm/mux" ] && break; sleep 0.05; done
rss0=$(awk '/VmRSS/ {print $2}' "/proc/$MPID/status")
"$B/loadgen" -q -f "$W/amm/mux" -c 4 -n 700000 -u "$W/mem.users" > /dev/null
rss1=$(awk '/VmRSS/ {print $2}' "/proc/$MPID/status")
entries=$("$top/src/authmux" -f "$W/amm/authmuxd.ctl" cache stats | sed -n 's/^entries: //p')

printf '\n| scenario | authmuxd | reference | ratio | target |\n|---|---|---|---|---|\n'
printf '| cached hits, rps | %s | null server %s | %s | >= 0.90 |\n' "$ca" "$cn" "$(ratio "$ca" "$cn")"
printf '| cached hits, rps | %s | saslauthd -c %s | %s | >= 1.60 |\n' "$ca" "$cs" "$(ratio "$ca" "$cs")"
printf '| cached hits, p99 ms (lower is better) | %s | saslauthd -c %s (null %s) | %s | <= 1.00 |\n' "$pa" "$ps" "$pn" "$(ratio "$pa" "$ps")"
printf '| sha512crypt uncached, 2 workers, rps | %s | crypt_rn loop, 2 threads %s | %s | >= 0.95 |\n' "$ua" "$uc" "$(ratio "$ua" "$uc")"
printf '| sha512crypt uncached, 2 workers, rps | %s | saslauthd -n 2 %s | %s | |\n' "$ua" "$us" "$(ratio "$ua" "$us")"
printf '| memory: %s users cached, RSS KiB | %s (%s before) | 32768 | %s | < 1.00 |\n' "$entries" "$rss1" "$rss0" "$(ratio "$rss1" 32768)"
printf '| shadow sha512crypt uncached, 2 workers, rps | %s | crypt_rn loop, 2 threads %s | %s | >= 0.95 |\n' "$sam" "$sc" "$(ratio "$sam" "$sc")"
printf '| shadow sha512crypt uncached, 2 workers, rps | %s | saslauthd -a shadow -n 2 %s | %s | |\n' "$sam" "$ssa" "$(ratio "$sam" "$ssa")"
printf '| pam_unix uncached, 2 workers, rps | %s | pam_authenticate loop, 2 threads %s | %s | >= 0.95 |\n' "$pam" "$pl" "$(ratio "$pam" "$pl")"
printf '| pam_unix uncached, 2 workers, rps | %s | saslauthd -a pam -n 2 %s | %s | |\n' "$pam" "$psa" "$(ratio "$pam" "$psa")"
printf '| good client under attack (5 wrong-password clients), -n 5 | %s rps (alone %s) | | %s | >= 0.90 |\n' "$aa1" "$aa0" "$(ratio "$aa1" "$aa0")"
printf '| saslauthd -a pam -n 5, same test | %s rps (alone %s) | | %s | (for comparison) |\n' "$as1" "$as0" "$(ratio "$as1" "$as0")"
printf '| RSS under that load, KiB | %s | saslauthd summed RSS %s | %s | <= 0.50 |\n' "$arss" "$srss" "$(ratio "$arss" "$srss")"
printf '| PSS under that load, KiB (shared pages split) | %s | saslauthd summed PSS %s | %s | |\n' "$am_pss" "$sa_pss" "$(ratio "$am_pss" "$sa_pss")"
echo
echo "# raw lines: $W is removed at exit; rerun with -r/-d to vary"
