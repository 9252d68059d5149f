#!/bin/bash
# build.sh -- compile the libFuzzer harnesses with clang
# (-fsanitize=fuzzer,address,undefined) into a directory, straight from
# the sources: no configure switch, and the build tree's objects (gcc,
# hardening flags) are not touched.
#
#   tests/fuzz/build.sh [OUTDIR [NAME...]]
#
# OUTDIR defaults to tests/fuzz/libfuzzer (in the build tree when run by
# make), NAME to every harness (each has its seeds in corpus/NAME/).  A
# harness is compiled again only when one of its sources is newer than it.
# CC_FUZZ names the compiler (default clang).  Needs clang and libclang-rt-14-dev
# (libFuzzer and the sanitizer runtimes), and the build's -dev packages.
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-.}
out=${1:-$top_builddir/tests/fuzz/libfuzzer}
[ $# -gt 0 ] && shift
names=${*:-$(cd "$top_srcdir/tests/fuzz/corpus" && echo *)}
cc=${CC_FUZZ:-clang}

s=$top_srcdir
cflags="-g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined
 -fno-sanitize-recover=undefined -D_GNU_SOURCE -Wall -Wextra
 -Wno-unused-parameter -I$s/src -I$s/tests/fuzz"

# sources NAME: what the harness is compiled from, and what it includes
# (a change to either means a new build)
sources() {
	case $1 in
	proto)  echo "$s/tests/fuzz/fuzz_proto.c $s/src/saslauthd_proto.c" ;;
	config) echo "$s/tests/fuzz/fuzz_config.c $s/src/log.c" ;;
	passwd) echo "$s/tests/fuzz/fuzz_passwd.c $s/src/config.c $s/src/log.c
		$s/src/secfile.c $s/src/pwhash.c" ;;
	shadow) echo "$s/tests/fuzz/fuzz_shadow.c $s/src/config.c $s/src/log.c
		$s/src/secfile.c" ;;
	expand) echo "$s/tests/fuzz/fuzz_expand.c $s/modules/ldap/expand.c" ;;
	*) return 1 ;;
	esac
}
includes() {
	case $1 in
	config) echo "$s/src/config.c" ;;
	passwd) echo "$s/modules/file/file.c" ;;
	shadow) echo "$s/modules/shadow/shadow.c" ;;
	esac
	echo "$s/tests/fuzz/fuzz.h $s/src/*.h $s/modules/ldap/expand.h"
}
libs() {
	case $1 in
	passwd) echo "$(pkg-config --cflags --libs libsodium libcrypt \
		libcrypto apr-1) -laprutil-1" ;;
	shadow) pkg-config --cflags --libs libsodium libcrypt ;;
	esac
}

mkdir -p "$out" || exit 1
rc=0
for name in $names; do
	src=$(sources "$name") || { echo "build.sh: no harness $name" >&2; exit 2; }
	bin=$out/fuzz_$name
	stale=no
	[ -x "$bin" ] || stale=yes
	# shellcheck disable=SC2046 # the lists are words, and globs
	for f in $src $(includes "$name"); do
		[ "$f" -nt "$bin" ] && stale=yes
	done
	[ $stale = no ] && continue
	echo "build.sh: $cc ... -o $bin"
	# shellcheck disable=SC2086
	$cc $cflags $src $(libs "$name") -o "$bin.tmp" && mv "$bin.tmp" "$bin" ||
		{ rm -f "$bin.tmp"; rc=1; }
done
exit $rc
