#!/bin/bash
# deb.sh -- the Debian packages, for real: build them from the "make dist"
# tarball with dpkg-buildpackage, check them with lintian, install them
# with dpkg (the postinst starts the daemon with its init script), talk to
# /run/saslauthd/mux with testsaslauthd, run Postfix end to end through
# the chroot socket (postfix.sh), check the systemd units with
# systemd-analyze, then stop, purge, and check that nothing is left.
#
# Run by ./run-tests after the other tests, as root:
#   make check TESTS=tests/package/deb.sh SH_LOG_COMPILER="timeout 1200 bash"
# It installs and purges the authmuxd packages and reconfigures Postfix
# for a while, so it refuses to run where authmuxd is installed already or
# Postfix is running.
. "$top_srcdir/tests/integration/lib.sh"

own_make_env

[ "$(id -u)" = 0 ] || skip "needs root: it installs the package"
for tool in dpkg-buildpackage:dpkg-dev dh:debhelper lintian:lintian \
    testsaslauthd:sasl2-bin swaks:swaks postfix:postfix \
    systemd-analyze:systemd; do
	command -v "${tool%%:*}" >/dev/null ||
		skip "no ${tool%%:*} (apt-get install ${tool#*:})"
done
if dpkg-query -W -f='${Status}' authmuxd 2>/dev/null | grep -q installed; then
	skip "the authmuxd package is installed here; this test installs and purges it"
fi
if pgrep -x master >/dev/null; then
	skip "Postfix is running here; this test reconfigures it"
fi
if [ -S /run/saslauthd/mux ]; then
	skip "a daemon has /run/saslauthd/mux (saslauthd?); stop it first"
fi
# an empty /run/saslauthd left by an earlier saslauthd or test (every
# daemon makes it again at start): the purge removes it, so start clean
if [ -d /run/saslauthd ]; then rmdir /run/saslauthd 2>/dev/null; fi

PKG="$T/pkg"
SNAP_DIRS="/etc /usr /lib /var /run /opt /srv"
INIT=/etc/init.d/authmuxd
PIDFILE=/run/authmuxd.pid
MUX=/run/saslauthd/mux
CHROOT_MUX=/var/spool/postfix/var/run/saslauthd/mux
DEB_USER=amdeb$$
DEB_PW="deb-Pw.$$"
mkdir -p "$PKG"

# paths the system changes by itself while the test runs (logs, package
# state, Postfix's queue and the files its init copies into its chroot)
snapshot() {
	find $SNAP_DIRS -xdev 2>/dev/null | grep -Ev \
	    -e '^/var/(log|cache|tmp|backups|mail)(/|$)' \
	    -e '^/var/lib/(dpkg|apt|postfix|systemd|ucf|lintian)(/|$)' \
	    -e '^/var/spool/postfix/(active|bounce|corrupt|defer|deferred|flush|hold|incoming|maildrop|pid|private|public|saved|trace|etc|lib|usr|dev)(/|$)' \
	    -e '^/run/(lock|utmp|sendsigs.omit.d)(/|$)' \
	    -e '^/etc/(ld\.so\.cache|postfix/main\.cf|aliases\.db|group-|gshadow-|passwd-|shadow-|subuid-|subgid-)$' |
	    sort
}

# invoke-rc.d asks policy-rc.d before it starts or stops a service. Put
# one in that records what the maintainer scripts ask for and says no
# (101): a container has no runlevel, so invoke-rc.d would not start the
# daemon anyway; the test starts it with the init script itself.
POLICY=/usr/sbin/policy-rc.d
dpkg_run() {
	if [ -e "$POLICY" ]; then mv "$POLICY" "$T/policy-rc.d.orig"; fi
	printf '#!/bin/sh\necho "$*" >>%s\nexit 101\n' "$T/policy.calls" >"$POLICY"
	chmod 755 "$POLICY"
	touch "$T/policy.active"
	"$@"; _rc=$?
	policy_restore
	return $_rc
}
policy_restore() {
	[ -e "$T/policy.active" ] || return 0
	rm -f "$POLICY" "$T/policy.active"
	if [ -e "$T/policy-rc.d.orig" ]; then mv "$T/policy-rc.d.orig" "$POLICY"; fi
}

pkg_cleanup() {
	policy_restore
	postfix_restore 2>/dev/null
	if dpkg-query -W -f='${Status}' authmuxd 2>/dev/null | grep -q installed; then
		"$INIT" stop >/dev/null 2>&1
		dpkg --purge authmuxd-dev authmuxd-ldap authmuxd >/dev/null 2>&1
	fi
	userdel "$DEB_USER" 2>/dev/null
	cleanup
}
trap pkg_cleanup EXIT
trap 'exit 1' TERM INT

