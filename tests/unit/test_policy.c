/* test_policy.c - selection, ranking, early stopping, degradation and the
 * validation turn, on the clinic07 worked example and small made-up
 * tables. */
#include <math.h>

#include "testutil.h"

static int setup_clinic(void **state)
{
	*state = tu_clinic07();
	return 0;
}

static int teardown_records(void **state)
{
	records_free(*state);
	return 0;
}

/* The key s selects in r (among cands when ncands > 0); there must be one. */
static int64_t selected(const struct ckptd_records *r, const struct ckptd_select *s,
                        const int64_t *cands, size_t ncands)
{
	int64_t k = -1;
	assert_true(policy_select(r, s, cands, ncands, &k));
	return k;
}

/* Ranking r by s with room for room keys gives exactly want[0..nwant). */
static void check_rank(const struct ckptd_records *r, const struct ckptd_select *s,
                       const int64_t *cands, size_t ncands, size_t room,
                       const int64_t *want, size_t nwant)
{
	int64_t *out = calloc(room ? room : 1, sizeof *out);
	assert_non_null(out);
	assert_int_equal(policy_rank(r, s, cands, ncands, out, room), nwant);
	for (size_t i = 0; i < nwant; i++)
		assert_int_equal(out[i], want[i]);
	free(out);
}
#define expect_rank(r, s, cands, ncands, room, ...)                                   \
	check_rank((r), (s), (cands), (ncands), (room), (const int64_t[]){ __VA_ARGS__ }, \
	           sizeof((const int64_t[]){ __VA_ARGS__ }) / sizeof(int64_t))

/* Early stopping on r must fire; where it stops.  *res has the rest. */
static int64_t fires_at(const struct ckptd_records *r, const struct ckptd_early_stop *es,
                        struct ckptd_stop_result *res)
{
	policy_early_stop(r, es, res);
	assert_true(res->fired);
	return res->stop_at;
}

/* ---- selection ---- */

static void test_better_within(void **state)
{
	(void)state;
	assert_true(policy_better(CKPTD_MIN, 1, 2));
	assert_false(policy_better(CKPTD_MIN, 2, 2));
	assert_true(policy_better(CKPTD_MAX, 3, 2));
	assert_false(policy_better(CKPTD_MAX, NAN, 2));
	assert_false(policy_better(CKPTD_MIN, NAN, 2));
	assert_false(policy_better(CKPTD_MIN, 2, NAN));
	assert_true(policy_within(0.481, 0.481, 0));
	assert_false(policy_within(0.481, 0.4810000001, 0));
	assert_true(policy_within(0.481, 0.486, 0.005));   /* the edge, despite rounding */
	assert_false(policy_within(0.481, 0.4861, 0.005));
	assert_false(policy_within(0.481, NAN, 1));
	assert_false(policy_within(INFINITY, INFINITY, 1));
}

static void test_clinic_by_sensitivity(void **state)
{
	struct ckptd_criterion c;
	struct ckptd_select s = tu_sel1(&c, "val_sensitivity", CKPTD_MAX, 0);
	assert_int_equal(selected(*state, &s, NULL, 0), 8);
}

static void test_clinic_by_val_loss(void **state)
{
	struct ckptd_criterion c;
	struct ckptd_select s = tu_sel1(&c, "val_loss", CKPTD_MIN, 0);
	assert_int_equal(selected(*state, &s, NULL, 0), 8);
	/* Never on training loss: that would have been the last epoch. */
	s = tu_sel1(&c, "train_loss", CKPTD_MIN, 0);
	assert_int_equal(selected(*state, &s, NULL, 0), 15);
	const struct ckptd_records *r = *state;
	assert_int_equal(records_at(r, records_count(r) - 1)->key, 15);
}

