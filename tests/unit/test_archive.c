/* test_archive.c - compress, copy, remove and clean up checkpoints in
 * real temp directories under /tmp.  Every .zst is read back with the
 * zstd library and with `zstd -d`, every .tar.zst with `tar --zstd -xf`;
 * symlinks inside a checkpoint are stored and removed as links, their
 * targets untouched; a full disk (a 64 KiB tmpfs, mounted when we may)
 * leaves no temporary and the source intact. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zstd.h>

#include "ckptd/archive.h"
#include "ckptd/archive_tmp.h"

/* ---- fixture: DIR/{ckpts,archive,outside} ---- */

struct fix {
	char dir[64];
	int root, ckpts, arch, outside;
	char mounted[128];  /* a tmpfs to unmount at teardown, or "" */
};

static int open_dir(int at, const char *name)
{
	int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	return fd;
}

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof *f);
	assert_non_null(f);
	strcpy(f->dir, "/tmp/ckptd-archive-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	f->root = open_dir(AT_FDCWD, f->dir);
	assert_int_equal(mkdirat(f->root, "ckpts", 0755), 0);
	assert_int_equal(mkdirat(f->root, "archive", 0755), 0);
	assert_int_equal(mkdirat(f->root, "outside", 0755), 0);
	f->ckpts = open_dir(f->root, "ckpts");
	f->arch = open_dir(f->root, "archive");
	f->outside = open_dir(f->root, "outside");
	*state = f;
	return 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static int teardown(void **state)
{
	struct fix *f = *state;
	if (f->mounted[0])
		umount2(f->mounted, MNT_DETACH);
	close(f->ckpts), close(f->arch), close(f->outside), close(f->root);
	assert_int_equal(nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS), 0);
	free(f);
	return 0;
}

/* ---- bytes ---- */

/* Deterministic data: text-like runs and random bytes, about 3:1 under
 * zstd -3 (random = true: incompressible). */
static unsigned char *gen(size_t n, uint64_t seed, bool random)
{
	static const char words[] = "epoch loss tensor weight bias layer norm grad ";
	unsigned char *p = malloc(n ? n : 1);
	assert_non_null(p);
	for (size_t i = 0; i < n; i++) {
		seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
		bool word = !random && (i / 64) % 4 != 0;
		p[i] = word ? (unsigned char)words[(i + (seed & 1)) % (sizeof words - 1)]
		            : (unsigned char)seed;
	}
	return p;
}

static void write_file(int dir, const char *name, const void *p, size_t n, mode_t mode)
{
	int fd = openat(dir, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, p, n), (ssize_t)n);
	assert_int_equal(close(fd), 0);
}

static unsigned char *read_file(int dir, const char *name, size_t *n)
{
	int fd = openat(dir, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fail_msg("open %s: %s", name, strerror(errno));
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	unsigned char *p = malloc((size_t)st.st_size + 1);
	assert_non_null(p);
	size_t got = 0;
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, p + got, (size_t)st.st_size - got);
		assert_true(r > 0);
		got += (size_t)r;
	}
	close(fd);
	*n = got;
	return p;
}

static void assert_file_is(int dir, const char *name, const void *want, size_t len)
{
	size_t n;
	unsigned char *p = read_file(dir, name, &n);
	assert_int_equal(n, len);
	assert_memory_equal(p, want, len);
	free(p);
}

/* A .zst decoded with the library, streaming. */
static unsigned char *unzstd(const unsigned char *in, size_t len, size_t *out_len)
{
	ZSTD_DStream *zd = ZSTD_createDStream();
	assert_non_null(zd);
	size_t cap = 1 << 16, n = 0;
	unsigned char *out = malloc(cap);
	assert_non_null(out);
	ZSTD_inBuffer ib = { in, len, 0 };
	size_t left = 1;
	while (ib.pos < ib.size || left != 0) {
		if (n == cap) {
			cap *= 2;
			out = realloc(out, cap);
			assert_non_null(out);
		}
		ZSTD_outBuffer ob = { out + n, cap - n, 0 };
		size_t before = ib.pos;
		left = ZSTD_decompressStream(zd, &ob, &ib);
		if (ZSTD_isError(left))
			fail_msg("zstd: %s", ZSTD_getErrorName(left));
		n += ob.pos;
		if (ob.pos == 0 && ib.pos == before && left != 0 && n < cap)
			fail_msg("truncated zstd frame");
	}
	ZSTD_freeDStream(zd);
	*out_len = n;
	return out;
}

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	return system(cmd);
}

