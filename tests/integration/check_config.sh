#!/bin/bash
# --check-config: "configuration OK", or every error as file:line: key: ...
. "$top_srcdir/tests/integration/lib.sh"

CC() { "$AUTHMUXD" --check-config -a file -m "$RUN" -O "$CONF" --module-dir "$MODDIR" "$@"; }

write_conf "read_timeout: 3" "listen: $T/chroot/mux"
expect_out "a good config" 0 "configuration OK" CC

printf '%s\n' "# comment" "file_path: $USERS" "threads: lots" "read_timeout: 0" \
    "this line has no colon" "bogus_key: 1" "socket_dir_mode: 0777" \
    "listen: relative/mux" "log_facility: nowhere" "realm_join: maybe" > "$CONF"
CC > "$T/out" 2> "$T/err"; rc=$?
check "errors: non-zero exit" [ $rc -ne 0 ]
check "errors: no OK printed" [ ! -s "$T/out" ]
for want in \
    "$CONF:3: threads: \"lots\" is not a number" \
    "$CONF:4: read_timeout: 0 is out of range (1 to 3600)" \
    "$CONF:5: expected \"key: value\", found no ':'" \
    "$CONF:6: bogus_key: unknown key, ignored" \
    "$CONF:7: socket_dir_mode: a directory writable by everyone is refused" \
    "$CONF:8: listen: \"relative/mux\" is not an absolute path" \
    "$CONF:9: log_facility: unknown facility" \
    "$CONF:10: realm_join: \"maybe\" is not yes or no"; do
	check "reports: $want" grep -qF -- "$want" "$T/err"
done

# saslauthd.conf with ldap keys and the file backend: warnings, still OK
write_conf "ldap_servers: ldap://127.0.0.1/" "ldap_search_base: dc=example,dc=com"
expect_out "ldap keys without the ldap backend are warnings" 0 "configuration OK" CC
check "and the warning says why" grep -q "ldap_servers: unused: the ldap backend is not in the chain" "$T/stderr"

# the backend's own check: a missing password file
printf '%s\n' "file_path: $T/nope.passwd" > "$CONF"
CC > "$T/out" 2> "$T/err"
check "missing password file: non-zero exit" [ $? -ne 0 ]
check "missing password file: named" grep -q "$T/nope.passwd" "$T/err"

# command-line values are checked too
write_conf
CC -n 0x > "$T/out" 2> "$T/err"
check "bad -n refused" [ $? -ne 0 ]
check "bad -n reported" grep -q "command line: threads:" "$T/err"
"$AUTHMUXD" --check-config -m "$RUN" -O "$CONF" --module-dir "$MODDIR" > "$T/out" 2> "$T/err"
check "no backend: refused" [ $? -ne 0 ]
check "no backend: says use -a" grep -q "use -a" "$T/err"
done_testing
