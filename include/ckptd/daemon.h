/* daemon.h - the long-running daemon: the top-level context that owns the
 * loop, the inotify registry, the signal fd and every watched run.  It is
 * the only mutable state beyond what each module owns. */
#ifndef CKPTD_DAEMON_H
#define CKPTD_DAEMON_H

#include <stdbool.h>

#include "ckptd/config.h"
#include "ckptd/log.h"

struct ckptd_daemon_opts {
	const char *config_path;
	bool dry_run;
	bool verbose;
};

/* Run until SIGTERM/SIGINT.  cfg is taken over (freed, or replaced on
 * SIGHUP by a valid new config).  Returns an exit code (sysexits). */
int daemon_main(const struct ckptd_daemon_opts *o, struct ckptd_config *cfg);

#endif
