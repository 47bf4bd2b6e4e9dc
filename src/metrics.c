/* metrics.c - one front for every metric log (see metrics.h): the reader
 * chosen by format, a streaming zstd decoder in front of it for .zst
 * logs, and the whole-file read `ckptctl pick` uses. */
#include "ckptd/metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zstd.h>

#include "ckptd/csv.h"
#include "ckptd/jsonl.h"

#define READ_CHUNK (64u * 1024u)

struct ckptd_metrics {
	enum ckptd_format fmt;
	struct ckptd_csv *csv;      /* CSV and TSV */
	struct ckptd_jsonl *jsonl;  /* JSONL */
	ZSTD_DStream *zd;           /* NULL unless zst */
	char *zout;                 /* decoded bytes, zout_size */
	size_t zout_size;
	size_t zpending;            /* last ZSTD_decompressStream hint: 0 = between frames */
	bool broken;                /* corrupt zstd: ignore input until reset */
};

static bool ends_with(const char *s, size_t n, const char *suffix)
{
	size_t k = strlen(suffix);
	return n >= k && strncasecmp(s + n - k, suffix, k) == 0;
}

int metrics_format_from_name(const char *path, enum ckptd_format *fmt, bool *zst)
{
	static const struct {
		const char *ext;
		enum ckptd_format fmt;
	} exts[] = {
		{ ".csv", CKPTD_FMT_CSV },     { ".tsv", CKPTD_FMT_TSV },
		{ ".jsonl", CKPTD_FMT_JSONL }, { ".ndjson", CKPTD_FMT_JSONL },
		{ ".json", CKPTD_FMT_JSONL },
	};
	size_t n = strlen(path);
	bool z = ends_with(path, n, ".zst");
	if (z)
		n -= 4;
	for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++) {
		if (ends_with(path, n, exts[i].ext)) {
			*fmt = exts[i].fmt;
			*zst = z;
			return 0;
		}
	}
	errno = EINVAL;
	return -1;
}

struct ckptd_metrics *metrics_new(enum ckptd_format fmt, bool zst,
                                  const struct ckptd_reader_opts *opts,
                                  struct ckptd_records *out)
{
	if (fmt != CKPTD_FMT_CSV && fmt != CKPTD_FMT_TSV && fmt != CKPTD_FMT_JSONL) {
		errno = EINVAL;
		return NULL;
	}
	struct ckptd_metrics *m = calloc(1, sizeof *m);
	if (!m)
		return NULL;
	m->fmt = fmt;
	struct ckptd_reader_opts o = *opts;
	o.delim = fmt == CKPTD_FMT_TSV ? '\t' : ',';
	if (fmt == CKPTD_FMT_JSONL)
		m->jsonl = jsonl_new(&o, out);
	else
		m->csv = csv_new(&o, out);
	if (!m->jsonl && !m->csv)
		goto fail;
	if (zst) {
		m->zd = ZSTD_createDStream();
		m->zout_size = ZSTD_DStreamOutSize();
		m->zout = malloc(m->zout_size);
		if (!m->zd || !m->zout) {
			errno = ENOMEM;
			goto fail;
		}
	}
	return m;
fail:;
	int e = errno;
	metrics_free(m);
	errno = e;
	return NULL;
}

void metrics_free(struct ckptd_metrics *m)
{
	if (!m)
		return;
	csv_free(m->csv);
	jsonl_free(m->jsonl);
	ZSTD_freeDStream(m->zd);
	free(m->zout);
	free(m);
}

static int reader_feed(struct ckptd_metrics *m, const char *buf, size_t len)
{
	return m->csv ? csv_feed(m->csv, buf, len) : jsonl_feed(m->jsonl, buf, len);
}

/* Decode compressed bytes in any split; concatenated frames follow on. */
static int zst_feed(struct ckptd_metrics *m, const char *buf, size_t len)
{
	ZSTD_inBuffer in = { buf, len, 0 };
	for (;;) {
		ZSTD_outBuffer out = { m->zout, m->zout_size, 0 };
		size_t r = ZSTD_decompressStream(m->zd, &out, &in);
		if (ZSTD_isError(r)) {
			m->broken = true;
			errno = EBADMSG;
			return -1;
		}
		m->zpending = r;
		if (out.pos > 0 && reader_feed(m, m->zout, out.pos) < 0)
			return -1;
		/* A full output buffer may hide more: call again even when
		 * the input is used up. */
		if (in.pos == in.size && out.pos < out.size)
			return 0;
	}
}

int metrics_feed(struct ckptd_metrics *m, const char *buf, size_t len)
{
	if (m->broken) {
		errno = EBADMSG;
		return -1;
	}
	if (len == 0)
		return 0;   /* an empty call would leave a "frame begun" hint */
	return m->zd ? zst_feed(m, buf, len) : reader_feed(m, buf, len);
}

int metrics_finish(struct ckptd_metrics *m)
{
	/* A stream cut inside a frame (or a corrupt one) ends in a partial
	 * line we cannot trust: do not take it. */
	if (m->broken || (m->zd && m->zpending != 0)) {
		errno = EBADMSG;
		return -1;
	}
	return m->csv ? csv_finish(m->csv) : jsonl_finish(m->jsonl);
}

void metrics_reset(struct ckptd_metrics *m)
{
	if (m->zd)
		ZSTD_DCtx_reset(m->zd, ZSTD_reset_session_only);
	m->zpending = 0;
	m->broken = false;
	if (m->csv)
		csv_reset(m->csv);
	else
		jsonl_reset(m->jsonl);
}

const struct ckptd_reader_stats *metrics_stats(const struct ckptd_metrics *m)
{
	return m->csv ? csv_stats(m->csv) : jsonl_stats(m->jsonl);
}

/* Feed every byte of fd to m. */
static int feed_fd(struct ckptd_metrics *m, int fd)
{
	char *buf = malloc(READ_CHUNK);
	if (!buf)
		return -1;
	int r = 0;
	for (;;) {
		ssize_t n = read(fd, buf, READ_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? -1 : metrics_finish(m);
			break;
		}
		if (metrics_feed(m, buf, (size_t)n) < 0) {
			r = -1;
			break;
		}
	}
	int e = errno;
	free(buf);
	errno = e;
	return r;
}

int metrics_read_file(const char *path, enum ckptd_format fmt,
                      const struct ckptd_reader_opts *opts,
                      struct ckptd_records *out, struct ckptd_reader_stats *stats)
{
	bool zst = ends_with(path, strlen(path), ".zst");
	if (fmt == CKPTD_FMT_AUTO && metrics_format_from_name(path, &fmt, &zst) < 0)
		fmt = CKPTD_FMT_CSV;   /* zst stays as the name says */

	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	struct stat st;
	int serr = fstat(fd, &st) < 0 ? errno : S_ISDIR(st.st_mode) ? EISDIR : 0;
	if (serr) {
		close(fd);
		errno = serr;
		return -1;
	}
	struct ckptd_metrics *m = metrics_new(fmt, zst, opts, out);
	int r = -1;
	if (m) {
		r = feed_fd(m, fd);
		if (stats)
			*stats = *metrics_stats(m);
	}
	int e = errno;
	metrics_free(m);
	/* A read-only descriptor has nothing to flush; EINTR still closed it. */
	if (close(fd) < 0 && errno != EINTR && r == 0) {
		e = errno;
		r = -1;
	}
	errno = e;
	return r;
}
