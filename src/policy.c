/* policy.c - selection, ranking, early stopping, degradation, the turn of
 * validation.  Pure: reads a records table and config structs, writes
 * only what the caller hands in; no I/O, no clock, no global state. */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ckptd/policy.h"

bool policy_better(enum ckptd_mode m, double a, double b)
{
	/* Comparisons with NaN are false: NaN is never better, and nothing
	 * is better than NaN (callers keep NaN out of `best`). */
	return m == CKPTD_MAX ? a > b : a < b;
}

bool policy_within(double best, double v, double tol)
{
	if (!isfinite(best) || !isfinite(v))
		return false;
	if (v == best)
		return true;
	if (!(tol > 0))
		return false;
	/* Values parsed from decimal text carry rounding: 0.486 - 0.481 is
	 * a hair above 0.005 in binary.  Allow a few ulps of the operands so
	 * that a band written as @0.005 includes its edge. */
	double slack = 4 * DBL_EPSILON * fmax(fabs(best), fabs(v));
	return fabs(v - best) <= tol + slack;
}

/* Metric id logged in rec and finite. */
static bool finite_at(const struct ckptd_record *rec, int id)
{
	double v;
	return record_get(rec, id, &v) && isfinite(v);
}

/* Metric id logged in rec, finite and within bound b. */
static bool bound_ok(const struct ckptd_bound *b, const struct ckptd_record *rec, int id)
{
	double v;
	if (!record_get(rec, id, &v) || !isfinite(v))
		return false;
	return (!b->has_min || v >= b->min) && (!b->has_max || v <= b->max);
}

/* Every `by` metric logged and finite, by precomputed ids. */
static bool scored_ids(const struct ckptd_record *rec, const int *ids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!finite_at(rec, ids[i]))
			return false;
	return true;
}

static bool meets_ids(const struct ckptd_record *rec, const struct ckptd_select *sel, const int *ids)
{
	for (size_t i = 0; i < sel->nrequire; i++)
		if (!bound_ok(&sel->require[i], rec, ids[i]))
			return false;
	return true;
}

bool policy_scored(const struct ckptd_records *r, const struct ckptd_record *rec,
                   const struct ckptd_select *sel)
{
	if (!r || !rec || !sel)
		return false;
	for (size_t i = 0; i < sel->nby; i++) {
		const char *m = sel->by[i].metric;
		if (!m || !finite_at(rec, records_metric_id(r, m)))
			return false;
	}
	return true;
}

