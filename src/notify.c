/* notify.c - the sd_notify(3) protocol without libsystemd: one datagram
 * to the AF_UNIX socket named by $NOTIFY_SOCKET, as systemd's
 * man/notify-selfcontained-example.c sends it. */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ckptd/notify.h"

int notify_send(const char *msg)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t plen, mlen;
	ssize_t n;
	int fd, e;

	if (!msg) {
		errno = EINVAL;
		return -1;
	}
	if (!path)
		return 0; /* not started by systemd with Type=notify */
	if (path[0] != '/' && path[0] != '@') {
		errno = EAFNOSUPPORT;
		return -1;
	}
	plen = strlen(path);
	if (plen >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sa.sun_path, path, plen);
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0'; /* abstract namespace: the length bounds the name */

	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	mlen = strlen(msg);
	n = sendto(fd, msg, mlen, MSG_NOSIGNAL, (const struct sockaddr *)&sa,
	           (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen));
	e = n < 0 ? errno : (size_t)n != mlen ? EMSGSIZE : 0;
	if (close(fd) < 0 && !e && errno != EINTR)
		e = errno;
	if (e) {
		errno = e;
		return -1;
	}
	return 0;
}

/* A whole decimal number: digits only, no sign, no overflow. */
static int parse_u64(const char *s, uint64_t *v)
{
	char *end;
	unsigned long long x;

	if (!s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	x = strtoull(s, &end, 10);
	if (errno || *end != '\0')
		return -1;
	*v = x;
	return 0;
}

uint64_t notify_watchdog_usec(void)
{
	const char *pid = getenv("WATCHDOG_PID");
	uint64_t usec, p;
	int saved = errno;

	if (parse_u64(getenv("WATCHDOG_USEC"), &usec) < 0)
		usec = 0;
	/* WATCHDOG_PID set for someone else (a parent that exec'd us without
	 * cleaning up, say): not ours to ping */
	if (pid && (parse_u64(pid, &p) < 0 || p != (uint64_t)getpid()))
		usec = 0;
	errno = saved;
	return usec;
}

int notify_reloading(void)
{
	struct timespec ts;
	char msg[64];

	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		return -1;
	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%" PRIu64,
	         (uint64_t)ts.tv_sec * UINT64_C(1000000) + (uint64_t)ts.tv_nsec / 1000);
	return notify_send(msg);
}
