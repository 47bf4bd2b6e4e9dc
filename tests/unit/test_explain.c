/* test_explain.c - the explanation of a selection: the facts of SPEC's
 * worked example (clinic07) and the variations around it. */
#include <errno.h>
#include <math.h>

#include "ckptd/explain.h"
#include "testutil.h"

/* Does some line contain s?  Prints the lines when not, for the log. */
static bool has(const struct ckptd_explanation *e, const char *s)
{
	for (size_t i = 0; i < e->n; i++)
		if (strstr(e->lines[i], s))
			return true;
	fprintf(stderr, "# missing \"%s\" in:\n", s);
	for (size_t i = 0; i < e->n; i++)
		fprintf(stderr, "#   %s\n", e->lines[i]);
	return false;
}

static bool lacks(const struct ckptd_explanation *e, const char *s)
{
	for (size_t i = 0; i < e->n; i++)
		if (strstr(e->lines[i], s)) {
			fprintf(stderr, "# unexpected \"%s\" in: %s\n", s, e->lines[i]);
			return false;
		}
	return true;
}

/* The worked example: val_sensitivity picks 8; why not 15. */
static void test_clinic_explained(void **state)
{
	(void)state;
	struct ckptd_records *r = tu_clinic07();
	struct ckptd_criterion c;
	struct ckptd_select sel = tu_sel1(&c, "val_sensitivity", CKPTD_MAX, 0);
	int64_t k = -1;
	assert_true(policy_select(r, &sel, NULL, 0, &k));
	assert_int_equal(k, 8);
	struct ckptd_early_stop es = tu_es_val_loss(3);
	struct ckptd_stop_result sr;
	policy_early_stop(r, &es, &sr);

	struct ckptd_explain_in in = {
		.records = r, .select = &sel, .key_name = "epoch", .selected = k,
		.stop = &es, .stop_result = &sr,
	};
	struct ckptd_explanation e;
	assert_int_equal(explain_build(&in, &e), 0);
	assert_true(e.n >= 5);
	assert_true(has(&e, "epoch 8 is best on val_sensitivity (0.79) among 15 scored epochs"));
	assert_true(has(&e, "why not the last epoch (15)"));
	assert_true(has(&e, "val_sensitivity 0.71 vs 0.79 (worse)"));
	assert_true(has(&e, "shipping the last epoch (15) instead of 8"));
	assert_true(has(&e, "val_loss 0.628 vs 0.481 (worse)"));
	assert_true(has(&e, "val_accuracy 0.765 vs 0.805 (worse)"));
	assert_true(has(&e, "val_specificity 0.78 vs 0.809 (worse)"));
	assert_true(has(&e, "train_loss 0.084 vs 0.287 (better)"));
	assert_true(has(&e, "val_loss has risen for 7 epochs (9-15) while train_loss kept falling: "
	                    "overfitting from epoch 9 on"));
	assert_true(has(&e, "early stopping on val_loss (patience 3) would have fired after epoch 11"));
	assert_true(has(&e, "best epoch 8 (0.481)"));
	assert_true(lacks(&e, "would not"));
	assert_true(lacks(&e, "not scored"));
	assert_true(e.has_turn);
	assert_int_equal(e.turn.best_key, 8);
	assert_int_equal(e.turn.onset, 9);
	assert_string_equal(e.val_metric, "val_loss");
	assert_string_equal(e.train_metric, "train_loss");
	explain_free(&e);
	assert_null(e.lines);
	assert_int_equal(e.n, 0);

	/* Without a stop result handed in, it is computed. */
	in.stop_result = NULL;
	assert_int_equal(explain_build(&in, &e), 0);
	assert_true(has(&e, "would have fired after epoch 11"));
	explain_free(&e);

	/* Patience 8: never fires on this log. */
	es.patience = 8;
	policy_early_stop(r, &es, &sr);
	in.stop_result = &sr;
	assert_int_equal(explain_build(&in, &e), 0);
	assert_true(has(&e, "early stopping on val_loss (patience 8) would not have fired"));
	explain_free(&e);

	/* No --stop: nothing about early stopping. */
	in.stop = NULL;
	in.stop_result = NULL;
	assert_int_equal(explain_build(&in, &e), 0);
	assert_true(lacks(&e, "early stopping"));
	explain_free(&e);
	records_free(r);
}