static void test_non_finite_never_selected(void **state)
{
	(void)state;
	struct ckptd_records *r = tu_clinic07();
	const char *names[] = { "val_loss", "val_sensitivity" };
	/* Epoch 16: the best raw sensitivity but val_loss NaN; epoch 17:
	 * val_loss -inf (the "lowest" raw value); epoch 18: sensitivity NaN. */
	tu_put(r, 16, 2, names, (const double[]){ NAN, 0.99 });
	tu_put(r, 17, 2, names, (const double[]){ -INFINITY, 0.2 });
	tu_put(r, 18, 2, names, (const double[]){ 0.1, NAN });
	struct ckptd_criterion c[2] = {
		{ .metric = (char *)"val_sensitivity", .mode = CKPTD_MAX },
		{ .metric = (char *)"val_loss", .mode = CKPTD_MIN },
	};
	struct ckptd_select s = { .by = c, .nby = 2 };
	assert_int_equal(selected(r, &s, NULL, 0), 8);
	assert_false(policy_scored(r, records_find(r, 16), &s));
	assert_false(policy_scored(r, records_find(r, 17), &s));
	assert_true(policy_scored(r, records_find(r, 8), &s));

	struct ckptd_criterion one;
	s = tu_sel1(&one, "val_loss", CKPTD_MIN, 0);
	assert_int_equal(selected(r, &s, NULL, 0), 18);  /* 0.1: finite and lowest */
	s = tu_sel1(&one, "val_sensitivity", CKPTD_MAX, 0);
	assert_int_equal(selected(r, &s, NULL, 0), 16);  /* logged and finite: 0.99 wins on its own metric */
	s = tu_sel1(&one, "val_sensitivity", CKPTD_MAX, 0);
	int64_t only[] = { 18 }, k = -1;
	assert_false(policy_select(r, &s, only, 1, &k));
	records_free(r);
}

static void test_require_excludes(void **state)
{
	struct ckptd_criterion c;
	struct ckptd_select s = tu_sel1(&c, "val_sensitivity", CKPTD_MAX, 0);
	struct ckptd_bound b = { .metric = (char *)"val_specificity", .has_min = true, .min = 0.81 };
	s.require = &b;
	s.nrequire = 1;
	assert_int_equal(selected(*state, &s, NULL, 0), 9);   /* the only epoch with specificity >= 0.81 */
	assert_false(policy_meets(*state, records_find(*state, 8), &s));
	assert_true(policy_meets(*state, records_find(*state, 9), &s));

	/* Inclusive bounds, and a max bound. */
	b = (struct ckptd_bound){ .metric = (char *)"val_loss", .has_max = true, .max = 0.486 };
	s = tu_sel1(&c, "val_accuracy", CKPTD_MIN, 0);
	s.require = &b;
	s.nrequire = 1;
	assert_int_equal(selected(*state, &s, NULL, 0), 7);   /* 7, 8, 9 qualify; lowest accuracy is 7 (0.803) */

	/* A bound on a metric never logged excludes everything. */
	b = (struct ckptd_bound){ .metric = (char *)"val_auc", .has_min = true, .min = 0 };
	int64_t k = -1;
	assert_false(policy_select(*state, &s, NULL, 0, &k));
	int64_t out[3];
	assert_int_equal(policy_rank(*state, &s, NULL, 0, out, 3), 0);
}

static void test_require_non_finite_fails(void **state)
{
	(void)state;
	struct ckptd_records *r = records_new();
	const char *names[] = { "val_loss", "val_spec" };
	tu_put(r, 1, 2, names, (const double[]){ 0.3, NAN });
	tu_put(r, 2, 2, names, (const double[]){ 0.4, 0.9 });
	tu_put(r, 3, 1, names, (const double[]){ 0.2 });
	struct ckptd_criterion c;
	struct ckptd_select s = tu_sel1(&c, "val_loss", CKPTD_MIN, 0);
	struct ckptd_bound b = { .metric = (char *)"val_spec", .has_max = true, .max = 1 };
	s.require = &b;
	s.nrequire = 1;
	assert_int_equal(selected(r, &s, NULL, 0), 2);
	records_free(r);
}

/* Criteria that disagree: val_loss within 0.005 of its best, then the
 * most sensitive of those. */
static void test_tolerance_band(void **state)
{
	(void)state;
	struct ckptd_records *r = records_new();
	const char *names[] = { "val_loss", "val_sensitivity" };
	tu_put(r, 1, 2, names, (const double[]){ 0.500, 0.70 });
	tu_put(r, 2, 2, names, (const double[]){ 0.480, 0.75 });  /* best loss */
	tu_put(r, 3, 2, names, (const double[]){ 0.484, 0.82 });
	tu_put(r, 4, 2, names, (const double[]){ 0.4851, 0.95 }); /* just outside the band */
	tu_put(r, 5, 2, names, (const double[]){ 0.485, 0.85 });  /* on the edge: inside */
	tu_put(r, 6, 2, names, (const double[]){ 0.490, 0.99 });
	struct ckptd_criterion c[2] = {
		{ .metric = (char *)"val_loss", .mode = CKPTD_MIN, .tolerance = 0.005 },
		{ .metric = (char *)"val_sensitivity", .mode = CKPTD_MAX },
	};
	struct ckptd_select s = { .by = c, .nby = 2 };
	/* 5 first; then the band around the best of what is left (2: 0.480)
	 * gives 3, 2; left: 1 (0.500), 4 (0.4851), 6 (0.490): band
	 * 0.4851..0.4901 gives 6, 4; then 1. */
	expect_rank(r, &s, NULL, 0, 6, 5, 3, 2, 6, 4, 1);

	/* Without tolerance the first criterion decides alone. */
	c[0].tolerance = 0;
	assert_int_equal(selected(r, &s, NULL, 0), 2);
	records_free(r);
}

