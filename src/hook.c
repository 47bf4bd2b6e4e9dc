/* hook.c - alert hooks and worker children.
 *
 * A hook is started with posix_spawn(3): no shell, each substituted value
 * stays inside the one argument it was written in.  The child gets the
 * daemon's environment plus CKPTD_RUN/EVENT/KEY, the event JSON on a pipe
 * as stdin (written before the spawn, so the daemon never blocks on it),
 * the daemon's stdout and stderr (the journal), default signal mask and
 * dispositions (the daemon blocks signals for signalfd), no other fd, and
 * a session of its own so that a timeout kills everything it started.
 * The event loop watches the pidfd; hook_kill and hook_reap finish it. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ckptd/hook.h"

/* The kernel refuses an argument or environment string longer than
 * MAX_ARG_STRLEN (32 pages): fail before spawning instead. */
#define MAX_STRLEN (32u * 4096u)

/* Room asked for the stdin pipe when the JSON is larger than the default
 * 64 KiB (best effort: pipe-max-size and the user's pipe quota decide). */
#define MAX_PIPE_SZ (1024 * 1024)

static const struct ckptd_hook_vars no_vars = { "", "", "" };

static const char *or_empty(const char *s)
{
	return s ? s : "";
}

/* The value of the placeholder starting at p ("{run}", "{event}",
 * "{key}"), its length in *plen; NULL when p starts none of them. */
static const char *placeholder(const char *p, const struct ckptd_hook_vars *v, size_t *plen)
{
	if (strncmp(p, "{run}", 5) == 0) {
		*plen = 5;
		return or_empty(v->run);
	}
	if (strncmp(p, "{event}", 7) == 0) {
		*plen = 7;
		return or_empty(v->event);
	}
	if (strncmp(p, "{key}", 5) == 0) {
		*plen = 5;
		return or_empty(v->key);
	}
	return NULL;
}

/* Substitute into buf (len bytes, NUL included, as much as fits; buf may
 * be NULL when len is 0).  Returns the length of the whole result, NUL
 * excluded, as snprintf does.  Values are copied, never rescanned. */
static size_t subst(const char *arg, const struct ckptd_hook_vars *v, char *buf, size_t len)
{
	size_t n = 0;
	const char *p = arg;

	while (*p) {
		size_t plen = 0, slen;
		const char *s = *p == '{' ? placeholder(p, v, &plen) : NULL;
		if (s) {
			slen = strlen(s);
			p += plen;
		} else {
			const char *brace = strchr(p + 1, '{');
			s = p;
			slen = brace ? (size_t)(brace - p) : strlen(p);
			p += slen;
		}
		if (len > 0 && n < len - 1) {
			size_t room = len - 1 - n;
			memcpy(buf + n, s, slen < room ? slen : room);
		}
		n += slen;
	}
	if (len > 0)
		buf[n < len - 1 ? n : len - 1] = '\0';
	return n;
}

