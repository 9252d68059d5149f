#!/bin/bash
# rpm.sh -- build the RPMs from the dist tarball (rpmbuild -tb finds
# rpm/authmuxd.spec in it) and check what the two packages hold.
#
# Not part of make check's TESTS: it builds the whole package, a few
# minutes. Run it from the build tree with
#   make check TESTS=tests/package/rpm.sh SH_LOG_COMPILER="timeout 1200 bash"
# On Debian it needs the package rpm (rpmbuild, rpm2cpio) and cpio; the
# build dependencies are Debian's, so rpmbuild runs with --nodeps.
. "$top_srcdir/tests/integration/lib.sh"

own_make_env

for tool in rpmbuild rpm rpm2cpio cpio; do
	command -v "$tool" >/dev/null ||
		skip "$tool is missing (Debian: apt-get install rpm cpio)"
done

VERSION=$(sed -n 's/^PACKAGE_VERSION = //p' "$top_builddir/Makefile")
[ -n "$VERSION" ] || { fail "PACKAGE_VERSION from $top_builddir/Makefile"; done_testing; }
# the paths rpmbuild uses, from the same macros as the spec
LIBDIR=$(rpm --eval '%{_libdir}')
UNITDIR=$(rpm --eval '%{?_unitdir}%{!?_unitdir:/usr/lib/systemd/system}')
MODS=$LIBDIR/authmuxd
START=/usr/libexec/authmuxd/authmuxd-start

# --- the tarball, made as make dist makes it, without touching the tree -
dist=authmuxd-$VERSION
if make -C "$top_builddir" distdir distdir="$T/$dist" >"$T/dist.log" 2>&1 &&
    tar -C "$T" --format=ustar -chf - "$dist" | gzip -c >"$T/$dist.tar.gz"; then
	pass "dist tarball $dist.tar.gz"
else
	fail "dist tarball"; sed 's/^/#   /' "$T/dist.log" | tail -n 20
	done_testing
fi
rm -rf "${T:?}/$dist"
check "the tarball holds rpm/authmuxd.spec" \
    bash -c "tar -tzf '$T/$dist.tar.gz' | grep -qx '$dist/rpm/authmuxd.spec'"

# --- rpmbuild -tb ---------------------------------------------------------
TOP=$T/rpmbuild
if rpmbuild -tb --nodeps --define "_topdir $TOP" --define "_tmppath $T/tmp" \
    "$T/$dist.tar.gz" >"$T/rpmbuild.log" 2>&1; then
	pass "rpmbuild -tb --nodeps $dist.tar.gz"
else
	fail "rpmbuild -tb --nodeps $dist.tar.gz"
	sed 's/^/#   /' "$T/rpmbuild.log" | tail -n 40
fi
check "%check ran the unit tests" grep -q '^PASS: tests/unit/test_proto' "$T/rpmbuild.log"

MAIN=$(find "$TOP/RPMS" -name "authmuxd-$VERSION-*.rpm" 2>/dev/null)
LDAP=$(find "$TOP/RPMS" -name "authmuxd-ldap-$VERSION-*.rpm" 2>/dev/null)
DEVEL=$(find "$TOP/RPMS" -name "authmuxd-devel-$VERSION-*.rpm" 2>/dev/null)
check "the authmuxd RPM is built" both [ -n "$MAIN" ] -- [ -f "$MAIN" ]
check "the authmuxd-ldap RPM is built" both [ -n "$LDAP" ] -- [ -f "$LDAP" ]
check "the authmuxd-devel RPM is built" both [ -n "$DEVEL" ] -- [ -f "$DEVEL" ]
if [ ! -f "$MAIN" ] || [ ! -f "$LDAP" ] || [ ! -f "$DEVEL" ]; then
	ls -lR "$TOP/RPMS" 2>&1 | sed 's/^/#   /'
	done_testing
fi
echo "# $(basename "$MAIN") $(basename "$LDAP") $(basename "$DEVEL")"

expect_out "version of the RPM is configure's" 0 "$VERSION" \
    rpm -qp --qf '%{VERSION}' "$MAIN"
expect_out "licence ISC" 0 "ISC" rpm -qp --qf '%{LICENSE}' "$MAIN"

