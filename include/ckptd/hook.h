/* hook.h - exec hooks and other child processes, without a shell.
 *
 * hook_spawn substitutes {run} {event} {key} inside each argument (a
 * substituted value never splits an argument or reaches a shell), puts
 * CKPTD_RUN, CKPTD_EVENT, CKPTD_KEY in the environment, writes the event
 * JSON to the child's stdin and closes it, and returns a pidfd the event
 * loop watches.  The loop kills a hook still running after its timeout
 * (30 s) with hook_kill and reaps it with hook_reap. */
#ifndef CKPTD_HOOK_H
#define CKPTD_HOOK_H

#include <stdint.h>
#include <sys/types.h>

#define CKPTD_HOOK_TIMEOUT_MS 30000

struct ckptd_hook_vars {
	const char *run;
	const char *event;
	const char *key;     /* decimal, or "" */
};

struct ckptd_child {
	pid_t pid;
	int pidfd;           /* readable (EPOLLIN) when the child has exited */
};

/* argv: NULL-terminated template (argv[0] a path: execv, no PATH search
 * unless it has no '/').  stdin_data may be NULL.  0, or -1 with errno
 * (the child is not started). */
int hook_spawn(char *const argv[], const struct ckptd_hook_vars *vars,
               const char *stdin_data, struct ckptd_child *out);

/* Run fn(arg) in a forked child that exits with fn's return value (0..255):
 * for slow work (compression, copies) off the loop thread. */
int child_run(int (*fn)(void *arg), void *arg, struct ckptd_child *out);

/* SIGKILL the child (its process group for hooks). */
void hook_kill(const struct ckptd_child *c);

/* Reap an exited child: 1 with *status as waitpid gives it, 0 if it is
 * still running (no wait), -1 with errno.  Closes the pidfd once reaped. */
int hook_reap(struct ckptd_child *c, int *status);

/* Substitute {run} {event} {key} in one argument into buf.  -1 (ENAMETOOLONG)
 * when it does not fit.  Exposed for tests. */
int hook_subst(const char *arg, const struct ckptd_hook_vars *vars, char *buf, size_t len);

#endif
