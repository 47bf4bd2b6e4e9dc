/* fuzz_csv_one.h - one fuzz input for the CSV/TSV reader: the body (see
 * fuzz_util.h) read in the pieces the header chooses and read again in
 * one piece; both readings must give the same table, counters and
 * warnings.  Returns 0, or -1 when they differ (the caller traps). */
#ifndef CKPTD_FUZZ_CSV_ONE_H
#define CKPTD_FUZZ_CSV_ONE_H

#include "ckptd/csv.h"
#include "fuzz_util.h"

static int fz_csv_feed(void *c, const char *buf, size_t len)
{
	return csv_feed(c, buf, len);
}

/* One reading; the dump, or NULL when out of memory. */
static char *fz_csv_read(const struct fz_split *s, bool whole)
{
	struct fz_warns w = { 0 };
	struct ckptd_reader_opts opts = {
		.key_field = (s->flags & 0x08) ? "step" : "epoch",
		.key_offset = fz_key_offset(s->flags),
		.delim = (s->flags & 0x10) ? '\t' : ',',
		.warn = fz_warn, .warn_arg = &w,
	};
	char *dump = NULL;
	struct ckptd_records *r = records_new();
	struct ckptd_csv *c = r ? csv_new(&opts, r) : NULL;
	if (c && fz_feed_split(fz_csv_feed, c, s, whole) == 0 && csv_finish(c) == 0)
		dump = fz_dump(r, csv_stats(c), &w);
	csv_free(c);
	records_free(r);
	return dump;
}

static int fuzz_csv_one(const uint8_t *data, size_t size)
{
	struct fz_split s = fz_split_parse(data, size);
	char *split = fz_csv_read(&s, false);
	char *whole = fz_csv_read(&s, true);
	int rc = fz_differ(split, whole) ? -1 : 0;
	if (rc < 0)
		fprintf(stderr, "csv: split reading differs\n--- split:\n%s--- whole:\n%s", split, whole);
	free(split);
	free(whole);
	return rc;
}

#endif