# --- what the main package holds -----------------------------------------
rpm -qpl "$MAIN" >"$T/main.list" 2>"$T/stderr"
rpm -qpl "$LDAP" >"$T/ldap.list" 2>>"$T/stderr"
rpm -qpl "$DEVEL" >"$T/devel.list" 2>>"$T/stderr"
sed 's/^/#   stderr: /' "$T/stderr"

# has LIST REGEX: a line of the list matches the whole extended regex
has() { grep -qxE -- "$2" "$1"; }
# without FILE REGEX [FILE...]: FILE is not empty, and no FILE has REGEX
# (an empty list from a failed build must not pass a negative check)
without() {
	_f=$1 _re=$2; shift 2
	[ -s "$_f" ] && ! grep -qE -- "$_re" "$_f" "$@"
}
in_main() {
	if has "$T/main.list" "$2"; then pass "$1"; else
		fail "$1 (no $2 in the authmuxd RPM)"; sed 's/^/#   /' "$T/main.list"
	fi
}
MAN='(\.gz|\.bz2|\.xz|\.zst)?'
in_main "daemon /usr/sbin/authmuxd" /usr/sbin/authmuxd
in_main "client /usr/bin/authmux" /usr/bin/authmux
for m in file pam shadow; do
	in_main "module $MODS/$m.so" "$MODS/$m\.so"
done
in_main "start script $START" "$START"
in_main "unit authmuxd.service" "$UNITDIR/authmuxd\.service"
in_main "unit authmuxd.socket" "$UNITDIR/authmuxd\.socket"
in_main "man page authmuxd(8)" "/usr/share/man/man8/authmuxd\.8$MAN"
in_main "man page authmuxd.conf(5)" "/usr/share/man/man5/authmuxd\.conf\.5$MAN"
in_main "man page authmux(1)" "/usr/share/man/man1/authmux\.1$MAN"
in_main "/etc/authmuxd.conf" /etc/authmuxd.conf
in_main "/etc/sysconfig/authmuxd" /etc/sysconfig/authmuxd
in_main "LICENSE" "/usr/share/(licenses|doc)/authmuxd[^/]*/LICENSE"
in_main "README.md" "/usr/share/doc/authmuxd[^/]*/README\.md"
# the negative checks only mean something for a list that is there
check "the authmuxd RPM has no ldap.so" without "$T/main.list" 'ldap\.so$'
check "neither the authmuxd nor the authmuxd-ldap RPM has module.h" \
    without "$T/main.list" 'module\.h$' "$T/ldap.list"
grep -vE '^/usr/share/(doc|licenses)/' "$T/devel.list" >"$T/devel.rest"
printf '%s\n' /usr/include/authmuxd /usr/include/authmuxd/module.h \
    "${MODS%/authmuxd}/pkgconfig/authmuxd.pc" >"$T/devel.want"
if cmp -s "$T/devel.rest" "$T/devel.want"; then
	pass "the authmuxd-devel RPM holds module.h and authmuxd.pc"
else
	fail "the authmuxd-devel RPM holds module.h and authmuxd.pc"
	sed 's/^/#   /' "$T/devel.list"
fi

# --- the ldap package: ldap.so, at most docs, and the build-id links
# that rpm (4.14 and later) adds for every ELF file it packages
grep -vE '^/usr/share/(doc|licenses)/|^/usr/lib/\.build-id(/|$)' \
    "$T/ldap.list" >"$T/ldap.rest"
if [ "$(cat "$T/ldap.rest")" = "$MODS/ldap.so" ]; then
	pass "the authmuxd-ldap RPM holds $MODS/ldap.so only"
else
	fail "the authmuxd-ldap RPM holds $MODS/ldap.so only"
	sed 's/^/#   /' "$T/ldap.list"
fi
rpm -qp --requires "$LDAP" >"$T/ldap.req" 2>&1
if grep -qE "^authmuxd(\([^)]*\))? = $VERSION-" "$T/ldap.req"; then
	pass "authmuxd-ldap requires authmuxd = $VERSION-release"
else
	fail "authmuxd-ldap requires authmuxd = $VERSION-release"
	sed 's/^/#   /' "$T/ldap.req"
