/* atomic.c - crash-safe replacement of small files and links. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ckptd/archive_tmp.h"
#include "ckptd/atomic.h"

static int write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* rename tmp over name and make both durable; on failure remove tmp. */
static int commit(int dirfd, const char *tmp, const char *name)
{
	if (renameat(dirfd, tmp, dirfd, name) < 0) {
		int saved = errno;
		unlinkat(dirfd, tmp, 0);
		errno = saved;
		return -1;
	}
	return fsync(dirfd);
}

int atomic_write_at(int dirfd, const char *name, const void *data, size_t len, mode_t mode)
{
	char tmp[ARCHIVE_TMP_NAME_MAX];
	int fd = -1;
	for (int tries = 0; fd < 0 && tries < 8; tries++) {
		if (archive_tmp_name(name, tmp) < 0)
			return -1;
		fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
		if (fd < 0 && errno != EEXIST)
			return -1;
	}
	if (fd < 0)
		return -1;
	if (write_all(fd, data, len) < 0 || fsync(fd) < 0) {
		int saved = errno;
		close(fd);
		unlinkat(dirfd, tmp, 0);
		errno = saved;
		return -1;
	}
	if (close(fd) < 0) {
		int saved = errno;
		unlinkat(dirfd, tmp, 0);
		errno = saved;
		return -1;
	}
	return commit(dirfd, tmp, name);
}

int atomic_symlink_at(int dirfd, const char *target, const char *name)
{
	char tmp[ARCHIVE_TMP_NAME_MAX];
	for (int tries = 0; tries < 8; tries++) {
		if (archive_tmp_name(name, tmp) < 0)
			return -1;
		if (symlinkat(target, dirfd, tmp) == 0)
			return commit(dirfd, tmp, name);
		if (errno != EEXIST)
			return -1;
	}
	return -1;
}

int atomic_hardlink_at(int dirfd, const char *target, const char *name)
{
	char tmp[ARCHIVE_TMP_NAME_MAX];
	for (int tries = 0; tries < 8; tries++) {
		if (archive_tmp_name(name, tmp) < 0)
			return -1;
		/* flags 0: linkat does not follow a symlink target */
		if (linkat(dirfd, target, dirfd, tmp, 0) == 0)
			return commit(dirfd, tmp, name);
		if (errno != EEXIST)
			return -1;
	}
	return -1;
}

char *read_small_at(int dirfd, const char *name, size_t max, size_t *len)
{
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int saved = errno;
		close(fd);
		errno = saved;
		return NULL;
	}
	if (!S_ISREG(st.st_mode) || (size_t)st.st_size > max) {
		close(fd);
		errno = S_ISREG(st.st_mode) ? EFBIG : EINVAL;
		return NULL;
	}
	size_t cap = (size_t)st.st_size + 1, n = 0;
	char *buf = malloc(cap);
	while (buf) {
		ssize_t r = read(fd, buf + n, cap - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int saved = errno;
			free(buf);
			close(fd);
			errno = saved;
			return NULL;
		}
		if (r == 0 || n + (size_t)r == cap - 1) {
			n += (size_t)r;
			break;
		}
		n += (size_t)r;
	}
	close(fd);
	if (!buf) {
		errno = ENOMEM;
		return NULL;
	}
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}
