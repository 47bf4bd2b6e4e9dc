/* test_verify.c - is a checkpoint complete?  Zips (stored, with comments,
 * zip64, empty) built byte by byte here, cut at every length and with
 * garbage appended; safetensors complete, cut and torn; symlinks,
 * directories, fifos and unreadable files refused.
 *
 * The cut rule: a prefix of a zip shorter than 4 bytes does not yet show
 * the zip signature, so it is UNKNOWN; every longer proper prefix is
 * INCOMPLETE.  A prefix of a .safetensors file is INCOMPLETE at every
 * length (the name chooses the format). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ckptd/verify.h"

/* ---- a growing byte buffer ---- */

struct buf {
	unsigned char *p;
	size_t len, cap;
};

static void put(struct buf *b, const void *src, size_t n)
{
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n)
			cap *= 2;
		unsigned char *p = realloc(b->p, cap);
		assert_non_null(p);
		b->p = p;
		b->cap = cap;
	}
	if (n)
		memcpy(b->p + b->len, src, n);
	b->len += n;
}

static void put16(struct buf *b, uint32_t v)
{
	unsigned char x[2] = { (unsigned char)v, (unsigned char)(v >> 8) };
	put(b, x, 2);
}

static void put32(struct buf *b, uint32_t v)
{
	unsigned char x[4] = { (unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
		               (unsigned char)(v >> 24) };
	put(b, x, 4);
}

static void put64(struct buf *b, uint64_t v)
{
	put32(b, (uint32_t)v);
	put32(b, (uint32_t)(v >> 32));
}

static uint32_t crc32(const unsigned char *p, size_t n)
{
	uint32_t c = 0xFFFFFFFFu;
	for (size_t i = 0; i < n; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0xEDB88320u : c >> 1;
	}
	return ~c;
}

/* ---- a stored (uncompressed) zip, as torch.save writes one ---- */

struct member {
	const char *name;
	const unsigned char *data;
	size_t len;
};

/* zip64: the end record's fields saturated, the real values in a zip64
 * end record and locator before it. */
static struct buf make_zip(const struct member *m, size_t n, const char *comment, int zip64)
{
	struct buf b = { 0 }, cd = { 0 };
	for (size_t i = 0; i < n; i++) {
		uint32_t off = (uint32_t)b.len, crc = crc32(m[i].data, m[i].len);
		uint16_t nlen = (uint16_t)strlen(m[i].name);
		put32(&b, 0x04034b50);
		put16(&b, 20), put16(&b, 0), put16(&b, 0), put16(&b, 0), put16(&b, 0x21);
		put32(&b, crc), put32(&b, (uint32_t)m[i].len), put32(&b, (uint32_t)m[i].len);
		put16(&b, nlen), put16(&b, 0);
		put(&b, m[i].name, nlen);
		put(&b, m[i].data, m[i].len);

		put32(&cd, 0x02014b50);
		put16(&cd, 20), put16(&cd, 20), put16(&cd, 0), put16(&cd, 0), put16(&cd, 0), put16(&cd, 0x21);
		put32(&cd, crc), put32(&cd, (uint32_t)m[i].len), put32(&cd, (uint32_t)m[i].len);
		put16(&cd, nlen), put16(&cd, 0), put16(&cd, 0), put16(&cd, 0), put16(&cd, 0);
		put32(&cd, 0), put32(&cd, off);
		put(&cd, m[i].name, nlen);
	}
	uint64_t cd_off = b.len, cd_size = cd.len;
	put(&b, cd.p, cd.len);
	free(cd.p);
	if (zip64) {
		uint64_t rec = b.len;
		put32(&b, 0x06064b50), put64(&b, 44), put16(&b, 45), put16(&b, 45);
		put32(&b, 0), put32(&b, 0), put64(&b, n), put64(&b, n), put64(&b, cd_size), put64(&b, cd_off);
		put32(&b, 0x07064b50), put32(&b, 0), put64(&b, rec), put32(&b, 1);
	}
	size_t clen = comment ? strlen(comment) : 0;
	put32(&b, 0x06054b50), put16(&b, 0), put16(&b, 0);
	put16(&b, zip64 ? 0xFFFF : (uint32_t)n), put16(&b, zip64 ? 0xFFFF : (uint32_t)n);
	put32(&b, zip64 ? 0xFFFFFFFF : (uint32_t)cd_size);
	put32(&b, zip64 ? 0xFFFFFFFF : (uint32_t)cd_off);
	put16(&b, (uint32_t)clen);
	put(&b, comment, clen);
	return b;
}

static const unsigned char pkl[] = "\x80\x02}q\x00X\x01\x00\x00\x00aq\x01K\x01s.";
static const unsigned char tensor[] = "0123456789abcdefPK\x05\x06 looks like an end record";

static struct buf small_zip(const char *comment, int zip64)
{
	struct member m[] = {
		{ "archive/data.pkl", pkl, sizeof pkl - 1 },
		{ "archive/data/0", tensor, sizeof tensor - 1 },
		{ "archive/version", (const unsigned char *)"3\n", 2 },
	};
	return make_zip(m, 3, comment, zip64);
}

/* ---- a temp directory with files in it ---- */

struct fix {
	char dir[64];
	int dfd;
};

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof *f);
	assert_non_null(f);
	strcpy(f->dir, "/tmp/ckptd-verify-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	f->dfd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(f->dfd >= 0);
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
	close(f->dfd);
	assert_int_equal(nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS), 0);
	free(f);
	return 0;
}