. "$top_srcdir/tests/package/postfix.sh"

# running PID: the pid file's process is /usr/sbin/authmuxd
running() {
	[ -s "$PIDFILE" ] && pid=$(cat "$PIDFILE") && [ -n "$pid" ] &&
	    [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = /usr/sbin/authmuxd ]
}
# stat_is PATH OWNER:GROUP MODE
stat_is() { [ "$(stat -c '%U:%G %a' "$1" 2>/dev/null)" = "$2 $3" ]; }
tsa() { testsaslauthd "$@" 2>&1; }

before_group=$(getent group sasl)
before_postfix_groups=$(id -nG postfix 2>/dev/null)
snapshot > "$T/before"

# --- build -------------------------------------------------------------
make -C "$top_builddir" dist >"$T/dist.log" 2>&1 ||
	{ sed 's/^/#   /' "$T/dist.log" | tail -20; }
tarball=$(ls "$top_builddir"/authmuxd-*.tar.gz 2>/dev/null | head -1)
check "make dist makes a tarball" [ -n "$tarball" ]
tar -C "$PKG" -xzf "$tarball"
src=$(ls -d "$PKG"/authmuxd-*/ | head -1)
if (cd "$src" && dpkg-buildpackage -us -uc -b) >"$T/build.log" 2>&1; then
	pass "dpkg-buildpackage -us -uc -b builds from the tarball"
else
	fail "dpkg-buildpackage -us -uc -b builds from the tarball"
	tail -30 "$T/build.log" | sed 's/^/#   /'
fi
deb=$(ls "$PKG"/authmuxd_*.deb 2>/dev/null)
deb_ldap=$(ls "$PKG"/authmuxd-ldap_*.deb 2>/dev/null)
deb_dev=$(ls "$PKG"/authmuxd-dev_*.deb 2>/dev/null)
check "three packages: authmuxd, authmuxd-ldap and authmuxd-dev" \
    both [ -f "$deb" ] -- both [ -f "$deb_ldap" ] -- [ -f "$deb_dev" ]
[ -f "$deb" ] && [ -f "$deb_ldap" ] && [ -f "$deb_dev" ] || done_testing

lintian --fail-on error "$PKG"/authmuxd_*.changes >"$T/lintian.log" 2>&1
lrc=$?
sed 's/^/#   lintian: /' "$T/lintian.log"
check "lintian reports no errors" [ $lrc -eq 0 ]

dpkg-deb -c "$deb" | awk '{print $6}' >"$T/core.list"
dpkg-deb -c "$deb_ldap" | awk '{print $6}' >"$T/ldap.list"
dpkg-deb -c "$deb_dev" | awk '{print $6}' >"$T/dev.list"
check "the core package holds the file, pam and shadow modules" \
    both grep -q '/authmuxd/file\.so$' "$T/core.list" -- \
    both grep -q '/authmuxd/pam\.so$' "$T/core.list" -- \
    grep -q '/authmuxd/shadow\.so$' "$T/core.list"
check "the ldap module is in authmuxd-ldap, not in the core" \
    both grep -q '/authmuxd/ldap\.so$' "$T/ldap.list" -- \
    not grep -q 'ldap\.so' "$T/core.list"
check "module.h and authmuxd.pc are in authmuxd-dev, not in the core" \
    both grep -qx './usr/include/authmuxd/module.h' "$T/dev.list" -- \
    both grep -qE '^\./usr/lib/[^/]+/pkgconfig/authmuxd\.pc$' "$T/dev.list" -- \
    not grep -qE 'module\.h|authmuxd\.pc' "$T/core.list"
check "the core package does not depend on libldap" \
    not sh -c "dpkg-deb -f '$deb' Depends | grep -q ldap"
check "the core package has the unit, the init script, the default file and the man pages" \
    both grep -qx './lib/systemd/system/authmuxd.service' "$T/core.list" -- \
    both grep -qx './etc/init.d/authmuxd' "$T/core.list" -- \
    both grep -qx './etc/default/authmuxd' "$T/core.list" -- \
    both grep -q 'man8/authmuxd\.8' "$T/core.list" -- \
    both grep -q 'man5/authmuxd\.conf\.5' "$T/core.list" -- \
    grep -q 'man1/authmux\.1' "$T/core.list"
dpkg-deb -e "$deb" "$T/control"
check "conffiles: /etc/authmuxd.conf, /etc/default/authmuxd, /etc/init.d/authmuxd" \
    both grep -qx /etc/authmuxd.conf "$T/control/conffiles" -- \
    both grep -qx /etc/default/authmuxd "$T/control/conffiles" -- \
    grep -qx /etc/init.d/authmuxd "$T/control/conffiles"

