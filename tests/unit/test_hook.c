/* Unit tests: hooks and worker children, with real processes.
 *
 * Several hooks here are /bin/sh scripts: the test writes their argv, so a
 * shell is the test's own choice; what is checked is that the substituted
 * values reach it as exact, separate, uninterpreted arguments. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ckptd/hook.h"

#define WAIT_MS 10000

struct tmp {
	char dir[64];
};

static void tmp_make(struct tmp *t)
{
	strcpy(t->dir, "/tmp/ckptd-hook-XXXXXX");
	assert_non_null(mkdtemp(t->dir));
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void tmp_remove(struct tmp *t)
{
	assert_int_equal(nftw(t->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
}

static void tmp_path(const struct tmp *t, const char *name, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/%s", t->dir, name);
	assert_true(n > 0 && (size_t)n < len);
}

/* The whole file, NUL-terminated (NULL when it does not exist). */
static char *slurp(const char *path, size_t *lenp)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (!f)
		return NULL;
	do {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 8192;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
	} while (n > 0);
	assert_int_equal(ferror(f), 0);
	fclose(f);
	buf[len] = '\0';
	if (lenp)
		*lenp = len;
	return buf;
}

static long monotonic_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait (poll, bounded) until the child exits; reap it; its wait status. */
static int finish(struct ckptd_child *c)
{
	struct pollfd p = { .fd = c->pidfd, .events = POLLIN };
	int r, st = -1;

	assert_true(c->pidfd >= 0);
	do
		r = poll(&p, 1, WAIT_MS);
	while (r < 0 && errno == EINTR);
	assert_int_equal(r, 1);
	assert_int_equal(hook_reap(c, &st), 1);
	assert_int_equal(c->pidfd, -1);
	return st;
}

static void assert_exited(int st, int code)
{
	if (!WIFEXITED(st) || WEXITSTATUS(st) != code)
		fail_msg("wait status %#x, want exit %d", (unsigned)st, code);
}

static void assert_killed(int st)
{
	if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL)
		fail_msg("wait status %#x, want SIGKILL", (unsigned)st);
}

/* Run a hook with its stdout going to the file out (as the daemon's goes
 * to the journal), wait for it: its wait status. */
static int run_capture(char *const argv[], const struct ckptd_hook_vars *v, const char *in,
                       const char *out)
{
	struct ckptd_child c;
	int fd, saved, rc, e;

	fflush(stdout);
	fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	saved = fcntl(1, F_DUPFD_CLOEXEC, 3);
	assert_true(saved >= 0);
	assert_int_equal(dup2(fd, 1), 1);
	rc = hook_spawn(argv, v, in, &c);
	e = errno;
	assert_int_equal(dup2(saved, 1), 1);
	close(saved);
	close(fd);
	if (rc != 0)
		fail_msg("hook_spawn: %s", strerror(e));
	return finish(&c);
}

/* ---- hook_subst ---- */

static void expect_subst(const struct ckptd_hook_vars *v, const char *arg, const char *want)
{
	char buf[256];
	if (hook_subst(arg, v, buf, sizeof(buf)) != 0)
		fail_msg("hook_subst(\"%s\"): %s", arg, strerror(errno));
	assert_string_equal(buf, want);
}

static void test_subst(void **state)
{
	const struct ckptd_hook_vars v = { "clinic07", "degraded", "12" };
	const struct ckptd_hook_vars empty_key = { "r", "stalled", "" };
	const struct ckptd_hook_vars nulls = { NULL, NULL, NULL };
	const struct ckptd_hook_vars nested = { "{event}", "{key}", "{run}" };
	(void)state;

	expect_subst(&v, "{run}", "clinic07");
	expect_subst(&v, "--run={run}", "--run=clinic07");
	expect_subst(&v, "{run}/{event}@{key}.json", "clinic07/degraded@12.json");
	expect_subst(&v, "{run}{run}{key}", "clinic07clinic0712");
	expect_subst(&v, "plain", "plain");
	expect_subst(&v, "", "");
	/* other braces stay as they are */
	expect_subst(&v, "{runs} {run {Run} {} { run} }{ {{run}}", "{runs} {run {Run} {} { run} }{ {clinic07}");
	expect_subst(&v, "{", "{");
	expect_subst(&v, "{key", "{key");
	expect_subst(&empty_key, "key={key}.", "key=.");
	expect_subst(&nulls, "[{run}|{event}|{key}]", "[||]");
	expect_subst(NULL, "[{run}]", "[]");
	/* values are copied, never substituted again */
	expect_subst(&nested, "{run} {event} {key}", "{event} {key} {run}");
}

