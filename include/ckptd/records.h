/* records.h - the per-run table: key -> merged metric values.
 *
 * Readers (csv.h, jsonl.h) turn bytes into rows; this table merges rows
 * that share a key (Lightning writes train and validation rows of one
 * epoch separately) and handles resumes: when a row's key is below the
 * key of the row before it, training was resumed from an earlier
 * checkpoint, and from then on the first row that touches a key replaces
 * that key's record instead of merging into it.  Records of keys the
 * resumed run has not reached yet stay: they still describe the files
 * the old run left on disk.
 *
 * Pure data structure: no I/O. */
#ifndef CKPTD_RECORDS_H
#define CKPTD_RECORDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ckptd_records;

/* One logged value of a row.  The name need not be NUL-terminated. */
struct ckptd_field {
	const char *name;
	size_t name_len;
	double value; /* NaN and +-inf are legitimate (non-finite) values */
};

struct ckptd_record {
	int64_t key;
	uint32_t gen;         /* resume generation that last wrote it */
	size_t nvals;         /* values known for metric ids < nvals */
	double *vals;
	unsigned char *have;  /* have[id]: metric id was logged */
};

struct ckptd_records *records_new(void);
void records_free(struct ckptd_records *r);
/* Forget every record and metric name (the log was replaced). */
void records_clear(struct ckptd_records *r);

/* Merge one row.  A later value replaces an earlier one for the same key
 * and metric.  Returns 0, or -1 with errno ENOMEM. */
int records_put_row(struct ckptd_records *r, int64_t key,
                    const struct ckptd_field *fields, size_t nfields);

/* Metric names are interned: id in [0, records_nmetrics). */
size_t records_nmetrics(const struct ckptd_records *r);
const char *records_metric_name(const struct ckptd_records *r, size_t id);
/* -1 when the name was never logged. */
int records_metric_id(const struct ckptd_records *r, const char *name);

/* Records sorted by ascending key. */
size_t records_count(const struct ckptd_records *r);
const struct ckptd_record *records_at(const struct ckptd_records *r, size_t i);
const struct ckptd_record *records_find(const struct ckptd_records *r, int64_t key);

/* The value of metric id in rec; false when it was not logged. */
bool record_get(const struct ckptd_record *rec, int id, double *out);
/* Same, by name. */
bool records_get(const struct ckptd_records *r, const struct ckptd_record *rec,
                 const char *metric, double *out);

/* Key of the most recently merged row (the latest key seen), and whether
 * any row was merged at all. */
bool records_last_key(const struct ckptd_records *r, int64_t *out);
/* How many times the key went back (resumes). */
uint32_t records_resumes(const struct ckptd_records *r);

/* For restoring a saved table (records_io.c): the resume generation of
 * the table, and a record put as it was, with its own generation, without
 * resume detection. */
uint32_t records_gen(const struct ckptd_records *r);
void records_set_meta(struct ckptd_records *r, uint32_t gen, uint32_t resumes, bool has_last,
                      int64_t last_key);
int records_put_saved(struct ckptd_records *r, int64_t key, uint32_t gen,
                      const struct ckptd_field *fields, size_t nfields);

#endif