static void test_steps_and_val_loss(void **state)
{
	(void)state;
	struct ckptd_records *r = tu_clinic07();
	struct ckptd_criterion c;
	struct ckptd_select sel = tu_sel1(&c, "val_loss", CKPTD_MIN, 0);
	struct ckptd_explain_in in = { .records = r, .select = &sel, .key_name = "step", .selected = 8 };
	struct ckptd_explanation e;
	assert_int_equal(explain_build(&in, &e), 0);
	assert_true(has(&e, "step 8 is best on val_loss (0.481) among 15 scored steps"));
	assert_true(has(&e, "why not the last step (15): its val_loss 0.628 vs 0.481 (worse)"));
	assert_true(has(&e, "val_sensitivity 0.71 vs 0.79 (worse)"));
	assert_true(has(&e, "overfitting from step 9 on"));
	assert_true(lacks(&e, "epoch"));
	explain_free(&e);
	records_free(r);
}

/* No train metric: the turn without the overfitting claim. */
static void test_turn_without_train(void **state)
{
	(void)state;
	struct ckptd_records *r = tu_clinic07_part(1, 15, 5, 1);  /* no train_loss */
	struct ckptd_criterion c;
	struct ckptd_select sel = tu_sel1(&c, "val_sensitivity", CKPTD_MAX, 0);
	struct ckptd_explain_in in = { .records = r, .select = &sel, .key_name = "epoch", .selected = 8 };
	struct ckptd_explanation e;
	assert_int_equal(explain_build(&in, &e), 0);
	assert_true(has(&e, "validation turned after epoch 8"));
	assert_true(has(&e, "val_loss has risen for 7 epochs (9-15)"));
	assert_true(lacks(&e, "overfitting"));
	assert_null(e.train_metric);
	explain_free(&e);

	/* A train metric that got worse too: turned, no overfitting claim. */
	records_free(r);
	r = records_new();
	for (int k = 1; k <= 15; k++) {
		const char *names[] = { "train_loss", "val_loss", "val_sensitivity" };
		tu_put(r, k, 3, names, (const double[]){ 0.1 * k, tu_clinic07_rows[k - 1][2], tu_clinic07_rows[k - 1][4] });
	}
	in.records = r;
	assert_int_equal(explain_build(&in, &e), 0);
	assert_true(has(&e, "validation turned after epoch 8"));
	assert_true(has(&e, "train_loss did not improve"));
	assert_true(lacks(&e, "overfitting"));
	explain_free(&e);
	records_free(r);
}

/* The selected record is the last: nothing better came later. */
static void test_selected_is_last(void **state)
{
	(void)state;
	struct ckptd_records *r = tu_clinic07_part(1, 8, 5, 0);
	struct ckptd_criterion c;
	struct ckptd_select sel = tu_sel1(&c, "val_sensitivity", CKPTD_MAX, 0);
	struct ckptd_early_stop es = tu_es_val_loss(3);
	struct ckptd_explain_in in = {
		.records = r, .select = &sel, .key_name = "epoch", .selected = 8, .stop = &es,
	};
	struct ckptd_explanation e;
	assert_int_equal(explain_build(&in, &e), 0);
	assert_true(has(&e, "epoch 8 is best on val_sensitivity (0.79) among 8 scored epochs"));
	assert_true(has(&e, "epoch 8 is the last epoch: nothing better came later"));
	assert_true(has(&e, "validation has not turned"));
	assert_true(has(&e, "would not have fired"));
	assert_true(lacks(&e, "why not"));
	assert_true(lacks(&e, "shipping"));
	explain_free(&e);
	records_free(r);
}

/* Two criteria with a tolerance band, a requirement, and an unscored
 * last record. */