static void write_file(struct fix *f, const char *name, const void *p, size_t n)
{
	int fd = openat(f->dfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, p, n), (ssize_t)n);
	assert_int_equal(close(fd), 0);
}

/* The verdict on name (which must be readable); why gets the reason. */
static enum ckptd_verdict judge(struct fix *f, const char *name, char *why, size_t whylen)
{
	enum ckptd_verdict v = (enum ckptd_verdict)-1;
	if (verify_file_at(f->dfd, name, &v, why, whylen) != 0)
		fail_msg("verify_file_at(%s): %s", name, strerror(errno));
	return v;
}

static enum ckptd_verdict judge_bytes(struct fix *f, const char *name, const void *p, size_t n)
{
	char why[128];
	write_file(f, name, p, n);
	return judge(f, name, why, sizeof why);
}

/* Does python3's zipfile read it and find every CRC right?  -1 when
 * there is no python3 to ask. */
static int python_zip_ok(struct fix *f, const char *name)
{
	if (system("python3 -c 'import zipfile' >/dev/null 2>&1") != 0)
		return -1;
	char cmd[512];
	snprintf(cmd, sizeof cmd,
	         "python3 -c 'import sys, zipfile; sys.exit(zipfile.ZipFile(sys.argv[1]).testzip() is not None)' "
	         "'%s/%s' 2>/dev/null",
	         f->dir, name);
	return system(cmd) == 0;
}

/* Every proper prefix of b is UNKNOWN below 4 bytes, INCOMPLETE above. */
static void every_cut(struct fix *f, const struct buf *b)
{
	for (size_t cut = 0; cut < b->len; cut++) {
		enum ckptd_verdict v = judge_bytes(f, "cut.ckpt", b->p, cut);
		enum ckptd_verdict want = cut < 4 ? CKPTD_VERIFY_UNKNOWN : CKPTD_VERIFY_INCOMPLETE;
		if (v != want)
			fail_msg("cut at %zu of %zu: verdict %d, want %d", cut, b->len, (int)v, (int)want);
	}
}

/* ---- zip ---- */

