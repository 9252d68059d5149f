#!/bin/bash
# ldap.sh -- the ldap backend against Debian's Cyrus saslauthd -a ldap and
# against the in-process limit (ldaploop: simple binds on persistent
# connections), one throwaway slapd on loopback for all of them, measured
# alternately in one run and reported as ratios.  Needs a built tree
# (make), slapd, ldap-utils and sasl2-bin.  Loopback and unix sockets only.
#
#   tests/bench/ldap.sh [-d SECONDS] [-r ROUNDS] [-t THREADS] [-u USERS]
#
# Every daemon gets THREADS workers (authmuxd -n, saslauthd -n) and the
# loop THREADS threads; loadgen drives each daemon with 2 x THREADS
# clients, a new connection per request (as libsasl2), over USERS users,
# all with right passwords and the credential cache off, so every request
# reaches slapd.  Method "bind": a search as the service account, then a
# bind as the user.
set -u
D=5 ROUNDS=3 NT=4 NUSERS=100
while getopts d:r:t:u: o; do
	case $o in
	d) D=$OPTARG ;; r) ROUNDS=$OPTARG ;; t) NT=$OPTARG ;; u) NUSERS=$OPTARG ;;
	*) echo "usage: $0 [-d SECONDS] [-r ROUNDS] [-t THREADS] [-u USERS]" >&2; exit 1 ;;
	esac
done
top=$(cd "$(dirname "$0")/../.." && pwd)
B="$top/tests/bench"
SASLAUTHD=$(command -v saslauthd || echo /usr/sbin/saslauthd)
for t in "$B/loadgen" "$B/ldaploop" "$top/src/authmuxd" "$top/modules/.libs/ldap.so" "$SASLAUTHD"; do
	[ -x "$t" ] || [ -f "$t" ] || { echo "ldap.sh: $t missing (make; apt-get install sasl2-bin)" >&2; exit 1; }
done

# the integration tests' slapd fixture (it wants lib.sh's $T and helpers)
export top_srcdir="$top" top_builddir="$top"
. "$top/tests/integration/lib.sh"
. "$top/tests/integration/slapd_lib.sh"
SA_PIDFILE="$T/sa/saslauthd.pid"
bench_cleanup() {
	[ -f "$SA_PIDFILE" ] && kill "$(cat "$SA_PIDFILE")" 2>/dev/null
	[ -n "${AM1:-}" ] && kill "$AM1" 2>/dev/null
	[ -n "${AM2:-}" ] && kill "$AM2" 2>/dev/null
	sleep 0.3
}
trap 'bench_cleanup; slapd_cleanup; rm -rf "$T"' EXIT

SLAPD_DEBUG=0 slapd_start s1 || { echo "ldap.sh: slapd does not start" >&2; exit 1; }
# bench users: ambench1..N, {SSHA} passwords as a directory has them
: > "$T/users"
{
	for i in $(seq 1 "$NUSERS"); do
		printf 'dn: uid=ambench%d,%s\nchangetype: add\nobjectClass: inetOrgPerson\nuid: ambench%d\ncn: b%d\nsn: b\nuserPassword: %s\n\n' \
		    "$i" "$PEOPLE" "$i" "$i" "$(ssha "pw-$i-secret")"
		echo "ambench$i:pw-$i-secret" >> "$T/users"
	done
} > "$T/bench.ldif"
ldapmodify -x -H "$s1_URI" -D "$ROOT_DN" -w "$ROOT_PW" -f "$T/bench.ldif" > /dev/null ||
    { echo "ldap.sh: cannot add the bench users" >&2; exit 1; }

printf '%s\n' "ldap_servers: $s1_URI" "ldap_search_base: $PEOPLE" \
    "ldap_bind_dn: $SVC_DN" "ldap_password: $SVC_PW" "ldap_filter: (uid=%u)" \
    "ldap_auth_method: bind" > "$T/saslauthd.conf"
cp "$T/saslauthd.conf" "$T/am.conf"
{ cat "$T/saslauthd.conf"; echo "ldap_dn_cache_ttl: 3600"; } > "$T/am-dn.conf"