static void test_band_require_unscored(void **state)
{
	(void)state;
	struct ckptd_records *r = records_new();
	const char *names[] = { "val_loss", "val_sensitivity", "val_specificity" };
	tu_put(r, 1, 3, names, (const double[]){ 0.500, 0.70, 0.9 });
	tu_put(r, 2, 3, names, (const double[]){ 0.480, 0.75, 0.9 });
	tu_put(r, 3, 3, names, (const double[]){ 0.484, 0.82, 0.9 });
	tu_put(r, 4, 3, names, (const double[]){ 0.482, 0.95, 0.5 });  /* fails require */
	tu_put(r, 5, 3, names, (const double[]){ 0.485, 0.85, 0.9 });
	tu_put(r, 6, 3, names, (const double[]){ 0.470, NAN, 0.9 });   /* unscored */
	struct ckptd_criterion c[2] = {
		{ .metric = (char *)"val_loss", .mode = CKPTD_MIN, .tolerance = 0.005 },
		{ .metric = (char *)"val_sensitivity", .mode = CKPTD_MAX },
	};
	struct ckptd_bound b = { .metric = (char *)"val_specificity", .has_min = true, .min = 0.75 };
	struct ckptd_select sel = { .by = c, .nby = 2, .require = &b, .nrequire = 1 };
	int64_t k = -1;
	assert_true(policy_select(r, &sel, NULL, 0, &k));
	assert_int_equal(k, 5);
	struct ckptd_explain_in in = { .records = r, .select = &sel, .key_name = "epoch", .selected = k };
	struct ckptd_explanation e;
	assert_int_equal(explain_build(&in, &e), 0);
	assert_true(has(&e, "epoch 5 has val_loss 0.485, within 0.005 of the best (0.48, epoch 2)"));
	assert_true(has(&e, "among 4 scored epochs that meet every requirement (1 more fail one)"));
	assert_true(has(&e, "3 epochs are within 0.005 of the best"));
	assert_true(has(&e, "of those 3, epoch 5 is best on val_sensitivity (0.85)"));
	assert_true(has(&e, "1 epoch is not scored"));
	assert_true(has(&e, "why not the last epoch (6): it is not scored (val_sensitivity missing or not finite)"));
	assert_true(has(&e, "val_specificity 0.9 vs 0.9 (same)"));
	explain_free(&e);

	/* The last record fails the requirement. */
	tu_put(r, 7, 3, names, (const double[]){ 0.400, 0.99, 0.6 });
	assert_int_equal(explain_build(&in, &e), 0);
	assert_true(has(&e, "why not the last epoch (7): it fails the requirement val_specificity >= 0.75 (0.6)"));
	assert_true(has(&e, "shipping the last epoch (7) instead of 5"));
	explain_free(&e);
	records_free(r);
}

static void test_exact_tie_explained(void **state)
{
	(void)state;
	struct ckptd_records *r = records_new();
	const char *names[] = { "val_acc" };
	tu_put(r, 1, 1, names, (const double[]){ 0.9 });
	tu_put(r, 2, 1, names, (const double[]){ 0.9 });
	tu_put(r, 3, 1, names, (const double[]){ 0.8 });
	struct ckptd_criterion c;
	struct ckptd_select sel = tu_sel1(&c, "val_acc", CKPTD_MAX, 0);
	struct ckptd_explain_in in = { .records = r, .select = &sel, .key_name = "epoch", .selected = 1 };
	struct ckptd_explanation e;
	assert_int_equal(explain_build(&in, &e), 0);
	assert_true(has(&e, "epoch 1 is best on val_acc (0.9), tied with 1 other"));
	assert_true(has(&e, "2 epochs tie on every criterion: the earliest, 1, wins"));
	/* val_acc is the only metric: guessed as the validation metric. */
	assert_string_equal(e.val_metric, "val_acc");
	assert_true(has(&e, "validation turned after epoch 1: val_acc has been worse than at epoch 1 "
	                    "in 1 of the 2 epochs since (2-3)"));
	explain_free(&e);
	records_free(r);
}

