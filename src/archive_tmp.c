/* archive_tmp.c - temporaries for durable results (see archive_tmp.h):
 * made with O_EXCL under a random name, fsynced, renamed into place, the
 * directory fsynced; and found again after a crash by archive_clean_tmp.
 * The name shape is made and recognized here only.  Also the two
 * directory-fd helpers archive.c and copy.c both walk trees with. */
#include "ckptd/archive_tmp.h"
#include "ckptd/archive.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#define SUFFIX_RAND 6
#define TMP_EXTRA (1 + 1 + SUFFIX_RAND + 4)  /* "." FINAL "." XXXXXX ".tmp" */
#define CREATE_TRIES 100

static const char alnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

bool archive_tmp_valid_name(const char *name)
{
	return name && name[0] && !strchr(name, '/') && strcmp(name, ".") != 0 &&
	       strcmp(name, "..") != 0;
}

bool archive_tmp_is_ours(const char *name)
{
	size_t n = strlen(name);
	if (n < TMP_EXTRA + 1 || name[0] != '.' || strcmp(name + n - 4, ".tmp") != 0)
		return false;
	const char *r = name + n - 4 - SUFFIX_RAND;
	if (r[-1] != '.')
		return false;
	for (int i = 0; i < SUFFIX_RAND; i++)
		if (!r[i] || !strchr(alnum, r[i]))
			return false;
	return true;
}