static void test_exact_ties_earliest(void **state)
{
	(void)state;
	struct ckptd_records *r = records_new();
	/* Inserted out of order: the earliest key still wins. */
	tu_put1(r, 30, "val_acc", 0.9);
	tu_put1(r, 10, "val_acc", 0.9);
	tu_put1(r, 20, "val_acc", 0.9);
	tu_put1(r, 5, "val_acc", 0.8);
	struct ckptd_criterion c;
	struct ckptd_select s = tu_sel1(&c, "val_acc", CKPTD_MAX, 0);
	expect_rank(r, &s, NULL, 0, 4, 10, 20, 30, 5);
	int64_t cands[] = { 30, 20 };
	assert_int_equal(selected(r, &s, cands, 2), 20);
	records_free(r);
}

static void test_rank_top3(void **state)
{
	struct ckptd_criterion c;
	struct ckptd_select s = tu_sel1(&c, "val_sensitivity", CKPTD_MAX, 0);
	/* 8 (0.790), 9 (0.785), 7 (0.780, earlier than 10) */
	expect_rank(*state, &s, NULL, 0, 3, 8, 9, 7);

	s = tu_sel1(&c, "val_loss", CKPTD_MIN, 0);
	expect_rank(*state, &s, NULL, 0, 3, 8, 7, 9);

	/* Ask for more than there is: all 15, each once, in order. */
	int64_t out[16];
	assert_int_equal(policy_rank(*state, &s, NULL, 0, out, 16), 15);
	for (size_t i = 1; i < 15; i++) {
		double a, b;
		assert_true(records_get(*state, records_find(*state, out[i - 1]), "val_loss", &a));
		assert_true(records_get(*state, records_find(*state, out[i]), "val_loss", &b));
		assert_true(a <= b);
	}
	assert_int_equal(policy_rank(*state, &s, NULL, 0, out, 0), 0);
}

static void test_cands_filter(void **state)
{
	struct ckptd_criterion c;
	struct ckptd_select s = tu_sel1(&c, "val_sensitivity", CKPTD_MAX, 0);
	/* 99 has no record; 3 is listed twice. */
	int64_t cands[] = { 15, 3, 99, 12, 3 };
	/* 12 (0.755), 15 (0.710), 3 (0.670) */
	expect_rank(*state, &s, cands, 5, 5, 12, 15, 3);
	int64_t none[] = { 99, 100 };
	int64_t k = -1;
	assert_false(policy_select(*state, &s, none, 2, &k));
	assert_false(policy_select(*state, &s, cands, 0, &k));
}

static void test_unknown_metric_and_empty(void **state)
{
	struct ckptd_criterion c;
	struct ckptd_select s = tu_sel1(&c, "val_auc", CKPTD_MAX, 0);
	int64_t k = -1;
	assert_false(policy_select(*state, &s, NULL, 0, &k));
	struct ckptd_records *r = records_new();
	s = tu_sel1(&c, "val_loss", CKPTD_MIN, 0);
	assert_false(policy_select(r, &s, NULL, 0, &k));
	records_free(r);
}

/* Many records: ranking stays linear per pick. */
static void test_rank_many(void **state)
{
	(void)state;
	struct ckptd_records *r = records_new();
	const size_t n = 100000;
	for (size_t i = 0; i < n; i++) {
		/* A valley at 12345; its neighbours tie pairwise. */
		double v = fabs((double)i - 12345.0);
		tu_put1(r, (int64_t)i * 10, "loss", v);
	}
	struct ckptd_criterion c;
	struct ckptd_select s = tu_sel1(&c, "loss", CKPTD_MIN, 0);
	expect_rank(r, &s, NULL, 0, 4, 123450, 123440, 123460, 123430);
	records_free(r);
}