# --- install: the postinst starts the daemon ---------------------------
if dpkg_run dpkg -i "$deb" "$deb_ldap" "$deb_dev" >"$T/install.log" 2>&1; then
	pass "dpkg -i installs the three packages"
else
	fail "dpkg -i installs the three packages"; sed 's/^/#   /' "$T/install.log"
fi
sed 's/^/#   dpkg: /' "$T/install.log" | grep -i -E 'authmuxd|warn|error' | head
check "the postinst asks invoke-rc.d to start authmuxd" \
    grep -Eqx 'authmuxd \(?start\)?' "$T/policy.calls"
check "not running before the init script starts it" not running
"$INIT" start >"$T/start.log" 2>&1
check "init script: start (exit 0)" [ $? -eq 0 ]
check "the daemon runs (pid file, /usr/sbin/authmuxd)" running
check "the group sasl exists" sh -c "getent group sasl >/dev/null"
check "the postinst added postfix to the group sasl" \
    sh -c "id -nG postfix | tr ' ' '\n' | grep -qx sasl"
check "/run/saslauthd is root:sasl 0710" stat_is /run/saslauthd root:sasl 710
check "the socket is at /run/saslauthd/mux" [ -S "$MUX" ]
check "the Postfix chroot socket directory is root:sasl 0710" \
    stat_is "${CHROOT_MUX%/mux}" root:sasl 710
check "the socket is in the Postfix chroot too" [ -S "$CHROOT_MUX" ]

# --- testsaslauthd against the default socket: the pam backend ---------
useradd -M -s /usr/sbin/nologin "$DEB_USER"
echo "$DEB_USER:$DEB_PW" | chpasswd
expect_out "testsaslauthd: a system user's password (pam, the default)" 0 \
    '0: OK "Success."' tsa -u "$DEB_USER" -p "$DEB_PW"
expect_out "testsaslauthd: a wrong password" 255 '0: NO "authentication failed"' \
    tsa -u "$DEB_USER" -p wrong
expect_out "testsaslauthd -f the chroot socket" 0 '0: OK "Success."' \
    tsa -f "$CHROOT_MUX" -u "$DEB_USER" -p "$DEB_PW"

# --- the init script -----------------------------------------------------
pid1=$(cat "$PIDFILE")
"$INIT" status >/dev/null 2>&1
check "init script: status says running (exit 0)" [ $? -eq 0 ]
"$INIT" reload >/dev/null 2>&1
sleep 0.5
check "init script: reload keeps the same process" \
    both running -- [ "$(cat "$PIDFILE")" = "$pid1" ]
expect_out "answers after the reload" 0 '0: OK "Success."' \
    tsa -u "$DEB_USER" -p "$DEB_PW"
"$INIT" stop >/dev/null 2>&1
# (a zombie may linger where PID 1 does not reap: look at its executable)
check "init script: stop ends the daemon" not readlink "/proc/$pid1/exe"
check "stop removes the sockets and the pid file" \
    both [ ! -e "$MUX" ] -- both [ ! -e "$CHROOT_MUX" ] -- [ ! -e "$PIDFILE" ]
"$INIT" status >/dev/null 2>&1
check "init script: status says stopped (exit 3)" [ $? -eq 3 ]
"$INIT" stop >/dev/null 2>&1
check "init script: stop when stopped is fine (exit 0)" [ $? -eq 0 ]
sed -i 's/^OPTIONS=.*/OPTIONS="-c -d -m \/var\/run\/saslauthd"/' /etc/default/authmuxd
"$INIT" start >"$T/start.log" 2>&1
check "init script: -d in OPTIONS is refused (exit 1), not a hang" \
    both [ $? -ne 0 ] -- not running
sed -i 's/^OPTIONS=.*/OPTIONS="-c -m \/var\/run\/saslauthd"/' /etc/default/authmuxd
"$INIT" start >/dev/null 2>&1
check "init script: start" [ $? -eq 0 ]
check "running again, with a new process" both running -- [ "$(cat "$PIDFILE")" != "$pid1" ]
"$INIT" restart >/dev/null 2>&1
expect_out "init script: restart, and it answers" 0 '0: OK "Success."' \
    tsa -u "$DEB_USER" -p "$DEB_PW"

# a copied /etc/default/saslauthd (Debian 12's, with -a ldap taking
# /etc/saslauthd.conf) works as authmuxd's
printf '%s\n' 'NAME="saslauthd"' 'MECHANISMS="shadow"' 'MECH_OPTIONS=""' \
    'THREADS=3' 'OPTIONS="-c -m /var/run/saslauthd"' >/etc/default/authmuxd