static void test_subst_truncation(void **state)
{
	const struct ckptd_hook_vars v = { "abc", "e", "" };
	char buf[8];
	(void)state;

	assert_int_equal(hook_subst("{run}", &v, buf, 4), 0); /* "abc" + NUL: fits */
	assert_string_equal(buf, "abc");
	errno = 0;
	assert_int_equal(hook_subst("{run}", &v, buf, 3), -1);
	assert_int_equal(errno, ENAMETOOLONG);
	assert_string_equal(buf, "ab"); /* truncated, still a string */
	errno = 0;
	assert_int_equal(hook_subst("x{run}{run}", &v, buf, 7), -1);
	assert_int_equal(errno, ENAMETOOLONG);
	assert_string_equal(buf, "xabcab");
	assert_int_equal(hook_subst("x{run}{run}", &v, buf, 8), 0);
	assert_string_equal(buf, "xabcabc");
	errno = 0;
	assert_int_equal(hook_subst("", &v, buf, 0), -1);
	assert_int_equal(errno, ENAMETOOLONG);
	assert_int_equal(hook_subst("1234567", &v, buf, sizeof(buf)), 0);
	assert_int_equal(hook_subst("12345678", &v, buf, sizeof(buf)), -1);
	assert_int_equal(errno, ENAMETOOLONG);
}

/* ---- hook_spawn ---- */

static const char event_json[] =
	"{\"ts\": \"2024-05-01T10:00:00Z\", \"run\": \"a; rm -rf /tmp/x\", \"event\": \"degraded\", "
	"\"key\": 12, \"message\": \"val_loss rose \\\"3 times\\\"\\n$(id)\"}\n";

static void test_arguments_stay_literal(void **state)
{
	struct tmp t;
	char out[128], pwned[128], event[320], want[1024];
	char *got;
	(void)state;

	tmp_make(&t);
	tmp_path(&t, "out", out, sizeof(out));
	tmp_path(&t, "pwned", pwned, sizeof(pwned));
	snprintf(event, sizeof(event), "$(touch %s)`touch %s`", pwned, pwned);
	const struct ckptd_hook_vars v = { "a; rm -rf /tmp/x", event, "1 2\n'\"*${HOME}" };
	char *const argv[] = {
		"/bin/sh", "-c", "out=$1; shift; printf '[%s]\\n' \"$@\" > \"$out\"; cat > \"$out.in\"",
		"sh", out, "{run}", "{event}", "{key}", "--tag={run}|{key}", "{unknown}", NULL,
	};
	struct ckptd_child c;

	assert_int_equal(hook_spawn(argv, &v, event_json, &c), 0);
	assert_true(c.pid > 0);
	assert_exited(finish(&c), 0);

	snprintf(want, sizeof(want), "[a; rm -rf /tmp/x]\n[%s]\n[1 2\n'\"*${HOME}]\n"
	         "[--tag=a; rm -rf /tmp/x|1 2\n'\"*${HOME}]\n[{unknown}]\n", event);
	got = slurp(out, NULL);
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
	assert_int_equal(access(pwned, F_OK), -1);

	/* the event JSON arrived intact on stdin, then EOF */
	strcat(out, ".in");
	got = slurp(out, NULL);
	assert_non_null(got);
	assert_string_equal(got, event_json);
	free(got);
	tmp_remove(&t);
}

static int count_lines(const char *text, const char *line)
{
	size_t n = strlen(line);
	int count = 0;
	for (const char *p = text; p; p = strchr(p, '\n')) {
		if (*p == '\n')
			p++;
		if (strncmp(p, line, n) == 0 && (p[n] == '\n' || p[n] == '\0'))
			count++;
	}
	return count;
}

static int count_prefix(const char *text, const char *prefix)
{
	size_t n = strlen(prefix);
	int count = 0;
	for (const char *p = text; p; p = strchr(p, '\n')) {
		if (*p == '\n')
			p++;
		if (strncmp(p, prefix, n) == 0)
			count++;
	}
	return count;
}