/* ---- early stopping ---- */

static void test_early_stop_clinic(void **state)
{
	struct ckptd_early_stop es = tu_es_val_loss(3);
	struct ckptd_stop_result res;
	assert_int_equal(fires_at(*state, &es, &res), 11);
	assert_int_equal(res.reason, CKPTD_STOP_PATIENCE);
	assert_true(res.has_best);
	assert_int_equal(res.best_key, 8);
	assert_true(res.best_value == 0.481);
	assert_int_equal(res.wait, 3);
	assert_int_equal(res.evaluated, 11);
	assert_true(res.last_value == 0.513);
	assert_string_equal(policy_stop_reason_name(res.reason), "patience");

	/* Patience 0: stop at the first evaluation without improvement. */
	es.patience = 0;
	assert_int_equal(fires_at(*state, &es, &res), 9);

	/* Patience longer than the run: never fires. */
	es.patience = 8;
	policy_early_stop(*state, &es, &res);
	assert_false(res.fired);
	assert_int_equal(res.reason, CKPTD_STOP_NONE);
	assert_int_equal(res.wait, 7);
	assert_int_equal(res.best_key, 8);
	assert_int_equal(res.evaluated, 15);
	assert_true(res.last_value == 0.628);

	/* Max mode on sensitivity: best 8, then 9..11 worse. */
	es = tu_es_val_loss(3);
	es.metric = (char *)"val_sensitivity";
	es.mode = CKPTD_MAX;
	assert_int_equal(fires_at(*state, &es, &res), 11);
	assert_int_equal(res.best_key, 8);

	/* A metric never logged: nothing happens. */
	es.metric = (char *)"val_auc";
	policy_early_stop(*state, &es, &res);
	assert_false(res.fired);
	assert_false(res.has_best);
	assert_int_equal(res.evaluated, 0);
}

static void test_early_stop_baseline(void **state)
{
	/* Baseline 0.5: improvements before epoch 6 (0.489) update the best
	 * but still count as waits. */
	struct ckptd_early_stop es = tu_es_val_loss(3);
	es.has_baseline = true;
	es.baseline = 0.5;
	struct ckptd_stop_result res;
	assert_int_equal(fires_at(*state, &es, &res), 3);
	assert_int_equal(res.reason, CKPTD_STOP_PATIENCE);
	assert_int_equal(res.best_key, 3);
	assert_true(res.best_value == 0.571);

	/* With room to reach it: 1..5 wait 1..5, 6 beats 0.5 and resets,
	 * best 8, then 9..14 wait 1..6. */
	es.patience = 6;
	assert_int_equal(fires_at(*state, &es, &res), 14);
	assert_int_equal(res.best_key, 8);

	/* A baseline never beaten: patience counts from the start. */
	es.patience = 10;
	es.baseline = 0.4;
	assert_int_equal(fires_at(*state, &es, &res), 10);
	assert_int_equal(res.best_key, 8);
}

static void test_early_stop_stopping_threshold(void **state)
{
	struct ckptd_early_stop es = tu_es_val_loss(3);
	es.has_stopping_threshold = true;
	es.stopping_threshold = 0.49;
	struct ckptd_stop_result res;
	assert_int_equal(fires_at(*state, &es, &res), 6);  /* 0.489 < 0.49 */
	assert_int_equal(res.reason, CKPTD_STOP_THRESHOLD);
	assert_string_equal(policy_stop_reason_name(res.reason), "stopping_threshold");

	/* Strictly better: reaching 0.481 exactly is not enough. */
	es.stopping_threshold = 0.481;
	policy_early_stop(*state, &es, &res);
	assert_int_equal(res.reason, CKPTD_STOP_PATIENCE);
	assert_int_equal(res.stop_at, 11);

	/* Max mode. */
	es.metric = (char *)"val_accuracy";
	es.mode = CKPTD_MAX;
	es.stopping_threshold = 0.8;
	policy_early_stop(*state, &es, &res);
	assert_int_equal(res.reason, CKPTD_STOP_THRESHOLD);
	assert_int_equal(res.stop_at, 7);  /* 0.803 */
}