/* The names in dir, sorted, one "name" per line. */
static char *listing(int dir)
{
	char **names;
	size_t n;
	assert_int_equal(archive_tmp_names(dir, &names, &n), 0);
	char *s = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&s, &len);
	assert_non_null(m);
	for (size_t i = 0; i < n; i++)
		fprintf(m, "%s\n", names[i]);
	assert_int_equal(fclose(m), 0);
	archive_tmp_names_free(names, n);
	return s;
}

static void assert_listing(int dir, const char *want)
{
	char *got = listing(dir);
	assert_string_equal(got, want);
	free(got);
}

static void assert_link(int dir, const char *name, const char *target)
{
	char buf[256];
	ssize_t n = readlinkat(dir, name, buf, sizeof buf - 1);
	if (n < 0)
		fail_msg("readlink %s: %s", name, strerror(errno));
	buf[n] = '\0';
	assert_string_equal(buf, target);
}

/* ---- a directory checkpoint ---- */

#define BIG_LEN (300u * 1024u)

/* ckpts/NAME: files at two depths, an empty dir, a symlink inside, a
 * symlink to outside/secret.txt and one to outside/, a fifo. */
static void make_tree(struct fix *f, const char *name, uint64_t seed)
{
	char p[512];
	assert_int_equal(mkdirat(f->ckpts, name, 0750), 0);
	int d = open_dir(f->ckpts, name);
	write_file(d, "config.json", "{\"lr\": 0.001}\n", 14, 0644);
	unsigned char *big = gen(BIG_LEN, seed, false);
	write_file(d, "model.safetensors", big, BIG_LEN, 0600);
	free(big);
	assert_int_equal(mkdirat(d, "optim", 0755), 0);
	assert_int_equal(mkdirat(d, "optim/shard", 0700), 0);
	write_file(d, "optim/shard/0.pt", "state", 5, 0640);
	assert_int_equal(mkdirat(d, "empty", 0755), 0);
	assert_int_equal(symlinkat("optim/shard/0.pt", d, "latest"), 0);
	snprintf(p, sizeof p, "%s/outside/secret.txt", f->dir);
	assert_int_equal(symlinkat(p, d, "escape"), 0);
	snprintf(p, sizeof p, "%s/outside", f->dir);
	assert_int_equal(symlinkat(p, d, "escape_dir"), 0);
	assert_int_equal(mkfifoat(d, "fifo", 0644), 0);
	close(d);
	write_file(f->outside, "secret.txt", "keep me", 7, 0644);
	write_file(f->outside, "data.bin", "outside data", 12, 0644);
}

/* The outside directory as make_tree left it. */
static void assert_outside_intact(struct fix *f)
{
	assert_listing(f->outside, "data.bin\nsecret.txt\n");
	assert_file_is(f->outside, "secret.txt", "keep me", 7);
	assert_file_is(f->outside, "data.bin", "outside data", 12);
}

/* ---- compress: files ---- */