"$INIT" restart >/dev/null 2>&1
expect_out "a copied /etc/default/saslauthd (MECHANISMS=shadow) works" 0 \
    '0: OK "Success."' tsa -u "$DEB_USER" -p "$DEB_PW"
check "THREADS reaches the daemon (-n 3)" \
    sh -c "tr '\\0' ' ' < /proc/$(cat "$PIDFILE")/cmdline | grep -q -- ' -n 3 '"

# --- the systemd units -------------------------------------------------------
# it also opens the Documentation= man pages, which a machine that keeps
# no man pages (dpkg path-exclude) cannot; the package's own list has them
man_check=
if ! man -w authmuxd >/dev/null 2>&1; then
	echo "# no man pages installed here: systemd-analyze verify --man=no"
	man_check=--man=no
fi
systemd-analyze verify $man_check /lib/systemd/system/authmuxd.service \
    /lib/systemd/system/authmuxd.socket >"$T/verify.log" 2>&1
vrc=$?
sed 's/^/#   systemd-analyze: /' "$T/verify.log"
check "systemd-analyze verify: the units are clean" \
    both [ $vrc -eq 0 ] -- not grep -q authmuxd "$T/verify.log"

# --- Postfix end to end, through the chroot socket -----------------------
printf '%s\n' 'MECHANISMS="file"' 'THREADS=5' \
    'OPTIONS="-c -m /var/run/saslauthd"' 'POSTFIX_CHROOT="auto"' \
    >/etc/default/authmuxd
postfix_users /etc/authmuxd.passwd
"$INIT" restart >/dev/null 2>&1
postfix_e2e

# --- authmuxd-dev: a backend of one's own, built against the package ------
# the tests' module, compiled with the installed module.h and pkg-config's
# flags only, then loaded by the installed daemon from the directory the
# .pc names (a private instance on a socket of its own)
moddir=$(pkg-config --variable=moduledir authmuxd 2>/dev/null)
check "pkg-config: moduledir is where the packaged modules are ($moddir)" \
    both [ -n "$moddir" ] -- [ -f "$moddir/file.so" ]
mkdir -p "$T/devmods" "$T/devrun"
# shellcheck disable=SC2046
if cc -shared -fPIC -Wall -Werror $(pkg-config --cflags authmuxd) \
    -o "$T/devmods/testmod.so" "$top_srcdir/tests/integration/testmod.c" \
    -lpthread >"$T/devcc.log" 2>&1; then
	pass "a module builds with pkg-config --cflags authmuxd"
else
	fail "a module builds with pkg-config --cflags authmuxd"; sed 's/^/#   /' "$T/devcc.log"
fi
: >"$T/dev.conf"
/usr/sbin/authmuxd -d -a testmod -m "$T/devrun" -O "$T/dev.conf" \
    --module-dir "$T/devmods" >"$T/dev.log" 2>&1 &
devpid=$!
i=0; while [ $i -lt 100 ] && [ ! -S "$T/devrun/mux" ]; do sleep 0.05; i=$((i + 1)); done
expect_out "the packaged daemon loads it and it answers OK" 0 '0: OK "Success."' \
    /usr/bin/authmux -f "$T/devrun/mux" -u known-x -p ok
expect_out "... and NO" 255 '0: NO "authentication failed"' \
    /usr/bin/authmux -f "$T/devrun/mux" -u known-x -p deny
kill "$devpid" 2>/dev/null; wait "$devpid" 2>/dev/null
grep -F "testmod" "$T/dev.log" | head -n 3 | sed 's/^/#   /'

# --- stop and purge: nothing left ------------------------------------------
"$INIT" stop >/dev/null 2>&1
if dpkg_run dpkg --purge authmuxd-dev authmuxd-ldap authmuxd >"$T/purge.log" 2>&1; then
	pass "dpkg --purge removes the three packages"
else
	fail "dpkg --purge removes the three packages"; sed 's/^/#   /' "$T/purge.log"
fi
userdel "$DEB_USER" 2>/dev/null
rm -f /etc/authmuxd.passwd
check "no authmuxd process is left" not pgrep -x authmuxd
snapshot > "$T/after"
if diff "$T/before" "$T/after" >"$T/diff"; then
	pass "purge leaves no file or directory behind"
else
	fail "purge leaves no file or directory behind"
	sed 's/^/#   /' "$T/diff" | head -40
fi
check "the group sasl is as before" [ "$(getent group sasl)" = "$before_group" ]
check "postfix's groups are as before" \
    [ "$(id -nG postfix 2>/dev/null)" = "$before_postfix_groups" ]

done_testing