static void test_zip_complete(void **state)
{
	struct fix *f = *state;
	char why[128] = "x";
	struct buf b = small_zip(NULL, 0);
	write_file(f, "epoch=1.ckpt", b.p, b.len);
	assert_int_equal(judge(f, "epoch=1.ckpt", why, sizeof why), CKPTD_VERIFY_OK);
	assert_string_equal(why, "");
	if (python_zip_ok(f, "epoch=1.ckpt") == 0)
		fail_msg("python3 zipfile rejects the hand-built zip");

	/* through verify_fd too, with and without a name */
	int fd = openat(f->dfd, "epoch=1.ckpt", O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	enum ckptd_verdict v;
	assert_int_equal(verify_fd(fd, NULL, (long long)b.len, &v, NULL, 0), 0);
	assert_int_equal(v, CKPTD_VERIFY_OK);
	assert_int_equal(verify_fd(fd, "x.pt", (long long)b.len - 1, &v, why, sizeof why), 0);
	assert_int_equal(v, CKPTD_VERIFY_INCOMPLETE);
	assert_int_equal(verify_fd(fd, "x.pt", -1, &v, why, sizeof why), -1);
	assert_int_equal(errno, EINVAL);
	close(fd);
	free(b.p);
}

static void test_zip_comment(void **state)
{
	struct fix *f = *state;
	struct buf b = small_zip("saved by torch 2.3", 0);
	assert_int_equal(judge_bytes(f, "c.ckpt", b.p, b.len), CKPTD_VERIFY_OK);
	free(b.p);

	/* the longest comment a zip can have: the search reaches back 64 KiB */
	char *big = malloc(65536);
	assert_non_null(big);
	memset(big, 'c', 65535);
	big[65535] = '\0';
	b = small_zip(big, 0);
	assert_int_equal(judge_bytes(f, "c.ckpt", b.p, b.len), CKPTD_VERIFY_OK);
	if (python_zip_ok(f, "c.ckpt") == 0)
		fail_msg("python3 zipfile rejects the zip with a 64 KiB comment");
	for (size_t cut = b.len - 65535 - 22; cut < b.len; cut += 4099)
		assert_int_equal(judge_bytes(f, "c.ckpt", b.p, cut), CKPTD_VERIFY_INCOMPLETE);
	assert_int_equal(judge_bytes(f, "c.ckpt", b.p, b.len - 1), CKPTD_VERIFY_INCOMPLETE);
	free(b.p);
	free(big);
}

static void test_zip_every_cut(void **state)
{
	struct fix *f = *state;
	struct buf b = small_zip(NULL, 0);
	every_cut(f, &b);
	free(b.p);
	b = small_zip("a comment", 0);
	every_cut(f, &b);
	free(b.p);
	b = small_zip(NULL, 1);
	every_cut(f, &b);
	free(b.p);
}

static void test_zip_big_member(void **state)
{
	struct fix *f = *state;
	size_t n = 300 * 1024;
	unsigned char *data = malloc(n);
	assert_non_null(data);
	uint64_t s = 88172645463325252ull;
	for (size_t i = 0; i < n; i++) {
		s ^= s << 13, s ^= s >> 7, s ^= s << 17;
		data[i] = (unsigned char)s;
	}
	struct member m[] = { { "archive/data/0", data, n }, { "archive/data.pkl", pkl, sizeof pkl - 1 } };
	struct buf b = make_zip(m, 2, NULL, 0);
	assert_int_equal(judge_bytes(f, "big.ckpt", b.p, b.len), CKPTD_VERIFY_OK);
	for (size_t cut = 4; cut < b.len; cut += 997)
		assert_int_equal(judge_bytes(f, "big.ckpt", b.p, cut), CKPTD_VERIFY_INCOMPLETE);
	for (size_t cut = b.len - 200; cut < b.len; cut++)
		assert_int_equal(judge_bytes(f, "big.ckpt", b.p, cut), CKPTD_VERIFY_INCOMPLETE);
	free(b.p);
	free(data);
}

static void test_zip_appended_garbage(void **state)
{
	struct fix *f = *state;
	char why[128];
	struct buf b = small_zip(NULL, 0);
	put(&b, "garbage", 7);
	write_file(f, "g.ckpt", b.p, b.len);
	assert_int_equal(judge(f, "g.ckpt", why, sizeof why), CKPTD_VERIFY_INCOMPLETE);
	assert_non_null(strstr(why, "end of central directory"));
	free(b.p);

	/* a second, bogus end record appended whose comment reaches the end:
	 * its central directory offset points at no directory */
	b = small_zip(NULL, 0);
	put32(&b, 0x06054b50), put16(&b, 0), put16(&b, 0), put16(&b, 1), put16(&b, 1);
	put32(&b, 46), put32(&b, 0), put16(&b, 0);
	assert_int_equal(judge_bytes(f, "g.ckpt", b.p, b.len), CKPTD_VERIFY_INCOMPLETE);
	free(b.p);
}

static void test_zip_inconsistent(void **state)
{
	struct fix *f = *state;
	struct buf b = small_zip(NULL, 0);
	size_t eocd = b.len - 22;

	/* central directory offset moved off its headers */
	b.p[eocd + 16]++;
	assert_int_equal(judge_bytes(f, "i.ckpt", b.p, b.len), CKPTD_VERIFY_INCOMPLETE);
	b.p[eocd + 16]--;
	/* central directory size reaching past the end record */
	b.p[eocd + 12] += 30;
	assert_int_equal(judge_bytes(f, "i.ckpt", b.p, b.len), CKPTD_VERIFY_INCOMPLETE);
	b.p[eocd + 12] -= 30;
	/* more entries than headers */
	b.p[eocd + 8]++, b.p[eocd + 10]++;
	assert_int_equal(judge_bytes(f, "i.ckpt", b.p, b.len), CKPTD_VERIFY_INCOMPLETE);
	b.p[eocd + 8]--, b.p[eocd + 10]--;
	/* restored: complete again */
	assert_int_equal(judge_bytes(f, "i.ckpt", b.p, b.len), CKPTD_VERIFY_OK);
	free(b.p);

	/* an empty archive is a complete zip */
	struct buf e = make_zip(NULL, 0, NULL, 0);
	assert_int_equal(e.len, 22);
	assert_int_equal(judge_bytes(f, "e.zip", e.p, e.len), CKPTD_VERIFY_OK);
	free(e.p);
}

static void test_zip64(void **state)
{
	struct fix *f = *state;
	struct buf b = small_zip(NULL, 1);
	assert_int_equal(judge_bytes(f, "z64.ckpt", b.p, b.len), CKPTD_VERIFY_OK);
	if (python_zip_ok(f, "z64.ckpt") == 0)
		fail_msg("python3 zipfile rejects the hand-built zip64");

	/* the locator's signature broken: saturated fields with nothing to
	 * resolve them */
	size_t loc = b.len - 22 - 20;
	b.p[loc] ^= 0xFF;
	assert_int_equal(judge_bytes(f, "z64.ckpt", b.p, b.len), CKPTD_VERIFY_INCOMPLETE);
	b.p[loc] ^= 0xFF;
	/* the locator pointing past the record */
	b.p[loc + 8] += 4;
	assert_int_equal(judge_bytes(f, "z64.ckpt", b.p, b.len), CKPTD_VERIFY_INCOMPLETE);
	b.p[loc + 8] -= 4;
	/* the zip64 record's directory offset wrong */
	size_t rec = loc - 56;
	b.p[rec + 48] += 1;
	assert_int_equal(judge_bytes(f, "z64.ckpt", b.p, b.len), CKPTD_VERIFY_INCOMPLETE);
	b.p[rec + 48] -= 1;
	assert_int_equal(judge_bytes(f, "z64.ckpt", b.p, b.len), CKPTD_VERIFY_OK);
	free(b.p);
}

/* ---- safetensors ---- */

static struct buf make_safetensors(const char *header, size_t pad, size_t data_len)
{
	struct buf b = { 0 };
	size_t hlen = strlen(header) + pad;
	put64(&b, hlen);
	put(&b, header, strlen(header));
	for (size_t i = 0; i < pad; i++)
		put(&b, " ", 1);
	for (size_t i = 0; i < data_len; i++) {
		unsigned char c = (unsigned char)(i * 7);
		put(&b, &c, 1);
	}
	return b;
}

static const char st_header[] =
	"{\"__metadata__\":{\"format\":\"pt\"},"
	"\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},"
	"\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[16,24]}}";

static void test_safetensors_complete(void **state)
{
	struct fix *f = *state;
	char why[128] = "x";
	struct buf b = make_safetensors(st_header, 5, 24);
	write_file(f, "model.safetensors", b.p, b.len);
	assert_int_equal(judge(f, "model.safetensors", why, sizeof why), CKPTD_VERIFY_OK);
	assert_string_equal(why, "");
	/* the same bytes under another name: no format to judge by */
	assert_int_equal(judge_bytes(f, "model.bin", b.p, b.len), CKPTD_VERIFY_UNKNOWN);
	free(b.p);

	/* no tensors at all: an empty data section */
	b = make_safetensors("{\"__metadata__\":{}}", 0, 0);
	assert_int_equal(judge_bytes(f, "e.safetensors", b.p, b.len), CKPTD_VERIFY_OK);
	free(b.p);
}

static void test_safetensors_cut(void **state)
{
	struct fix *f = *state;
	char why[128];
	struct buf b = make_safetensors(st_header, 5, 24);
	for (size_t cut = 0; cut < b.len; cut++) {
		write_file(f, "m.safetensors", b.p, cut);
		if (judge(f, "m.safetensors", why, sizeof why) != CKPTD_VERIFY_INCOMPLETE)
			fail_msg("cut at %zu of %zu not incomplete", cut, b.len);
	}
	/* one byte too many: the tensors no longer reach the end */
	put(&b, "x", 1);
	write_file(f, "m.safetensors", b.p, b.len);
	assert_int_equal(judge(f, "m.safetensors", why, sizeof why), CKPTD_VERIFY_INCOMPLETE);
	assert_non_null(strstr(why, "tensors end at 24"));
	free(b.p);
}

static void test_safetensors_torn(void **state)
{
	struct fix *f = *state;
	static const char *const bad[] = {
		"[1,2,3]",                                                      /* not an object */
		"{\"w\":{\"data_offsets\":[0,16]",                             /* cut JSON */
		"{\"w\":{\"data_offsets\":[0,32]}}",                           /* past the data */
		"{\"w\":{\"data_offsets\":[8,4]}}",                            /* backwards */
		"{\"w\":{\"data_offsets\":[-8,24]}}",                          /* negative */
		"{\"w\":{\"dtype\":\"F32\"}}",                                 /* no offsets */
		"{\"w\":{\"data_offsets\":[0,\"24\"]}}",                       /* not integers */
		"{\"w\":{\"data_offsets\":[0,24]}} trailing",                   /* junk after */
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct buf b = make_safetensors(bad[i], 0, 24);
		if (judge_bytes(f, "t.safetensors", b.p, b.len) != CKPTD_VERIFY_INCOMPLETE)
			fail_msg("header %s taken as complete", bad[i]);
		free(b.p);
	}
	/* a header length far beyond the file */
	struct buf b = { 0 };
	put64(&b, 1ull << 40);
	put(&b, "{}", 2);
	assert_int_equal(judge_bytes(f, "t.safetensors", b.p, b.len), CKPTD_VERIFY_INCOMPLETE);
	free(b.p);
}

/* ---- what cannot be judged ---- */

static void test_unknown(void **state)
{
	struct fix *f = *state;
	assert_int_equal(judge_bytes(f, "empty.ckpt", "", 0), CKPTD_VERIFY_UNKNOWN);
	assert_int_equal(judge_bytes(f, "h5.ckpt", "\x89HDF\r\n\x1a\n....", 12), CKPTD_VERIFY_UNKNOWN);
	assert_int_equal(judge_bytes(f, "p.pkl", "\x80\x04\x95", 3), CKPTD_VERIFY_UNKNOWN);
}

static void test_refused(void **state)
{
	struct fix *f = *state;
	enum ckptd_verdict v;
	char why[64];
	struct buf b = small_zip(NULL, 0);
	write_file(f, "real.ckpt", b.p, b.len);
	free(b.p);

	assert_int_equal(symlinkat("real.ckpt", f->dfd, "link.ckpt"), 0);
	assert_int_equal(verify_file_at(f->dfd, "link.ckpt", &v, why, sizeof why), -1);
	assert_int_equal(errno, ELOOP);

	assert_int_equal(mkdirat(f->dfd, "checkpoint-500", 0755), 0);
	assert_int_equal(verify_file_at(f->dfd, "checkpoint-500", &v, why, sizeof why), -1);
	assert_int_equal(errno, EISDIR);

	/* a fifo with no writer: refused at once, never blocking */
	assert_int_equal(mkfifoat(f->dfd, "fifo.ckpt", 0644), 0);
	assert_int_equal(verify_file_at(f->dfd, "fifo.ckpt", &v, why, sizeof why), -1);
	assert_int_equal(errno, EINVAL);

	assert_int_equal(verify_file_at(f->dfd, "missing.ckpt", &v, why, sizeof why), -1);
	assert_int_equal(errno, ENOENT);
}

/* Unreadable: root reads everything, so the check runs in a child that
 * has given up root. */
static void test_unreadable(void **state)
{
	struct fix *f = *state;
	struct buf b = small_zip(NULL, 0);
	write_file(f, "secret.ckpt", b.p, b.len);
	free(b.p);
	assert_int_equal(fchmodat(f->dfd, "secret.ckpt", 0, 0), 0);
	assert_int_equal(fchmod(f->dfd, 0755), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
			_exit(100);
		enum ckptd_verdict v;
		int r = verify_file_at(f->dfd, "secret.ckpt", &v, NULL, 0);
		_exit(r == -1 && errno == EACCES ? 0 : 1);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_zip_complete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_zip_comment, setup, teardown),
		cmocka_unit_test_setup_teardown(test_zip_every_cut, setup, teardown),
		cmocka_unit_test_setup_teardown(test_zip_big_member, setup, teardown),
		cmocka_unit_test_setup_teardown(test_zip_appended_garbage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_zip_inconsistent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_zip64, setup, teardown),
		cmocka_unit_test_setup_teardown(test_safetensors_complete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_safetensors_cut, setup, teardown),
		cmocka_unit_test_setup_teardown(test_safetensors_torn, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unreadable, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
