/* explain.c - the human note about a selection: why this record, why not
 * the last one, where validation turned, where early stopping would have
 * fired.  Pure: reads the table, returns owned strings. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ckptd/explain.h"

/* ---- a growing string and the list of lines ---- */

struct sb {
	char *s;
	size_t len, cap;
	bool oom;
};

__attribute__((format(printf, 2, 3)))
static void sb_printf(struct sb *b, const char *fmt, ...)
{
	if (b->oom)
		return;
	for (;;) {
		va_list ap;
		size_t room = b->cap - b->len;
		va_start(ap, fmt);
		int n = vsnprintf(b->s ? b->s + b->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = true;
			return;
		}
		if ((size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = b->cap ? b->cap : 128;
		while (cap - b->len <= (size_t)n)
			cap *= 2;
		char *s = realloc(b->s, cap);
		if (!s) {
			b->oom = true;
			return;
		}
		b->s = s;
		b->cap = cap;
	}
}

/* Hand the built line to e (or drop it on error); b is empty afterwards. */
static void sb_emit(struct sb *b, struct ckptd_explanation *e, bool *oom)
{
	if (b->oom || !b->s) {
		*oom = *oom || b->oom;
		free(b->s);
		*b = (struct sb){ 0 };
		return;
	}
	char **v = realloc(e->lines, (e->n + 1) * sizeof *v);
	if (!v) {
		*oom = true;
		free(b->s);
	} else {
		e->lines = v;
		e->lines[e->n++] = b->s;
	}
	*b = (struct sb){ 0 };
}

/* ---- names ---- */

/* Does a word of name (split at non-alphanumerics) start with prefix? */
static bool has_word(const char *name, const char *prefix)
{
	size_t pl = strlen(prefix);
	const char *p = name;
	while (*p) {
		while (*p && !isalnum((unsigned char)*p))
			p++;
		if (!*p)
			break;
		if (strncasecmp(p, prefix, pl) == 0)
			return true;
		while (isalnum((unsigned char)*p))
			p++;
	}
	return false;
}

static bool says_val(const char *name)
{
	return has_word(name, "val") || has_word(name, "eval");
}

static bool says_train_loss(const char *name)
{
	return strcmp(name, "loss") == 0 || (has_word(name, "train") && has_word(name, "loss"));
}

/* The logged name among cands, first first; NULL when none is. */
static const char *first_logged(const struct ckptd_records *r, const char *const *cands, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int id = records_metric_id(r, cands[i]);
		if (id >= 0)
			return records_metric_name(r, (size_t)id);
	}
	return NULL;
}

void explain_guess_metrics(const struct ckptd_records *r, const struct ckptd_select *sel,
                           const char **val_metric, const char **train_metric)
{
	static const char *const vals[] = { "val_loss", "val/loss", "eval_loss", "validation_loss" };
	static const char *const trains[] = { "train_loss", "train/loss", "loss", "training_loss" };
	const char *v = NULL, *t = NULL;

	for (size_t i = 0; sel && i < sel->nby && !v; i++)
		if (sel->by[i].metric && says_val(sel->by[i].metric) && has_word(sel->by[i].metric, "loss"))
			v = sel->by[i].metric;
	if (!v && r)
		v = first_logged(r, vals, sizeof vals / sizeof vals[0]);
	if (!v && sel && sel->nby > 0)
		v = sel->by[0].metric;

	if (r) {
		t = first_logged(r, trains, sizeof trains / sizeof trains[0]);
		for (size_t id = 0; !t && id < records_nmetrics(r); id++) {
			const char *name = records_metric_name(r, id);
			if (name && says_train_loss(name) && !says_val(name))
				t = name;
		}
	}
	if (val_metric)
		*val_metric = v;
	if (train_metric)
		*train_metric = t;
}

/* The mode of a metric: its `by` entry's, else the one its name tells. */
static bool metric_mode(const struct ckptd_select *sel, const char *name, enum ckptd_mode *m)
{
	for (size_t i = 0; i < sel->nby; i++)
		if (sel->by[i].metric && strcmp(sel->by[i].metric, name) == 0) {
			*m = sel->by[i].mode;
			return true;
		}
	return mode_infer(name, m);
}

/* "worse", "better" or "same" for a against b; "higher"/"lower" when the
 * mode is unknown. */
static const char *compare_word(bool known, enum ckptd_mode m, double a, double b)
{
	if (a == b)
		return "same";
	if (isnan(a) || isnan(b))
		return "not comparable";
	if (!known)
		return a > b ? "higher" : "lower";
	return policy_better(m, a, b) ? "better" : "worse";
}

/* ---- the pieces ---- */

struct ctx {
	const struct ckptd_explain_in *in;
	const struct ckptd_records *r;
	const struct ckptd_select *sel;
	const char *kn;                  /* key name */
	const struct ckptd_record *srec; /* the selected record */
	struct ckptd_explanation *e;
	struct sb b;
	bool oom;
};

static const char *plural(long n)
{
	return n == 1 ? "" : "s";
}

/* Selection: how the selected record won, stage by stage. */
static void say_selection(struct ctx *c)
{
	const struct ckptd_records *r = c->r;
	const struct ckptd_select *sel = c->sel;
	size_t n = records_count(r), nscored = 0, nel = 0;
	const struct ckptd_record **el = malloc((n ? n : 1) * sizeof *el);
	if (!el) {
		c->oom = true;
		return;
	}
	bool sel_eligible = false;
	for (size_t i = 0; i < n; i++) {
		const struct ckptd_record *rec = records_at(r, i);
		if (!rec || !policy_scored(r, rec, sel))
			continue;
		nscored++;
		if (!policy_meets(r, rec, sel))
			continue;
		el[nel++] = rec;
		if (rec == c->srec)
			sel_eligible = true;
	}

	struct sb *b = &c->b;
	const char *kn = c->kn;
	int64_t sk = c->srec->key;
	if (!sel_eligible) {
		sb_printf(b, "%s %" PRId64 " is not scored or fails a requirement", kn, sk);
		sb_emit(b, c->e, &c->oom);
		free(el);
		return;
	}

	char among[160];
	if (nel == nscored)
		snprintf(among, sizeof among, "among %zu scored %s%s", nscored, kn, plural((long)nscored));
	else
		snprintf(among, sizeof among, "among %zu scored %s%s that meet every requirement (%zu more fail one)",
		         nel, kn, plural((long)nel), nscored - nel);

	/* Replay the narrowing over el (key order), as policy_rank does. */
	size_t ncur = nel;
	for (size_t j = 0; j < sel->nby && ncur > 0; j++) {
		const struct ckptd_criterion *cr = &sel->by[j];
		if (j > 0 && ncur <= 1)
			break;  /* decided: later criteria did not matter */
		double best = NAN, v = NAN;
		int64_t best_key = 0;
		for (size_t i = 0; i < ncur; i++) {
			double x;
			(void)records_get(r, el[i], cr->metric, &x);
			if (i == 0 || policy_better(cr->mode, x, best)) {
				best = x;
				best_key = el[i]->key;
			}
		}
		(void)records_get(r, c->srec, cr->metric, &v);
		size_t w = 0, ties = 0;
		bool in_band = false;
		for (size_t i = 0; i < ncur; i++) {
			double x;
			(void)records_get(r, el[i], cr->metric, &x);
			if (!policy_within(best, x, cr->tolerance))
				continue;
			if (x == best)
				ties++;
			if (el[i] == c->srec)
				in_band = true;
			el[w++] = el[i];
		}
		if (!in_band) {
			/* Chosen among fewer candidates than the whole log. */
			sb_printf(b, "%s %" PRId64 " has %s %g; the best scored %s on it is %" PRId64 " (%g), not a candidate",
			          kn, sk, cr->metric, v, kn, best_key, best);
			sb_emit(b, c->e, &c->oom);
			free(el);
			return;
		}
		if (j == 0)
			sb_printf(b, "%s %" PRId64 " ", kn, sk);
		else
			sb_printf(b, "of those %zu, %s %" PRId64 " ", ncur, kn, sk);
		if (v == best) {
			sb_printf(b, "is best on %s (%g)", cr->metric, v);
			if (ties > 1)
				sb_printf(b, ", tied with %zu other%s", ties - 1, ties == 2 ? "" : "s");
		} else {
			sb_printf(b, "has %s %g, within %g of the best (%g, %s %" PRId64 ")",
			          cr->metric, v, cr->tolerance, best, kn, best_key);
		}
		if (j == 0)
			sb_printf(b, " %s", among);
		if (w > 1 && cr->tolerance > 0)
			sb_printf(b, "; %zu %s%s are within %g of the best", w, kn, plural((long)w), cr->tolerance);
		sb_emit(b, c->e, &c->oom);
		ncur = w;
	}
	if (sel->nby == 0) {
		sb_printf(b, "%s %" PRId64 " is the earliest %s", kn, sk, among);
		sb_emit(b, c->e, &c->oom);
	} else if (ncur > 1) {
		sb_printf(b, "%zu %s%s tie on every criterion: ", ncur, kn, plural((long)ncur));
		if (el[0] == c->srec)
			sb_printf(b, "the earliest, %" PRId64 ", wins", sk);
		else
			sb_printf(b, "%" PRId64 " was the earliest candidate", sk);
		sb_emit(b, c->e, &c->oom);
	}
	if (nscored < n) {
		sb_printf(b, "%zu %s%s not scored (a selection metric missing or not finite)",
		          n - nscored, kn, n - nscored == 1 ? " is" : "s are");
		sb_emit(b, c->e, &c->oom);
	}
	free(el);
}

/* Why not the last record, and what shipping it would cost. */
static void say_last(struct ctx *c)
{
	const struct ckptd_records *r = c->r;
	const struct ckptd_select *sel = c->sel;
	struct sb *b = &c->b;
	const char *kn = c->kn;
	size_t n = records_count(r);
	const struct ckptd_record *last = n ? records_at(r, n - 1) : NULL;
	if (!last)
		return;
	int64_t sk = c->srec->key, lk = last->key;
	if (last == c->srec) {
		sb_printf(b, "%s %" PRId64 " is the last %s: nothing better came later", kn, sk, kn);
		sb_emit(b, c->e, &c->oom);
		return;
	}

	sb_printf(b, "why not the last %s (%" PRId64 "): ", kn, lk);
	if (!policy_scored(r, last, sel)) {
		const char *m = "a selection metric";
		for (size_t j = 0; j < sel->nby; j++) {
			double v;
			if (!records_get(r, last, sel->by[j].metric, &v) || !isfinite(v)) {
				m = sel->by[j].metric;
				break;
			}
		}
		sb_printf(b, "it is not scored (%s missing or not finite)", m);
	} else if (!policy_meets(r, last, sel)) {
		for (size_t j = 0; j < sel->nrequire; j++) {
			const struct ckptd_bound *bd = &sel->require[j];
			struct ckptd_bound one_bound = *bd;
			struct ckptd_select one = { .require = &one_bound, .nrequire = 1 };
			if (policy_meets(r, last, &one))
				continue;
			double v;
			sb_printf(b, "it fails the requirement %s %s %g", bd->metric,
			          bd->has_min ? ">=" : "<=", bd->has_min ? bd->min : bd->max);
			if (records_get(r, last, bd->metric, &v))
				sb_printf(b, " (%g)", v);
			else
				sb_printf(b, " (not logged)");
			break;
		}
	} else {
		for (size_t j = 0; j < sel->nby; j++) {
			const struct ckptd_criterion *cr = &sel->by[j];
			double a = NAN, s = NAN;
			(void)records_get(r, last, cr->metric, &a);
			(void)records_get(r, c->srec, cr->metric, &s);
			sb_printf(b, "%sits %s %g vs %g (%s)", j ? ", " : "", cr->metric, a, s,
			          compare_word(true, cr->mode, a, s));
		}
		if (sel->nby == 0)
			sb_printf(b, "it comes later than %" PRId64, sk);
	}
	sb_emit(b, c->e, &c->oom);

	/* The cost: every other metric logged in both, validation first. */
	size_t listed = 0;
	for (int pass = 0; pass < 2; pass++) {
		for (size_t id = 0; id < records_nmetrics(r); id++) {
			const char *name = records_metric_name(r, id);
			if (!name)
				continue;
			bool by = false;
			for (size_t j = 0; j < sel->nby && !by; j++)
				by = sel->by[j].metric && strcmp(sel->by[j].metric, name) == 0;
			if (by || has_word(name, "train") != (pass == 1))
				continue;
			double a, s;
			if (!record_get(last, (int)id, &a) || !record_get(c->srec, (int)id, &s))
				continue;
			enum ckptd_mode m = CKPTD_MIN;
			bool known = metric_mode(sel, name, &m);
			if (listed++ == 0)
				sb_printf(b, "shipping the last %s (%" PRId64 ") instead of %" PRId64 ": ", kn, lk, sk);
			else
				sb_printf(b, ", ");
			sb_printf(b, "%s %g vs %g (%s)", name, a, s, compare_word(known, m, a, s));
		}
	}
	if (listed)
		sb_emit(b, c->e, &c->oom);
}

/* Where validation turned, and whether training kept improving. */
static void say_turn(struct ctx *c)
{
	const struct ckptd_explain_in *in = c->in;
	struct ckptd_explanation *e = c->e;
	struct sb *b = &c->b;
	const char *kn = c->kn;
	const char *gv = NULL, *gt = NULL;
	explain_guess_metrics(c->r, c->sel, &gv, &gt);
	e->val_metric = in->val_metric ? in->val_metric : gv;
	e->train_metric = in->train_metric ? in->train_metric : gt;
	if (!e->val_metric)
		return;
	if (e->train_metric && strcmp(e->train_metric, e->val_metric) == 0)
		e->train_metric = NULL;

	enum ckptd_mode vm = CKPTD_MIN, tm = CKPTD_MIN;
	if (!metric_mode(c->sel, e->val_metric, &vm)) {
		if (in->stop && in->stop->metric && strcmp(in->stop->metric, e->val_metric) == 0)
			vm = in->stop->mode;
		else
			return;   /* no direction known: nothing to say */
	}
	if (e->train_metric && !mode_infer(e->train_metric, &tm))
		tm = CKPTD_MIN;
	if (!policy_turn(c->r, e->val_metric, vm, e->train_metric, tm, &e->turn))
		return;
	e->has_turn = true;
	const struct ckptd_turn *t = &e->turn;
	const char *vm_name = e->val_metric;

	if (!t->turned) {
		if (t->after == 0)
			sb_printf(b, "%s is at its best at the last %s (%" PRId64 "): validation has not turned",
			          vm_name, kn, t->best_key);
		else
			sb_printf(b, "%s has not got worse since %s %" PRId64 ": validation has not turned",
			          vm_name, kn, t->best_key);
		sb_emit(b, e, &c->oom);
		return;
	}

	bool overfit = t->has_train && t->train_improving;
	if (!overfit)
		sb_printf(b, "validation turned after %s %" PRId64 ": ", kn, t->best_key);
	if (t->worse == t->after)
		sb_printf(b, "%s has %s for %ld %s%s (", vm_name, vm == CKPTD_MIN ? "risen" : "fallen",
		          t->after, kn, plural(t->after));
	else
		sb_printf(b, "%s has been worse than at %s %" PRId64 " in %ld of the %ld %s%s since (",
		          vm_name, kn, t->best_key, t->worse, t->after, kn, plural(t->after));
	if (t->onset == t->last_key)
		sb_printf(b, "%" PRId64 ")", t->onset);
	else
		sb_printf(b, "%" PRId64 "-%" PRId64 ")", t->onset, t->last_key);
	if (overfit)
		sb_printf(b, " while %s kept %s: overfitting from %s %" PRId64 " on", e->train_metric,
		          tm == CKPTD_MIN ? "falling" : "rising", kn, t->onset);
	else if (t->has_train)
		sb_printf(b, "; %s did not improve meanwhile (%g vs %g)", e->train_metric,
		          t->train_last, t->train_best);
	sb_emit(b, e, &c->oom);
}

/* Where early stopping would have fired. */
static void say_stop(struct ctx *c)
{
	const struct ckptd_early_stop *es = c->in->stop;
	if (!es || !es->metric)
		return;
	struct ckptd_stop_result own;
	const struct ckptd_stop_result *sr = c->in->stop_result;
	if (!sr) {
		policy_early_stop(c->r, es, &own);
		sr = &own;
	}
	struct sb *b = &c->b;
	const char *kn = c->kn;
	sb_printf(b, "early stopping on %s (patience %" PRId64, es->metric, es->patience);
	if (es->min_delta > 0)
		sb_printf(b, ", min_delta %g", es->min_delta);
	sb_printf(b, ") ");
	if (!sr->fired) {
		sb_printf(b, "would not have fired");
		if (sr->evaluated == 0)
			sb_printf(b, ": %s was never logged", es->metric);
		else if (sr->has_best)
			sb_printf(b, ": best %s %" PRId64 " (%g), %" PRId64 " %s%s without improvement at the end",
			          kn, sr->best_key, sr->best_value, sr->wait, kn, plural((long)sr->wait));
		sb_emit(b, c->e, &c->oom);
		return;
	}
	sb_printf(b, "would have fired after %s %" PRId64, kn, sr->stop_at);
	switch (sr->reason) {
	case CKPTD_STOP_PATIENCE:
		if (sr->has_best)
			sb_printf(b, ": best %s %" PRId64 " (%g), then %" PRId64 " %s%s without improvement",
			          kn, sr->best_key, sr->best_value, sr->wait, kn, plural((long)sr->wait));
		break;
	case CKPTD_STOP_NON_FINITE:
		sb_printf(b, ": %s was %g", es->metric, sr->last_value);
		break;
	case CKPTD_STOP_THRESHOLD:
		sb_printf(b, ": %s %g reached the stopping_threshold %g", es->metric, sr->last_value,
		          es->stopping_threshold);
		break;
	case CKPTD_STOP_DIVERGENCE:
		sb_printf(b, ": %s %g passed the divergence_threshold %g", es->metric, sr->last_value,
		          es->divergence_threshold);
		break;
	case CKPTD_STOP_NONE:
		break;
	}
	if (sr->stop_at < c->srec->key)
		sb_printf(b, ", before the selected %s (%" PRId64 ")", kn, c->srec->key);
	sb_emit(b, c->e, &c->oom);
}

int explain_build(const struct ckptd_explain_in *in, struct ckptd_explanation *out)
{
	if (!out) {
		errno = EINVAL;
		return -1;
	}
	memset(out, 0, sizeof *out);
	const struct ckptd_record *srec = in && in->records && in->select ?
		records_find(in->records, in->selected) : NULL;
	if (!srec) {
		errno = EINVAL;
		return -1;
	}
	struct ctx c = {
		.in = in, .r = in->records, .sel = in->select,
		.kn = in->key_name ? in->key_name : "epoch",
		.srec = srec, .e = out,
	};
	say_selection(&c);
	say_last(&c);
	say_turn(&c);
	say_stop(&c);
	free(c.b.s);
	if (c.oom) {
		explain_free(out);
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

void explain_free(struct ckptd_explanation *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->n; i++)
		free(e->lines[i]);
	free(e->lines);
	memset(e, 0, sizeof *e);
}