echo "# machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(uname -r)"
echo "# slapd $(dpkg-query -W -f='${Version}' slapd 2>/dev/null) (mdb, loopback)  saslauthd $(dpkg-query -W -f='${Version}' sasl2-bin 2>/dev/null)  authmuxd: $("$top/src/authmuxd" -v | head -1)"
echo "# $NT workers/threads each, loadgen $((NT * 2)) clients, $NUSERS users, ${D}s per run, median of $ROUNDS alternating rounds"

start_am() { # DIR CONF
	"$top/src/authmuxd" -f -a ldap -n "$NT" -m "$1" -O "$2" \
	    --module-dir "$top/modules/.libs" 2>"$1.log" &
	AMPID=$!
	for _ in $(seq 1 100); do [ -S "$1/mux" ] && break; sleep 0.05; done
}
load() { "$B/loadgen" -q -f "$1" -c $((NT * 2)) -d "$D" -u "$T/users"; }
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}'; }

mkdir -p "$T/sa"
"$SASLAUTHD" -a ldap -O "$T/saslauthd.conf" -m "$T/sa" -n "$NT"
for _ in $(seq 1 100); do [ -S "$T/sa/mux" ] && break; sleep 0.05; done
start_am "$T/am" "$T/am.conf"; AM1=$AMPID
start_am "$T/amd" "$T/am-dn.conf"; AM2=$AMPID
# warm up: connections opened, DN cache filled
for s in "$T/am/mux" "$T/amd/mux" "$T/sa/mux"; do
	"$B/loadgen" -q -f "$s" -c 2 -n $((NUSERS * 2)) -u "$T/users" > "$T/warm"
	[ "$(field no < "$T/warm")" = 0 ] && [ "$(field errors < "$T/warm")" = 0 ] ||
	    { echo "ldap.sh: warm-up on $s refused logins: $(cat "$T/warm")" >&2; exit 1; }
done
for r in $(seq 1 "$ROUNDS"); do
	"$B/ldaploop" -t "$NT" -d "$D" -H "$s1_URI" -D "uid=ambench1,$PEOPLE" -w pw-1-secret >> "$T/r.loop"
	load "$T/am/mux" >> "$T/r.am"
	load "$T/amd/mux" >> "$T/r.amd"
	load "$T/sa/mux" >> "$T/r.sa"
done
for f in r.am r.amd r.sa; do
	bad=$(awk '{for (i = 1; i <= NF; i++) if ($i ~ /^(no|errors)=/ && $i !~ /=0$/) print}' "$T/$f")
	[ -z "$bad" ] || echo "# WARNING: $f had refusals or errors: $bad"
done
lo=$(field rps < "$T/r.loop" | median); am=$(field rps < "$T/r.am" | median)
amd=$(field rps < "$T/r.amd" | median); sa=$(field rps < "$T/r.sa" | median)
pam=$(field p99_ms < "$T/r.am" | median); psa=$(field p99_ms < "$T/r.sa" | median)

printf '\n| scenario | authmuxd | reference | ratio | target |\n|---|---|---|---|---|\n'
printf '| ldap bind method (search + bind), rps | %s | saslauthd -a ldap %s | %s | >= 2.00 |\n' "$am" "$sa" "$(ratio "$am" "$sa")"
printf '| ldap bind method (search + bind), rps | %s | simple-bind loop, %s threads %s | %s | >= 0.80 |\n' "$am" "$NT" "$lo" "$(ratio "$am" "$lo")"
printf '| ldap bind method, DN cache on (one bind), rps | %s | simple-bind loop, %s threads %s | %s | |\n' "$amd" "$NT" "$lo" "$(ratio "$amd" "$lo")"
printf '| ldap bind method, DN cache on, rps | %s | saslauthd -a ldap %s | %s | |\n' "$amd" "$sa" "$(ratio "$amd" "$sa")"
printf '| ldap p99 ms (lower is better) | %s | saslauthd -a ldap %s | %s | |\n' "$pam" "$psa" "$(ratio "$pam" "$psa")"
echo
echo "# raw: loop $(tr '\n' ' ' < "$T/r.loop")"
