# deps.sh -- the Debian packages authmuxd needs, sourced by the scripts.
# Build: compiler, autotools, libraries.  Test: the real peers the
# integration tests talk to (testsaslauthd from sasl2-bin, libsasl2, slapd
# and its tools), the tools that made the hash vectors, and clang with
# libFuzzer and the sanitizer runtimes for tests/fuzz/fuzz.sh.
BUILD_DEPS="build-essential autoconf automake libtool pkg-config
 libsodium-dev libcrypt-dev libssl-dev libaprutil1-dev libsasl2-dev libpam0g-dev libldap2-dev"
TEST_DEPS="sasl2-bin libsasl2-modules valgrind libpam-pwdfile
 slapd ldap-utils openssl
 dpkg-dev debhelper lintian rpm cpio postfix swaks systemd socat man-db
 clang libclang-rt-14-dev"

# the package tests, run by ./run-tests after "make check"
PACKAGE_TESTS="tests/package/deb.sh tests/package/rpm.sh"

# debconf answers for the test packages: no system directory from slapd
# (the tests start their own) and no Postfix configuration (the package
# test writes its own, on loopback)
PRESEED="slapd slapd/no_configuration boolean true
postfix postfix/main_mailer_type select No configuration"

# install_missing PKG...: apt-get the packages that are not installed.
install_missing() {
	missing=
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
			missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	echo ">> installing:$missing"
	if [ "$(id -u)" = 0 ]; then SUDO=; elif command -v sudo >/dev/null; then SUDO=sudo; else
		echo "!! missing packages:$missing -- install them as root (apt-get install$missing)" >&2
		return 1
	fi
	# slapd's and postfix's packages would otherwise set up and start
	# servers of their own on every interface
	echo "$PRESEED" | $SUDO debconf-set-selections 2>/dev/null
	$SUDO apt-get update -qq &&
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
}

# build [CONFIGURE ARGS...]: configure once and make.
build() {
	[ -x configure ] || autoreconf -fi >/dev/null 2>&1 || autoreconf -fi
	if [ ! -f Makefile ] || [ -n "$*" ]; then
		./configure -q "$@" || return 1
	fi
	make -j"$(nproc)" >/dev/null || make
}
