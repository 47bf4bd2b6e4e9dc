/* Unit tests: sd_notify over a real AF_UNIX datagram socket. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ckptd/notify.h"

struct listener {
	char dir[64];
	char path[128];
	int fd;
};

static void unset_all(void)
{
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
}

/* Bind a datagram socket at path ("@name": abstract) and point
 * NOTIFY_SOCKET at it. */
static void listen_at(struct listener *l, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t n = strlen(path);

	assert_true(n < sizeof(sa.sun_path));
	memcpy(sa.sun_path, path, n);
	if (path[0] == '@')
		sa.sun_path[0] = '\0';
	l->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(l->fd >= 0);
	assert_int_equal(bind(l->fd, (struct sockaddr *)&sa,
	                      (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n)), 0);
	assert_int_equal(setenv("NOTIFY_SOCKET", path, 1), 0);
}

static void listen_tmp(struct listener *l)
{
	strcpy(l->dir, "/tmp/ckptd-notify-XXXXXX");
	assert_non_null(mkdtemp(l->dir));
	snprintf(l->path, sizeof(l->path), "%s/notify", l->dir);
	listen_at(l, l->path);
}

static void listen_close(struct listener *l)
{
	close(l->fd);
	if (l->dir[0]) {
		unlink(l->path);
		rmdir(l->dir);
	}
	unset_all();
}

/* The next datagram, NUL-terminated; fails after 5 s. */
static void recv_msg(struct listener *l, char *buf, size_t len)
{
	struct pollfd p = { .fd = l->fd, .events = POLLIN };
	ssize_t n;

	assert_int_equal(poll(&p, 1, 5000), 1);
	n = recv(l->fd, buf, len - 1, MSG_DONTWAIT);
	assert_true(n >= 0);
	buf[n] = '\0';
}

static void expect_msg(struct listener *l, const char *want)
{
	char buf[4096];
	recv_msg(l, buf, sizeof(buf));
	assert_string_equal(buf, want);
}

static void test_unset_is_noop(void **state)
{
	(void)state;
	unset_all();
	assert_int_equal(notify_send("READY=1"), 0);
	assert_int_equal(notify_reloading(), 0);
}

static void test_messages_arrive_exactly(void **state)
{
	struct listener l = { .fd = -1 };
	(void)state;

	listen_tmp(&l);
	assert_int_equal(notify_send("READY=1"), 0);
	expect_msg(&l, "READY=1");
	assert_int_equal(notify_send("STATUS=watching 2 runs; best clinic07 epoch 8"), 0);
	expect_msg(&l, "STATUS=watching 2 runs; best clinic07 epoch 8");
	assert_int_equal(notify_send("READY=1\nSTATUS=caught up"), 0);
	expect_msg(&l, "READY=1\nSTATUS=caught up");
	assert_int_equal(notify_send("WATCHDOG=1"), 0);
	expect_msg(&l, "WATCHDOG=1");
	assert_int_equal(notify_send("STOPPING=1"), 0);
	expect_msg(&l, "STOPPING=1");
	listen_close(&l);
}

static void test_abstract_namespace(void **state)
{
	struct listener l = { .fd = -1 };
	char name[64];
	(void)state;

	snprintf(name, sizeof(name), "@ckptd-test-%ld", (long)getpid());
	listen_at(&l, name);
	assert_int_equal(notify_send("READY=1"), 0);
	expect_msg(&l, "READY=1");
	assert_int_equal(notify_send("STOPPING=1"), 0);
	expect_msg(&l, "STOPPING=1");
	listen_close(&l);
}

static void test_send_errors(void **state)
{
	char longpath[200];
	(void)state;

	setenv("NOTIFY_SOCKET", "/nonexistent/ckptd-notify.sock", 1);
	errno = 0;
	assert_int_equal(notify_send("READY=1"), -1);
	assert_int_equal(errno, ENOENT);

	setenv("NOTIFY_SOCKET", "relative/notify", 1);
	assert_int_equal(notify_send("READY=1"), -1);
	assert_int_equal(errno, EAFNOSUPPORT);

	setenv("NOTIFY_SOCKET", "", 1);
	assert_int_equal(notify_send("READY=1"), -1);

	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	setenv("NOTIFY_SOCKET", longpath, 1);
	assert_int_equal(notify_send("READY=1"), -1);
	assert_int_equal(errno, ENAMETOOLONG);

	/* an abstract name nobody bound */
	setenv("NOTIFY_SOCKET", "@ckptd-test-nobody-listens-here", 1);
	assert_int_equal(notify_send("READY=1"), -1);
	assert_int_equal(errno, ECONNREFUSED);

	unset_all();
	assert_int_equal(notify_send(NULL), -1);
	assert_int_equal(errno, EINVAL);
}

static void test_watchdog_usec(void **state)
{
	char pid[32];
	(void)state;

	unset_all();
	assert_int_equal(notify_watchdog_usec(), 0);

	setenv("WATCHDOG_USEC", "30000000", 1);
	assert_int_equal(notify_watchdog_usec(), 30000000);

	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	setenv("WATCHDOG_PID", pid, 1);
	assert_int_equal(notify_watchdog_usec(), 30000000);

	snprintf(pid, sizeof(pid), "%ld", (long)getpid() + 1);
	setenv("WATCHDOG_PID", pid, 1);
	assert_int_equal(notify_watchdog_usec(), 0);
	setenv("WATCHDOG_PID", "1", 1);
	assert_int_equal(notify_watchdog_usec(), 0);
	setenv("WATCHDOG_PID", "abc", 1);
	assert_int_equal(notify_watchdog_usec(), 0);
	unsetenv("WATCHDOG_PID");

	static const char *const bad[] = {
		"", "abc", "12x", "-5", "+5", " 5", "0x10", "99999999999999999999999",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		setenv("WATCHDOG_USEC", bad[i], 1);
		if (notify_watchdog_usec() != 0)
			fail_msg("WATCHDOG_USEC=\"%s\" accepted", bad[i]);
	}
	setenv("WATCHDOG_USEC", "0", 1);
	assert_int_equal(notify_watchdog_usec(), 0);
	setenv("WATCHDOG_USEC", "18446744073709551615", 1);
	assert_true(notify_watchdog_usec() == UINT64_MAX);
	unset_all();
}

static uint64_t mono_usec(void)
{
	struct timespec ts;
	assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &ts), 0);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void test_reloading_format(void **state)
{
	static const char prefix[] = "RELOADING=1\nMONOTONIC_USEC=";
	struct listener l = { .fd = -1 };
	char buf[256], *end;
	uint64_t before, after, got;
	(void)state;

	listen_tmp(&l);
	before = mono_usec();
	assert_int_equal(notify_reloading(), 0);
	after = mono_usec();
	recv_msg(&l, buf, sizeof(buf));
	assert_memory_equal(buf, prefix, sizeof(prefix) - 1);
	const char *num = buf + sizeof(prefix) - 1;
	assert_true(*num >= '1' && *num <= '9');
	errno = 0;
	got = strtoull(num, &end, 10);
	assert_int_equal(errno, 0);
	assert_int_equal(*end, '\0'); /* nothing after the number, no newline */
	assert_true(before <= got && got <= after);
	listen_close(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unset_is_noop),
		cmocka_unit_test(test_messages_arrive_exactly),
		cmocka_unit_test(test_abstract_namespace),
		cmocka_unit_test(test_send_errors),
		cmocka_unit_test(test_watchdog_usec),
		cmocka_unit_test(test_reloading_format),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
