/* test_jsonl.c - the JSON-lines reader: bytes in any split, rows out. */
#include <math.h>

#include "ckptd/jsonl.h"
#include "testutil.h"

static int feed_jsonl(void *j, const char *buf, size_t len)
{
	return jsonl_feed(j, buf, len);
}

/* A fresh reader keyed on epoch fed in with the pieces given, then
 * finished. */
static void read_pieces(const char *in, size_t len, const size_t *pieces, size_t npieces,
                        struct tu_outcome *o)
{
	memset(o, 0, sizeof *o);
	struct ckptd_reader_opts opts = { .key_field = "epoch", .warn = tu_count_warn,
	                                  .warn_arg = &o->w };
	struct ckptd_records *r = records_new();
	assert_non_null(r);
	struct ckptd_jsonl *j = jsonl_new(&opts, r);
	assert_non_null(j);
	tu_feed_pieces(feed_jsonl, j, in, len, pieces, npieces);
	assert_int_equal(jsonl_finish(j), 0);
	o->st = *jsonl_stats(j);
	o->table = tu_dump(r);
	jsonl_free(j);
	records_free(r);
}

/* A reader and its table for the tests that look inside. */
struct fixture {
	struct tu_warns w;
	struct ckptd_reader_opts opts;
	struct ckptd_records *r;
	struct ckptd_jsonl *j;
};

static void fx_open(struct fixture *fx, const char *key)
{
	memset(fx, 0, sizeof *fx);
	fx->opts = (struct ckptd_reader_opts){ .key_field = key, .warn = tu_count_warn,
	                                       .warn_arg = &fx->w };
	fx->r = records_new();
	assert_non_null(fx->r);
	fx->j = jsonl_new(&fx->opts, fx->r);
	assert_non_null(fx->j);
}

static void fx_feed(struct fixture *fx, const char *s)
{
	assert_int_equal(jsonl_feed(fx->j, s, strlen(s)), 0);
}

static void fx_close(struct fixture *fx)
{
	jsonl_free(fx->j);
	records_free(fx->r);
}

static void test_values_nested_and_slash_keys(void **state)
{
	(void)state;
	struct fixture fx;
	fx_open(&fx, "epoch");
	fx_feed(&fx, "{\"epoch\": 8, \"val/loss\": 0.481, \"val\": {\"sens\": 0.79, "
	             "\"deep\": {\"x\": 3}}, \"step\": 799, \"name\": \"cnn\", \"ok\": true, "
	             "\"lr\": [0.1, 0.2], \"none\": null, \"big\": 12345678901234}\n");
	assert_num(tu_get(fx.r, 8, "val/loss"), 0.481);
	assert_num(tu_get(fx.r, 8, "val.sens"), 0.79);
	assert_num(tu_get(fx.r, 8, "val.deep.x"), 3);
	assert_num(tu_get(fx.r, 8, "step"), 799);
	assert_num(tu_get(fx.r, 8, "big"), 12345678901234.0);
	assert_false(tu_has(fx.r, 8, "epoch"));
	assert_false(tu_has(fx.r, 8, "name"));
	assert_false(tu_has(fx.r, 8, "ok"));
	assert_false(tu_has(fx.r, 8, "lr"));
	assert_false(tu_has(fx.r, 8, "none"));
	assert_int_equal(records_nmetrics(fx.r), 5);
	const struct ckptd_reader_stats *st = jsonl_stats(fx.j);
	assert_int_equal(st->rows, 1);
	assert_int_equal(st->bad_lines + st->bad_cells + st->no_key, 0);
	fx_close(&fx);
}

static void test_python_non_finite_tokens(void **state)
{
	(void)state;
	struct fixture fx;
	fx_open(&fx, "epoch");
	fx_feed(&fx, "{\"epoch\": 1, \"a\": NaN, \"b\": Infinity, \"c\": -Infinity}\n");
	assert_true(isnan(tu_get(fx.r, 1, "a")));
	assert_true(isinf(tu_get(fx.r, 1, "b")) && tu_get(fx.r, 1, "b") > 0);
	assert_true(isinf(tu_get(fx.r, 1, "c")) && tu_get(fx.r, 1, "c") < 0);
	fx_close(&fx);
}

