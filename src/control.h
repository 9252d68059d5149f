/*
 * control.h -- the control socket: root-only commands to a running
 * daemon, one line in, text out, as "authmux cache stats" sends them.
 */
#ifndef AUTHMUX_CONTROL_H
#define AUTHMUX_CONTROL_H

#include "loop.h"

#define CONTROL_SOCKET_NAME "authmuxd.ctl"

extern const struct conn_proto control_proto;

#endif
