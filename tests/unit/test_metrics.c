/* test_metrics.c - the front for every log: format by name, zstd in front
 * of the reader, whole-file reads. */
#include <errno.h>
#include <unistd.h>

#include <zstd.h>

#include "ckptd/metrics.h"
#include "testutil.h"

static const struct ckptd_reader_opts epoch_opts = { .key_field = "epoch" };

static int feed_metrics(void *m, const char *buf, size_t len)
{
	return metrics_feed(m, buf, len);
}

/* src compressed as one frame with a checksum, as the zstd tool writes
 * it; *len is its size. */
static char *compress(const char *src, size_t srclen, size_t *len)
{
	size_t cap = ZSTD_compressBound(srclen);
	char *z = malloc(cap);
	assert_non_null(z);
	ZSTD_CCtx *cctx = ZSTD_createCCtx();
	assert_non_null(cctx);
	assert_false(ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1)));
	*len = ZSTD_compress2(cctx, z, cap, src, srclen);
	assert_false(ZSTD_isError(*len));
	ZSTD_freeCCtx(cctx);
	return z;
}

/* clinic07 compressed; *len is its size. */
static char *compress_clinic(size_t *len)
{
	return compress(tu_clinic07_csv, sizeof tu_clinic07_csv - 1, len);
}

/* A fresh table and a reader of fmt (zstd in front when zst) into it. */
static struct ckptd_metrics *open_metrics(enum ckptd_format fmt, bool zst,
                                          const struct ckptd_reader_opts *o,
                                          struct ckptd_records **r)
{
	*r = records_new();
	assert_non_null(*r);
	struct ckptd_metrics *m = metrics_new(fmt, zst, o, *r);
	assert_non_null(m);
	return m;
}

static void close_metrics(struct ckptd_metrics *m, struct ckptd_records *r)
{
	metrics_free(m);
	records_free(r);
}

static void test_format_from_name(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		int ret;
		enum ckptd_format fmt;
		bool zst;
	} cases[] = {
		{ "metrics.csv", 0, CKPTD_FMT_CSV, false },
		{ "/a/b/M.CSV", 0, CKPTD_FMT_CSV, false },
		{ "metrics.tsv", 0, CKPTD_FMT_TSV, false },
		{ "log.jsonl", 0, CKPTD_FMT_JSONL, false },
		{ "log.ndjson", 0, CKPTD_FMT_JSONL, false },
		{ "log.json", 0, CKPTD_FMT_JSONL, false },
		{ "metrics.csv.zst", 0, CKPTD_FMT_CSV, true },
		{ "log.JSONL.ZST", 0, CKPTD_FMT_JSONL, true },
		{ "metrics.tsv.zst", 0, CKPTD_FMT_TSV, true },
		{ "metrics.txt", -1, CKPTD_FMT_AUTO, false },
		{ "metrics.zst", -1, CKPTD_FMT_AUTO, false },
		{ "csv", -1, CKPTD_FMT_AUTO, false },
		{ "metrics.csv.gz", -1, CKPTD_FMT_AUTO, false },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		enum ckptd_format fmt = CKPTD_FMT_AUTO;
		bool zst = false;
		int r = metrics_format_from_name(cases[i].name, &fmt, &zst);
		assert_int_equal(r, cases[i].ret);
		if (r == 0) {
			assert_int_equal(fmt, cases[i].fmt);
			assert_int_equal(zst, cases[i].zst);
		}
	}
}

static void test_new_rejects_auto(void **state)
{
	(void)state;
	struct ckptd_records *r = records_new();
	assert_non_null(r);
	errno = 0;
	assert_null(metrics_new(CKPTD_FMT_AUTO, false, &epoch_opts, r));
	assert_int_equal(errno, EINVAL);
	records_free(r);
}

static void test_tsv_sets_delimiter(void **state)
{
	(void)state;
	struct ckptd_reader_opts o = epoch_opts;
	o.delim = ',';   /* the format decides */
	struct ckptd_records *r;
	struct ckptd_metrics *m = open_metrics(CKPTD_FMT_TSV, false, &o, &r);
	const char *in = "epoch\tval_loss\n1\t0.5\n";
	assert_int_equal(metrics_feed(m, in, strlen(in)), 0);
	assert_int_equal(metrics_finish(m), 0);
	assert_num(tu_get(r, 1, "val_loss"), 0.5);
	assert_int_equal(metrics_stats(m)->rows, 1);
	close_metrics(m, r);
}

