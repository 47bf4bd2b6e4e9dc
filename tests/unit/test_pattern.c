/* Unit tests: checkpoint name patterns. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "ckptd/pattern.h"

static int64_t key_of(const char *pat, enum ckptd_key k, const char *name)
{
	int64_t key;
	return pattern_match(pat, k, name, &key) ? key : -1;
}

static void test_lightning_names(void **state)
{
	(void)state;
	assert_int_equal(key_of("epoch={epoch}.ckpt", CKPTD_KEY_EPOCH, "epoch=8.ckpt"), 8);
	assert_int_equal(key_of("epoch={epoch}.ckpt", CKPTD_KEY_EPOCH, "epoch=12.ckpt"), 12);
	assert_int_equal(key_of("epoch={epoch}-step={step}.ckpt", CKPTD_KEY_STEP,
	                        "epoch=3-step=400.ckpt"), 400);
	assert_int_equal(key_of("epoch={epoch}-step={step}.ckpt", CKPTD_KEY_EPOCH,
	                        "epoch=3-step=400.ckpt"), 3);
	assert_int_equal(key_of("epoch={epoch}-*.ckpt", CKPTD_KEY_EPOCH,
	                        "epoch=03-val_loss=0.48.ckpt"), 3);
	assert_int_equal(key_of("checkpoint-{step}", CKPTD_KEY_STEP, "checkpoint-500"), 500);
	assert_int_equal(key_of("{step}", CKPTD_KEY_STEP, "500"), 500);
}

static void test_non_matches(void **state)
{
	(void)state;
	assert_int_equal(key_of("epoch={epoch}.ckpt", CKPTD_KEY_EPOCH, "epoch=.ckpt"), -1);
	assert_int_equal(key_of("epoch={epoch}.ckpt", CKPTD_KEY_EPOCH, "epoch=8.ckpt.tmp"), -1);
	assert_int_equal(key_of("epoch={epoch}.ckpt", CKPTD_KEY_EPOCH, "best.ckpt"), -1);
	assert_int_equal(key_of("epoch={epoch}.ckpt", CKPTD_KEY_EPOCH, "epoch=-1.ckpt"), -1);
	assert_int_equal(key_of("epoch={epoch}.ckpt", CKPTD_KEY_EPOCH, ""), -1);
	/* a number too large for int64_t never matches */
	assert_int_equal(key_of("epoch={epoch}.ckpt", CKPTD_KEY_EPOCH,
	                        "epoch=99999999999999999999.ckpt"), -1);
	assert_int_equal(key_of("epoch={epoch}.ckpt", CKPTD_KEY_EPOCH,
	                        "epoch=9223372036854775807.ckpt"), INT64_MAX);
}

static void test_many_stars_stay_fast(void **state)
{
	(void)state;
	char name[256];
	memset(name, 'a', 250);
	name[250] = '\0';
	/* exponential without memoization */
	assert_int_equal(key_of("*a*a*a*a*a*a*a*a*a*a*a*a*{epoch}", CKPTD_KEY_EPOCH, name), -1);
}

static void test_check_errors(void **state)
{
	(void)state;
	char err[160];
	assert_int_equal(pattern_check("epoch={epoch}.ckpt", CKPTD_KEY_EPOCH, err, sizeof(err)), 0);
	assert_int_equal(pattern_check("ckpt_{step}.pt", CKPTD_KEY_EPOCH, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "{epoch}"));
	assert_int_equal(pattern_check("a/{epoch}", CKPTD_KEY_EPOCH, err, sizeof(err)), -1);
	assert_int_equal(pattern_check("{epochs}", CKPTD_KEY_EPOCH, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unknown field"));
	assert_int_equal(pattern_check("{epoch", CKPTD_KEY_EPOCH, err, sizeof(err)), -1);
	assert_int_equal(pattern_check("", CKPTD_KEY_EPOCH, err, sizeof(err)), -1);
	assert_int_equal(pattern_check("{epoch}{step}", CKPTD_KEY_EPOCH, err, sizeof(err)), -1);
	assert_int_equal(pattern_check("{epoch}-{epoch}", CKPTD_KEY_EPOCH, err, sizeof(err)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lightning_names),
		cmocka_unit_test(test_non_matches),
		cmocka_unit_test(test_many_stars_stay_fast),
		cmocka_unit_test(test_check_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