int archive_tmp_name(const char *final, char *tmp)
{
	size_t n = strlen(final);
	if (n + TMP_EXTRA > NAME_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	unsigned char rnd[SUFFIX_RAND];
	size_t got = 0;
	while (got < sizeof rnd) {
		ssize_t r = getrandom(rnd + got, sizeof rnd - got, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		got += (size_t)r;
	}
	char sfx[SUFFIX_RAND + 1];
	for (int i = 0; i < SUFFIX_RAND; i++)
		sfx[i] = alnum[rnd[i] % (sizeof alnum - 1)];
	sfx[SUFFIX_RAND] = '\0';
	snprintf(tmp, ARCHIVE_TMP_NAME_MAX, ".%s.%s.tmp", final, sfx);
	return 0;
}

int archive_tmp_create(int dir, const char *final, bool mkdir, mode_t mode, char *tmp)
{
	if (!archive_tmp_valid_name(final)) {
		errno = EINVAL;
		return -1;
	}
	for (int i = 0; i < CREATE_TRIES; i++) {
		if (archive_tmp_name(final, tmp) < 0)
			return -1;
		if (!mkdir) {
			int fd = openat(dir, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
			if (fd >= 0 || errno != EEXIST)
				return fd;
			continue;
		}
		if (mkdirat(dir, tmp, mode) < 0) {
			if (errno == EEXIST)
				continue;
			return -1;
		}
		int fd = openat(dir, tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			int e = errno;
			(void)unlinkat(dir, tmp, AT_REMOVEDIR);
			errno = e;
		}
		return fd;
	}
	errno = EEXIST;
	return -1;
}

int archive_tmp_write(int fd, const void *buf, size_t n)
{
	const char *p = buf;
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

void archive_tmp_abort(int fd, int dir, const char *tmp)
{
	int e = errno;
	if (fd >= 0)
		(void)close(fd);  /* the data is being thrown away */
	(void)archive_remove_at(dir, tmp);  /* at worst archive_clean_tmp finds it */
	errno = e;
}

/* Is there a directory called name in dir? */
static bool is_dir_at(int dir, const char *name)
{
	struct stat st;
	return fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

/* Put the directory tmp in place of the directory final: swapped
 * atomically where the filesystem can, else final renamed aside first
 * (and back on failure).  The old one is removed after; if that fails
 * it stays under a temporary name for archive_clean_tmp. */
static int replace_dir(int dir, const char *tmp, const char *final)
{
	if (renameat2(dir, tmp, dir, final, RENAME_EXCHANGE) == 0) {
		(void)archive_remove_at(dir, tmp);
		return 0;
	}
	if (errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
		return -1;
	char aside[ARCHIVE_TMP_NAME_MAX];
	struct stat st;
	do {
		if (archive_tmp_name(final, aside) < 0)
			return -1;
	} while (fstatat(dir, aside, &st, AT_SYMLINK_NOFOLLOW) == 0);
	if (errno != ENOENT || renameat(dir, final, dir, aside) < 0)
		return -1;
	if (renameat(dir, tmp, dir, final) < 0) {
		int e = errno;
		(void)renameat(dir, aside, dir, final);  /* best effort: put the old back */
		errno = e;
		return -1;
	}
	(void)archive_remove_at(dir, aside);
	return 0;
}

int archive_tmp_commit(int fd, int dir, const char *tmp, const char *final)
{
	if (fsync(fd) < 0) {
		archive_tmp_abort(fd, dir, tmp);
		return -1;
	}
	if (close(fd) < 0) {
		archive_tmp_abort(-1, dir, tmp);
		return -1;
	}
	if (renameat(dir, tmp, dir, final) < 0) {
		if ((errno != EEXIST && errno != ENOTEMPTY) || !is_dir_at(dir, final) ||
		    replace_dir(dir, tmp, final) < 0) {
			archive_tmp_abort(-1, dir, tmp);
			return -1;
		}
	}
	/* The result is in place; only its durability is in question now. */
	return fsync(dir);
}

int archive_tmp_open_same(int dir, const char *name, const struct stat *expect, struct stat *st)
{
	int flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;
	if (S_ISDIR(expect->st_mode))
		flags |= O_DIRECTORY;
	int fd = openat(dir, name, flags);
	if (fd < 0)
		return -1;
	if (fstat(fd, st) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	if (st->st_ino != expect->st_ino || st->st_dev != expect->st_dev ||
	    (st->st_mode & S_IFMT) != (expect->st_mode & S_IFMT)) {
		close(fd);
		errno = EAGAIN;
		return -1;
	}
	return fd;
}

void archive_tmp_names_free(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int archive_tmp_names(int dir, char ***names, size_t *n)
{
	*names = NULL;
	*n = 0;
	int fd = openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	DIR *d = fdopendir(fd);
	if (!d) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	char **v = NULL;
	size_t len = 0, cap = 0;
	for (;;) {
		errno = 0;
		struct dirent *de = readdir(d);
		if (!de) {
			if (errno)
				goto fail;
			break;
		}
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (len == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			char **nv = realloc(v, ncap * sizeof *nv);
			if (!nv)
				goto fail;
			v = nv;
			cap = ncap;
		}
		if (!(v[len] = strdup(de->d_name)))
			goto fail;
		len++;
	}
	(void)closedir(d);
	if (len > 1)
		qsort(v, len, sizeof *v, cmp_names);
	*names = v;
	*n = len;
	return 0;
fail:;
	int e = errno;
	archive_tmp_names_free(v, len);
	(void)closedir(d);
	errno = e;
	return -1;
}

int archive_clean_tmp(int dir)
{
	char **names;
	size_t n;
	if (archive_tmp_names(dir, &names, &n) < 0)
		return -1;
	int removed = 0, err = 0;
	for (size_t i = 0; i < n; i++) {
		if (!archive_tmp_is_ours(names[i]))
			continue;
		if (archive_remove_at(dir, names[i]) == 0)
			removed++;
		else if (errno != ENOENT && !err)
			err = errno;
	}
	archive_tmp_names_free(names, n);
	if (err) {
		errno = err;
		return -1;
	}
	return removed;
}

int archive_tmp_readlink(int dir, const char *name, char *target, size_t len)
{
	ssize_t n = readlinkat(dir, name, target, len);
	if (n < 0)
		return -1;
	if ((size_t)n >= len) { /* maybe cut short: refuse rather than store a wrong target */
		errno = ENAMETOOLONG;
		return -1;
	}
	target[n] = '\0';
	return 0;
}

int archive_tmp_stat_source(int dir, const char *name, struct stat *want)
{
	if (fstatat(dir, name, want, AT_SYMLINK_NOFOLLOW) < 0)
		return -1;
	if (S_ISLNK(want->st_mode)) {
		errno = ELOOP;
		return -1;
	}
	if (!S_ISREG(want->st_mode) && !S_ISDIR(want->st_mode)) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

bool archive_tmp_is_ours_for(const char *name, const char *final)
{
	size_t fl = final ? strlen(final) : 0;
	return final && archive_tmp_is_ours(name) && strncmp(name + 1, final, fl) == 0 &&
	       name[1 + fl] == '.';
}
