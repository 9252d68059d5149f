/*
 * privs.c -- core dumps and dumpability; see privs.h.
 */
#include <sys/prctl.h>
#include <sys/resource.h>

#include "log.h"
#include "privs.h"

void
privs_harden(void)
{
	struct rlimit rl = { 0, 0 };

	if (setrlimit(RLIMIT_CORE, &rl) == -1)
		fatal("setrlimit(RLIMIT_CORE, 0): a core dump would hold "
		    "passwords; refusing to start");
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		fatal("prctl(PR_SET_DUMPABLE, 0): refusing to start "
		    "dumpable");
}