static void test_clinic_as_jsonl(void **state)
{
	(void)state;
	struct fixture fx;
	fx_open(&fx, "epoch");
	for (int e = 1; e <= 15; e++) {
		char line[128];
		snprintf(line, sizeof line, "{\"epoch\": %d, \"step\": %d, \"val_loss\": %.3f}\n",
		         e, e * 100 - 1, tu_clinic07_rows[e - 1][2]);
		fx_feed(&fx, line);
	}
	assert_int_equal(records_count(fx.r), 15);
	assert_num(tu_get(fx.r, 8, "val_loss"), 0.481);
	assert_num(tu_get(fx.r, 15, "val_loss"), 0.628);
	fx_close(&fx);
}

static void test_bad_lines_counted(void **state)
{
	(void)state;
	struct fixture fx;
	fx_open(&fx, "epoch");
	fx_feed(&fx, "[1, 2]\n"
	             "\"text\"\n"
	             "3\n"
	             "{not json\n"
	             "{\"epoch\": 1, \"v\": 1} trailing\n"
	             "{\"epoch\": 2, \"v\": 2} {\"epoch\": 3}\n"
	             "\n"
	             "   \t\n"
	             "{\"epoch\": 4, \"v\": 4}   \n");
	const struct ckptd_reader_stats *st = jsonl_stats(fx.j);
	assert_int_equal(st->bad_lines, 6);
	assert_int_equal(st->lines, 7);
	assert_int_equal(st->rows, 1);
	assert_int_equal(records_count(fx.r), 1);
	assert_num(tu_get(fx.r, 4, "v"), 4);
	fx_close(&fx);
}

static void test_key_rules(void **state)
{
	(void)state;
	struct fixture fx;
	fx_open(&fx, "epoch");
	fx_feed(&fx, "{\"epoch\": 8.0, \"v\": 1}\n"
	             "{\"v\": 2}\n"
	             "{\"epoch\": \"9\", \"v\": 3}\n"
	             "{\"epoch\": -1, \"v\": 4}\n"
	             "{\"epoch\": 1.5, \"v\": 5}\n"
	             "{\"epoch\": NaN, \"v\": 6}\n"
	             "{\"epoch\": true, \"v\": 7}\n"
	             "{\"epoch\": 18446744073709551615, \"v\": 8}\n"
	             "{\"x\": {\"epoch\": 3}, \"v\": 9}\n"
	             "{\"epoch\": 9223372036854775807, \"v\": 10}\n");
	assert_int_equal(records_count(fx.r), 2);
	assert_num(tu_get(fx.r, 8, "v"), 1);
	assert_num(tu_get(fx.r, INT64_MAX, "v"), 10);
	assert_int_equal(jsonl_stats(fx.j)->no_key, 8);
	fx_close(&fx);
}

static void test_key_offset(void **state)
{
	(void)state;
	struct fixture fx;
	fx_open(&fx, "epoch");
	jsonl_free(fx.j);
	fx.opts.key_offset = 1;
	fx.j = jsonl_new(&fx.opts, fx.r);
	assert_non_null(fx.j);
	fx_feed(&fx, "{\"epoch\": 0, \"v\": 1}\n{\"epoch\": 9223372036854775807, \"v\": 2}\n");
	assert_num(tu_get(fx.r, 1, "v"), 1);
	assert_int_equal(records_count(fx.r), 1);
	assert_int_equal(jsonl_stats(fx.j)->no_key, 1);
	fx_close(&fx);
}