static void test_early_stop_divergence(void **state)
{
	struct ckptd_early_stop es = tu_es_val_loss(100);
	es.has_divergence_threshold = true;
	es.divergence_threshold = 0.593;
	struct ckptd_stop_result res;
	/* Epoch 1 (0.743) is already worse: Lightning fires there. */
	assert_int_equal(fires_at(*state, &es, &res), 1);
	assert_int_equal(res.reason, CKPTD_STOP_DIVERGENCE);

	/* From epoch 4 on: 14 is exactly 0.593 (not worse), 15 is worse. */
	es.start_from = 4;
	assert_int_equal(fires_at(*state, &es, &res), 15);
	assert_int_equal(res.reason, CKPTD_STOP_DIVERGENCE);
	assert_int_equal(res.best_key, 8);
	assert_true(res.last_value == 0.628);
}

static void test_early_stop_check_finite(void **state)
{
	(void)state;
	struct ckptd_records *r = records_new();
	const double v[] = { 0.9, 0.8, 0.7, NAN, 0.6, 0.5 };
	for (size_t i = 0; i < 6; i++)
		tu_put1(r, (int64_t)i + 1, "val_loss", v[i]);
	tu_put1(r, 7, "train_loss", 0.1);   /* no val_loss: skipped */
	struct ckptd_early_stop es = tu_es_val_loss(3);
	struct ckptd_stop_result res;
	assert_int_equal(fires_at(r, &es, &res), 4);
	assert_int_equal(res.reason, CKPTD_STOP_NON_FINITE);
	assert_true(isnan(res.last_value));
	assert_int_equal(res.best_key, 3);

	/* Off: NaN is just an evaluation without improvement. */
	es.check_finite = false;
	policy_early_stop(r, &es, &res);
	assert_false(res.fired);
	assert_int_equal(res.best_key, 6);
	assert_int_equal(res.evaluated, 6);
	assert_int_equal(res.wait, 0);
	es.patience = 0;
	assert_int_equal(fires_at(r, &es, &res), 4);
	assert_int_equal(res.reason, CKPTD_STOP_PATIENCE);

	/* Infinity too. */
	tu_put1(r, 4, "val_loss", INFINITY);
	es = tu_es_val_loss(3);
	policy_early_stop(r, &es, &res);
	assert_int_equal(res.reason, CKPTD_STOP_NON_FINITE);
	assert_int_equal(res.stop_at, 4);
	records_free(r);
}

static void test_early_stop_start_from(void **state)
{
	struct ckptd_early_stop es = tu_es_val_loss(3);
	es.start_from = 10;
	struct ckptd_stop_result res;
	assert_int_equal(fires_at(*state, &es, &res), 13);
	assert_int_equal(res.best_key, 10);  /* the first one looked at */
	assert_int_equal(res.evaluated, 4);
}

static void test_early_stop_min_delta(void **state)
{
	/* min_delta 0.01: 7 (0.483) is not 0.01 below 6 (0.489). */
	struct ckptd_early_stop es = tu_es_val_loss(3);
	es.min_delta = 0.01;
	struct ckptd_stop_result res;
	assert_int_equal(fires_at(*state, &es, &res), 9);
	assert_int_equal(res.best_key, 6);
	assert_true(res.best_value == 0.489);

	/* Max mode, sensitivity, min_delta 0.025: 6 (0.77) is not 0.025
	 * above 5 (0.75) but 7 (0.78) is; 8 (0.79) is not above 7. */
	es.metric = (char *)"val_sensitivity";
	es.mode = CKPTD_MAX;
	es.min_delta = 0.025;
	assert_int_equal(fires_at(*state, &es, &res), 10);
	assert_int_equal(res.best_key, 7);
}

/* ---- degradation ---- */

