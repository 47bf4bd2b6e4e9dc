/* fuzz_util.h - shared by the fuzz_*_one.h inputs: cutting a reader's
 * bytes into pieces chosen by the input itself, and an exact dump of a
 * records table for comparing two readings.  Everything is static, so
 * the libFuzzer targets (tests/fuzz/fuzz_*.c) and the regression test
 * (tests/unit/test_fuzz_regress.c) compile the same code. */
#ifndef CKPTD_FUZZ_UTIL_H
#define CKPTD_FUZZ_UTIL_H

#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckptd/reader.h"
#include "ckptd/records.h"

/* How a reader input starts: a header of split and option bytes.
 *   byte 0: bits 0-2 how many piece-size bytes follow (1..8),
 *           bit 3 key "step" instead of "epoch",
 *           bit 4 tab delimiter (csv) / the other format (metrics),
 *           bit 5 a key_offset near INT64_MAX, bit 6 a negative one;
 *   then the piece sizes, used in turn: a byte below 128 is 0..7 bytes
 *   (0: an empty feed), 128 and up is 8..135 bytes.
 * The rest of the input is what the reader is fed. */
struct fz_split {
	const uint8_t *sizes;
	size_t nsizes;
	uint8_t flags;
	const char *body;
	size_t len;
};

static inline struct fz_split fz_split_parse(const uint8_t *data, size_t size)
{
	struct fz_split s = { 0 };
	if (size == 0) {
		s.body = "";
		return s;
	}
	s.flags = data[0];
	s.nsizes = (size_t)(data[0] & 7u) + 1;
	if (s.nsizes > size - 1)
		s.nsizes = size - 1;
	s.sizes = data + 1;
	s.body = (const char *)(data + 1 + s.nsizes);
	s.len = size - 1 - s.nsizes;
	return s;
}

static inline int64_t fz_key_offset(uint8_t flags)
{
	if (flags & 0x20)
		return INT64_MAX - 3;
	if (flags & 0x40)
		return -5;
	return 0;
}

typedef int fz_feed_fn(void *reader, const char *buf, size_t len);

/* Feed s->body in the pieces s->sizes say (whole, in one call, when
 * whole is true).  Returns 0, or the first failing feed's -1. */
static inline int fz_feed_split(fz_feed_fn *feed, void *reader, const struct fz_split *s,
                                bool whole)
{
	if (whole || s->nsizes == 0)
		return feed(reader, s->body, s->len);
	size_t off = 0, i = 0, zeros = 0;
	while (off < s->len) {
		uint8_t b = s->sizes[i++ % s->nsizes];
		size_t n = b < 128 ? (size_t)(b & 7u) : (size_t)b - 120;
		if (n == 0 && ++zeros > s->nsizes)
			n = 1; /* every size byte says 0: still move on */
		if (n > 0)
			zeros = 0;
		if (n > s->len - off)
			n = s->len - off;
		if (feed(reader, s->body + off, n) < 0)
			return -1;
		off += n;
	}
	return 0;
}

/* Warnings a reader gave. */
struct fz_warns {
	uint64_t n, line;
};

static inline void fz_warn(void *arg, uint64_t line, const char *msg)
{
	struct fz_warns *w = arg;
	if (!msg)
		__builtin_trap();
	w->n++;
	w->line = line;
}

/* The whole table, the counters and the warnings as text: keys, names,
 * values bit for bit (%a), every NaN printed alike.  NULL when out of
 * memory. */
static inline char *fz_dump(const struct ckptd_records *r, const struct ckptd_reader_stats *st,
                            const struct fz_warns *w)
{
	char *s = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&s, &n);
	if (!f)
		return NULL;
	for (size_t i = 0; i < records_count(r); i++) {
		const struct ckptd_record *rec = records_at(r, i);
		fprintf(f, "%" PRId64 ":", rec->key);
		for (size_t id = 0; id < records_nmetrics(r); id++) {
			double v;
			if (!record_get(rec, (int)id, &v))
				continue;
			if (isnan(v))
				fprintf(f, " [%s]=nan", records_metric_name(r, id));
			else
				fprintf(f, " [%s]=%a", records_metric_name(r, id), v);
		}
		fputc('\n', f);
	}
	int64_t last = 0;
	bool has_last = records_last_key(r, &last);
	fprintf(f, "resumes %" PRIu32 " last %d %" PRId64 "\n", records_resumes(r), has_last, last);
	if (st)
		fprintf(f, "lines %" PRIu64 " rows %" PRIu64 " bad_lines %" PRIu64 " bad_cells %" PRIu64
		        " no_key %" PRIu64 " long_lines %" PRIu64 "\n",
		        st->lines, st->rows, st->bad_lines, st->bad_cells, st->no_key, st->long_lines);
	if (w)
		fprintf(f, "warnings %" PRIu64 " last at %" PRIu64 "\n", w->n, w->line);
	if (fclose(f) != 0) {
		free(s);
		return NULL;
	}
	return s;
}

/* Two dumps differ (both there): the split changed the reading. */
static inline bool fz_differ(const char *a, const char *b)
{
	return a && b && strcmp(a, b) != 0;
}

#endif