static void test_crlf_and_bom(void **state)
{
	(void)state;
	struct fixture fx;
	fx_open(&fx, "epoch");
	fx_feed(&fx, "\xEF\xBB\xBF{\"epoch\": 1, \"v\": 1}\r\n\r\n{\"epoch\": 2, \"v\": 2}\r\n");
	assert_num(tu_get(fx.r, 1, "v"), 1);
	assert_num(tu_get(fx.r, 2, "v"), 2);
	assert_int_equal(jsonl_stats(fx.j)->bad_lines, 0);
	/* Only at the start: later a BOM spoils its line. */
	fx_feed(&fx, "\xEF\xBB\xBF{\"epoch\": 3}\n");
	assert_int_equal(jsonl_stats(fx.j)->bad_lines, 1);
	fx_close(&fx);
}

static void test_long_line_skipped_once(void **state)
{
	(void)state;
	size_t big = CKPTD_MAX_LINE + 100;
	char *line = malloc(big + 1);
	assert_non_null(line);
	memset(line, ' ', big);
	memcpy(line, "{\"epoch\": 2, \"v\": 2", 19);
	line[big - 1] = '}';
	line[big] = '\n';
	struct fixture fx;
	fx_open(&fx, "epoch");
	fx_feed(&fx, "{\"epoch\": 1, \"v\": 1}\n");
	for (size_t off = 0; off < big + 1; off += 1000) {
		size_t n = big + 1 - off < 1000 ? big + 1 - off : 1000;
		assert_int_equal(jsonl_feed(fx.j, line + off, n), 0);
	}
	assert_int_equal(jsonl_feed(fx.j, line, big + 1), 0);
	fx_feed(&fx, "{\"epoch\": 3, \"v\": 3}\n");
	assert_int_equal(fx.w.n, 2);
	assert_int_equal(fx.w.line, 3);
	assert_int_equal(jsonl_stats(fx.j)->long_lines, 2);
	assert_null(records_find(fx.r, 2));
	assert_num(tu_get(fx.r, 3, "v"), 3);
	fx_close(&fx);
	free(line);
}

static void test_long_line_unterminated_at_finish(void **state)
{
	(void)state;
	char *line = malloc(CKPTD_MAX_LINE + 1);
	assert_non_null(line);
	memset(line, ' ', CKPTD_MAX_LINE + 1);
	struct fixture fx;
	fx_open(&fx, "epoch");
	assert_int_equal(jsonl_feed(fx.j, line, CKPTD_MAX_LINE + 1), 0);
	assert_int_equal(jsonl_finish(fx.j), 0);
	assert_int_equal(fx.w.n, 1);
	assert_int_equal(jsonl_stats(fx.j)->bad_lines, 0);
	fx_close(&fx);
	free(line);
}

static void test_partial_line_waits_for_finish(void **state)
{
	(void)state;
	struct fixture fx;
	fx_open(&fx, "epoch");
	fx_feed(&fx, "{\"epoch\": 1, \"v\": 1}\n{\"epoch\": 2, \"v\": 0.5");
	assert_int_equal(records_count(fx.r), 1);
	fx_feed(&fx, "5}");
	assert_int_equal(records_count(fx.r), 1);
	assert_int_equal(jsonl_finish(fx.j), 0);
	assert_num(tu_get(fx.r, 2, "v"), 0.55);
	fx_close(&fx);
}

static void test_finish_drops_unparsable_tail(void **state)
{
	(void)state;
	struct fixture fx;
	fx_open(&fx, "epoch");
	fx_feed(&fx, "{\"epoch\": 1, \"v\": 1}\n{\"epoch\": 2, \"v\": 0.");
	assert_int_equal(jsonl_finish(fx.j), 0);
	assert_int_equal(records_count(fx.r), 1);
	assert_int_equal(jsonl_stats(fx.j)->bad_lines, 1);
	fx_close(&fx);
}