fi

# --- config files, %config(noreplace) --------------------------------
rpm -qpc "$MAIN" >"$T/conf.list" 2>&1
for f in /etc/authmuxd.conf /etc/sysconfig/authmuxd; do
	check "$f is a config file (rpm -qpc)" grep -qx "$f" "$T/conf.list"
done
rpm -qp --qf '[%{FILEFLAGS:fflags} %{FILENAMES}\n]' "$MAIN" >"$T/flags" 2>&1
for f in /etc/authmuxd.conf /etc/sysconfig/authmuxd; do
	check "$f is noreplace" grep -qE "^[a-z]*c[a-z]*n[a-z]* $f\$" "$T/flags"
done

# --- scriptlets -------------------------------------------------------
rpm -qp --scripts "$MAIN" >"$T/scripts" 2>&1
# scriptlet NAME: the body of one scriptlet ("preinstall", "postinstall", ...)
scriptlet() {
	awk -v want="$1" '/^[a-z]+ scriptlet/ { on = ($1 == want); next } on' "$T/scripts"
}
scriptlet preinstall >"$T/pre"
check "%pre creates the group sasl when it is missing" \
    grep -qE 'getent group sasl[ >].*\|\| *groupadd -r sasl([^[:alnum:]_-]|$)' "$T/pre"
scriptlet postinstall >"$T/post"
check "%post handles authmuxd.service and adds postfix to sasl" \
    both grep -q 'authmuxd\.service' "$T/post" -- grep -q 'usermod -a -G sasl postfix' "$T/post"
# the fallbacks say disable and try-restart; Fedora's newer systemd
# macros hand the units to systemd-update-helper
scriptlet preuninstall >"$T/preun"
check "%preun stops and disables authmuxd.service" \
    both grep -q 'authmuxd\.service' "$T/preun" -- \
    grep -qE 'disable --now|remove-system-units' "$T/preun"
scriptlet postuninstall >"$T/postun"
check "%postun restarts authmuxd.service on upgrade" \
    grep -qE 'try-restart|mark-restart-system-units' "$T/postun"
# the scriptlets are sh; a syntax error would only show on a real system
for s in pre post preun postun; do
	check "%$s is valid sh" both [ -s "$T/$s" ] -- sh -n "$T/$s"
done

# --- the files themselves ---------------------------------------------
ROOT=$T/root
mkdir -p "$ROOT"
for p in "$MAIN" "$LDAP" "$DEVEL"; do
	(cd "$ROOT" && rpm2cpio "$p" | cpio -idm --quiet) 2>>"$T/cpio.log"
done
sed 's/^/#   cpio: /' "$T/cpio.log"

PC=$ROOT${MODS%/authmuxd}/pkgconfig/authmuxd.pc
check "authmuxd.pc: the module directory is $MODS" grep -qx "moduledir=$MODS" "$PC"
check "authmuxd.pc: module.h is under /usr/include/authmuxd" \
    both grep -qx 'includedir=/usr/include' "$PC" -- \
    grep -qx 'Cflags: -I${includedir}/authmuxd' "$PC"
abi=$(sed -n 's/^#define AM_MODULE_ABI //p' "$ROOT/usr/include/authmuxd/module.h")
check "authmuxd.pc: abi=$abi, module.h's" both [ -n "$abi" ] -- grep -qx "abi=$abi" "$PC"

check "authmuxd-start is executable" [ -x "$ROOT$START" ]
check "authmuxd-start reads /etc/sysconfig/authmuxd" \
    grep -qF 'DEFAULTS=${AUTHMUXD_DEFAULTS:-/etc/sysconfig/authmuxd}' "$ROOT$START"
check "authmuxd-start: chroot socket for /run/saslauthd" \
    grep -qF 'chroot_mux=$POSTFIX_SPOOL/run/saslauthd/mux' "$ROOT$START"
check "authmuxd-start: pid file in /run" \
    grep -qF -- '--pid-file /run/authmuxd.pid' "$ROOT$START"
check "authmuxd-start runs /usr/sbin/authmuxd" \
    grep -qF 'DAEMON=${AUTHMUXD_DAEMON:-/usr/sbin/authmuxd}' "$ROOT$START"
