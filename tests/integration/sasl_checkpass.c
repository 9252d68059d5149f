/*
 * sasl_checkpass -- a real libsasl2 server application checking a
 * password the way Postfix's smtpd does, with pwcheck_method saslauthd.
 *
 * usage: sasl_checkpass SOCKET USER PASSWORD [SERVICE [REALM]]
 * Prints "OK" or the libsasl2 error and exits 0 on SASL_OK, 1 otherwise.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sasl/sasl.h>

static const char *socket_path;

static int
getopt_cb(void *context, const char *plugin, const char *option,
    const char **result, unsigned *len)
{
	if (strcmp(option, "pwcheck_method") == 0)
		*result = "saslauthd";
	else if (strcmp(option, "saslauthd_path") == 0)
		*result = socket_path;
	else if (strcmp(option, "auxprop_plugin") == 0)
		*result = "";
	else
		return SASL_FAIL;
	if (len != NULL)
		*len = strlen(*result);
	return SASL_OK;
}

int
main(int argc, char *argv[])
{
	const sasl_callback_t cbs[] = {
		{ SASL_CB_GETOPT, (int (*)(void))getopt_cb, NULL },
		{ SASL_CB_LIST_END, NULL, NULL },
	};
	sasl_conn_t *conn;
	const char *service, *realm;
	int r;

	if (argc < 4 || argc > 6) {
		fprintf(stderr, "usage: sasl_checkpass SOCKET USER PASSWORD "
		    "[SERVICE [REALM]]\n");
		return 2;
	}
	socket_path = argv[1];
	service = argc > 4 ? argv[4] : "smtp";
	realm = argc > 5 ? argv[5] : NULL;
	if ((r = sasl_server_init(cbs, "sasl_checkpass")) != SASL_OK) {
		fprintf(stderr, "sasl_server_init: %s\n",
		    sasl_errstring(r, NULL, NULL));
		return 2;
	}
	r = sasl_server_new(service, "localhost", realm, NULL, NULL, cbs, 0,
	    &conn);
	if (r != SASL_OK) {
		fprintf(stderr, "sasl_server_new: %s\n",
		    sasl_errstring(r, NULL, NULL));
		return 2;
	}
	r = sasl_checkpass(conn, argv[2], strlen(argv[2]), argv[3],
	    strlen(argv[3]));
	printf("%s\n", r == SASL_OK ? "OK" : sasl_errstring(r, NULL, NULL));
	sasl_dispose(&conn);
	sasl_done();
	return r == SASL_OK ? 0 : 1;
}
