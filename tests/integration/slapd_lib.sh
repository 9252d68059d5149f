# slapd_lib.sh -- throwaway OpenLDAP servers (real slapd) for the LDAP
# backend's integration tests.
#
# Source it AFTER lib.sh (it needs $T, skip, fail, and lib.sh's cleanup):
#	. "$top_srcdir/tests/integration/lib.sh"
#	. "$top_srcdir/tests/integration/slapd_lib.sh"
#	slapd_start s1 || { fail "slapd s1 starts"; done_testing; }
#
# Everything lives under $T/ldap and goes away with $T.  Call slapd_start
# and friends directly, never in $(...) or a pipeline: they set variables
# and slapd is a child of the test's shell (see slapd_start for why).
#
# Functions
#   slapd_start NAME [evil]  start (or restart, same ports and data) an
#                            instance; sets ${NAME}_URI, ${NAME}_LDAPS,
#                            ${NAME}_LDAPI, ${NAME}_PID.  "evil": serve the
#                            certificate of a CA the clients do not trust.
#   slapd_stop NAME          SIGTERM, wait (10 s), then SIGKILL
#   slapd_freeze NAME        SIGSTOP: connections are accepted by the kernel
#                            but never answered
#   slapd_thaw NAME          SIGCONT
#   slapd_ca                 make the certificates (slapd_start calls it)
#   ldap_set_password DN PW [URI]   userPassword := {SSHA} of PW, as rootdn
#   ldap_modify LDIF [URI]   ldapmodify as rootdn (default URI: $s1_URI)
#   ldap_hash SCHEME PW      print "{SCHEME}hash" (MD5 SMD5 SHA SSHA SSHA256
#                            SSHA512 CRYPT) made with openssl
#
# The data (both databases in every instance; passwords in parentheses):
#   dc=example,dc=test ($BASE)
#     ou=people  ($PEOPLE)     uid=alice (alice-pw) {SSHA} alice@example.test
#                              uid=bob   (bob-pw)   {SSHA} bob@example.test
#                              uid=carol (carol-pw) {SSHA}, in no group
#                              uid=dave  (dave-pw)  {SSHA} dave@example.test
#                              uid=c_crypt c_md5 c_smd5 c_sha c_ssha c_ssha256
#                                c_ssha512 c_plain (custom-pw), one hash
#                                scheme each, c_plain in plain text
#                              uid=star*     (star-pw)   DN uid=star*,...
#                              uid=paren)(x  (paren-pw)  DN uid=paren)(x,...
#                              uid=back\slash (back-pw)  DN uid=back\5Cslash,...
#                              uid=longpw ('L' x 300)
#                              uid=twin  (twin-pw)
#     ou=others                uid=twin  (twin-pw): a second entry, same uid
#     ou=groups                cn=mail: groupOfUniqueNames, uniqueMember
#                                alice's and bob's DNs
#                              cn=posixmail: posixGroup gidNumber 20002,
#                                memberUid alice
#     ou=services              cn=authmux ($SVC_DN, svc-secret)
#   dc=example,dc=org ($ORG_BASE)
#     ou=people                uid=erin (erin-pw) erin@example.org
# alice, bob, carol, dave and erin are also posixAccounts (uidNumber 10001..
# 10005, gidNumber 10000).
#
# Access: userPassword is readable by $SVC_DN only, "auth" for anonymous
# (so simple binds work), writable by self; everything else is readable by
# everyone, anonymous included.  $ROOT_DN (rootdn of both databases) may
# do anything.  slapd also loads pw-sha2, so it accepts binds of the
# {SSHA256}/{SSHA512} users too.
#
# TLS: $LDAP_CA is the CA that signs the good certificate (CN 127.0.0.1;
# SAN IP 127.0.0.1, DNS localhost, and DNS $(uname -n), which libldap
# checks in place of "localhost").  An "evil" instance serves a
# certificate for the same names signed by $LDAP_EVIL_CA instead.  Files
# in $LDAP_PKI: ca.pem ca.key server.pem server.key evilca.pem evilca.key
# evil.pem evil.key.  Clients that do not name a CA use the system's
# (/etc/ldap/ldap.conf TLS_CACERT), which trusts neither.
#
# A frozen instance still completes TCP connects (the kernel does it), so
# a client's connect timeout does not fire: only an operation timeout
# does.
#
# Setting SLAPD_DEBUG (a slapd -d level, default "stats") changes what goes
# to $T/ldap/NAME/slapd.log.

