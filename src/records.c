/* records.c - the per-run table: key -> merged metric values. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ckptd/records.h"

/* Metric names are looked up once per logged cell: an open-addressing
 * hash keeps that O(1) for wide logs. */
struct name_slot {
	size_t id_plus1; /* 0 = empty */
	uint64_t hash;
};

struct ckptd_records {
	char **names;
	size_t nnames, capnames;
	struct name_slot *slots;
	size_t nslots; /* power of two, or 0 */

	struct ckptd_record *recs; /* sorted by key */
	size_t n, cap;

	uint32_t gen;
	uint32_t resumes;
	bool has_last;
	int64_t last_key;
};

static uint64_t name_hash(const char *s, size_t len)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ull;
	}
	return h;
}

struct ckptd_records *records_new(void)
{
	return calloc(1, sizeof(struct ckptd_records));
}

static void free_recs(struct ckptd_records *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->recs[i].vals);
		free(r->recs[i].have);
	}
	free(r->recs);
	r->recs = NULL;
	r->n = r->cap = 0;
}

void records_clear(struct ckptd_records *r)
{
	if (!r)
		return;
	free_recs(r);
	for (size_t i = 0; i < r->nnames; i++)
		free(r->names[i]);
	free(r->names);
	free(r->slots);
	r->names = NULL;
	r->slots = NULL;
	r->nnames = r->capnames = r->nslots = 0;
	r->gen = 0;
	r->resumes = 0;
	r->has_last = false;
	r->last_key = 0;
}

void records_free(struct ckptd_records *r)
{
	records_clear(r);
	free(r);
}

static struct name_slot *slot_for(struct name_slot *slots, size_t nslots, uint64_t h,
                                  char *const *names, const char *name, size_t len)
{
	size_t mask = nslots - 1;
	for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
		struct name_slot *s = &slots[i];
		if (!s->id_plus1)
			return s;
		if (s->hash == h) {
			const char *n = names[s->id_plus1 - 1];
			if (strncmp(n, name, len) == 0 && n[len] == '\0')
				return s;
		}
	}
}

static int grow_slots(struct ckptd_records *r)
{
	size_t nslots = r->nslots ? r->nslots * 2 : 64;
	struct name_slot *slots = calloc(nslots, sizeof(*slots));
	if (!slots)
		return -1;
	for (size_t i = 0; i < r->nslots; i++) {
		if (!r->slots[i].id_plus1)
			continue;
		size_t mask = nslots - 1, j = (size_t)r->slots[i].hash & mask;
		while (slots[j].id_plus1)
			j = (j + 1) & mask;
		slots[j] = r->slots[i];
	}
	free(r->slots);
	r->slots = slots;
	r->nslots = nslots;
	return 0;
}

static long lookup(const struct ckptd_records *r, const char *name, size_t len, uint64_t h)
{
	if (!r->nslots)
		return -1;
	struct name_slot *s = slot_for(r->slots, r->nslots, h, r->names, name, len);
	return s->id_plus1 ? (long)s->id_plus1 - 1 : -1;
}

static long intern(struct ckptd_records *r, const char *name, size_t len)
{
	/* Names are kept as C strings: a NUL byte inside a logged name ends
	 * it.  Without this, a name with a NUL was stored cut short while the
	 * lookup compared it at its full length and read past the stored copy
	 * (fuzz: regress/csv/nul-in-header). */
	len = strnlen(name, len);
	uint64_t h = name_hash(name, len);
	long id = lookup(r, name, len, h);
	if (id >= 0)
		return id;
	/* keep the load factor under one half */
	if ((r->nnames + 1) * 2 > r->nslots && grow_slots(r) < 0)
		return -1;
	if (r->nnames == r->capnames) {
		size_t cap = r->capnames ? r->capnames * 2 : 16;
		char **names = realloc(r->names, cap * sizeof(*names));
		if (!names)
			return -1;
		r->names = names;
		r->capnames = cap;
	}
	char *copy = strndup(name, len);
	if (!copy)
		return -1;
	r->names[r->nnames] = copy;
	struct name_slot *s = slot_for(r->slots, r->nslots, h, r->names, name, len);
	s->id_plus1 = r->nnames + 1;
	s->hash = h;
	return (long)r->nnames++;
}

