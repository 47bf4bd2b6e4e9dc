/* fuzz_metrics_one.h - one fuzz input for the zstd front of the metric
 * readers (metrics_new with zst): the body (see fuzz_util.h) is taken as
 * a compressed log, csv or (header bit 4) jsonl, fed in the pieces the
 * header chooses.  A corrupt stream is an error, never a crash; when both
 * the split and the one-piece reading accept the stream they must agree.
 * Returns 0, or -1 when they differ (the caller traps). */
#ifndef CKPTD_FUZZ_METRICS_ONE_H
#define CKPTD_FUZZ_METRICS_ONE_H

#include "ckptd/metrics.h"
#include "fuzz_util.h"

static int fz_metrics_feed(void *m, const char *buf, size_t len)
{
	return metrics_feed(m, buf, len);
}

/* One reading: the dump when the stream was accepted, else NULL. */
static char *fz_metrics_read(const struct fz_split *s, bool whole)
{
	struct fz_warns w = { 0 };
	struct ckptd_reader_opts opts = {
		.key_field = (s->flags & 0x08) ? "step" : "epoch",
		.key_offset = fz_key_offset(s->flags),
		.warn = fz_warn, .warn_arg = &w,
	};
	enum ckptd_format fmt = (s->flags & 0x10) ? CKPTD_FMT_JSONL : CKPTD_FMT_CSV;
	char *dump = NULL;
	struct ckptd_records *r = records_new();
	struct ckptd_metrics *m = r ? metrics_new(fmt, true, &opts, r) : NULL;
	if (m && fz_feed_split(fz_metrics_feed, m, s, whole) == 0 && metrics_finish(m) == 0)
		dump = fz_dump(r, metrics_stats(m), &w);
	if (m) {
		/* a reset reader must take a fresh stream */
		metrics_reset(m);
		(void)metrics_feed(m, s->body, s->len);
	}
	metrics_free(m);
	records_free(r);
	return dump;
}

static int fuzz_metrics_one(const uint8_t *data, size_t size)
{
	struct fz_split s = fz_split_parse(data, size);
	char *split = fz_metrics_read(&s, false);
	char *whole = fz_metrics_read(&s, true);
	int rc = fz_differ(split, whole) ? -1 : 0;
	if (rc < 0)
		fprintf(stderr, "metrics: split reading differs\n--- split:\n%s--- whole:\n%s", split, whole);
	free(split);
	free(whole);
	return rc;
}

#endif