static void roundtrip_file(struct fix *f, size_t len, bool random, int level)
{
	unsigned char *data = gen(len, 0x9E3779B97F4A7C15ull + len, random);
	write_file(f->ckpts, "epoch=3.ckpt", data, len, 0640);
	struct timespec ts[2] = { { 1000, 0 }, { 1700000000, 123456789 } };
	assert_int_equal(utimensat(f->ckpts, "epoch=3.ckpt", ts, 0), 0);

	char out[64];
	struct ckptd_archive_stats st;
	assert_int_equal(archive_compress_at(f->ckpts, "epoch=3.ckpt", f->arch, level, out,
	                                     sizeof out, &st), 0);
	assert_string_equal(out, "epoch=3.ckpt.zst");
	assert_listing(f->arch, "epoch=3.ckpt.zst\n");
	assert_file_is(f->ckpts, "epoch=3.ckpt", data, len);  /* the source stays */
	assert_int_equal(st.bytes_in, len);

	size_t zlen, dlen;
	unsigned char *z = read_file(f->arch, out, &zlen);
	assert_int_equal(st.bytes_out, zlen);
	unsigned char *d = unzstd(z, zlen, &dlen);
	assert_int_equal(dlen, len);
	assert_memory_equal(d, data, len);
	assert_int_equal(ZSTD_getFrameContentSize(z, zlen), len);
	free(d);
	free(z);

	assert_int_equal(run("zstd -q -d -c '%s/archive/%s' > '%s/outside/dec'", f->dir, out, f->dir), 0);
	assert_file_is(f->outside, "dec", data, len);
	assert_int_equal(unlinkat(f->outside, "dec", 0), 0);

	struct stat s;
	assert_int_equal(fstatat(f->arch, out, &s, 0), 0);
	assert_int_equal(s.st_mode & 07777, 0640);
	assert_int_equal(s.st_mtim.tv_sec, 1700000000);
	assert_int_equal(s.st_mtim.tv_nsec, 123456789);
	assert_int_equal(unlinkat(f->arch, out, 0), 0);
	free(data);
}

static void test_compress_file(void **state)
{
	struct fix *f = *state;
	roundtrip_file(f, 100 * 1024, false, 3);
	roundtrip_file(f, 0, false, 3);
	roundtrip_file(f, 1, false, 19);
	roundtrip_file(f, 4u * 1024 * 1024 + 17, true, 1);  /* a few MB, incompressible */
	roundtrip_file(f, 3u * 1024 * 1024, false, -1);
}

static void test_compress_replaces(void **state)
{
	struct fix *f = *state;
	write_file(f->arch, "e.pt.zst", "stale", 5, 0644);
	write_file(f->ckpts, "e.pt", "fresh", 5, 0644);
	assert_int_equal(archive_compress_at(f->ckpts, "e.pt", f->arch, 3, NULL, 0, NULL), 0);
	assert_listing(f->arch, "e.pt.zst\n");
	assert_int_equal(run("zstd -q -d -c '%s/archive/e.pt.zst' | grep -qx fresh", f->dir), 0);
}