int hook_subst(const char *arg, const struct ckptd_hook_vars *vars, char *buf, size_t len)
{
	if (!arg || (!buf && len > 0)) {
		errno = EINVAL;
		return -1;
	}
	if (subst(arg, vars ? vars : &no_vars, buf, len) >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* What posix_spawn is handed, all of it owned here except the strings of
 * environ that envp borrows. */
struct spawn_args {
	char **argv;
	size_t argc;
	char **envp;
	char *env[3];
};

static void spawn_args_free(struct spawn_args *a)
{
	if (a->argv) {
		for (size_t i = 0; i < a->argc; i++)
			free(a->argv[i]);
		free(a->argv);
	}
	free(a->envp);
	for (size_t i = 0; i < 3; i++)
		free(a->env[i]);
}

static char *subst_dup(const char *arg, const struct ckptd_hook_vars *v)
{
	size_t n = subst(arg, v, NULL, 0);
	char *s;

	if (n >= MAX_STRLEN) {
		errno = E2BIG;
		return NULL;
	}
	s = malloc(n + 1);
	if (s)
		subst(arg, v, s, n + 1);
	return s;
}

static int build_argv(struct spawn_args *a, char *const tmpl[], const struct ckptd_hook_vars *v)
{
	size_t n = 0;
	char **args;

	while (tmpl[n])
		n++;
	args = calloc(n + 1, sizeof(*args));
	if (!args)
		return -1;
	for (size_t i = 0; i < n; i++) {
		args[i] = subst_dup(tmpl[i], v);
		if (!args[i]) {
			int e = errno;
			while (i-- > 0)
				free(args[i]);
			free(args);
			errno = e;
			return -1;
		}
	}
	a->argv = args;
	a->argc = n;
	return 0;
}

static char *env_var(const char *name, const char *value)
{
	size_t nl = strlen(name), vl = strlen(value);
	char *s;

	if (nl + 1 + vl >= MAX_STRLEN) {
		errno = E2BIG;
		return NULL;
	}
	s = malloc(nl + 1 + vl + 1);
	if (!s)
		return NULL;
	memcpy(s, name, nl);
	s[nl] = '=';
	memcpy(s + nl + 1, value, vl + 1);
	return s;
}

static bool is_hook_var(const char *e)
{
	return strncmp(e, "CKPTD_RUN=", 10) == 0 || strncmp(e, "CKPTD_EVENT=", 12) == 0 ||
	       strncmp(e, "CKPTD_KEY=", 10) == 0;
}

/* environ without its CKPTD_RUN/EVENT/KEY, then ours. */
static int build_envp(struct spawn_args *a, const struct ckptd_hook_vars *v)
{
	size_t n = 0, k = 0;

	for (char **e = environ; e && *e; e++)
		n++;
	a->envp = calloc(n + 4, sizeof(*a->envp));
	if (!a->envp)
		return -1;
	for (char **e = environ; e && *e; e++)
		if (!is_hook_var(*e))
			a->envp[k++] = *e;
	a->env[0] = env_var("CKPTD_RUN", or_empty(v->run));
	a->env[1] = env_var("CKPTD_EVENT", or_empty(v->event));
	a->env[2] = env_var("CKPTD_KEY", or_empty(v->key));
	for (size_t i = 0; i < 3; i++) {
		if (!a->env[i])
			return -1;
		a->envp[k++] = a->env[i];
	}
	return 0;
}

/* Put what fits of data into the pipe without ever blocking.  The read
 * end is still open here, so there is no EPIPE and no SIGPIPE. */
static int feed(int fd, const char *data)
{
	size_t len = data ? strlen(data) : 0, off = 0;
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -1;
	if (len > 65536)
		(void)fcntl(fd, F_SETPIPE_SZ, len < MAX_PIPE_SZ ? (int)len : MAX_PIPE_SZ);
	while (off < len) {
		ssize_t w = write(fd, data + off, len - off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break; /* full: the hook gets a truncated JSON */
			return -1;
		}
		off += (size_t)w;
	}
	return 0;
}

/* Open a pipe whose read end is not one of 0-2 (should the daemon run
 * with one of them closed) and fill it. */
static int stdin_pipe(const char *data, int *rd)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	if (p[0] <= 2) {
		int fd = fcntl(p[0], F_DUPFD_CLOEXEC, 3);
		if (fd < 0) {
			int e = errno;
			close(p[0]);
			close(p[1]);
			errno = e;
			return -1;
		}
		close(p[0]);
		p[0] = fd;
	}
	if (feed(p[1], data) < 0) {
		int e = errno;
		close(p[0]);
		close(p[1]);
		errno = e;
		return -1;
	}
	if (close(p[1]) < 0 && errno != EINTR) {
		int e = errno;
		close(p[0]);
		errno = e;
		return -1;
	}
	*rd = p[0];
	return 0;
}

/* Kill and reap a child we cannot watch (no pidfd). */
static void abandon(pid_t pid, bool group)
{
	int st;

	if (!group || kill(-pid, SIGKILL) < 0)
		(void)kill(pid, SIGKILL);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
}

static int watch(pid_t pid, bool group, struct ckptd_child *out)
{
	int fd = pidfd_open(pid, 0);

	if (fd < 0) {
		int e = errno;
		abandon(pid, group);
		errno = e;
		return -1;
	}
	out->pid = pid;
	out->pidfd = fd;
	return 0;
}

static int do_spawn(pid_t *pid, const struct spawn_args *a, int rd)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, all;
	int err;

	err = posix_spawn_file_actions_init(&fa);
	if (err)
		return err;
	err = posix_spawnattr_init(&at);
	if (err) {
		posix_spawn_file_actions_destroy(&fa);
		return err;
	}
	sigemptyset(&none);
	sigfillset(&all);
	if (!err)
		err = posix_spawn_file_actions_adddup2(&fa, rd, 0);
	if (!err)
		err = posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	if (!err)
		err = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
		                                        POSIX_SPAWN_SETSID);
	if (!err)
		err = posix_spawnattr_setsigmask(&at, &none);
	if (!err)
		err = posix_spawnattr_setsigdefault(&at, &all);
	if (!err) {
		if (strchr(a->argv[0], '/'))
			err = posix_spawn(pid, a->argv[0], &fa, &at, a->argv, a->envp);
		else
			err = posix_spawnp(pid, a->argv[0], &fa, &at, a->argv, a->envp);
	}
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
	return err;
}