static void test_reset_restarts_stream(void **state)
{
	(void)state;
	struct fixture fx;
	fx_open(&fx, "epoch");
	fx_feed(&fx, "{\"epoch\": 1, \"v\": 1}\n{\"epoch\": 2, \"v\"");
	jsonl_reset(fx.j);
	assert_int_equal(jsonl_stats(fx.j)->rows, 0);
	fx_feed(&fx, "\xEF\xBB\xBF{\"epoch\": 2, \"v\": 20}\n");
	assert_num(tu_get(fx.r, 2, "v"), 20);
	assert_int_equal(jsonl_stats(fx.j)->bad_lines, 0);
	assert_int_equal(jsonl_stats(fx.j)->rows, 1);
	fx_close(&fx);
}

static void test_key_going_back(void **state)
{
	(void)state;
	struct fixture fx;
	fx_open(&fx, "step");
	fx_feed(&fx, "{\"step\": 100, \"v\": 1}\n{\"step\": 200, \"v\": 2}\n"
	             "{\"step\": 100, \"v\": 10}\n{\"step\": 200, \"w\": 3}\n");
	assert_int_equal(jsonl_stats(fx.j)->rows, 4);
	assert_int_equal(records_resumes(fx.r), 1);
	assert_num(tu_get(fx.r, 100, "v"), 10);
	fx_close(&fx);
}

static const char tricky[] =
	"\xEF\xBB\xBF{\"epoch\": 1, \"a/b\": 1.5, \"n\": {\"x\": NaN}}\r\n"
	"\n"
	"[1]\n"
	"{\"epoch\": 2, \"s\": \"{\\n}\", \"a/b\": -Infinity}\n"
	"{\"epoch\": 1, \"a/b\": 2}\n"
	"{\"epoch\": 3, \"a/b\": 3}";

static void test_every_split_point(void **state)
{
	(void)state;
	size_t len = sizeof tricky - 1;
	struct tu_outcome whole;
	read_pieces(tricky, len, &len, 1, &whole);
	assert_int_equal(whole.st.rows, 4);
	assert_int_equal(whole.st.bad_lines, 1);
	tu_check_every_split(read_pieces, tricky, len, &whole);
	free(whole.table);
}

static void test_random_splits(void **state)
{
	(void)state;
	char *s = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&s, &len);
	assert_non_null(f);
	for (int i = 0; i < 3000; i++) {
		int e = i < 2000 ? i : i - 500;
		fprintf(f, "{\"epoch\": %d, \"train/loss\": %.6f, \"val\": {\"loss\": %.6f}}\n",
		        e, 2.0 / (i + 1), 1.0 / (i + 1));
		if (i == 1234) {
			fputs("{\"epoch\": 7, \"pad\": \"", f);
			for (unsigned k = 0; k < CKPTD_MAX_LINE; k++)
				fputc('x', f);
			fputs("\"}\n", f);
		}
	}
	fputs("{\"epoch\": 9999, \"v\": 1}", f);
	assert_int_equal(fclose(f), 0);
	struct tu_outcome whole;
	read_pieces(s, len, &len, 1, &whole);
	assert_int_equal(whole.st.long_lines, 1);
	assert_int_equal(whole.st.rows, 3001);
	tu_check_random_splits(read_pieces, s, len, &whole, 30, 0x2545F4914F6CDD1Du);
	free(whole.table);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_values_nested_and_slash_keys),
		cmocka_unit_test(test_python_non_finite_tokens),
		cmocka_unit_test(test_clinic_as_jsonl),
		cmocka_unit_test(test_bad_lines_counted),
		cmocka_unit_test(test_key_rules),
		cmocka_unit_test(test_key_offset),
		cmocka_unit_test(test_crlf_and_bom),
		cmocka_unit_test(test_long_line_skipped_once),
		cmocka_unit_test(test_long_line_unterminated_at_finish),
		cmocka_unit_test(test_partial_line_waits_for_finish),
		cmocka_unit_test(test_finish_drops_unparsable_tail),
		cmocka_unit_test(test_reset_restarts_stream),
		cmocka_unit_test(test_key_going_back),
		cmocka_unit_test(test_every_split_point),
		cmocka_unit_test(test_random_splits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