static void test_compress_refused(void **state)
{
	struct fix *f = *state;
	char out[64];
	write_file(f->ckpts, "e.pt", "x", 1, 0644);
	assert_int_equal(symlinkat("e.pt", f->ckpts, "link.pt"), 0);
	assert_int_equal(mkfifoat(f->ckpts, "fifo.pt", 0644), 0);

	assert_int_equal(archive_compress_at(f->ckpts, "link.pt", f->arch, 3, out, sizeof out, NULL), -1);
	assert_int_equal(errno, ELOOP);
	assert_int_equal(archive_compress_at(f->ckpts, "fifo.pt", f->arch, 3, out, sizeof out, NULL), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(archive_compress_at(f->ckpts, "nope.pt", f->arch, 3, out, sizeof out, NULL), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(archive_compress_at(f->ckpts, "e.pt", f->arch, 99, out, sizeof out, NULL), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(archive_compress_at(f->ckpts, "../ckpts/e.pt", f->arch, 3, out, sizeof out, NULL), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(archive_compress_at(f->ckpts, "..", f->arch, 3, out, sizeof out, NULL), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(archive_compress_at(f->ckpts, "e.pt", f->arch, 3, out, 8, NULL), -1);
	assert_int_equal(errno, ERANGE);
	/* a name leaving no room for the temporary's suffix */
	char longname[250];
	memset(longname, 'a', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	write_file(f->ckpts, longname, "x", 1, 0644);
	assert_int_equal(archive_compress_at(f->ckpts, longname, f->arch, 3, NULL, 0, NULL), -1);
	assert_int_equal(errno, ENAMETOOLONG);
	assert_listing(f->arch, "");
}

/* ---- compress: directories ---- */

static void test_compress_dir(void **state)
{
	struct fix *f = *state;
	make_tree(f, "checkpoint-500", 7);
	char out[64];
	struct ckptd_archive_stats st;
	assert_int_equal(archive_compress_at(f->ckpts, "checkpoint-500", f->arch, 3, out, sizeof out,
	                                     &st), 0);
	assert_string_equal(out, "checkpoint-500.tar.zst");
	assert_listing(f->arch, "checkpoint-500.tar.zst\n");
	assert_int_equal(st.bytes_in, 14 + BIG_LEN + 5);  /* file contents only */
	assert_true(st.bytes_out < BIG_LEN);

	/* the library and the zstd program decode the same tar */
	size_t zlen, tlen, clen;
	unsigned char *z = read_file(f->arch, out, &zlen);
	assert_int_equal(st.bytes_out, zlen);
	unsigned char *tarb = unzstd(z, zlen, &tlen);
	assert_true(tlen > 1024 && tlen % 512 == 0);
	assert_memory_equal(tarb + 257, "ustar", 5);
	assert_int_equal(run("zstd -q -d -c '%s/archive/%s' > '%s/archive/plain.tar'", f->dir, out, f->dir), 0);
	unsigned char *cli = read_file(f->arch, "plain.tar", &clen);
	assert_int_equal(clen, tlen);
	assert_memory_equal(cli, tarb, tlen);
	free(cli), free(tarb), free(z);
	assert_int_equal(unlinkat(f->arch, "plain.tar", 0), 0);

	/* tar recreates checkpoint-500/ as it was, fifo left out */
	assert_int_equal(mkdirat(f->root, "x", 0755), 0);
	assert_int_equal(run("tar --zstd -xf '%s/archive/%s' -C '%s/x'", f->dir, out, f->dir), 0);
	assert_int_equal(unlinkat(f->ckpts, "checkpoint-500/fifo", 0), 0);
	assert_int_equal(run("diff -r --no-dereference '%s/ckpts/checkpoint-500' '%s/x/checkpoint-500'",
	                     f->dir, f->dir), 0);
	int x = open_dir(f->root, "x/checkpoint-500");
	assert_link(x, "latest", "optim/shard/0.pt");
	char p[256];
	snprintf(p, sizeof p, "%s/outside/secret.txt", f->dir);
	assert_link(x, "escape", p);
	struct stat s;
	assert_int_equal(fstatat(x, "optim/shard", &s, 0), 0);
	assert_int_equal(s.st_mode & 07777, 0700);
	assert_int_equal(fstatat(x, "model.safetensors", &s, 0), 0);
	assert_int_equal(s.st_mode & 07777, 0600);
	close(x);
	assert_outside_intact(f);
	assert_int_equal(run("tar --zstd -tf '%s/archive/%s' | grep -v '^checkpoint-500/' | grep -q .",
	                     f->dir, out), 256);  /* every path under checkpoint-500/ */
}

/* ---- copy ---- */

static void test_copy_file(void **state)
{
	struct fix *f = *state;
	unsigned char *data = gen(2u * 1024 * 1024, 3, false);
	write_file(f->ckpts, "epoch=8.ckpt", data, 2u * 1024 * 1024, 0640);
	write_file(f->arch, "best.ckpt", "old", 3, 0644);
	struct ckptd_archive_stats st;
	assert_int_equal(archive_copy_at(f->ckpts, "epoch=8.ckpt", f->arch, "best.ckpt", &st), 0);
	assert_int_equal(st.bytes_in, 2u * 1024 * 1024);
	assert_file_is(f->arch, "best.ckpt", data, 2u * 1024 * 1024);
	assert_file_is(f->ckpts, "epoch=8.ckpt", data, 2u * 1024 * 1024);
	assert_listing(f->arch, "best.ckpt\n");
	struct stat a, b;
	assert_int_equal(fstatat(f->ckpts, "epoch=8.ckpt", &a, 0), 0);
	assert_int_equal(fstatat(f->arch, "best.ckpt", &b, 0), 0);
	assert_int_equal(b.st_mode & 07777, 0640);
	assert_int_equal(b.st_mtim.tv_sec, a.st_mtim.tv_sec);
	assert_int_equal(b.st_mtim.tv_nsec, a.st_mtim.tv_nsec);
	assert_true(a.st_ino != b.st_ino);
	free(data);

	/* a file never replaces a directory */
	assert_int_equal(mkdirat(f->arch, "dir.ckpt", 0755), 0);
	write_file(f->arch, "dir.ckpt/keep", "k", 1, 0644);
	assert_int_equal(archive_copy_at(f->ckpts, "epoch=8.ckpt", f->arch, "dir.ckpt", NULL), -1);
	assert_int_equal(errno, EISDIR);
	assert_listing(f->arch, "best.ckpt\ndir.ckpt\n");
	assert_file_is(f->arch, "dir.ckpt/keep", "k", 1);

	assert_int_equal(symlinkat("epoch=8.ckpt", f->ckpts, "last.ckpt"), 0);
	assert_int_equal(archive_copy_at(f->ckpts, "last.ckpt", f->arch, "x", NULL), -1);
	assert_int_equal(errno, ELOOP);
}

static void test_copy_dir(void **state)
{
	struct fix *f = *state;
	make_tree(f, "checkpoint-500", 11);
	assert_int_equal(archive_copy_at(f->ckpts, "checkpoint-500", f->arch, "best", NULL), 0);
	assert_listing(f->arch, "best\n");
	int b = open_dir(f->arch, "best");
	assert_listing(b, "config.json\nempty\nescape\nescape_dir\nlatest\nmodel.safetensors\noptim\n");
	close(b);
	assert_int_equal(unlinkat(f->ckpts, "checkpoint-500/fifo", 0), 0);
	assert_int_equal(run("diff -r --no-dereference '%s/ckpts/checkpoint-500' '%s/archive/best'",
	                     f->dir, f->dir), 0);
	struct stat s;
	assert_int_equal(fstatat(f->arch, "best", &s, 0), 0);
	assert_int_equal(s.st_mode & 07777, 0750);

	/* a newer checkpoint replaces the copy whole */
	make_tree(f, "checkpoint-600", 12);
	write_file(f->ckpts, "checkpoint-600/only-in-600", "6", 1, 0644);
	assert_int_equal(unlinkat(f->ckpts, "checkpoint-600/config.json", 0), 0);
	assert_int_equal(unlinkat(f->ckpts, "checkpoint-600/fifo", 0), 0);
	assert_int_equal(archive_copy_at(f->ckpts, "checkpoint-600", f->arch, "best", NULL), 0);
	assert_listing(f->arch, "best\n");
	assert_int_equal(run("diff -r --no-dereference '%s/ckpts/checkpoint-600' '%s/archive/best'",
	                     f->dir, f->dir), 0);
	assert_outside_intact(f);

	/* a directory never replaces a file */
	write_file(f->arch, "plain", "p", 1, 0644);
	assert_int_equal(archive_copy_at(f->ckpts, "checkpoint-600", f->arch, "plain", NULL), -1);
	assert_int_equal(errno, ENOTDIR);
	assert_listing(f->arch, "best\nplain\n");
}

/* ---- remove ---- */

static void test_remove(void **state)
{
	struct fix *f = *state;
	make_tree(f, "checkpoint-500", 5);
	assert_int_equal(archive_remove_at(f->ckpts, "checkpoint-500"), 0);
	assert_listing(f->ckpts, "");
	assert_outside_intact(f);

	/* a symlink named as the checkpoint: the link goes, its target stays */
	char p[256];
	snprintf(p, sizeof p, "%s/outside", f->dir);
	assert_int_equal(symlinkat(p, f->ckpts, "checkpoint-600"), 0);
	assert_int_equal(archive_remove_at(f->ckpts, "checkpoint-600"), 0);
	assert_listing(f->ckpts, "");
	assert_outside_intact(f);

	write_file(f->ckpts, "epoch=1.ckpt", "x", 1, 0644);
	assert_int_equal(archive_remove_at(f->ckpts, "epoch=1.ckpt"), 0);
	assert_listing(f->ckpts, "");
	assert_int_equal(archive_remove_at(f->ckpts, "epoch=1.ckpt"), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(archive_remove_at(f->ckpts, ".."), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(archive_remove_at(f->ckpts, "a/b"), -1);
	assert_int_equal(errno, EINVAL);
}

/* ---- temporaries ---- */

static void test_clean_tmp(void **state)
{
	struct fix *f = *state;
	static const char *const ours[] = {
		".epoch=3.ckpt.zst.AbC123.tmp", ".best.Xy9Zk0.tmp", ".a.000000.tmp",
	};
	static const char *const others[] = {
		"epoch=3.ckpt.tmp", ".foo.tmp", ".foo.abc12.tmp", ".foo.abc1!2.tmp", ".x.ABCDEF.tmpx",
		"..ABCDEF.tmp", ".ABCDEF.tmp", "x.ABCDEF.tmp", ".x.ABCDEFG.tmp", ".x-ABCDEF.tmp",
		"notes.txt",
	};
	write_file(f->arch, ours[0], "z", 1, 0600);
	assert_int_equal(mkdirat(f->arch, ours[1], 0700), 0);
	write_file(f->arch, ".best.Xy9Zk0.tmp/inner", "i", 1, 0600);
	char p[256];
	snprintf(p, sizeof p, "%s/outside", f->dir);
	assert_int_equal(symlinkat(p, f->arch, ours[2]), 0);  /* a link: goes, target stays */
	for (size_t i = 0; i < sizeof others / sizeof others[0]; i++)
		write_file(f->arch, others[i], "o", 1, 0600);
	for (size_t i = 0; i < sizeof ours / sizeof ours[0]; i++)
		assert_true(archive_tmp_is_ours(ours[i]));
	for (size_t i = 0; i < sizeof others / sizeof others[0]; i++)
		if (archive_tmp_is_ours(others[i]))
			fail_msg("%s taken for a temporary", others[i]);

	write_file(f->outside, "secret.txt", "keep me", 7, 0644);
	write_file(f->outside, "data.bin", "outside data", 12, 0644);
	assert_int_equal(archive_clean_tmp(f->arch), 3);
	assert_listing(f->arch, "..ABCDEF.tmp\n.ABCDEF.tmp\n.foo.abc1!2.tmp\n.foo.abc12.tmp\n.foo.tmp\n"
	                        ".x-ABCDEF.tmp\n.x.ABCDEF.tmpx\n.x.ABCDEFG.tmp\nepoch=3.ckpt.tmp\n"
	                        "notes.txt\nx.ABCDEF.tmp\n");
	assert_outside_intact(f);
	assert_int_equal(archive_clean_tmp(f->arch), 0);

	/* what the functions create is what clean_tmp removes */
	char tmp[ARCHIVE_TMP_NAME_MAX];
	int fd = archive_tmp_create(f->arch, "epoch=9.ckpt.zst", false, 0600, tmp);
	assert_true(fd >= 0);
	close(fd);
	assert_true(archive_tmp_is_ours(tmp));
	assert_int_equal(strncmp(tmp, ".epoch=9.ckpt.zst.", 18), 0);
	fd = archive_tmp_create(f->arch, "best", true, 0700, tmp);
	assert_true(fd >= 0);
	close(fd);
	assert_true(archive_tmp_is_ours(tmp));
	assert_int_equal(archive_clean_tmp(f->arch), 2);
}

/* ---- a full disk ---- */

/* A 64 KiB tmpfs at DIR/tiny, or skip the test. */
static int mount_tiny(struct fix *f)
{
	assert_int_equal(mkdirat(f->root, "tiny", 0755), 0);
	snprintf(f->mounted, sizeof f->mounted, "%s/tiny", f->dir);
	if (mount("tmpfs", f->mounted, "tmpfs", MS_NOSUID | MS_NODEV, "size=64k") != 0) {
		f->mounted[0] = '\0';
		print_message("cannot mount a tmpfs (%s): skipped\n", strerror(errno));
		skip();
	}
	return open_dir(f->root, "tiny");
}

static void test_enospc(void **state)
{
	struct fix *f = *state;
	int tiny = mount_tiny(f);
	size_t len = 1024u * 1024u;
	unsigned char *data = gen(len, 99, true);
	write_file(f->ckpts, "epoch=2.ckpt", data, len, 0644);
	make_tree(f, "checkpoint-7", 1);
	write_file(f->ckpts, "checkpoint-7/noise", data, len, 0644);

	char out[64];
	assert_int_equal(archive_compress_at(f->ckpts, "epoch=2.ckpt", tiny, 3, out, sizeof out, NULL), -1);
	assert_int_equal(errno, ENOSPC);
	assert_listing(tiny, "");
	assert_int_equal(archive_compress_at(f->ckpts, "checkpoint-7", tiny, 3, out, sizeof out, NULL), -1);
	assert_int_equal(errno, ENOSPC);
	assert_listing(tiny, "");
	assert_int_equal(archive_copy_at(f->ckpts, "epoch=2.ckpt", tiny, "best.ckpt", NULL), -1);
	assert_int_equal(errno, ENOSPC);
	assert_listing(tiny, "");
	assert_int_equal(archive_copy_at(f->ckpts, "checkpoint-7", tiny, "best", NULL), -1);
	assert_int_equal(errno, ENOSPC);
	assert_listing(tiny, "");

	/* the sources are untouched */
	assert_file_is(f->ckpts, "epoch=2.ckpt", data, len);
	assert_file_is(f->ckpts, "checkpoint-7/noise", data, len);
	assert_listing(f->ckpts, "checkpoint-7\nepoch=2.ckpt\n");

	/* and what fits still works there */
	write_file(f->ckpts, "small.ckpt", "small", 5, 0644);
	assert_int_equal(archive_compress_at(f->ckpts, "small.ckpt", tiny, 3, out, sizeof out, NULL), 0);
	assert_listing(tiny, "small.ckpt.zst\n");
	close(tiny);
	free(data);
}

/* A mount point inside a tree is not ours to empty. */
static void test_remove_stops_at_mounts(void **state)
{
	struct fix *f = *state;
	int tiny = mount_tiny(f);
	write_file(tiny, "foreign", "f", 1, 0644);
	close(tiny);
	/* checkpoint-9/{own, mnt: the tmpfs bound there} */
	assert_int_equal(mkdirat(f->ckpts, "checkpoint-9", 0755), 0);
	assert_int_equal(mkdirat(f->ckpts, "checkpoint-9/mnt", 0755), 0);
	write_file(f->ckpts, "checkpoint-9/own", "o", 1, 0644);
	char dst[256];
	snprintf(dst, sizeof dst, "%s/ckpts/checkpoint-9/mnt", f->dir);
	assert_int_equal(mount(f->mounted, dst, NULL, MS_BIND, NULL), 0);
	int r = archive_remove_at(f->ckpts, "checkpoint-9");
	int e = errno;
	assert_int_equal(umount2(dst, MNT_DETACH), 0);
	assert_int_equal(r, -1);
	assert_int_equal(e, EXDEV);
	int t = open_dir(f->root, "tiny");
	assert_listing(t, "foreign\n");
	close(t);
	int c9 = open_dir(f->ckpts, "checkpoint-9");
	assert_listing(c9, "mnt\n");  /* what was ours went */
	close(c9);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_compress_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_compress_replaces, setup, teardown),
		cmocka_unit_test_setup_teardown(test_compress_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_compress_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copy_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copy_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove, setup, teardown),
		cmocka_unit_test_setup_teardown(test_clean_tmp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_enospc, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove_stops_at_mounts, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
