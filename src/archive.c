/* archive.c - compressed archives of checkpoints (see archive.h): a file
 * becomes NAME.zst (one zstd frame with a checksum, by streaming), a
 * directory NAME.tar.zst (a pax tar of NAME/..., libarchive's zstd
 * filter), each written to a temporary, fsynced and renamed into place.
 * Trees are walked through directory fds; symlinks are stored as links,
 * fifos, sockets and devices are left out. */
#include "ckptd/archive.h"
#include "ckptd/archive_tmp.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <zstd.h>
#include <zstd_errors.h>

#define READ_BUF (1024u * 1024u)

/* read() that retries on EINTR. */
static ssize_t read_some(int fd, void *buf, size_t n)
{
	for (;;) {
		ssize_t r = read(fd, buf, n);
		if (r >= 0 || errno != EINTR)
			return r;
	}
}

/* ---- a file: one zstd frame ---- */

/* Compress src (size bytes) into out with a ZSTD_CStream.  EAGAIN when
 * the file was not size bytes: it changed under us. */
static int zstd_file(int src, off_t size, int out, int level, struct ckptd_archive_stats *st)
{
	size_t in_cap = READ_BUF, out_cap = ZSTD_CStreamOutSize();
	char *ibuf = malloc(in_cap), *obuf = malloc(out_cap);
	ZSTD_CStream *zc = ZSTD_createCStream();
	int r = -1, e = ENOMEM;
	if (!ibuf || !obuf || !zc)
		goto out;
	e = EINVAL;
	if (ZSTD_isError(ZSTD_CCtx_setParameter(zc, ZSTD_c_compressionLevel, level)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(zc, ZSTD_c_checksumFlag, 1)) ||
	    ZSTD_isError(ZSTD_CCtx_setPledgedSrcSize(zc, (unsigned long long)size)))
		goto out;
	uint64_t done = 0;
	bool last = false;
	while (!last) {
		ssize_t n = read_some(src, ibuf, in_cap);
		if (n < 0) {
			e = errno;
			goto out;
		}
		done += (uint64_t)n;
		if (done > (uint64_t)size) {
			e = EAGAIN;
			goto out;
		}
		last = n == 0;
		ZSTD_inBuffer in = { ibuf, (size_t)n, 0 };
		ZSTD_EndDirective mode = last ? ZSTD_e_end : ZSTD_e_continue;
		size_t left;
		do {
			ZSTD_outBuffer zo = { obuf, out_cap, 0 };
			left = ZSTD_compressStream2(zc, &zo, &in, mode);
			if (ZSTD_isError(left)) {
				/* the only input error left is a size that changed */
				e = ZSTD_getErrorCode(left) == ZSTD_error_srcSize_wrong ? EAGAIN : EIO;
				goto out;
			}
			if (archive_tmp_write(out, obuf, zo.pos) < 0) {
				e = errno;
				goto out;
			}
			st->bytes_out += zo.pos;
		} while (last ? left != 0 : in.pos < in.size);
	}
	st->bytes_in += done;
	r = 0;
out:
	ZSTD_freeCStream(zc);
	free(ibuf);
	free(obuf);
	if (r < 0)
		errno = e;
	return r;
}

/* ---- a directory: a pax tar through libarchive's zstd filter ---- */

struct tar {
	struct archive *a;
	struct archive_entry *e;
	char *buf;
	int out;
	struct ckptd_archive_stats *st;
};

static la_ssize_t tar_write(struct archive *a, void *arg, const void *buf, size_t n)
{
	struct tar *t = arg;
	if (archive_tmp_write(t->out, buf, n) < 0) {
		archive_set_error(a, errno, "write: %s", strerror(errno));
		return -1;
	}
	t->st->bytes_out += n;
	return (la_ssize_t)n;
}

/* errno for the archive's last error (EIO when it has none). */
static int tar_errno(const struct tar *t)
{
	int e = archive_errno(t->a);
	return e > 0 ? e : EIO;
}

/* A header for path from *s; link is the target of a symlink. */
static int tar_header(struct tar *t, const char *path, const struct stat *s, const char *link)
{
	struct archive_entry *e = t->e;
	archive_entry_clear(e);
	archive_entry_copy_pathname(e, path);
	archive_entry_set_filetype(e, s->st_mode & S_IFMT);
	archive_entry_set_perm(e, s->st_mode & 07777);
	archive_entry_set_uid(e, s->st_uid);
	archive_entry_set_gid(e, s->st_gid);
	archive_entry_set_mtime(e, s->st_mtim.tv_sec, s->st_mtim.tv_nsec);
	if (S_ISREG(s->st_mode))
		archive_entry_set_size(e, s->st_size);
	else
		archive_entry_set_size(e, 0);
	if (link)
		archive_entry_copy_symlink(e, link);
	if (archive_write_header(t->a, e) < ARCHIVE_WARN) {
		errno = tar_errno(t);
		return -1;
	}
	return 0;
}

/* The data of regular file fd (size bytes). */
static int tar_data(struct tar *t, int fd, off_t size)
{
	uint64_t done = 0;
	for (;;) {
		ssize_t n = read_some(fd, t->buf, READ_BUF);
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		if ((done += (uint64_t)n) > (uint64_t)size)
			break;
		la_ssize_t w = archive_write_data(t->a, t->buf, (size_t)n);
		if (w != n) {
			errno = tar_errno(t);
			return -1;
		}
	}
	if (done != (uint64_t)size) {
		/* libarchive would pad a shrunk file with zeros: refuse instead */
		errno = EAGAIN;
		return -1;
	}
	t->st->bytes_in += done;
	return 0;
}

static int tar_tree(struct tar *t, int dir, const char *path);

