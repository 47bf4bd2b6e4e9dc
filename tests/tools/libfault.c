/* libfault.so - fault injection for the tests, by LD_PRELOAD; never part
 * of a release build.  CKPTD_FAULTS names a file of rules, read at every
 * intercepted call (so a test turns faults on and off while the daemon
 * runs), one per line:
 *
 *     CALL ERRNO [SUBSTRING]
 *
 * CALL is write, fsync, fdatasync, openat (open too), renameat, linkat or
 * inotify_add_watch; ERRNO is ENOSPC, EIO, EACCES or EMFILE; the call fails
 * with it when the path it touches (for write/fsync: the fd's path)
 * contains SUBSTRING (any path when it is left out).  The control file is
 * read with raw syscalls, so the shim never calls itself. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/syscall.h>
#include <unistd.h>

static int errno_named(const char *s)
{
	static const struct { const char *n; int e; } t[] = {
		{ "ENOSPC", ENOSPC }, { "EIO", EIO }, { "EACCES", EACCES }, { "EMFILE", EMFILE },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(*t); i++)
		if (strcmp(s, t[i].n) == 0)
			return t[i].e;
	return 0;
}

/* The errno to fail call on path with, or 0. */
static int fault(const char *call, const char *path)
{
	const char *file = getenv("CKPTD_FAULTS");
	char buf[4096];
	if (!file)
		return 0;
	long fd = syscall(SYS_openat, AT_FDCWD, file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	long n = syscall(SYS_read, (int)fd, buf, sizeof(buf) - 1);
	syscall(SYS_close, (int)fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	for (char *save = NULL, *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char c[32], e[32], sub[1024] = "";
		if (sscanf(line, "%31s %31s %1023s", c, e, sub) < 2 || strcmp(c, call) != 0)
			continue;
		if (!sub[0] || (path && strstr(path, sub)))
			return errno_named(e);
	}
	return 0;
}

static const char *fd_path(int fd, char *buf, size_t len)
{
	char link[64];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	long n = syscall(SYS_readlinkat, AT_FDCWD, link, buf, len - 1);
	if (n < 0)
		return NULL;
	buf[n] = '\0';
	return buf;
}

/* The next definition of name (libc's).  dlsym gives an object pointer:
 * POSIX lets it be copied into a function pointer (ISO C does not cast). */
#define REAL(ret, name, ...) \
	ret (*real_##name)(__VA_ARGS__); \
	do { \
		void *sym_ = dlsym(RTLD_NEXT, #name); \
		memcpy(&real_##name, &sym_, sizeof(sym_)); \
	} while (0)

ssize_t write(int fd, const void *buf, size_t len)
{
	REAL(ssize_t, write, int, const void *, size_t);
	char p[4096];
	int e = fd > 2 ? fault("write", fd_path(fd, p, sizeof(p))) : 0;
	if (e) {
		errno = e;
		return -1;
	}
	return real_write(fd, buf, len);
}

int fsync(int fd)
{
	REAL(int, fsync, int);
	char p[4096];
	int e = fault("fsync", fd_path(fd, p, sizeof(p)));
	if (e) {
		errno = e;
		return -1;
	}
	return real_fsync(fd);
}

int fdatasync(int fd)
{
	REAL(int, fdatasync, int);
	char p[4096];
	int e = fault("fdatasync", fd_path(fd, p, sizeof(p)));
	if (e) {
		errno = e;
		return -1;
	}
	return real_fdatasync(fd);
}

int openat(int dir, const char *path, int flags, ...)
{
	REAL(int, openat, int, const char *, int, ...);
	mode_t mode = 0;
	if (flags & (O_CREAT | O_TMPFILE)) {
		va_list ap;
		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	int e = fault("openat", path);
	if (e) {
		errno = e;
		return -1;
	}
	return real_openat(dir, path, flags, mode);
}

/* open() is a call of its own in glibc (not through openat): the
 * "openat" rules cover it too. */
int open(const char *path, int flags, ...)
{
	REAL(int, open, const char *, int, ...);
	mode_t mode = 0;
	if (flags & (O_CREAT | O_TMPFILE)) {
		va_list ap;
		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	int e = fault("openat", path);
	if (e) {
		errno = e;
		return -1;
	}
	return real_open(path, flags, mode);
}

int renameat(int od, const char *op, int nd, const char *np)
{
	REAL(int, renameat, int, const char *, int, const char *);
	int e = fault("renameat", np);
	if (e) {
		errno = e;
		return -1;
	}
	return real_renameat(od, op, nd, np);
}

int linkat(int od, const char *op, int nd, const char *np, int flags)
{
	REAL(int, linkat, int, const char *, int, const char *, int);
	int e = fault("linkat", np);
	if (e) {
		errno = e;
		return -1;
	}
	return real_linkat(od, op, nd, np, flags);
}

int inotify_add_watch(int fd, const char *path, uint32_t mask)
{
	REAL(int, inotify_add_watch, int, const char *, uint32_t);
	int e = fault("inotify_add_watch", path);
	if (e) {
		errno = e;
		return -1;
	}
	return real_inotify_add_watch(fd, path, mask);
}