/* Index of the first record whose key is >= key. */
static size_t lower_bound(const struct ckptd_records *r, int64_t key)
{
	size_t lo = 0, hi = r->n;
	/* logs are mostly in key order: check the end first */
	if (hi && r->recs[hi - 1].key < key)
		return hi;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (r->recs[mid].key < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static struct ckptd_record *find_or_insert(struct ckptd_records *r, int64_t key)
{
	size_t i = lower_bound(r, key);
	if (i < r->n && r->recs[i].key == key)
		return &r->recs[i];
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 64;
		struct ckptd_record *recs = realloc(r->recs, cap * sizeof(*recs));
		if (!recs)
			return NULL;
		r->recs = recs;
		r->cap = cap;
	}
	memmove(&r->recs[i + 1], &r->recs[i], (r->n - i) * sizeof(*r->recs));
	r->n++;
	r->recs[i] = (struct ckptd_record){ .key = key, .gen = r->gen };
	return &r->recs[i];
}

static int reserve_vals(struct ckptd_record *rec, size_t n)
{
	if (rec->nvals >= n)
		return 0;
	double *vals = realloc(rec->vals, n * sizeof(*vals));
	if (!vals)
		return -1;
	rec->vals = vals;
	unsigned char *have = realloc(rec->have, n);
	if (!have)
		return -1;
	rec->have = have;
	memset(have + rec->nvals, 0, n - rec->nvals);
	rec->nvals = n;
	return 0;
}

/* Merge fields into the record of key as generation gen: a record last
 * written by an older generation is replaced, not merged into. */
static int put(struct ckptd_records *r, int64_t key, uint32_t gen,
               const struct ckptd_field *fields, size_t nfields)
{
	struct ckptd_record *rec = find_or_insert(r, key);
	if (!rec)
		goto nomem;
	if (rec->gen != gen) {
		if (rec->have)
			memset(rec->have, 0, rec->nvals);
		rec->gen = gen;
	}
	for (size_t i = 0; i < nfields; i++) {
		long id = intern(r, fields[i].name, fields[i].name_len);
		if (id < 0 || reserve_vals(rec, r->nnames) < 0)
			goto nomem;
		rec->vals[id] = fields[i].value;
		rec->have[id] = 1;
	}
	return 0;
nomem:
	errno = ENOMEM;
	return -1;
}

int records_put_row(struct ckptd_records *r, int64_t key,
                    const struct ckptd_field *fields, size_t nfields)
{
	/* A key below the previous one: training resumed from an earlier
	 * checkpoint.  Rows from here on replace what they touch. */
	if (r->has_last && key < r->last_key) {
		r->gen++;
		r->resumes++;
	}
	r->has_last = true;
	r->last_key = key;
	return put(r, key, r->gen, fields, nfields);
}

int records_put_saved(struct ckptd_records *r, int64_t key, uint32_t gen,
                      const struct ckptd_field *fields, size_t nfields)
{
	return put(r, key, gen, fields, nfields);
}

uint32_t records_gen(const struct ckptd_records *r)
{
	return r->gen;
}

void records_set_meta(struct ckptd_records *r, uint32_t gen, uint32_t resumes, bool has_last,
                      int64_t last_key)
{
	r->gen = gen;
	r->resumes = resumes;
	r->has_last = has_last;
	r->last_key = last_key;
}

size_t records_nmetrics(const struct ckptd_records *r)
{
	return r->nnames;
}

const char *records_metric_name(const struct ckptd_records *r, size_t id)
{
	return id < r->nnames ? r->names[id] : NULL;
}

int records_metric_id(const struct ckptd_records *r, const char *name)
{
	size_t len = strlen(name);
	return (int)lookup(r, name, len, name_hash(name, len));
}

size_t records_count(const struct ckptd_records *r)
{
	return r->n;
}

const struct ckptd_record *records_at(const struct ckptd_records *r, size_t i)
{
	return i < r->n ? &r->recs[i] : NULL;
}

const struct ckptd_record *records_find(const struct ckptd_records *r, int64_t key)
{
	size_t i = lower_bound(r, key);
	return i < r->n && r->recs[i].key == key ? &r->recs[i] : NULL;
}

bool record_get(const struct ckptd_record *rec, int id, double *out)
{
	if (!rec || id < 0 || (size_t)id >= rec->nvals || !rec->have[id])
		return false;
	*out = rec->vals[id];
	return true;
}

bool records_get(const struct ckptd_records *r, const struct ckptd_record *rec,
                 const char *metric, double *out)
{
	return record_get(rec, records_metric_id(r, metric), out);
}

bool records_last_key(const struct ckptd_records *r, int64_t *out)
{
	if (r->has_last)
		*out = r->last_key;
	return r->has_last;
}

uint32_t records_resumes(const struct ckptd_records *r)
{
	return r->resumes;
}