bool policy_meets(const struct ckptd_records *r, const struct ckptd_record *rec,
                  const struct ckptd_select *sel)
{
	if (!r || !rec || !sel)
		return false;
	for (size_t i = 0; i < sel->nrequire; i++) {
		const struct ckptd_bound *b = &sel->require[i];
		if (!b->metric || !bound_ok(b, rec, records_metric_id(r, b->metric)))
			return false;
	}
	return true;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* The ids of the metrics sel names (by, then require); -1 for a name
 * never logged.  Returns NULL with errno ENOMEM. */
static int *select_ids(const struct ckptd_records *r, const struct ckptd_select *sel)
{
	size_t n = sel->nby + sel->nrequire;
	int *ids = malloc((n ? n : 1) * sizeof *ids);
	if (!ids)
		return NULL;
	for (size_t i = 0; i < sel->nby; i++)
		ids[i] = sel->by[i].metric ? records_metric_id(r, sel->by[i].metric) : -1;
	for (size_t i = 0; i < sel->nrequire; i++)
		ids[sel->nby + i] = sel->require[i].metric ?
			records_metric_id(r, sel->require[i].metric) : -1;
	return ids;
}

long policy_rank(const struct ckptd_records *r, const struct ckptd_select *sel,
                 const int64_t *cands, size_t ncands, int64_t *out, size_t max_out)
{
	if (!r || !sel || (!out && max_out > 0) || (!cands && ncands > 0)) {
		errno = EINVAL;
		return -1;
	}
	if (max_out == 0)
		return 0;

	size_t k = sel->nby;
	size_t nrec = records_count(r);
	size_t cap = cands ? ncands : nrec;
	long ret = -1;
	int *ids = NULL;
	int64_t *keys = NULL;        /* sorted, deduplicated candidate keys */
	const struct ckptd_record **el = NULL;
	double *vals = NULL;         /* vals[i * k + j]: by metric j of el[i] */
	size_t *alive = NULL, *cur = NULL;

	if (!(ids = select_ids(r, sel)))
		goto out;
	if (cap == 0) {
		ret = 0;
		goto out;
	}
	if (k > 0 && cap > SIZE_MAX / sizeof(double) / k) {
		errno = ENOMEM;
		goto out;
	}
	el = malloc(cap * sizeof *el);
	vals = malloc((k ? cap * k : 1) * sizeof *vals);
	alive = malloc(cap * sizeof *alive);
	cur = malloc(cap * sizeof *cur);
	if (!el || !vals || !alive || !cur)
		goto out;

	/* The eligible records, in ascending key order. */
	size_t n = 0;
	if (cands) {
		if (!(keys = malloc(ncands * sizeof *keys)))
			goto out;
		memcpy(keys, cands, ncands * sizeof *keys);
		qsort(keys, ncands, sizeof *keys, cmp_i64);
	}
	for (size_t i = 0; i < cap; i++) {
		const struct ckptd_record *rec;
		if (cands) {
			if (i > 0 && keys[i] == keys[i - 1])
				continue;
			if (!(rec = records_find(r, keys[i])))
				continue;
		} else {
			rec = records_at(r, i);
		}
		if (!rec || !scored_ids(rec, ids, k) || !meets_ids(rec, sel, ids + k))
			continue;
		for (size_t j = 0; j < k; j++)
			(void)record_get(rec, ids[j], &vals[n * k + j]);
		el[n++] = rec;
	}
	for (size_t i = 0; i < n; i++)
		alive[i] = i;

	/* Each round narrows what is left criterion by criterion, then takes
	 * the earliest survivor: O(k * n) per round. */
	size_t nalive = n, nout = 0;
	while (nout < max_out && nalive > 0) {
		size_t ncur = nalive;
		memcpy(cur, alive, nalive * sizeof *cur);
		for (size_t j = 0; j < k && ncur > 1; j++) {
			enum ckptd_mode m = sel->by[j].mode;
			double best = vals[cur[0] * k + j];
			for (size_t i = 1; i < ncur; i++)
				if (policy_better(m, vals[cur[i] * k + j], best))
					best = vals[cur[i] * k + j];
			size_t w = 0;
			for (size_t i = 0; i < ncur; i++)
				if (policy_within(best, vals[cur[i] * k + j], sel->by[j].tolerance))
					cur[w++] = cur[i];
			ncur = w;
		}
		/* cur keeps key order: cur[0] is the earliest survivor. */
		size_t pick = cur[0];
		out[nout++] = el[pick]->key;
		size_t w = 0;
		for (size_t i = 0; i < nalive; i++)
			if (alive[i] != pick)
				alive[w++] = alive[i];
		nalive = w;
	}
	ret = (long)nout;
out:
	free(ids);
	free(keys);
	free(el);
	free(vals);
	free(alive);
	free(cur);
	return ret;
}

bool policy_select(const struct ckptd_records *r, const struct ckptd_select *sel,
                   const int64_t *cands, size_t ncands, int64_t *out)
{
	return policy_rank(r, sel, cands, ncands, out, 1) == 1;
}

/* Is v better than ref by more than delta (delta >= 0)? */
static bool improves(enum ckptd_mode m, double v, double ref, double delta)
{
	return m == CKPTD_MAX ? v - delta > ref : v + delta < ref;
}

void policy_early_stop(const struct ckptd_records *r, const struct ckptd_early_stop *es,
                       struct ckptd_stop_result *out)
{
	if (!out)
		return;
	memset(out, 0, sizeof *out);
	out->reason = CKPTD_STOP_NONE;
	out->best_value = NAN;
	out->last_value = NAN;
	if (!r || !es || !es->metric)
		return;
	int id = records_metric_id(r, es->metric);
	if (id < 0)
		return;

	enum ckptd_mode m = es->mode;
	double delta = isfinite(es->min_delta) ? fabs(es->min_delta) : 0;
	double best = m == CKPTD_MAX ? -INFINITY : INFINITY;
	size_t n = records_count(r);
	for (size_t i = 0; i < n; i++) {
		const struct ckptd_record *rec = records_at(r, i);
		double v;
		if (!rec || rec->key < es->start_from || !record_get(rec, id, &v))
			continue;
		out->evaluated++;
		out->last_value = v;
		out->stop_at = rec->key;

		enum ckptd_stop_reason why = CKPTD_STOP_NONE;
		if (es->check_finite && !isfinite(v)) {
			why = CKPTD_STOP_NON_FINITE;
		} else if (es->has_stopping_threshold && policy_better(m, v, es->stopping_threshold)) {
			why = CKPTD_STOP_THRESHOLD;
		} else if (es->has_divergence_threshold && policy_better(m, es->divergence_threshold, v)) {
			why = CKPTD_STOP_DIVERGENCE;
		} else if (improves(m, v, best, delta)) {
			best = v;
			out->has_best = true;
			out->best_key = rec->key;
			out->best_value = v;
			/* Keras: the wait restarts only once the baseline is beaten
			 * too; an improvement short of it still counts as a wait. */
			if (!es->has_baseline || improves(m, v, es->baseline, delta)) {
				out->wait = 0;
			} else if (++out->wait >= es->patience) {
				why = CKPTD_STOP_PATIENCE;
			}
		} else if (++out->wait >= es->patience) {
			why = CKPTD_STOP_PATIENCE;
		}
		if (why != CKPTD_STOP_NONE) {
			out->fired = true;
			out->reason = why;
			return;
		}
	}
	out->stop_at = 0;
}

const char *policy_stop_reason_name(enum ckptd_stop_reason reason)
{
	switch (reason) {
	case CKPTD_STOP_NONE:       return "none";
	case CKPTD_STOP_PATIENCE:   return "patience";
	case CKPTD_STOP_NON_FINITE: return "non_finite";
	case CKPTD_STOP_THRESHOLD:  return "stopping_threshold";
	case CKPTD_STOP_DIVERGENCE: return "divergence_threshold";
	}
	return "unknown";
}

/* How much worse v is than best, relative to |best| (absolute when best
 * is 0); positive when worse. */
static double rel_worse(enum ckptd_mode m, double best, double v)
{
	double d = m == CKPTD_MAX ? best - v : v - best;
	return best == 0 ? d : d / fabs(best);
}

long policy_degrade(const struct ckptd_records *r, const struct ckptd_degrade *d,
                    struct ckptd_degrade_alert *out, size_t max_out)
{
	if (!r || !d || !d->metric || d->after < 1 || (!out && max_out > 0))
		return -1;
	int id = records_metric_id(r, d->metric);
	if (id < 0)
		return 0;
	int tid = d->train_metric ? records_metric_id(r, d->train_metric) : -1;

	const struct ckptd_record *best_rec = NULL;
	double best = NAN;
	int64_t streak = 0;       /* consecutive evaluations worse than best */
	bool armed = false;
	long nalerts = 0;
	size_t n = records_count(r);
	for (size_t i = 0; i < n; i++) {
		const struct ckptd_record *rec = records_at(r, i);
		double v;
		if (!rec || !record_get(rec, id, &v) || !isfinite(v))
			continue;     /* non-finite: the non_finite alert's business */
		if (!best_rec || policy_better(d->mode, v, best)) {
			best_rec = rec;
			best = v;
			streak = 0;
			armed = true;
			continue;
		}
		if (!policy_better(d->mode, best, v)) {
			streak = 0;   /* equal to the best: not worse */
			continue;
		}
		streak++;
		double rel = rel_worse(d->mode, best, v);
		if (!armed || streak < d->after || !(rel > d->by))
			continue;
		armed = false;
		if ((size_t)nalerts < max_out) {
			struct ckptd_degrade_alert *a = &out[nalerts];
			memset(a, 0, sizeof *a);
			a->key = rec->key;
			a->best_key = best_rec->key;
			a->best = best;
			a->value = v;
			a->rel = rel;
			a->train_best = a->train_value = NAN;
			if (tid >= 0 && record_get(best_rec, tid, &a->train_best) &&
			    record_get(rec, tid, &a->train_value)) {
				a->has_train = true;
				a->train_improving = policy_better(d->train_mode, a->train_value,
				                                   a->train_best);
			} else {
				a->train_best = a->train_value = NAN;
			}
		}
		nalerts++;
	}
	return nalerts;
}

bool policy_turn(const struct ckptd_records *r, const char *val_metric, enum ckptd_mode val_mode,
                 const char *train_metric, enum ckptd_mode train_mode, struct ckptd_turn *out)
{
	if (!out)
		return false;
	memset(out, 0, sizeof *out);
	out->best = out->last = out->train_best = out->train_last = NAN;
	if (!r || !val_metric)
		return false;
	int id = records_metric_id(r, val_metric);
	if (id < 0)
		return false;

	size_t n = records_count(r), ibest = 0;
	const struct ckptd_record *best_rec = NULL, *last_rec = NULL;
	for (size_t i = 0; i < n; i++) {
		const struct ckptd_record *rec = records_at(r, i);
		double v;
		if (!rec || !record_get(rec, id, &v))
			continue;
		last_rec = rec;
		if (isfinite(v) && (!best_rec || policy_better(val_mode, v, out->best))) {
			best_rec = rec;
			ibest = i;
			out->best = v;
		}
	}
	if (!best_rec)
		return false;
	out->best_key = best_rec->key;
	out->onset = best_rec->key;
	out->last_key = last_rec->key;
	(void)record_get(last_rec, id, &out->last);
	for (size_t i = ibest + 1; i < n; i++) {
		const struct ckptd_record *rec = records_at(r, i);
		double v;
		if (!rec || !record_get(rec, id, &v))
			continue;
		if (out->after++ == 0)
			out->onset = rec->key;
		/* NaN after the best counts as worse: the run went bad. */
		if (isnan(v) || policy_better(val_mode, out->best, v))
			out->worse++;
	}
	out->turned = out->worse > 0;

	int tid = train_metric ? records_metric_id(r, train_metric) : -1;
	if (tid >= 0 && record_get(best_rec, tid, &out->train_best) &&
	    record_get(last_rec, tid, &out->train_last)) {
		out->has_train = true;
		out->train_improving = policy_better(train_mode, out->train_last, out->train_best);
	} else {
		out->train_best = out->train_last = NAN;
	}
	return true;
}