static void test_degrade_clinic(void **state)
{
	struct ckptd_degrade d = {
		.enabled = true, .metric = (char *)"val_loss", .mode = CKPTD_MIN,
		.after = 2, .by = 0.02, .train_metric = (char *)"train_loss",
		.train_mode = CKPTD_MIN,
	};
	struct ckptd_degrade_alert a[4];
	/* 9: 0.486 (+1.0%, one worse); 10: 0.497 (+3.3%, two worse) fires;
	 * then disarmed: no new best follows. */
	assert_int_equal(policy_degrade(*state, &d, a, 4), 1);
	assert_int_equal(a[0].key, 10);
	assert_int_equal(a[0].best_key, 8);
	assert_true(a[0].best == 0.481);
	assert_true(a[0].value == 0.497);
	assert_true(fabs(a[0].rel - 0.016 / 0.481) < 1e-12);
	assert_true(a[0].has_train);
	assert_true(a[0].train_best == 0.287);
	assert_true(a[0].train_value == 0.208);
	assert_true(a[0].train_improving);

	/* Counting without room to write. */
	assert_int_equal(policy_degrade(*state, &d, NULL, 0), 1);

	/* after 1: 9 is only +1.04%, 10 fires. by 0.3: 15 is +30.6%. */
	d.after = 1;
	assert_int_equal(policy_degrade(*state, &d, a, 4), 1);
	assert_int_equal(a[0].key, 10);
	d.by = 0.3;
	assert_int_equal(policy_degrade(*state, &d, a, 4), 1);
	assert_int_equal(a[0].key, 15);
	d.by = 0.5;
	assert_int_equal(policy_degrade(*state, &d, a, 4), 0);

	/* No train metric logged: train fields stay empty. */
	d.by = 0.02;
	d.train_metric = (char *)"loss";
	assert_int_equal(policy_degrade(*state, &d, a, 4), 1);
	assert_false(a[0].has_train);

	d.after = 0;
	assert_int_equal(policy_degrade(*state, &d, a, 4), -1);
}

static void test_degrade_rearm(void **state)
{
	(void)state;
	struct ckptd_records *r = records_new();
	const char *names[] = { "val_acc", "train_acc" };
	/* Max mode. Best 0.9 at 2; 3, 4 worse by > 5% -> fires at 4; 5 worse
	 * (disarmed); 6 NaN (ignored); 7 new best 0.95 re-arms; 8 equal (not
	 * worse: breaks the run); 9, 10 worse -> fires at 10. */
	const double v[][2] = {
		{ 0.80, 0.80 }, { 0.90, 0.85 }, { 0.84, 0.90 }, { 0.83, 0.91 }, { 0.70, 0.92 },
		{ NAN, 0.93 }, { 0.95, 0.94 }, { 0.95, 0.95 }, { 0.80, 0.90 }, { 0.80, 0.85 },
	};
	for (size_t i = 0; i < 10; i++)
		tu_put(r, (int64_t)i + 1, 2, names, v[i]);
	struct ckptd_degrade d = {
		.enabled = true, .metric = (char *)"val_acc", .mode = CKPTD_MAX,
		.after = 2, .by = 0.05, .train_metric = (char *)"train_acc",
		.train_mode = CKPTD_MAX,
	};
	struct ckptd_degrade_alert a[4];
	assert_int_equal(policy_degrade(r, &d, a, 4), 2);
	assert_int_equal(a[0].key, 4);
	assert_int_equal(a[0].best_key, 2);
	assert_true(fabs(a[0].rel - 0.07 / 0.9) < 1e-12);
	assert_true(a[0].train_improving);     /* 0.91 > 0.85: overfitting */
	assert_int_equal(a[1].key, 10);
	assert_int_equal(a[1].best_key, 7);
	assert_true(a[1].has_train);
	assert_false(a[1].train_improving);    /* 0.85 < 0.94 */

	/* Only the first alert fits; both are counted. */
	assert_int_equal(policy_degrade(r, &d, a, 1), 2);
	assert_int_equal(a[0].key, 4);

	/* A NaN between two worse records does not break the run. */
	records_clear(r);
	tu_put1(r, 1, "val_acc", 1.0);
	tu_put1(r, 2, "val_acc", 0.9);
	tu_put1(r, 3, "val_acc", NAN);
	tu_put1(r, 4, "val_acc", 0.9);
	assert_int_equal(policy_degrade(r, &d, a, 4), 1);
	assert_int_equal(a[0].key, 4);
	assert_false(a[0].has_train);

	/* Best 0: absolute. */
	records_clear(r);
	d.metric = (char *)"err";
	d.mode = CKPTD_MIN;
	d.after = 1;
	tu_put1(r, 1, "err", 0.0);
	tu_put1(r, 2, "err", 0.04);
	tu_put1(r, 3, "err", 0.06);
	assert_int_equal(policy_degrade(r, &d, a, 4), 1);
	assert_int_equal(a[0].key, 3);
	assert_true(a[0].rel == 0.06);
	records_free(r);
}

/* ---- the turn ---- */