/* Entry name of dir, stored as path. */
static int tar_entry(struct tar *t, int dir, const char *name, const char *path)
{
	struct stat want, got;
	if (fstatat(dir, name, &want, AT_SYMLINK_NOFOLLOW) < 0)
		return -1;
	if (S_ISLNK(want.st_mode)) {
		char target[PATH_MAX + 1];
		if (archive_tmp_readlink(dir, name, target, sizeof target) < 0)
			return -1;
		return tar_header(t, path, &want, target);
	}
	if (!S_ISREG(want.st_mode) && !S_ISDIR(want.st_mode))
		return 0;  /* fifos, sockets, devices: not checkpoint data */
	int fd = archive_tmp_open_same(dir, name, &want, &got);
	if (fd < 0)
		return -1;
	int r = tar_header(t, path, &got, NULL);
	if (r == 0)
		r = S_ISDIR(got.st_mode) ? tar_tree(t, fd, path) : tar_data(t, fd, got.st_size);
	int e = errno;
	close(fd);
	errno = e;
	return r;
}

/* Every entry of directory fd dir, stored under path/. */
static int tar_tree(struct tar *t, int dir, const char *path)
{
	char **names;
	size_t n;
	if (archive_tmp_names(dir, &names, &n) < 0)
		return -1;
	int r = 0;
	size_t plen = strlen(path);
	for (size_t i = 0; i < n && r == 0; i++) {
		size_t len = plen + 1 + strlen(names[i]) + 1;
		char *sub = malloc(len);
		if (!sub) {
			r = -1;
			break;
		}
		snprintf(sub, len, "%s/%s", path, names[i]);
		r = tar_entry(t, dir, names[i], sub);
		int e = errno;
		free(sub);
		errno = e;
	}
	int e = errno;
	archive_tmp_names_free(names, n);
	errno = e;
	return r;
}

/* Directory src (described by *s) named name, as a .tar.zst into out. */
static int tar_dir(int src, const struct stat *s, const char *name, int out, int level,
                   struct ckptd_archive_stats *st)
{
	char lvl[16];
	snprintf(lvl, sizeof lvl, "%d", level);
	struct tar t = { .out = out, .st = st };
	t.a = archive_write_new();
	t.e = archive_entry_new();
	t.buf = malloc(READ_BUF);
	int r = -1, e = ENOMEM;
	if (!t.a || !t.e || !t.buf)
		goto out;
	if (archive_write_set_format_pax_restricted(t.a) != ARCHIVE_OK ||
	    archive_write_add_filter_zstd(t.a) != ARCHIVE_OK ||
	    archive_write_set_filter_option(t.a, "zstd", "compression-level", lvl) != ARCHIVE_OK ||
	    archive_write_set_bytes_per_block(t.a, 64 * 1024) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(t.a, 1) != ARCHIVE_OK ||
	    archive_write_open2(t.a, &t, NULL, tar_write, NULL, NULL) != ARCHIVE_OK) {
		e = tar_errno(&t);
		goto out;
	}
	if (tar_header(&t, name, s, NULL) < 0 || tar_tree(&t, src, name) < 0) {
		e = errno;
		goto out;
	}
	if (archive_write_close(t.a) != ARCHIVE_OK) {
		e = tar_errno(&t);
		goto out;
	}
	r = 0;
out:
	/* On failure this still flushes into the doomed temporary: harmless,
	 * and archive_write_fail() would leak libarchive's output buffer. */
	if (t.a)
		archive_write_free(t.a);
	archive_entry_free(t.e);
	free(t.buf);
	if (r < 0)
		errno = e;
	return r;
}

int archive_compress_at(int srcdir, const char *name, int dstdir, int level,
                        char *out_name, size_t out_len, struct ckptd_archive_stats *st)
{
	struct ckptd_archive_stats local = { 0 };
	if (!st)
		st = &local;
	*st = (struct ckptd_archive_stats){ 0 };
	if (!archive_tmp_valid_name(name) || level < ZSTD_minCLevel() || level > ZSTD_maxCLevel()) {
		errno = EINVAL;
		return -1;
	}
	struct stat want, got;
	if (archive_tmp_stat_source(srcdir, name, &want) < 0)
		return -1;
	bool isdir = S_ISDIR(want.st_mode);
	char result[NAME_MAX + 1];
	int n = snprintf(result, sizeof result, "%s%s", name, isdir ? ".tar.zst" : ".zst");
	if (n < 0 || (size_t)n >= sizeof result) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (out_name && (size_t)n >= out_len) {
		errno = ERANGE;
		return -1;
	}
	int src = archive_tmp_open_same(srcdir, name, &want, &got);
	if (src < 0)
		return -1;
	char tmp[ARCHIVE_TMP_NAME_MAX];
	int out = archive_tmp_create(dstdir, result, false, 0600, tmp);
	if (out < 0) {
		int e = errno;
		close(src);
		errno = e;
		return -1;
	}
	int r;
	if (isdir) {
		r = tar_dir(src, &got, name, out, level, st);
		if (r == 0)  /* readable as the directory was, never executable */
			r = fchmod(out, got.st_mode & 0666);
	} else {
		r = zstd_file(src, got.st_size, out, level, st);
		struct timespec ts[2] = { got.st_atim, got.st_mtim };
		if (r == 0)  /* as `zstd` does: the file's permissions and times */
			r = fchmod(out, got.st_mode & 0777);
		if (r == 0)
			r = futimens(out, ts);
	}
	int e = errno;
	close(src);
	if (r < 0) {
		errno = e;
		archive_tmp_abort(out, dstdir, tmp);
		return -1;
	}
	if (archive_tmp_commit(out, dstdir, tmp, result) < 0)
		return -1;
	if (out_name)
		memcpy(out_name, result, (size_t)n + 1);
	return 0;
}