# and it does read it: a defaults file of our own, a daemon that prints
# its arguments (no ldap in MECHANISMS: /etc/saslauthd.conf stays out)
printf 'MECHANISMS="shadow,pam"\nTHREADS=7\nOPTIONS="-c"\nPOSTFIX_CHROOT=no\n' >"$T/defaults"
printf '#!/bin/sh\nprintf "%%s\\n" "$*"\n' >"$T/fakedaemon"
chmod +x "$T/fakedaemon"
expect_out "authmuxd-start builds the command line from the defaults file" 0 \
    "-a shadow,pam -n 7 --pid-file /run/authmuxd.pid -c -f" \
    env AUTHMUXD_DEFAULTS="$T/defaults" AUTHMUXD_DAEMON="$T/fakedaemon" \
    sh "$ROOT$START" -f
# Fedora's /etc/sysconfig/saslauthd, copied across as it is
printf 'SOCKETDIR=/run/saslauthd\nMECH=pam\nFLAGS="-r -c"\n' >"$T/fedora"
expect_out "authmuxd-start takes Fedora's saslauthd names (SOCKETDIR, MECH, FLAGS)" 0 \
    "-a pam --pid-file /run/authmuxd.pid -m /run/saslauthd -r -c -f" \
    env AUTHMUXD_DEFAULTS="$T/fedora" AUTHMUXD_DAEMON="$T/fakedaemon" \
    AUTHMUXD_POSTFIX_SPOOL="$T/no-postfix" sh "$ROOT$START" -f
check "the packaged /etc/sysconfig/authmuxd is etc/authmuxd.default" \
    cmp -s "$ROOT/etc/sysconfig/authmuxd" "$top_srcdir/etc/authmuxd.default"

for u in service socket; do
	check "authmuxd.$u is in the RPM's tree" [ -f "$ROOT$UNITDIR/authmuxd.$u" ]
done
execstart=$(sed -n 's/^ExecStart=//p' "$ROOT$UNITDIR/authmuxd.service" 2>/dev/null)
check "the unit runs $START -f" [ "$execstart" = "$START -f" ]
check "the unit's start script is in the package" [ -x "$ROOT${execstart%% *}" ]
check "the unit names /etc/sysconfig/authmuxd" \
    grep -q '/etc/sysconfig/authmuxd' "$ROOT$UNITDIR/authmuxd.service"
check "no @...@ left in the service files" \
    without "$ROOT$START" '@[a-zA-Z_]+@' \
    "$ROOT$UNITDIR/authmuxd.service" "$ROOT$UNITDIR/authmuxd.socket"

# --- the binaries run -------------------------------------------------
expect_out "authmuxd -v from the RPM" 0 \
    "$(printf 'authmuxd %s\nauthentication mechanisms: file shadow pam ldap' "$VERSION")" \
    "$ROOT/usr/sbin/authmuxd" -v
"$ROOT/usr/sbin/authmuxd" -h >"$T/help" 2>&1
check "compiled-in socket directory /run/saslauthd" \
    grep -qF '(default /run/saslauthd)' "$T/help"
check "compiled-in module directory $MODS" \
    grep -qF "(default $MODS)" "$T/help"
"$ROOT/usr/bin/authmux" -h >"$T/chelp" 2>&1
check "the client's default socket is /run/saslauthd/mux" \
    grep -qF '(default: /run/saslauthd/mux)' "$T/chelp"
# every packaged module, the ldap one from the other RPM included, loads
# into the packaged daemon
grep -m1 '^alice:' "$top_srcdir/tests/integration/users.passwd" >"$T/users"
chmod 600 "$T/users"
printf '%s\n' "file_path: $T/users" "ldap_servers: ldap://127.0.0.1:1/" \
    "ldap_search_base: dc=example,dc=org" >"$T/check.conf"
mechs=file,pam,ldap
[ -r /etc/shadow ] && mechs=file,shadow,pam,ldap
expect_out "the packaged modules load ($mechs, --check-config)" 0 \
    "configuration OK" "$ROOT/usr/sbin/authmuxd" --check-config -a "$mechs" \
    -O "$T/check.conf" --module-dir "$ROOT$MODS"

done_testing