static void test_turn_clinic(void **state)
{
	struct ckptd_turn t;
	assert_true(policy_turn(*state, "val_loss", CKPTD_MIN, "train_loss", CKPTD_MIN, &t));
	assert_true(t.turned);
	assert_int_equal(t.best_key, 8);
	assert_true(t.best == 0.481);
	assert_int_equal(t.onset, 9);
	assert_int_equal(t.last_key, 15);
	assert_true(t.last == 0.628);
	assert_int_equal(t.worse, 7);
	assert_int_equal(t.after, 7);
	assert_true(t.has_train);
	assert_true(t.train_improving);
	assert_true(t.train_best == 0.287);
	assert_true(t.train_last == 0.084);

	/* Sensitivity turns at 8 too; 10 ties 7's value but is still worse. */
	assert_true(policy_turn(*state, "val_sensitivity", CKPTD_MAX, NULL, CKPTD_MIN, &t));
	assert_int_equal(t.best_key, 8);
	assert_int_equal(t.worse, 7);
	assert_false(t.has_train);

	/* Train loss never turns: best is the last. */
	assert_true(policy_turn(*state, "train_loss", CKPTD_MIN, NULL, CKPTD_MIN, &t));
	assert_false(t.turned);
	assert_int_equal(t.best_key, 15);
	assert_int_equal(t.onset, 15);
	assert_int_equal(t.after, 0);

	assert_false(policy_turn(*state, "val_auc", CKPTD_MAX, NULL, CKPTD_MIN, &t));
}

static void test_turn_partial(void **state)
{
	(void)state;
	struct ckptd_records *r = records_new();
	const char *names[] = { "val_loss", "train_loss" };
	tu_put(r, 1, 2, names, (const double[]){ 0.5, 0.9 });
	tu_put(r, 2, 2, names, (const double[]){ 0.4, 0.8 });
	tu_put1(r, 3, "train_loss", 0.7);                      /* no val_loss */
	tu_put(r, 4, 2, names, (const double[]){ 0.4, 0.9 });  /* equal: not worse */
	tu_put(r, 5, 2, names, (const double[]){ 0.45, 1.0 }); /* worse, train worse too */
	struct ckptd_turn t;
	assert_true(policy_turn(r, "val_loss", CKPTD_MIN, "train_loss", CKPTD_MIN, &t));
	assert_int_equal(t.best_key, 2);    /* earliest of the tie */
	assert_int_equal(t.onset, 4);
	assert_int_equal(t.after, 2);
	assert_int_equal(t.worse, 1);
	assert_true(t.turned);
	assert_true(t.has_train);
	assert_false(t.train_improving);
	records_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_better_within),
		cmocka_unit_test_setup_teardown(test_clinic_by_sensitivity, setup_clinic, teardown_records),
		cmocka_unit_test_setup_teardown(test_clinic_by_val_loss, setup_clinic, teardown_records),
		cmocka_unit_test(test_non_finite_never_selected),
		cmocka_unit_test_setup_teardown(test_require_excludes, setup_clinic, teardown_records),
		cmocka_unit_test(test_require_non_finite_fails),
		cmocka_unit_test(test_tolerance_band),
		cmocka_unit_test(test_exact_ties_earliest),
		cmocka_unit_test_setup_teardown(test_rank_top3, setup_clinic, teardown_records),
		cmocka_unit_test_setup_teardown(test_cands_filter, setup_clinic, teardown_records),
		cmocka_unit_test_setup_teardown(test_unknown_metric_and_empty, setup_clinic, teardown_records),
		cmocka_unit_test(test_rank_many),
		cmocka_unit_test_setup_teardown(test_early_stop_clinic, setup_clinic, teardown_records),
		cmocka_unit_test_setup_teardown(test_early_stop_baseline, setup_clinic, teardown_records),
		cmocka_unit_test_setup_teardown(test_early_stop_stopping_threshold, setup_clinic, teardown_records),
		cmocka_unit_test_setup_teardown(test_early_stop_divergence, setup_clinic, teardown_records),
		cmocka_unit_test(test_early_stop_check_finite),
		cmocka_unit_test_setup_teardown(test_early_stop_start_from, setup_clinic, teardown_records),
		cmocka_unit_test_setup_teardown(test_early_stop_min_delta, setup_clinic, teardown_records),
		cmocka_unit_test_setup_teardown(test_degrade_clinic, setup_clinic, teardown_records),
		cmocka_unit_test(test_degrade_rearm),
		cmocka_unit_test_setup_teardown(test_turn_clinic, setup_clinic, teardown_records),
		cmocka_unit_test(test_turn_partial),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