int hook_spawn(char *const argv[], const struct ckptd_hook_vars *vars,
               const char *stdin_data, struct ckptd_child *out)
{
	struct spawn_args a = { 0 };
	int rd = -1, err = 0, ret = -1;
	pid_t pid;

	if (!argv || !argv[0] || !out) {
		errno = EINVAL;
		return -1;
	}
	out->pid = -1;
	out->pidfd = -1;
	if (!vars)
		vars = &no_vars;
	if (build_argv(&a, argv, vars) < 0 || build_envp(&a, vars) < 0)
		goto out;
	if (a.argv[0][0] == '\0') {
		errno = ENOENT;
		goto out;
	}
	if (stdin_pipe(stdin_data, &rd) < 0)
		goto out;
	err = do_spawn(&pid, &a, rd);
	if (err) {
		errno = err;
		goto out;
	}
	ret = watch(pid, true, out);
out:
	err = errno;
	if (rd >= 0)
		close(rd);
	spawn_args_free(&a);
	errno = err;
	return ret;
}

int child_run(int (*fn)(void *arg), void *arg, struct ckptd_child *out)
{
	pid_t pid;

	if (!fn || !out) {
		errno = EINVAL;
		return -1;
	}
	out->pid = -1;
	out->pidfd = -1;
	pid_t parent = getpid();
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		sigset_t none;
		sigemptyset(&none);
		/* The work dies with the daemon: a restarted daemon must not find
		 * an orphan still writing its archive (it removes the temporary
		 * and decides again).  The getppid check closes the race with a
		 * parent that died before the prctl. */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
			_exit(127);
		if (sigprocmask(SIG_SETMASK, &none, NULL) < 0)
			_exit(127);
		_exit(fn(arg) & 0xff);
	}
	return watch(pid, false, out);
}

void hook_kill(const struct ckptd_child *c)
{
	/* pidfd < 0: never started or already reaped, and then pid may name
	 * someone else by now */
	if (!c || c->pid <= 0 || c->pidfd < 0)
		return;
	/* a hook leads its own session and group; a child_run child does
	 * not, and no group has its pid as id: ESRCH */
	if (kill(-c->pid, SIGKILL) < 0)
		(void)kill(c->pid, SIGKILL);
}

static void mark_reaped(struct ckptd_child *c)
{
	/* pid stays for the caller's log line; pidfd < 0 says "reaped" */
	(void)close(c->pidfd);
	c->pidfd = -1;
}

int hook_reap(struct ckptd_child *c, int *status)
{
	int st;
	pid_t r;

	if (!c) {
		errno = EINVAL;
		return -1;
	}
	if (c->pid <= 0 || c->pidfd < 0) {
		errno = ECHILD;
		return -1;
	}
	do
		r = waitpid(c->pid, &st, WNOHANG);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		return 0;
	if (r < 0) {
		int e = errno;
		if (e == ECHILD) /* reaped behind our back (SIGCHLD ignored) */
			mark_reaped(c);
		errno = e;
		return -1;
	}
	if (status)
		*status = st;
	mark_reaped(c);
	return 1;
}