static void test_jsonl_dispatch(void **state)
{
	(void)state;
	struct ckptd_records *r;
	struct ckptd_metrics *m = open_metrics(CKPTD_FMT_JSONL, false, &epoch_opts, &r);
	const char *in = "{\"epoch\": 3, \"val/loss\": NaN}\n{\"epoch\": 4";
	assert_int_equal(metrics_feed(m, in, strlen(in)), 0);
	assert_int_equal(metrics_finish(m), 0);
	assert_int_equal(records_count(r), 1);
	assert_int_equal(metrics_stats(m)->bad_lines, 1);
	close_metrics(m, r);
}

static void test_zstd_random_splits(void **state)
{
	(void)state;
	size_t zlen;
	char *z = compress_clinic(&zlen);
	struct ckptd_records *plain;
	struct ckptd_metrics *m = open_metrics(CKPTD_FMT_CSV, false, &epoch_opts, &plain);
	assert_int_equal(metrics_feed(m, tu_clinic07_csv, sizeof tu_clinic07_csv - 1), 0);
	metrics_free(m);
	char *want = tu_dump(plain);
	records_free(plain);

	uint64_t seed = 42;
	for (int round = 0; round < 50; round++) {
		struct ckptd_records *r;
		m = open_metrics(CKPTD_FMT_CSV, true, &epoch_opts, &r);
		tu_feed_random(feed_metrics, m, z, zlen, round < 25 ? 3 : 64, &seed);
		assert_int_equal(metrics_finish(m), 0);
		char *got = tu_dump(r);
		assert_string_equal(got, want);
		assert_num(tu_get(r, 8, "val_sensitivity"), 0.790);
		free(got);
		close_metrics(m, r);
	}
	free(want);
	free(z);
}

/* A big log: decoded output overflows the decoder's buffer many times. */
static void test_zstd_large_and_concatenated_frames(void **state)
{
	(void)state;
	char *s = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&s, &len);
	assert_non_null(f);
	for (int i = 0; i < 20000; i++)
		fprintf(f, "{\"epoch\": %d, \"loss\": %d.5}\n", i, i);
	assert_int_equal(fclose(f), 0);
	size_t half = len / 2 + 7;   /* frames need not end on a line */
	size_t z1len, z2len;
	char *z1 = compress(s, half, &z1len);
	char *z2 = compress(s + half, len - half, &z2len);
	char *z = malloc(z1len + z2len);
	assert_non_null(z);
	memcpy(z, z1, z1len);
	memcpy(z + z1len, z2, z2len);

	struct ckptd_records *r;
	struct ckptd_metrics *m = open_metrics(CKPTD_FMT_JSONL, true, &epoch_opts, &r);
	uint64_t seed = 7;
	tu_feed_random(feed_metrics, m, z, z1len + z2len, 5000, &seed);
	assert_int_equal(metrics_finish(m), 0);
	assert_int_equal(records_count(r), 20000);
	assert_num(tu_get(r, 19999, "loss"), 19999.5);
	assert_int_equal(metrics_stats(m)->bad_lines, 0);
	close_metrics(m, r);
	free(z);
	free(z1);
	free(z2);
	free(s);
}

static void test_zstd_corrupt_stream(void **state)
{
	(void)state;
	size_t zlen;
	char *z = compress_clinic(&zlen);
	struct ckptd_records *r;
	struct ckptd_metrics *m = open_metrics(CKPTD_FMT_CSV, true, &epoch_opts, &r);

	static const char junk[] = "epoch,val_loss\n1,0.5\n";   /* not zstd at all */
	errno = 0;
	assert_int_equal(metrics_feed(m, junk, sizeof junk - 1), -1);
	assert_int_equal(errno, EBADMSG);
	/* ignored until reset, even good bytes */
	errno = 0;
	assert_int_equal(metrics_feed(m, z, zlen), -1);
	assert_int_equal(errno, EBADMSG);
	assert_int_equal(metrics_finish(m), -1);
	assert_int_equal(records_count(r), 0);

	metrics_reset(m);
	assert_int_equal(metrics_feed(m, z, zlen), 0);
	assert_int_equal(metrics_finish(m), 0);
	assert_int_equal(records_count(r), 15);

	/* damage inside a frame: the checksum or the block decoder notices */
	metrics_reset(m);
	z[zlen / 2] ^= 0x5A;
	z[zlen / 2 + 1] ^= 0xA5;
	int rc = metrics_feed(m, z, zlen);
	if (rc == 0)
		rc = metrics_finish(m);
	assert_int_equal(rc, -1);
	assert_int_equal(errno, EBADMSG);
	close_metrics(m, r);
	free(z);
}

