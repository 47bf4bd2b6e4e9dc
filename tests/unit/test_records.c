/* Unit tests: the per-run record table (merging, resumes, lookup). */
#include <math.h>

#include "ckptd/records_io.h"
#include "testutil.h"

#define F(n, v) { n, sizeof(n) - 1, v }

static void test_sparse_rows_merge(void **state)
{
	(void)state;
	struct ckptd_records *r = records_new();
	struct ckptd_field train[] = { F("train_loss", 0.5), F("step", 99) };
	struct ckptd_field val[] = { F("val_loss", 0.7) };
	assert_int_equal(records_put_row(r, 0, train, 2), 0);
	assert_int_equal(records_put_row(r, 0, val, 1), 0);
	assert_int_equal(records_count(r), 1);
	assert_true(tu_get(r, 0, "train_loss") == 0.5);
	assert_true(tu_get(r, 0, "val_loss") == 0.7);
	assert_int_equal(records_nmetrics(r), 3);
	assert_int_equal(records_resumes(r), 0);
	records_free(r);
}

static void test_later_value_wins(void **state)
{
	(void)state;
	struct ckptd_records *r = records_new();
	struct ckptd_field a[] = { F("val_loss", 0.7) }, b[] = { F("val_loss", 0.6) };
	records_put_row(r, 3, a, 1);
	records_put_row(r, 3, b, 1);
	assert_true(tu_get(r, 3, "val_loss") == 0.6);
	records_free(r);
}

static void test_key_going_back_replaces(void **state)
{
	(void)state;
	struct ckptd_records *r = records_new();
	for (int k = 1; k <= 5; k++) {
		struct ckptd_field f[] = { F("val_loss", 1.0 / k), F("extra", k) };
		records_put_row(r, k, f, 2);
	}
	/* resumed from epoch 3: epoch 4 is logged again without "extra" */
	struct ckptd_field again[] = { F("val_loss", 0.9) };
	records_put_row(r, 4, again, 1);
	assert_int_equal(records_resumes(r), 1);
	assert_true(tu_get(r, 4, "val_loss") == 0.9);
	assert_false(tu_has(r, 4, "extra"));
	/* a second row for the same key in the resumed run merges */
	struct ckptd_field more[] = { F("train_loss", 0.1) };
	records_put_row(r, 4, more, 1);
	assert_true(tu_get(r, 4, "val_loss") == 0.9);
	assert_true(tu_get(r, 4, "train_loss") == 0.1);
	/* epoch 5 of the old run still describes the old file until rewritten */
	assert_true(tu_get(r, 5, "extra") == 5);
	int64_t last;
	assert_true(records_last_key(r, &last));
	assert_int_equal(last, 4);
	records_free(r);
}

static void test_out_of_order_insert_sorted(void **state)
{
	(void)state;
	struct ckptd_records *r = records_new();
	int64_t keys[] = { 10, 2, 7, 2, 30, 1 };
	for (size_t i = 0; i < sizeof(keys) / sizeof(*keys); i++) {
		struct ckptd_field f[] = { F("m", (double)keys[i]) };
		records_put_row(r, keys[i], f, 1);
	}
	assert_int_equal(records_count(r), 5);
	for (size_t i = 1; i < records_count(r); i++)
		assert_true(records_at(r, i - 1)->key < records_at(r, i)->key);
	assert_null(records_find(r, 3));
	assert_null(records_at(r, 99));
	records_free(r);
}

static void test_nonfinite_and_many_names(void **state)
{
	(void)state;
	struct ckptd_records *r = records_new();
	char name[32];
	for (int i = 0; i < 500; i++) {
		snprintf(name, sizeof(name), "metric_%d", i);
		struct ckptd_field f = { name, strlen(name), i == 7 ? NAN : (double)i };
		records_put_row(r, 1, &f, 1);
	}
	assert_int_equal(records_nmetrics(r), 500);
	assert_true(isnan(tu_get(r, 1, "metric_7")));
	assert_true(tu_get(r, 1, "metric_499") == 499);
	assert_int_equal(records_metric_id(r, "metric_0"), 0);
	assert_int_equal(records_metric_id(r, "nope"), -1);
	assert_string_equal(records_metric_name(r, 3), "metric_3");
	records_clear(r);
	assert_int_equal(records_count(r), 0);
	assert_int_equal(records_nmetrics(r), 0);
	int64_t last;
	assert_false(records_last_key(r, &last));
	records_free(r);
}

/* Saved and restored, a table behaves as the original: values (NaN
 * included), the latest key, and a resume still replacing stale records. */
static void test_json_round_trip(void **state)
{
	(void)state;
	struct ckptd_records *r = records_new(), *back = records_new();
	for (int k = 1; k <= 5; k++) {
		struct ckptd_field f[] = { F("val_loss", k == 3 ? NAN : 1.0 / k), F("extra", k) };
		records_put_row(r, k, f, 2);
	}
	struct ckptd_field again[] = { F("val_loss", 0.9) };
	records_put_row(r, 2, again, 1); /* resumed from 1: 3..5 are stale */
	struct json_object *o = records_to_json(r);
	assert_non_null(o);
	struct json_object *parsed = json_tokener_parse(json_object_to_json_string(o));
	assert_int_equal(records_from_json(back, parsed), 0);
	assert_int_equal(records_count(back), 5);
	assert_true(isnan(tu_get(back, 3, "val_loss")));
	assert_true(tu_get(back, 2, "val_loss") == 0.9);
	assert_false(tu_has(back, 2, "extra"));
	int64_t last;
	assert_true(records_last_key(back, &last));
	assert_int_equal(last, 2);
	assert_int_equal(records_resumes(back), 1);
	/* the resumed run reaches 3: the stale record is replaced, not merged */
	struct ckptd_field three[] = { F("val_loss", 0.7) };
	records_put_row(back, 3, three, 1);
	assert_true(tu_get(back, 3, "val_loss") == 0.7);
	assert_false(tu_has(back, 3, "extra"));
	json_object_put(o);
	json_object_put(parsed);
	records_free(r);
	records_free(back);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sparse_rows_merge),
		cmocka_unit_test(test_later_value_wins),
		cmocka_unit_test(test_key_going_back_replaces),
		cmocka_unit_test(test_out_of_order_insert_sorted),
		cmocka_unit_test(test_nonfinite_and_many_names),
		cmocka_unit_test(test_json_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
