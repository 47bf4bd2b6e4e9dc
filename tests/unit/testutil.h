/* testutil.h - helpers shared by the cmocka unit tests: exact number
 * checks, the clinic07 fixture, record lookups and dumps, and feeding a
 * reader its bytes in any split.  Everything is static inline (or static
 * const data), so a test file pays nothing for what it does not use. */
#ifndef CKPTD_TESTUTIL_H
#define CKPTD_TESTUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckptd/policy.h"
#include "ckptd/records.h"

#define TU_COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---- numbers ---- */

/* Exact comparison of doubles with a readable failure. */
static inline void tu_check_num(double got, double want, const char *file, int line)
{
	if (!(got == want))
		fail_msg("%s:%d: got %.17g, want %.17g", file, line, got, want);
}
#define assert_num(got, want) tu_check_num((got), (want), __FILE__, __LINE__)

/* xorshift64: the same sequence on every machine. */
static inline uint64_t tu_next_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* ---- the clinic07 worked example (examples/clinic07/metrics.csv) ---- */

/* The log as the trainer wrote it ... */
static const char tu_clinic07_csv[] =
	"epoch,train_loss,val_loss,val_accuracy,val_sensitivity,val_specificity\n"
	"1,0.891,0.743,0.682,0.540,0.721\n"
	"2,0.724,0.638,0.721,0.610,0.751\n"
	"3,0.612,0.571,0.754,0.670,0.777\n"
	"4,0.523,0.528,0.778,0.720,0.794\n"
	"5,0.451,0.502,0.791,0.750,0.802\n"
	"6,0.389,0.489,0.798,0.770,0.806\n"
	"7,0.334,0.483,0.803,0.780,0.809\n"
	"8,0.287,0.481,0.805,0.790,0.809\n"
	"9,0.244,0.486,0.804,0.785,0.810\n"
	"10,0.208,0.497,0.801,0.780,0.808\n"
	"11,0.175,0.513,0.796,0.770,0.806\n"
	"12,0.147,0.534,0.789,0.755,0.802\n"
	"13,0.122,0.561,0.782,0.740,0.793\n"
	"14,0.101,0.593,0.774,0.725,0.787\n"
	"15,0.084,0.628,0.765,0.710,0.780\n";

/* ... and the same table as numbers: rows are {epoch, metrics...}, in the
 * order of tu_clinic07_names.  test_csv checks the two agree. */
static const char *const tu_clinic07_names[5] = {
	"train_loss", "val_loss", "val_accuracy", "val_sensitivity", "val_specificity",
};
static const double tu_clinic07_rows[15][6] = {
	{1, 0.891, 0.743, 0.682, 0.540, 0.721},
	{2, 0.724, 0.638, 0.721, 0.610, 0.751},
	{3, 0.612, 0.571, 0.754, 0.670, 0.777},
	{4, 0.523, 0.528, 0.778, 0.720, 0.794},
	{5, 0.451, 0.502, 0.791, 0.750, 0.802},
	{6, 0.389, 0.489, 0.798, 0.770, 0.806},
	{7, 0.334, 0.483, 0.803, 0.780, 0.809},
	{8, 0.287, 0.481, 0.805, 0.790, 0.809},
	{9, 0.244, 0.486, 0.804, 0.785, 0.810},
	{10, 0.208, 0.497, 0.801, 0.780, 0.808},
	{11, 0.175, 0.513, 0.796, 0.770, 0.806},
	{12, 0.147, 0.534, 0.789, 0.755, 0.802},
	{13, 0.122, 0.561, 0.782, 0.740, 0.793},
	{14, 0.101, 0.593, 0.774, 0.725, 0.787},
	{15, 0.084, 0.628, 0.765, 0.710, 0.780},
};

/* ---- records ---- */

/* Merge one row of n named values. */
static inline void tu_put(struct ckptd_records *r, int64_t key, size_t n,
                          const char *const *names, const double *vals)
{
	struct ckptd_field f[8];
	assert_true(n <= 8);
	for (size_t i = 0; i < n; i++) {
		f[i].name = names[i];
		f[i].name_len = strlen(names[i]);
		f[i].value = vals[i];
	}
	assert_int_equal(records_put_row(r, key, f, n), 0);
}

static inline void tu_put1(struct ckptd_records *r, int64_t key, const char *name, double v)
{
	tu_put(r, key, 1, &name, &v);
}

/* clinic07 epochs first..last, with the metrics skip..ncols-1 of
 * tu_clinic07_names. */
static inline struct ckptd_records *tu_clinic07_part(int first, int last, size_t ncols, size_t skip)
{
	struct ckptd_records *r = records_new();
	assert_non_null(r);
	for (int e = first; e <= last; e++) {
		size_t n = ncols > skip ? ncols - skip : 0;
		tu_put(r, e, n, tu_clinic07_names + skip, &tu_clinic07_rows[e - 1][1 + skip]);
	}
	return r;
}

/* The whole clinic07 table. */
static inline struct ckptd_records *tu_clinic07(void)
{
	return tu_clinic07_part(1, 15, 5, 0);
}

/* The value of metric at key; both must be there. */
static inline double tu_get(const struct ckptd_records *r, int64_t key, const char *metric)
{
	const struct ckptd_record *rec = records_find(r, key);
	assert_non_null(rec);
	double v;
	assert_true(records_get(r, rec, metric, &v));
	return v;
}

/* Is there a value of metric at key? */
static inline bool tu_has(const struct ckptd_records *r, int64_t key, const char *metric)
{
	double v;
	return records_get(r, records_find(r, key), metric, &v);
}