# --- facts about the fixture -------------------------------------------------
# (for the tests: shellcheck cannot see them used)
# shellcheck disable=SC2034
BASE="dc=example,dc=test"
ORG_BASE="dc=example,dc=org"
PEOPLE="ou=people,$BASE"
ORG_PEOPLE="ou=people,$ORG_BASE"
ROOT_DN="cn=admin,$BASE"
ROOT_PW="admin-secret"
SVC_DN="cn=authmux,ou=services,$BASE"
SVC_PW="svc-secret"
GROUP_MAIL_DN="cn=mail,ou=groups,$BASE"
GROUP_POSIX_DN="cn=posixmail,ou=groups,$BASE"
ALICE_DN="uid=alice,$PEOPLE";	ALICE_PW="alice-pw"
BOB_DN="uid=bob,$PEOPLE";	BOB_PW="bob-pw"
CAROL_DN="uid=carol,$PEOPLE";	CAROL_PW="carol-pw"
DAVE_DN="uid=dave,$PEOPLE";	DAVE_PW="dave-pw"
ERIN_DN="uid=erin,$ORG_PEOPLE";	ERIN_PW="erin-pw"
CUSTOM_PW="custom-pw"
CUSTOM_USERS="c_crypt c_md5 c_smd5 c_sha c_ssha c_ssha256 c_ssha512 c_plain"
STAR_UID='star*';		STAR_PW="star-pw"
STAR_DN="uid=star*,$PEOPLE"
PAREN_UID='paren)(x';		PAREN_PW="paren-pw"
PAREN_DN="uid=paren)(x,$PEOPLE"
BACK_UID='back\slash';		BACK_PW="back-pw"
BACK_DN="uid=back\\5Cslash,$PEOPLE"	# RFC 4514 escape of the backslash
LONG_UID="longpw"
LONG_PW=$(printf '%300s' '' | tr ' ' L)
LONG_DN="uid=longpw,$PEOPLE"
TWIN_PW="twin-pw"
TWIN_DN1="uid=twin,$PEOPLE"
TWIN_DN2="uid=twin,ou=others,$BASE"
LDAP_PKI="$T/ldap/pki"
LDAP_CA="$LDAP_PKI/ca.pem"
LDAP_EVIL_CA="$LDAP_PKI/evilca.pem"

# --- tools -------------------------------------------------------------------
# slapd and slapadd live in /usr/sbin, which a user's PATH may lack.
for _t in slapd slapadd slappasswd ldapsearch ldapmodify openssl; do
	command -v "$_t" >/dev/null 2>&1 || PATH="$PATH:/usr/sbin:/sbin"
	command -v "$_t" >/dev/null 2>&1 ||
	    skip "$_t is missing (Debian: slapd ldap-utils openssl)"
done
[ -f /usr/lib/ldap/back_mdb.la ] || [ -f /usr/lib/ldap/back_mdb.so ] ||
    skip "slapd's back_mdb module is not in /usr/lib/ldap (Debian: slapd)"
for _s in core cosine nis inetorgperson; do
	[ -f "/etc/ldap/schema/$_s.schema" ] ||
	    skip "/etc/ldap/schema/$_s.schema is missing (Debian: slapd)"
done

_SLAPD_NAMES=			# every instance ever started, for the cleanup