/* Early stopping for other reasons, and firing before the selection. */
static void test_stop_reasons(void **state)
{
	(void)state;
	struct ckptd_records *r = tu_clinic07();
	struct ckptd_criterion c;
	struct ckptd_select sel = tu_sel1(&c, "val_sensitivity", CKPTD_MAX, 0);
	struct ckptd_early_stop es = tu_es_val_loss(3);
	es.has_stopping_threshold = true;
	es.stopping_threshold = 0.49;
	es.min_delta = 0.001;
	struct ckptd_explain_in in = {
		.records = r, .select = &sel, .key_name = "epoch", .selected = 8, .stop = &es,
	};
	struct ckptd_explanation e;
	assert_int_equal(explain_build(&in, &e), 0);
	assert_true(has(&e, "early stopping on val_loss (patience 3, min_delta 0.001) would have fired "
	                    "after epoch 6: val_loss 0.489 reached the stopping_threshold 0.49, "
	                    "before the selected epoch (8)"));
	explain_free(&e);

	es = tu_es_val_loss(3);
	es.has_divergence_threshold = true;
	es.divergence_threshold = 0.7;
	assert_int_equal(explain_build(&in, &e), 0);
	assert_true(has(&e, "would have fired after epoch 1: val_loss 0.743 passed the divergence_threshold 0.7"));
	explain_free(&e);

	es = tu_es_val_loss(3);
	es.metric = (char *)"val_auc";
	assert_int_equal(explain_build(&in, &e), 0);
	assert_true(has(&e, "early stopping on val_auc (patience 3) would not have fired: val_auc was never logged"));
	explain_free(&e);
	records_free(r);
}

static void test_guess_metrics(void **state)
{
	(void)state;
	struct ckptd_records *r = records_new();
	const char *v, *t;
	struct ckptd_criterion c[2] = {
		{ .metric = (char *)"val_sensitivity", .mode = CKPTD_MAX },
		{ .metric = (char *)"eval/loss", .mode = CKPTD_MIN },
	};
	struct ckptd_select sel = { .by = c, .nby = 1 };

	/* Nothing logged: the first `by` metric, no train metric. */
	explain_guess_metrics(r, &sel, &v, &t);
	assert_string_equal(v, "val_sensitivity");
	assert_null(t);

	const char *n1[] = { "val/loss", "train/loss_step", "lr" };
	tu_put(r, 1, 3, n1, (const double[]){ 1, 2, 3 });
	explain_guess_metrics(r, &sel, &v, &t);
	assert_string_equal(v, "val/loss");
	assert_string_equal(t, "train/loss_step");

	/* A `by` metric that says validation and loss comes first. */
	sel.nby = 2;
	explain_guess_metrics(r, &sel, &v, &t);
	assert_string_equal(v, "eval/loss");

	/* Exact names win over the first name that merely fits; "loss" is
	 * Keras's train loss. */
	sel.nby = 1;
	const char *n2[] = { "val_loss", "loss" };
	tu_put(r, 2, 2, n2, (const double[]){ 1, 2 });
	explain_guess_metrics(r, &sel, &v, &t);
	assert_string_equal(v, "val_loss");
	assert_string_equal(t, "loss");

	explain_guess_metrics(r, NULL, &v, &t);
	assert_string_equal(v, "val_loss");
	records_free(r);
}

static void test_bad_input(void **state)
{
	(void)state;
	struct ckptd_records *r = tu_clinic07_part(1, 3, 5, 0);
	struct ckptd_criterion c;
	struct ckptd_select sel = tu_sel1(&c, "val_loss", CKPTD_MIN, 0);
	struct ckptd_explain_in in = { .records = r, .select = &sel, .selected = 99 };
	struct ckptd_explanation e;
	errno = 0;
	assert_int_equal(explain_build(&in, &e), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(e.n, 0);
	explain_free(&e);
	/* key_name defaults to epoch. */
	in.selected = 3;
	assert_int_equal(explain_build(&in, &e), 0);
	assert_true(has(&e, "epoch 3 is the last epoch"));
	explain_free(&e);
	records_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clinic_explained),
		cmocka_unit_test(test_steps_and_val_loss),
		cmocka_unit_test(test_turn_without_train),
		cmocka_unit_test(test_selected_is_last),
		cmocka_unit_test(test_band_require_unscored),
		cmocka_unit_test(test_exact_tie_explained),
		cmocka_unit_test(test_stop_reasons),
		cmocka_unit_test(test_guess_metrics),
		cmocka_unit_test(test_bad_input),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
