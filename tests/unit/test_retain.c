/* Unit tests: which checkpoints retention keeps (pure). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "ckptd/retain.h"
#include "testutil.h"

/* The clinic table, checkpoints 1..n all ready; select by val_sensitivity. */
struct fx {
	struct ckptd_records *r;
	struct ckptd_criterion c;
	struct ckptd_select sel;
	struct ckptd_retain ret;
	struct ckptd_retain_item items[16];
	size_t n;
};

static void fx_init(struct fx *f, size_t n)
{
	memset(f, 0, sizeof(*f));
	f->r = tu_clinic07();
	f->sel = tu_sel1(&f->c, "val_sensitivity", CKPTD_MAX, 0);
	f->ret = (struct ckptd_retain){ .enabled = true, .best = 2, .last = 1,
	                                .action = CKPTD_RETAIN_DELETE };
	f->n = n;
	for (size_t i = 0; i < n; i++)
		f->items[i] = (struct ckptd_retain_item){ .key = (int64_t)i + 1, .ready = true };
}

/* The kept keys as "8 9 11". */
static const char *kept(struct fx *f, const int64_t *pins, size_t npins)
{
	static char buf[128];
	size_t off = 0;
	assert_int_equal(retain_decide(f->r, &f->sel, &f->ret, pins, npins, f->items, f->n), 0);
	buf[0] = '\0';
	for (size_t i = 0; i < f->n; i++)
		if (f->items[i].keep)
			off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%lld", off ? " " : "",
			                        (long long)f->items[i].key);
	return buf;
}

static void test_clinic_after_epoch_11(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f, 11);
	assert_string_equal(kept(&f, NULL, 0), "8 9 11");
	assert_true(f.items[7].keep & CKPTD_KEEP_BEST);
	assert_true(f.items[8].keep & CKPTD_KEEP_TOP);
	assert_true(f.items[10].keep & CKPTD_KEEP_LAST);
	records_free(f.r);
}

static void test_pins_every_and_not_ready(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f, 11);
	f.ret.every = 5;
	f.items[1].ready = false; /* epoch 2 still being written */
	int64_t pins[] = { 3 };
	assert_string_equal(kept(&f, pins, 1), "2 3 5 8 9 10 11");
	assert_true(f.items[1].keep & CKPTD_KEEP_NOT_READY);
	assert_true(f.items[2].keep & CKPTD_KEEP_PINNED);
	records_free(f.r);
}

static void test_unscored_kept_unless_prune(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f, 13);
	f.items[12].key = 20; /* a checkpoint whose metrics have not arrived */
	assert_string_equal(kept(&f, NULL, 0), "8 9 20");
	assert_true(f.items[12].keep & CKPTD_KEEP_UNSCORED);
	f.ret.unscored_prune = true;
	f.ret.last = 0;
	assert_string_equal(kept(&f, NULL, 0), "8 9");
	records_free(f.r);
}

static void test_one_scored_always_stays(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f, 4);
	struct ckptd_bound b = { .metric = "val_specificity", .has_min = true, .min = 0.99 };
	f.sel.require = &b; /* nothing meets it: no top, no best */
	f.sel.nrequire = 1;
	f.ret.last = 0;
	f.ret.unscored_prune = true;
	assert_string_equal(kept(&f, NULL, 0), "4");
	assert_true(f.items[3].keep & CKPTD_KEEP_LAST_SCORED);
	records_free(f.r);
}

static void test_why_words(void **state)
{
	(void)state;
	char buf[64];
	retain_why(CKPTD_KEEP_BEST | CKPTD_KEEP_LAST, buf, sizeof(buf));
	assert_string_equal(buf, "best,last");
	retain_why(0, buf, sizeof(buf));
	assert_string_equal(buf, "prune");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clinic_after_epoch_11),
		cmocka_unit_test(test_pins_every_and_not_ready),
		cmocka_unit_test(test_unscored_kept_unless_prune),
		cmocka_unit_test(test_one_scored_always_stays),
		cmocka_unit_test(test_why_words),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
