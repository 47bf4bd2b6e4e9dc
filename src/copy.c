/* copy.c - durable copies and removals of checkpoints (see archive.h):
 * a file or a whole directory tree copied into a temporary and renamed
 * into place; a tree removed through directory fds.  Never follows a
 * symlink: links inside a tree are copied or unlinked as links. */
#include "ckptd/archive.h"
#include "ckptd/archive_tmp.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define COPY_BUF (1024u * 1024u)
#define COPY_RANGE (64u * 1024u * 1024u)

/* Copy the contents of src (size bytes, as fstat said) to dst;
 * copy_file_range where the kernel can, read/write where not.  EAGAIN
 * when the file turned out not to be size bytes: it changed under us. */
static int copy_data(int src, int dst, off_t size, struct ckptd_archive_stats *st)
{
	uint64_t done = 0;
	bool fallback = false;
	while (!fallback) {
		ssize_t n = copy_file_range(src, NULL, dst, NULL, COPY_RANGE, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (done == 0 && (errno == EXDEV || errno == ENOSYS || errno == EOPNOTSUPP ||
			                  errno == EINVAL))
				fallback = true;
			else
				return -1;
		} else if (n == 0) {
			break;
		} else {
			done += (uint64_t)n;
		}
	}
	if (fallback) {
		char *buf = malloc(COPY_BUF);
		if (!buf)
			return -1;
		int r = 0;
		for (;;) {
			ssize_t n = read(src, buf, COPY_BUF);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				r = (int)n;
				break;
			}
			if ((r = archive_tmp_write(dst, buf, (size_t)n)) < 0)
				break;
			done += (uint64_t)n;
		}
		int e = errno;
		free(buf);
		errno = e;
		if (r < 0)
			return -1;
	}
	if (done != (uint64_t)size) {
		errno = EAGAIN;
		return -1;
	}
	st->bytes_in += done;
	st->bytes_out += done;
	return 0;
}

/* Permissions and times of *from onto fd (never set-user/group-ID:
 * the copy is owned by whoever runs ckptd). */
static int set_attrs(int fd, const struct stat *from)
{
	struct timespec ts[2] = { from->st_atim, from->st_mtim };
	if (fchmod(fd, from->st_mode & 01777) < 0)
		return -1;
	return futimens(fd, ts);
}

static int copy_tree(int sdir, int ddir, struct ckptd_archive_stats *st);

/* One entry of a tree: name in sdir to name in ddir (which is new). */
static int copy_entry(int sdir, int ddir, const char *name, struct ckptd_archive_stats *st)
{
	struct stat want, got;
	if (fstatat(sdir, name, &want, AT_SYMLINK_NOFOLLOW) < 0)
		return -1;
	if (S_ISLNK(want.st_mode)) {
		char target[PATH_MAX + 1];
		if (archive_tmp_readlink(sdir, name, target, sizeof target) < 0)
			return -1;
		struct timespec ts[2] = { want.st_atim, want.st_mtim };
		if (symlinkat(target, ddir, name) < 0 ||
		    utimensat(ddir, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
			return -1;
		return 0;
	}
	if (!S_ISREG(want.st_mode) && !S_ISDIR(want.st_mode))
		return 0;  /* fifos, sockets, devices: not checkpoint data */
	int s = archive_tmp_open_same(sdir, name, &want, &got);
	if (s < 0)
		return -1;
	int d, r = -1;
	if (S_ISDIR(got.st_mode)) {
		if (mkdirat(ddir, name, 0700) < 0) {
			d = -1;
		} else {
			d = openat(ddir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (d >= 0 && copy_tree(s, d, st) == 0 && set_attrs(d, &got) == 0)
				r = fsync(d);
		}
	} else {
		d = openat(ddir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (d >= 0 && copy_data(s, d, got.st_size, st) == 0 && set_attrs(d, &got) == 0)
			r = fsync(d);
	}
	int e = errno;
	close(s);
	if (d >= 0 && close(d) < 0 && r == 0) {
		e = errno;
		r = -1;
	}
	errno = e;
	return r;
}

/* Every entry of directory sdir into the empty directory ddir. */
static int copy_tree(int sdir, int ddir, struct ckptd_archive_stats *st)
{
	char **names;
	size_t n;
	if (archive_tmp_names(sdir, &names, &n) < 0)
		return -1;
	int r = 0;
	for (size_t i = 0; i < n && r == 0; i++)
		r = copy_entry(sdir, ddir, names[i], st);
	int e = errno;
	archive_tmp_names_free(names, n);
	errno = e;
	return r;
}

int archive_copy_at(int srcdir, const char *name, int dstdir, const char *dstname,
                    struct ckptd_archive_stats *st)
{
	struct ckptd_archive_stats local = { 0 };
	if (!st)
		st = &local;
	*st = (struct ckptd_archive_stats){ 0 };
	if (!archive_tmp_valid_name(name) || !archive_tmp_valid_name(dstname)) {
		errno = EINVAL;
		return -1;
	}
	struct stat want, got;
	if (archive_tmp_stat_source(srcdir, name, &want) < 0)
		return -1;
	int s = archive_tmp_open_same(srcdir, name, &want, &got);
	if (s < 0)
		return -1;
	char tmp[ARCHIVE_TMP_NAME_MAX];
	bool isdir = S_ISDIR(got.st_mode);
	int d = archive_tmp_create(dstdir, dstname, isdir, 0700, tmp);
	if (d < 0) {
		int e = errno;
		close(s);
		errno = e;
		return -1;
	}
	int r = isdir ? copy_tree(s, d, st) : copy_data(s, d, got.st_size, st);
	if (r == 0)
		r = set_attrs(d, &got);
	int e = errno;
	close(s);
	if (r < 0) {
		errno = e;
		archive_tmp_abort(d, dstdir, tmp);
		return -1;
	}
	return archive_tmp_commit(d, dstdir, tmp, dstname);
}

static int remove_tree(int dir, const struct stat *top);

/* Remove name from dir: unlinked when it is not a directory (a symlink
 * is removed itself), else emptied through its own fd and rmdir'ed. */
static int remove_entry(int dir, const char *name, const struct stat *parent)
{
	if (unlinkat(dir, name, 0) == 0)
		return 0;
	if (errno != EISDIR)
		return -1;
	int fd = openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	struct stat st;
	int r = fstat(fd, &st);
	if (r == 0 && parent && st.st_dev != parent->st_dev) {
		errno = EXDEV;  /* a mount point: what is mounted there is not ours */
		r = -1;
	}
	if (r == 0)
		r = remove_tree(fd, &st);
	int e = errno;
	close(fd);
	if (r == 0)
		return unlinkat(dir, name, AT_REMOVEDIR);
	errno = e;
	return -1;
}

/* Everything inside directory fd dir; carries on past failures and
 * reports the first. */
static int remove_tree(int dir, const struct stat *top)
{
	char **names;
	size_t n;
	if (archive_tmp_names(dir, &names, &n) < 0)
		return -1;
	int err = 0;
	for (size_t i = 0; i < n; i++)
		if (remove_entry(dir, names[i], top) < 0 && errno != ENOENT && !err)
			err = errno;
	archive_tmp_names_free(names, n);
	if (err) {
		errno = err;
		return -1;
	}
	return 0;
}

int archive_remove_at(int dir, const char *name)
{
	if (!archive_tmp_valid_name(name)) {
		errno = EINVAL;
		return -1;
	}
	struct stat parent;
	if (fstat(dir, &parent) < 0)
		return -1;
	return remove_entry(dir, name, &parent);
}