/* The whole table as text, exact (%a), for comparing two readings. */
static inline char *tu_dump(const struct ckptd_records *r)
{
	char *s = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&s, &n);
	assert_non_null(f);
	for (size_t i = 0; i < records_count(r); i++) {
		const struct ckptd_record *rec = records_at(r, i);
		fprintf(f, "%" PRId64 ":", rec->key);
		for (size_t id = 0; id < records_nmetrics(r); id++) {
			double v;
			if (record_get(rec, (int)id, &v))
				fprintf(f, " %s=%a", records_metric_name(r, id), v);
		}
		fputc('\n', f);
	}
	fprintf(f, "resumes %" PRIu32 "\n", records_resumes(r));
	assert_int_equal(fclose(f), 0);
	return s;
}

/* ---- policy ---- */

/* A selection on one criterion, stored in *c. */
static inline struct ckptd_select tu_sel1(struct ckptd_criterion *c, const char *metric,
                                          enum ckptd_mode m, double tol)
{
	c->metric = (char *)metric;
	c->mode = m;
	c->tolerance = tol;
	return (struct ckptd_select){ .by = c, .nby = 1 };
}

/* Early stopping on val_loss (min) with the given patience. */
static inline struct ckptd_early_stop tu_es_val_loss(int64_t patience)
{
	return (struct ckptd_early_stop){
		.enabled = true, .metric = (char *)"val_loss", .mode = CKPTD_MIN,
		.patience = patience, .check_finite = true,
	};
}

/* ---- readers: warnings, outcomes, bytes in any split ---- */

/* The warnings a reader gave: how many, and the line of the last. */
struct tu_warns {
	unsigned n;
	uint64_t line;
};

static inline void tu_count_warn(void *arg, uint64_t line, const char *msg)
{
	struct tu_warns *w = arg;
	assert_non_null(msg);
	w->n++;
	w->line = line;
}

/* What one reading produced: the table as text, the counters, warnings. */
struct tu_outcome {
	char *table;
	struct ckptd_reader_stats st;
	struct tu_warns w;
};

static inline void tu_assert_same(const struct tu_outcome *a, const struct tu_outcome *b)
{
	assert_string_equal(a->table, b->table);
	assert_memory_equal(&a->st, &b->st, sizeof a->st);
	assert_int_equal(a->w.n, b->w.n);
	assert_int_equal(a->w.line, b->w.line);
}

/* One feed call of a reader (csv_feed, jsonl_feed, metrics_feed ...). */
typedef int tu_feed_fn(void *reader, const char *buf, size_t len);

/* Feed in to the reader in the pieces given, which must sum to len;
 * every feed must succeed. */
static inline void tu_feed_pieces(tu_feed_fn *feed, void *reader, const char *in, size_t len,
                                  const size_t *pieces, size_t npieces)
{
	size_t off = 0;
	for (size_t i = 0; i < npieces; i++) {
		assert_int_equal(feed(reader, in + off, pieces[i]), 0);
		off += pieces[i];
	}
	assert_int_equal(off, len);
}

/* Cut len bytes into random pieces of 1..max bytes; returns how many.
 * pieces has room for len entries. */
static inline size_t tu_random_pieces(size_t len, size_t max, uint64_t *seed, size_t *pieces)
{
	size_t n = 0;
	for (size_t off = 0; off < len;) {
		size_t p = 1 + tu_next_rand(seed) % max;
		if (p > len - off)
			p = len - off;
		pieces[n++] = p;
		off += p;
	}
	return n;
}

/* Feed in to the reader in random pieces of at most max bytes. */
static inline void tu_feed_random(tu_feed_fn *feed, void *reader, const char *in, size_t len,
                                  size_t max, uint64_t *seed)
{
	size_t *pieces = malloc((len ? len : 1) * sizeof *pieces);
	assert_non_null(pieces);
	size_t n = tu_random_pieces(len, max, seed, pieces);
	tu_feed_pieces(feed, reader, in, len, pieces, n);
	free(pieces);
}

/* A whole reading: a fresh reader and table, in fed in the pieces given,
 * then finished; *o gets what came out (o->table to be freed). */
typedef void tu_read_fn(const char *in, size_t len, const size_t *pieces, size_t npieces,
                        struct tu_outcome *o);

/* Every way of cutting in into three pieces, and byte by byte, reads the
 * same as *whole. */
static inline void tu_check_every_split(tu_read_fn *read, const char *in, size_t len,
                                        const struct tu_outcome *whole)
{
	struct tu_outcome o;
	for (size_t i = 0; i <= len; i++) {
		for (size_t j = i; j <= len; j++) {
			size_t pieces[3] = { i, j - i, len - j };
			read(in, len, pieces, 3, &o);
			tu_assert_same(whole, &o);
			free(o.table);
		}
	}
	size_t *ones = malloc((len ? len : 1) * sizeof *ones);
	assert_non_null(ones);
	for (size_t i = 0; i < len; i++)
		ones[i] = 1;
	read(in, len, ones, len, &o);
	tu_assert_same(whole, &o);
	free(o.table);
	free(ones);
}

/* rounds readings in random pieces (at most 7, 300 or 70000 bytes, in
 * turn) all read the same as *whole. */
static inline void tu_check_random_splits(tu_read_fn *read, const char *in, size_t len,
                                          const struct tu_outcome *whole, int rounds,
                                          uint64_t seed)
{
	struct tu_outcome o;
	size_t *pieces = malloc((len ? len : 1) * sizeof *pieces);
	assert_non_null(pieces);
	for (int round = 0; round < rounds; round++) {
		size_t max = round % 3 == 0 ? 7 : round % 3 == 1 ? 300 : 70000;
		size_t n = tu_random_pieces(len, max, &seed, pieces);
		read(in, len, pieces, n, &o);
		tu_assert_same(whole, &o);
		free(o.table);
	}
	free(pieces);
}

#endif