static void test_zstd_truncated_frame(void **state)
{
	(void)state;
	size_t zlen;
	char *z = compress_clinic(&zlen);
	struct ckptd_records *r;
	struct ckptd_metrics *m = open_metrics(CKPTD_FMT_CSV, true, &epoch_opts, &r);
	assert_int_equal(metrics_feed(m, z, zlen - 3), 0);   /* a writer mid-frame */
	errno = 0;
	assert_int_equal(metrics_finish(m), -1);
	assert_int_equal(errno, EBADMSG);
	close_metrics(m, r);
	free(z);
}

/* A temporary file named with suffix, holding len bytes of data. */
static char *temp_file(const char *suffix, const char *data, size_t len)
{
	char *path;
	assert_true(asprintf(&path, "/tmp/ckptd-test-XXXXXX%s", suffix) > 0);
	int fd = mkstemps(path, (int)strlen(suffix));
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
	return path;
}

static void test_read_file_csv(void **state)
{
	(void)state;
	char *path = temp_file(".csv", tu_clinic07_csv, sizeof tu_clinic07_csv - 2);   /* no last \n */
	struct ckptd_records *r = records_new();
	assert_non_null(r);
	struct ckptd_reader_stats st;
	assert_int_equal(metrics_read_file(path, CKPTD_FMT_AUTO, &epoch_opts, r, &st), 0);
	assert_int_equal(records_count(r), 15);
	assert_num(tu_get(r, 15, "val_loss"), 0.628);
	assert_int_equal(st.rows, 15);
	assert_int_equal(unlink(path), 0);
	free(path);
	records_free(r);
}

static void test_read_file_jsonl_zst(void **state)
{
	(void)state;
	const char *log = "{\"epoch\": 1, \"val\": {\"loss\": 0.7}}\n{\"epoch\": 2, \"val\": {\"loss\": 0.6}}";
	size_t zlen;
	char *z = compress(log, strlen(log), &zlen);
	char *path = temp_file(".jsonl.zst", z, zlen);
	struct ckptd_records *r = records_new();
	assert_non_null(r);
	assert_int_equal(metrics_read_file(path, CKPTD_FMT_AUTO, &epoch_opts, r, NULL), 0);
	assert_num(tu_get(r, 2, "val.loss"), 0.6);
	assert_int_equal(unlink(path), 0);
	free(path);
	free(z);
	records_free(r);
}

static void test_read_file_unknown_name_is_csv(void **state)
{
	(void)state;
	char *path = temp_file(".log", tu_clinic07_csv, sizeof tu_clinic07_csv - 1);
	struct ckptd_records *r = records_new();
	assert_non_null(r);
	assert_int_equal(metrics_read_file(path, CKPTD_FMT_AUTO, &epoch_opts, r, NULL), 0);
	assert_int_equal(records_count(r), 15);
	assert_int_equal(unlink(path), 0);
	free(path);
	records_free(r);
}

static void test_read_file_missing_and_directory(void **state)
{
	(void)state;
	struct ckptd_records *r = records_new();
	assert_non_null(r);
	errno = 0;
	assert_int_equal(metrics_read_file("/nonexistent/ckptd/metrics.csv", CKPTD_FMT_AUTO,
	                                   &epoch_opts, r, NULL), -1);
	assert_int_equal(errno, ENOENT);
	errno = 0;
	assert_int_equal(metrics_read_file("/tmp", CKPTD_FMT_CSV, &epoch_opts, r, NULL), -1);
	assert_int_equal(errno, EISDIR);
	records_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_from_name),
		cmocka_unit_test(test_new_rejects_auto),
		cmocka_unit_test(test_tsv_sets_delimiter),
		cmocka_unit_test(test_jsonl_dispatch),
		cmocka_unit_test(test_zstd_random_splits),
		cmocka_unit_test(test_zstd_large_and_concatenated_frames),
		cmocka_unit_test(test_zstd_corrupt_stream),
		cmocka_unit_test(test_zstd_truncated_frame),
		cmocka_unit_test(test_read_file_csv),
		cmocka_unit_test(test_read_file_jsonl_zst),
		cmocka_unit_test(test_read_file_unknown_name_is_csv),
		cmocka_unit_test(test_read_file_missing_and_directory),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