# --- hashes ------------------------------------------------------------------
# ldap_hash SCHEME PASSWORD: the userPassword value, computed with openssl
# (not slappasswd, which does not know the SHA-2 schemes without pw-sha2):
# salted = base64(digest(password bytes . salt bytes) . salt bytes), with
# the salt sizes slappasswd and pw-sha2 use (4 bytes for SMD5 and SSHA, 8
# for the SHA-2 ones).  Files, not variables, carry the bytes: a salt may
# hold a NUL.
ldap_hash() {
	_h="$T/ldap/hash.$$"
	mkdir -p "$T/ldap"
	case $1 in
	MD5)	_alg=md5 _slen=0 ;;
	SMD5)	_alg=md5 _slen=4 ;;
	SHA)	_alg=sha1 _slen=0 ;;
	SSHA)	_alg=sha1 _slen=4 ;;
	SSHA256) _alg=sha256 _slen=8 ;;
	SSHA512) _alg=sha512 _slen=8 ;;
	CRYPT)	printf '{CRYPT}%s' "$(openssl passwd -6 "$2")"; return ;;
	*)	echo "ldap_hash: unknown scheme $1" >&2; return 1 ;;
	esac
	printf '%s' "$2" >"$_h.pw"
	if [ $_slen -gt 0 ]; then openssl rand $_slen >"$_h.salt"; else : >"$_h.salt"; fi
	cat "$_h.pw" "$_h.salt" | openssl dgst -$_alg -binary >"$_h.dig"
	printf '{%s}%s' "$1" "$(cat "$_h.dig" "$_h.salt" | openssl base64 -A)"
	rm -f "$_h.pw" "$_h.salt" "$_h.dig"
}

# ssha PASSWORD: the usual hash, by the tool that real directories use
ssha() { slappasswd -h '{SSHA}' -s "$1"; }