static void test_environment(void **state)
{
	const struct ckptd_hook_vars v = { "clinic07", "non_finite", "" };
	struct tmp t;
	char out[128], *env;
	(void)state;

	tmp_make(&t);
	tmp_path(&t, "env", out, sizeof(out));
	/* stale values the daemon may have inherited are replaced, not doubled */
	setenv("CKPTD_RUN", "stale", 1);
	setenv("CKPTD_KEY", "99", 1);
	setenv("CKPTD_RUNS", "keep", 1);
	setenv("CKPTD_TEST_MARK", "kept", 1);

	char *const argv[] = { "/usr/bin/env", NULL };
	assert_exited(run_capture(argv, &v, NULL, out), 0);
	env = slurp(out, NULL);
	assert_non_null(env);
	assert_int_equal(count_lines(env, "CKPTD_RUN=clinic07"), 1);
	assert_int_equal(count_lines(env, "CKPTD_EVENT=non_finite"), 1);
	assert_int_equal(count_lines(env, "CKPTD_KEY="), 1);
	assert_int_equal(count_prefix(env, "CKPTD_RUN="), 1);
	assert_int_equal(count_prefix(env, "CKPTD_EVENT="), 1);
	assert_int_equal(count_prefix(env, "CKPTD_KEY="), 1);
	assert_int_equal(count_lines(env, "CKPTD_RUNS=keep"), 1);
	assert_int_equal(count_lines(env, "CKPTD_TEST_MARK=kept"), 1);
	assert_int_equal(count_prefix(env, "PATH="), getenv("PATH") ? 1 : 0);
	assert_null(strstr(env, "stale"));
	free(env);

	unsetenv("CKPTD_RUN");
	unsetenv("CKPTD_KEY");
	unsetenv("CKPTD_RUNS");
	unsetenv("CKPTD_TEST_MARK");
	tmp_remove(&t);
}

static void test_exit_status_and_path_search(void **state)
{
	struct ckptd_child c;
	(void)state;

	char *const fail7[] = { "/bin/sh", "-c", "exit 7", NULL };
	assert_int_equal(hook_spawn(fail7, NULL, NULL, &c), 0);
	assert_exited(finish(&c), 7);

	/* no '/' in argv[0]: looked up in PATH */
	char *const ok[] = { "true", NULL };
	assert_int_equal(hook_spawn(ok, NULL, "{}", &c), 0);
	assert_exited(finish(&c), 0);

	/* argv[0] substituted too */
	const struct ckptd_hook_vars v = { "false", "e", "1" };
	char *const sub[] = { "{run}", NULL };
	assert_int_equal(hook_spawn(sub, &v, NULL, &c), 0);
	assert_exited(finish(&c), 1);

	/* the child's signal mask and dispositions are the defaults even
	 * though ours block and ignore */
	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	assert_int_equal(sigprocmask(SIG_BLOCK, &set, &old), 0);
	struct sigaction ign = { .sa_handler = SIG_IGN }, oldsa;
	assert_int_equal(sigaction(SIGUSR1, &ign, &oldsa), 0);
	char *const selfkill[] = { "/bin/sh", "-c", "kill -TERM $$; kill -USR1 $$; exit 0", NULL };
	assert_int_equal(hook_spawn(selfkill, NULL, NULL, &c), 0);
	int st = finish(&c);
	assert_int_equal(sigprocmask(SIG_SETMASK, &old, NULL), 0);
	assert_int_equal(sigaction(SIGUSR1, &oldsa, NULL), 0);
	if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGTERM)
		fail_msg("wait status %#x, want SIGTERM", (unsigned)st);
}

static void test_missing_executable(void **state)
{
	static const char *const names[] = { "/nonexistent/ckptd-hook", "ckptd-no-such-hook" };
	(void)state;

	for (size_t i = 0; i < 2; i++) {
		char *const argv[] = { (char *)names[i], "x", NULL };
		struct ckptd_child c = { .pid = -1, .pidfd = -1 };
		errno = 0;
		int rc = hook_spawn(argv, NULL, "{}", &c);
		if (rc == -1) {
			/* glibc's posix_spawn reports the failed exec itself */
			assert_int_equal(errno, ENOENT);
			assert_int_equal(c.pidfd, -1);
		} else {
			/* or a child that exits 127, as a shell would say it */
			assert_int_equal(rc, 0);
			assert_exited(finish(&c), 127);
		}
	}
}

