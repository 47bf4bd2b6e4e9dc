/* fuzz_jsonl_one.h - one fuzz input for the JSON-lines reader: the body
 * (see fuzz_util.h) read in the pieces the header chooses and read again
 * in one piece; both readings must give the same table, counters and
 * warnings.  Returns 0, or -1 when they differ (the caller traps). */
#ifndef CKPTD_FUZZ_JSONL_ONE_H
#define CKPTD_FUZZ_JSONL_ONE_H

#include "ckptd/jsonl.h"
#include "fuzz_util.h"

static int fz_jsonl_feed(void *j, const char *buf, size_t len)
{
	return jsonl_feed(j, buf, len);
}

static char *fz_jsonl_read(const struct fz_split *s, bool whole)
{
	struct fz_warns w = { 0 };
	struct ckptd_reader_opts opts = {
		.key_field = (s->flags & 0x08) ? "step" : "epoch",
		.key_offset = fz_key_offset(s->flags),
		.warn = fz_warn, .warn_arg = &w,
	};
	char *dump = NULL;
	struct ckptd_records *r = records_new();
	struct ckptd_jsonl *j = r ? jsonl_new(&opts, r) : NULL;
	if (j && fz_feed_split(fz_jsonl_feed, j, s, whole) == 0 && jsonl_finish(j) == 0)
		dump = fz_dump(r, jsonl_stats(j), &w);
	jsonl_free(j);
	records_free(r);
	return dump;
}

static int fuzz_jsonl_one(const uint8_t *data, size_t size)
{
	struct fz_split s = fz_split_parse(data, size);
	char *split = fz_jsonl_read(&s, false);
	char *whole = fz_jsonl_read(&s, true);
	int rc = fz_differ(split, whole) ? -1 : 0;
	if (rc < 0)
		fprintf(stderr, "jsonl: split reading differs\n--- split:\n%s--- whole:\n%s", split, whole);
	free(split);
	free(whole);
	return rc;
}

#endif