# --- certificates ------------------------------------------------------------
# slapd_ca: a CA and a server certificate it signs, and an unrelated "evil"
# CA with a server certificate for the same names.  EC P-256: fast to make,
# and GnuTLS (Debian's slapd and libldap) takes PKCS#8 PEM keys.  Our own
# openssl config, so the system's openssl.cnf default extensions do not
# get mixed in.
slapd_ca() {
	[ -f "$LDAP_PKI/evil.pem" ] && return 0
	mkdir -p "$LDAP_PKI" || return 1
	(
	cd "$LDAP_PKI" || exit 1
	# libldap checks a "localhost" URI against the machine's own name
	# (ldap_int_hostname: gethostname, made canonical by the resolver),
	# not "localhost": those names go in too.
	san="IP:127.0.0.1,DNS:localhost"
	h=$(uname -n 2>/dev/null)
	for n in "$h" $(getent hosts "$h" 2>/dev/null | cut -d' ' -f2- | head -n 1); do
		case $n in
		''|localhost|*[!A-Za-z0-9.-]*) ;;
		*) case ",$san," in *",DNS:$n,"*) ;; *) san="$san,DNS:$n" ;; esac ;;
		esac
	done
	cat >openssl.cnf <<EOF
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca_ext]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[srv_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = $san
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
	newkey="-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
	# mkca NAME CN; mksrv CA KEYNAME
	mkca() {
		# shellcheck disable=SC2086
		openssl req -config openssl.cnf -x509 -new $newkey -days 3 \
		    -subj "/O=authmuxd tests/CN=$2" -extensions ca_ext \
		    -keyout "$1.key" -out "$1.pem"
	}
	mksrv() {
		# shellcheck disable=SC2086
		openssl req -config openssl.cnf -new $newkey \
		    -subj "/O=authmuxd tests/CN=127.0.0.1" \
		    -keyout "$2.key" -out "$2.csr" &&
		openssl x509 -req -in "$2.csr" -CA "$1.pem" -CAkey "$1.key" \
		    -set_serial "$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')" \
		    -days 3 -extfile openssl.cnf -extensions srv_ext -out "$2.pem"
	}
	mkca ca "authmuxd test CA" && mksrv ca server &&
	mkca evilca "evil CA" && mksrv evilca evil
	) >"$T/ldap/pki.log" 2>&1 || {
		echo "# could not make the certificates:"
		sed 's/^/# /' "$T/ldap/pki.log"
		return 1
	}
	chmod 600 "$LDAP_PKI"/*.key
}

# --- data --------------------------------------------------------------------
# _slapd_ldif: $T/ldap/test.ldif and org.ldif, made once (every instance
# loads the same data).  Hashes are made here, with fresh salts, rather
# than written down.
_slapd_ldif() {
	[ -f "$T/ldap/org.ldif" ] && return 0
	mkdir -p "$T/ldap" || return 1
	# slappasswd's {SSHA} and ours must have the same shape: same length,
	# same prefix (a sanity check of the salted computation).
	_a=$(ssha "$CUSTOM_PW") _b=$(ldap_hash SSHA "$CUSTOM_PW")
	if [ "${#_a}" != "${#_b}" ] || [ "${_a%%\}*}" != "${_b%%\}*}" ]; then
		echo "# ldap_hash SSHA gives $_b, slappasswd $_a: not the same shape"
		return 1
	fi
	# person UID CN PASSWORD-VALUE [EXTRA LINE | posix:UIDNUMBER]...:
	# an entry under $PEOPLE; posix:N makes it a posixAccount too.  The
	# objectClass lines go together: slapadd does not merge an attribute
	# split by others (the entry would have no structural class).
	person() {
		_u=$1 _cn=$2 _pw=$3; shift 3
		_oc="objectClass: inetOrgPerson" _more=
		for _x in "$@"; do
			case $_x in
			posix:*) _oc="$_oc
objectClass: posixAccount"
			    _more="$_more
uidNumber: ${_x#posix:}
gidNumber: 10000
homeDirectory: /home/$_u" ;;
			*) _more="$_more
$_x" ;;
			esac
		done
		printf '%s\n' "dn: uid=$_u,$PEOPLE" "$_oc" "uid: $_u" \
		    "cn: $_cn" "sn: ${_cn##* }" "userPassword: $_pw$_more" ""
	}
	{
	cat <<EOF
dn: $BASE
objectClass: dcObject
objectClass: organization
dc: example
o: Example Test

dn: $PEOPLE
objectClass: organizationalUnit
ou: people

dn: ou=groups,$BASE
objectClass: organizationalUnit
ou: groups

dn: ou=services,$BASE
objectClass: organizationalUnit
ou: services

dn: ou=others,$BASE
objectClass: organizationalUnit
ou: others

dn: $SVC_DN
objectClass: applicationProcess
objectClass: simpleSecurityObject
cn: authmux
description: the service account authmuxd searches with
userPassword: $(ssha "$SVC_PW")

EOF
	person alice "Alice Liddell" "$(ssha "$ALICE_PW")" \
	    "mail: alice@example.test" posix:10001
	person bob "Bob Builder" "$(ssha "$BOB_PW")" \
	    "mail: bob@example.test" posix:10002
	person carol "Carol Nogroup" "$(ssha "$CAROL_PW")" \
	    "mail: carol@example.test" posix:10003
	person dave "Dave Mail" "$(ssha "$DAVE_PW")" \
	    "mail: dave@example.test" posix:10004
	# one user per hash scheme, all with the same password
	person c_crypt "Custom Crypt" "$(ldap_hash CRYPT "$CUSTOM_PW")"
	person c_md5 "Custom Md5" "$(ldap_hash MD5 "$CUSTOM_PW")"
	person c_smd5 "Custom Smd5" "$(ldap_hash SMD5 "$CUSTOM_PW")"
	person c_sha "Custom Sha" "$(ldap_hash SHA "$CUSTOM_PW")"
	person c_ssha "Custom Ssha" "$(ldap_hash SSHA "$CUSTOM_PW")"
	person c_ssha256 "Custom Ssha256" "$(ldap_hash SSHA256 "$CUSTOM_PW")"
	person c_ssha512 "Custom Ssha512" "$(ldap_hash SSHA512 "$CUSTOM_PW")"
	person c_plain "Custom Plain" "$CUSTOM_PW"
	# filter and DN metacharacters in the login: "*", "(", ")" need no
	# escaping in a DN, the backslash does (\5C); all are SAFE-CHARs
	# in LDIF.
	person 'star*' "Star User" "$(ssha "$STAR_PW")"
	person 'paren)(x' "Paren User" "$(ssha "$PAREN_PW")"
	printf '%s\n' "dn: $BACK_DN" "objectClass: inetOrgPerson" \
	    "uid: $BACK_UID" "cn: Back Slash" "sn: Slash" \
	    "userPassword: $(ssha "$BACK_PW")" ""
	person "$LONG_UID" "Long Password" "$(ssha "$LONG_PW")"
	person twin "Twin One" "$(ssha "$TWIN_PW")"
	printf '%s\n' "dn: $TWIN_DN2" "objectClass: inetOrgPerson" \
	    "uid: twin" "cn: Twin Two" "sn: Two" \
	    "userPassword: $(ssha "$TWIN_PW")" ""
	cat <<EOF
dn: $GROUP_MAIL_DN
objectClass: groupOfUniqueNames
cn: mail
uniqueMember: $ALICE_DN
uniqueMember: $BOB_DN

dn: $GROUP_POSIX_DN
objectClass: posixGroup
cn: posixmail
gidNumber: 20002
memberUid: alice
EOF
	} >"$T/ldap/test.ldif" &&
	cat >"$T/ldap/org.ldif" <<EOF
dn: $ORG_BASE
objectClass: dcObject
objectClass: organization
dc: example
o: Example Org

dn: $ORG_PEOPLE
objectClass: organizationalUnit
ou: people

dn: $ERIN_DN
objectClass: inetOrgPerson
objectClass: posixAccount
uid: erin
cn: Erin Org
sn: Org
mail: erin@example.org
userPassword: $(ssha "$ERIN_PW")
uidNumber: 10005
gidNumber: 10000
homeDirectory: /home/erin
EOF
}

# --- instances ---------------------------------------------------------------
# _slapd_alive PID: running (or stopped), not a zombie.  PID 1 of a
# container may never reap, so "kill -0" alone is not enough.
_slapd_alive() {
	[ -n "$1" ] && kill -0 "$1" 2>/dev/null || return 1
	[ -r "/proc/$1/stat" ] || return 0
	case $(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null) in
	Z|X|'') return 1 ;;
	esac
	return 0
}

# _slapd_port_free PORT: nothing listens on it (and nothing answers).
_slapd_port_free() {
	if command -v ss >/dev/null 2>&1; then
		[ -z "$(ss -Hltn "sport = :$1" 2>/dev/null)" ] || return 1
	fi
	! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# _slapd_pick_port [AVOID]: a random free port in 20000-59999.
_slapd_pick_port() {
	_n=0
	while [ $_n -lt 100 ]; do
		_p=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
		if [ "$_p" != "${1:-}" ] && _slapd_port_free "$_p"; then
			echo "$_p"; return 0
		fi
		_n=$((_n + 1))
	done
	return 1
}

# _slapd_urlenc STRING: percent-encode for an ldapi:// host part
_slapd_urlenc() {
	_s=$1 _o=
	while [ -n "$_s" ]; do
		_c=${_s%"${_s#?}"}; _s=${_s#?}
		case $_c in
		[A-Za-z0-9._~-]) _o="$_o$_c" ;;
		*) _o="$_o$(printf '%%%02X' "'$_c")" ;;
		esac
	done
	printf '%s' "$_o"
}

# _slapd_conf DIR CERT CA: write DIR/slapd.conf
_slapd_conf() {
	_d=$1
	# The same ACLs for both databases: the service account reads
	# passwords, anonymous may only bind with them, the rest is public.
	_acl="access to attrs=userPassword
	by dn.exact=\"$SVC_DN\" read
	by anonymous auth
	by self write
	by * none
access to *
	by * read"
	_pwsha2=
	if [ -f /usr/lib/ldap/pw-sha2.la ] || [ -f /usr/lib/ldap/pw-sha2.so ]; then
		_pwsha2="moduleload pw-sha2"
	fi
	cat >"$_d/slapd.conf" <<EOF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/nis.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
$_pwsha2
pidfile $_d/slapd.pid
argsfile $_d/slapd.args
TLSCACertificateFile $LDAP_PKI/$3
TLSCertificateFile $LDAP_PKI/$2.pem
TLSCertificateKeyFile $LDAP_PKI/$2.key

database mdb
maxsize 67108864
suffix "$BASE"
rootdn "$ROOT_DN"
rootpw "$ROOT_PW"
directory $_d/db-test
index objectClass eq
index uid eq
index mail eq
index uniqueMember eq
index memberUid eq
$_acl

# the second suffix, for the domain-token tests: the same rootdn (bound
# through the first database) and the same service account
database mdb
maxsize 67108864
suffix "$ORG_BASE"
rootdn "$ROOT_DN"
directory $_d/db-org
index objectClass eq
index uid eq
index mail eq
index uniqueMember eq
index memberUid eq
$_acl
EOF
}

# slapd_start NAME [evil]: start instance NAME (a shell identifier) and
# set ${NAME}_URI ${NAME}_LDAPS ${NAME}_LDAPI ${NAME}_PID.  A NAME started
# before keeps its ports and its database, so a restart brings the same
# server back at the same URIs.
#
# slapd runs in the foreground (-d) as a child of the test's shell instead
# of daemonizing: a daemonized slapd 2.5 writes no log without syslog, and
# its parent would be PID 1, which in a container may never reap it (a
# zombie that kill -0 still finds).  disown: no "Killed" job notices.
slapd_start() {
	_name=$1 _set=${2:-good}
	_d="$T/ldap/$_name"
	case $_set in
	evil)	_cert=evil _ca=evilca.pem ;;
	*)	_cert=server _ca=ca.pem ;;
	esac
	eval "_pid=\${${_name}_PID:-}"
	if _slapd_alive "$_pid"; then
		echo "# slapd $_name is already running (pid $_pid)"
		return 0
	fi
	slapd_ca && _slapd_ldif || return 1
	mkdir -p "$_d/db-test" "$_d/db-org" || return 1
	_slapd_conf "$_d" "$_cert" "$_ca" || return 1
	if [ ! -f "$_d/db-test/data.mdb" ]; then
		for _db in test:"$BASE" org:"$ORG_BASE"; do
			if ! slapadd -q -f "$_d/slapd.conf" -b "${_db#*:}" \
			    -l "$T/ldap/${_db%%:*}.ldif" >"$_d/slapadd.log" 2>&1; then
				echo "# slapadd ${_db%%:*}.ldif failed:"
				sed 's/^/# /' "$_d/slapadd.log"
				rm -rf "$_d/db-test" "$_d/db-org"
				return 1
			fi
		done
	fi
	_ldapi="ldapi://$(_slapd_urlenc "$_d/ldapi")/"
	_tries=0
	while :; do
		_tries=$((_tries + 1))
		if [ -f "$_d/ports" ]; then
			read -r _port _sport <"$_d/ports"
			_fixed=1
		else
			if ! _port=$(_slapd_pick_port) ||
			    ! _sport=$(_slapd_pick_port "$_port"); then
				echo "# no free port for slapd $_name"; return 1
			fi
			_fixed=
		fi
		_uri="ldap://127.0.0.1:$_port/"
		rm -f "$_d/ldapi"	# left by a SIGKILL: slapd would not bind
		echo "### slapd_start $_name $_set, $(date)" >>"$_d/slapd.log"
		slapd -d "${SLAPD_DEBUG:-stats}" -f "$_d/slapd.conf" \
		    -h "$_uri ldaps://127.0.0.1:$_sport/ $_ldapi" \
		    </dev/null >>"$_d/slapd.log" 2>&1 &
		_pid=$!
		disown $_pid 2>/dev/null
		# ready when an anonymous search answers: 10 s at most
		_i=0 _ok=
		while [ $_i -lt 200 ]; do
			if ldapsearch -x -LLL -o nettimeout=2 -H "$_uri" -b "$BASE" \
			    -s base dn >/dev/null 2>&1; then
				_ok=1; break
			fi
			_slapd_alive "$_pid" || break
			sleep 0.05; _i=$((_i + 1))
		done
		[ -n "$_ok" ] && break
		kill -KILL "$_pid" 2>/dev/null
		# someone took a random port between the check and the bind:
		# try other ones (but a restart must keep its ports)
		if [ -z "$_fixed" ] && [ $_tries -lt 5 ] &&
		    tail -n 20 "$_d/slapd.log" | grep -q 'bind.*errno=98'; then
			continue
		fi
		echo "# slapd $_name did not come up on $_uri:"
		tail -n 40 "$_d/slapd.log" | sed 's/^/# /'
		return 1
	done
	echo "$_port $_sport" >"$_d/ports"
	case " $_SLAPD_NAMES " in
	*" $_name "*) ;;
	*) _SLAPD_NAMES="$_SLAPD_NAMES $_name" ;;
	esac
	export "${_name}_URI=$_uri" "${_name}_LDAPS=ldaps://127.0.0.1:$_sport/" \
	    "${_name}_LDAPI=$_ldapi" "${_name}_PID=$_pid"
}

# slapd_stop NAME: SIGTERM (and SIGCONT, in case it is frozen), wait for
# it to go (10 s), then SIGKILL.
slapd_stop() {
	eval "_pid=\${${1}_PID:-}"
	[ -n "$_pid" ] || return 0
	kill -TERM "$_pid" 2>/dev/null
	kill -CONT "$_pid" 2>/dev/null
	_i=0
	while _slapd_alive "$_pid" && [ $_i -lt 200 ]; do
		sleep 0.05; _i=$((_i + 1))
	done
	if _slapd_alive "$_pid"; then
		echo "# slapd $1 ignored SIGTERM for 10 s: SIGKILL"
		kill -KILL "$_pid" 2>/dev/null
		_i=0
		while _slapd_alive "$_pid" && [ $_i -lt 40 ]; do
			sleep 0.05; _i=$((_i + 1))
		done
	fi
	export "${1}_PID="
}

slapd_freeze() { eval "kill -STOP \"\${${1}_PID:?slapd $1 is not running}\""; }
slapd_thaw() { eval "kill -CONT \"\${${1}_PID:?slapd $1 is not running}\""; }

# _ldap_root_modify URI: ldapmodify as the rootdn, LDIF on stdin
_ldap_root_modify() {
	ldapmodify -x -o nettimeout=5 -H "$1" -D "$ROOT_DN" -w "$ROOT_PW" \
	    >"$T/ldap/modify.log" 2>&1 || {
		echo "# ldapmodify failed:"; sed 's/^/# /' "$T/ldap/modify.log"
		return 1
	}
}

# ldap_modify LDIF_TEXT [URI]: apply a change as the rootdn (s1 unless told)
ldap_modify() {
	printf '%s\n' "$1" | _ldap_root_modify "${2:-${s1_URI:?slapd s1 is not running}}"
}

# ldap_set_password DN NEWPW [URI]: a new {SSHA} userPassword
ldap_set_password() {
	ldap_modify "dn: $1
changetype: modify
replace: userPassword
userPassword: $(ssha "$2")" "${3:-}"
}

# --- cleanup -----------------------------------------------------------------
# slapd_cleanup: every instance dies, even a frozen one.  They are
# throwaway: SIGKILL, no need for a clean shutdown.
slapd_cleanup() {
	for _n in $_SLAPD_NAMES; do
		eval "_pid=\${${_n}_PID:-}"
		[ -n "$_pid" ] || continue
		kill -CONT "$_pid" 2>/dev/null
		kill -KILL "$_pid" 2>/dev/null
		_i=0
		while _slapd_alive "$_pid" && [ $_i -lt 40 ]; do
			sleep 0.05; _i=$((_i + 1))
		done
	done
	_SLAPD_NAMES=
}

# lib.sh's cleanup, renamed, runs after ours; the name "cleanup" keeps
# working, so a test whose own EXIT trap calls cleanup (as shadow.sh's
# does) stops the servers too.  Only once, if sourced twice.
if [ -z "${_SLAPD_LIB_LOADED:-}" ]; then
	_SLAPD_LIB_LOADED=1
	eval "_slapd_lib_cleanup() $(declare -f cleanup | sed 1d)"
	cleanup() {
		slapd_cleanup
		_slapd_lib_cleanup
	}
	trap cleanup EXIT
fi