static void test_bad_arguments(void **state)
{
	struct ckptd_child c;
	char *const none[] = { NULL };
	char *const empty[] = { "", NULL };
	(void)state;

	errno = 0;
	assert_int_equal(hook_spawn(NULL, NULL, NULL, &c), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(hook_spawn(none, NULL, NULL, &c), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(hook_spawn(empty, NULL, NULL, &c), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(child_run(NULL, NULL, &c), -1);
	assert_int_equal(errno, EINVAL);

	/* an argument longer than the kernel takes fails before any spawn */
	size_t big = 200 * 1024;
	char *run = malloc(big + 1);
	assert_non_null(run);
	memset(run, 'r', big);
	run[big] = '\0';
	const struct ckptd_hook_vars v = { run, "e", "1" };
	char *const argv[] = { "/bin/true", "{run}", NULL };
	errno = 0;
	assert_int_equal(hook_spawn(argv, &v, NULL, &c), -1);
	assert_int_equal(errno, E2BIG);
	free(run);
}

static void test_no_stdin_is_eof(void **state)
{
	struct tmp t;
	char out[128], *got;
	(void)state;

	tmp_make(&t);
	tmp_path(&t, "n", out, sizeof(out));
	char *const argv[] = { "/bin/sh", "-c", "wc -c < /dev/stdin > \"$1\"", "sh", out, NULL };
	struct ckptd_child c;
	assert_int_equal(hook_spawn(argv, NULL, NULL, &c), 0);
	assert_exited(finish(&c), 0);
	got = slurp(out, NULL);
	assert_non_null(got);
	assert_int_equal(atol(got), 0);
	free(got);
	tmp_remove(&t);
}

static void test_large_stdin_never_blocks(void **state)
{
	size_t len = 4u << 20;
	char *data = malloc(len + 1), *got;
	struct tmp t;
	char out[128];
	long t0, spent;
	(void)state;

	assert_non_null(data);
	memset(data, 'x', len);
	data[len] = '\0';
	tmp_make(&t);
	tmp_path(&t, "n", out, sizeof(out));
	/* the hook reads nothing for a while: the daemon must not wait */
	char *const argv[] = { "/bin/sh", "-c", "sleep 0.3; wc -c > \"$1\"", "sh", out, NULL };
	struct ckptd_child c;
	t0 = monotonic_ms();
	assert_int_equal(hook_spawn(argv, NULL, data, &c), 0);
	spent = monotonic_ms() - t0;
	assert_true(spent < 250);
	assert_exited(finish(&c), 0);
	got = slurp(out, NULL);
	assert_non_null(got);
	long n = atol(got);
	assert_true(n > 0 && (size_t)n < len); /* what fit in the pipe, then EOF */
	free(got);
	free(data);
	tmp_remove(&t);
}

static void test_fds_not_inherited(void **state)
{
	struct tmp t;
	char out[128], *got;
	int leak, p[2];
	(void)state;

	/* descriptors the daemon forgot to mark close-on-exec */
	leak = open("/dev/null", O_RDONLY);
	assert_true(leak >= 0);
	assert_int_equal(dup2(leak, 40), 40);
	assert_int_equal(pipe(p), 0);

	tmp_make(&t);
	tmp_path(&t, "fds", out, sizeof(out));
	/* ls opens /proc/self/fd on the lowest free descriptor: "3" is its
	 * own, anything more was inherited */
	char *const argv[] = { "/bin/ls", "-1", "/proc/self/fd", NULL };
	assert_exited(run_capture(argv, NULL, "{}", out), 0);
	got = slurp(out, NULL);
	assert_non_null(got);
	assert_string_equal(got, "0\n1\n2\n3\n");
	free(got);

	close(leak);
	close(40);
	close(p[0]);
	close(p[1]);
	tmp_remove(&t);
}

static int wait_for_file(const char *path, int ms)
{
	for (int waited = 0; waited < ms; waited += 10) {
		if (access(path, F_OK) == 0)
			return 0;
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	return -1;
}

static void test_kill_takes_the_group(void **state)
{
	struct tmp t;
	char pidfile[128], *got;
	struct ckptd_child c;
	siginfo_t si;
	long t0;
	int st;
	(void)state;

	/* orphans come to us, so that the grandchild's end can be checked:
	 * the subshell leaves its sleep orphaned at once, outside the hook's
	 * tree but inside its group */
	assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
	tmp_make(&t);
	tmp_path(&t, "pid", pidfile, sizeof(pidfile));
	char *const argv[] = {
		"/bin/sh", "-c", "(sleep 60 & echo $! > \"$1.tmp\" && mv \"$1.tmp\" \"$1\"); sleep 60",
		"sh", pidfile, NULL,
	};
	t0 = monotonic_ms();
	assert_int_equal(hook_spawn(argv, NULL, NULL, &c), 0);
	assert_int_equal(wait_for_file(pidfile, WAIT_MS), 0);
	got = slurp(pidfile, NULL);
	assert_non_null(got);
	pid_t grandchild = (pid_t)atol(got);
	free(got);
	assert_true(grandchild > 0);
	int gfd = pidfd_open(grandchild, 0);
	assert_true(gfd >= 0);

	assert_int_equal(hook_reap(&c, &st), 0); /* still running */
	hook_kill(&c);
	assert_killed(finish(&c));

	/* the grandchild, a 60 s sleep, is gone too */
	struct pollfd p = { .fd = gfd, .events = POLLIN };
	assert_int_equal(poll(&p, 1, WAIT_MS), 1);
	memset(&si, 0, sizeof(si));
	if (waitid(P_PIDFD, (id_t)gfd, &si, WEXITED) < 0)
		fail_msg("waitid(grandchild %ld): %s", (long)grandchild, strerror(errno));
	assert_int_equal(si.si_code, CLD_KILLED);
	assert_int_equal(si.si_status, SIGKILL);
	close(gfd);
	assert_true(monotonic_ms() - t0 < WAIT_MS);

	/* reaped: a second reap or kill touches nothing */
	errno = 0;
	assert_int_equal(hook_reap(&c, &st), -1);
	assert_int_equal(errno, ECHILD);
	hook_kill(&c);
	assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0), 0);
	tmp_remove(&t);
}

/* ---- child_run ---- */

static int return_arg(void *arg)
{
	return *(const int *)arg;
}

static int sleep_long(void *arg)
{
	(void)arg;
	sleep(60);
	return 3;
}

static int die_by_term(void *arg)
{
	(void)arg;
	kill(getpid(), SIGTERM);
	return 5; /* reached only if SIGTERM stayed blocked */
}

static void test_child_run(void **state)
{
	struct ckptd_child c;
	int v = 42, zero = 0, big = 300;
	(void)state;

	assert_int_equal(child_run(return_arg, &v, &c), 0);
	assert_true(c.pid > 0 && c.pidfd >= 0);
	assert_exited(finish(&c), 42);
	assert_int_equal(child_run(return_arg, &zero, &c), 0);
	assert_exited(finish(&c), 0);
	assert_int_equal(child_run(return_arg, &big, &c), 0);
	assert_exited(finish(&c), 300 & 0xff);

	/* the signal mask is reset even though the daemon blocks SIGTERM */
	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	assert_int_equal(sigprocmask(SIG_BLOCK, &set, &old), 0);
	assert_int_equal(child_run(die_by_term, NULL, &c), 0);
	int st = finish(&c);
	assert_int_equal(sigprocmask(SIG_SETMASK, &old, NULL), 0);
	if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGTERM)
		fail_msg("wait status %#x, want SIGTERM", (unsigned)st);
}

static void test_child_run_kill(void **state)
{
	struct ckptd_child c;
	(void)state;

	/* no group of its own: hook_kill falls back to the pid (and we live) */
	assert_int_equal(child_run(sleep_long, NULL, &c), 0);
	assert_int_equal(hook_reap(&c, NULL), 0);
	hook_kill(&c);
	assert_killed(finish(&c));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_subst),
		cmocka_unit_test(test_subst_truncation),
		cmocka_unit_test(test_arguments_stay_literal),
		cmocka_unit_test(test_environment),
		cmocka_unit_test(test_exit_status_and_path_search),
		cmocka_unit_test(test_missing_executable),
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_no_stdin_is_eof),
		cmocka_unit_test(test_large_stdin_never_blocks),
		cmocka_unit_test(test_fds_not_inherited),
		cmocka_unit_test(test_kill_takes_the_group),
		cmocka_unit_test(test_child_run),
		cmocka_unit_test(test_child_run_kill),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
