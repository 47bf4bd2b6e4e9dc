/* test_csv.c - the CSV/TSV reader: bytes in any split, rows out. */
#include <math.h>

#include "ckptd/csv.h"
#include "testutil.h"

/* The same table as Lightning's CSVLogger writes it: a train row and a
 * validation row per epoch, each with only its own cells. */
static const char clinic_sparse_csv[] =
	"epoch,step,train_loss,val_accuracy,val_loss,val_sensitivity,val_specificity\n"
	"1,99,0.891,,,,\n"
	"1,99,,0.682,0.743,0.540,0.721\n"
	"2,199,0.724,,,,\n"
	"2,199,,0.721,0.638,0.610,0.751\n"
	"3,299,0.612,,,,\n"
	"3,299,,0.754,0.571,0.670,0.777\n"
	"4,399,0.523,,,,\n"
	"4,399,,0.778,0.528,0.720,0.794\n"
	"5,499,0.451,,,,\n"
	"5,499,,0.791,0.502,0.750,0.802\n"
	"6,599,0.389,,,,\n"
	"6,599,,0.798,0.489,0.770,0.806\n"
	"7,699,0.334,,,,\n"
	"7,699,,0.803,0.483,0.780,0.809\n"
	"8,799,0.287,,,,\n"
	"8,799,,0.805,0.481,0.790,0.809\n"
	"9,899,0.244,,,,\n"
	"9,899,,0.804,0.486,0.785,0.810\n"
	"10,999,0.208,,,,\n"
	"10,999,,0.801,0.497,0.780,0.808\n"
	"11,1099,0.175,,,,\n"
	"11,1099,,0.796,0.513,0.770,0.806\n"
	"12,1199,0.147,,,,\n"
	"12,1199,,0.789,0.534,0.755,0.802\n"
	"13,1299,0.122,,,,\n"
	"13,1299,,0.782,0.561,0.740,0.793\n"
	"14,1399,0.101,,,,\n"
	"14,1399,,0.774,0.593,0.725,0.787\n"
	"15,1499,0.084,,,,\n"
	"15,1499,,0.765,0.628,0.710,0.780\n"
	;

static struct ckptd_reader_opts opts_for(const char *key, char delim, struct tu_warns *w)
{
	return (struct ckptd_reader_opts){ .key_field = key, .delim = delim,
	                                   .warn = tu_count_warn, .warn_arg = w };
}

static int feed_csv(void *c, const char *buf, size_t len)
{
	return csv_feed(c, buf, len);
}

/* A fresh ',' reader fed in with the pieces given, then finished. */
static void read_pieces(const char *in, size_t len, const size_t *pieces, size_t npieces,
                        struct tu_outcome *o)
{
	memset(o, 0, sizeof *o);
	struct ckptd_reader_opts opts = opts_for("epoch", ',', &o->w);
	struct ckptd_records *r = records_new();
	assert_non_null(r);
	struct ckptd_csv *c = csv_new(&opts, r);
	assert_non_null(c);
	tu_feed_pieces(feed_csv, c, in, len, pieces, npieces);
	assert_int_equal(csv_finish(c), 0);
	o->st = *csv_stats(c);
	o->table = tu_dump(r);
	csv_free(c);
	records_free(r);
}

/* A reader and its table for the tests that look inside. */
struct fixture {
	struct tu_warns w;
	struct ckptd_reader_opts opts;
	struct ckptd_records *r;
	struct ckptd_csv *c;
};

static void fx_open(struct fixture *fx, const char *key, char delim)
{
	memset(fx, 0, sizeof *fx);
	fx->opts = opts_for(key, delim, &fx->w);
	fx->r = records_new();
	assert_non_null(fx->r);
	fx->c = csv_new(&fx->opts, fx->r);
	assert_non_null(fx->c);
}

static void fx_feed(struct fixture *fx, const char *s)
{
	assert_int_equal(csv_feed(fx->c, s, strlen(s)), 0);
}

static void fx_close(struct fixture *fx)
{
	csv_free(fx->c);
	records_free(fx->r);
}

static void test_clinic_table(void **state)
{
	(void)state;
	struct fixture fx;
	fx_open(&fx, "epoch", ',');
	fx_feed(&fx, tu_clinic07_csv);
	assert_int_equal(records_count(fx.r), 15);
	assert_num(tu_get(fx.r, 8, "val_loss"), 0.481);
	assert_num(tu_get(fx.r, 8, "val_sensitivity"), 0.790);
	assert_num(tu_get(fx.r, 15, "train_loss"), 0.084);
	assert_num(tu_get(fx.r, 1, "val_specificity"), 0.721);
	/* the text and the numeric table the other tests use agree */
	for (size_t i = 0; i < TU_COUNT(tu_clinic07_rows); i++)
		for (size_t j = 0; j < TU_COUNT(tu_clinic07_names); j++)
			assert_num(tu_get(fx.r, (int64_t)tu_clinic07_rows[i][0], tu_clinic07_names[j]),
			           tu_clinic07_rows[i][j + 1]);
	assert_int_equal(records_metric_id(fx.r, "epoch"), -1);
	assert_int_equal(records_nmetrics(fx.r), 5);
	const struct ckptd_reader_stats *st = csv_stats(fx.c);
	assert_int_equal(st->lines, 16);
	assert_int_equal(st->rows, 15);
	assert_int_equal(st->bad_cells + st->bad_lines + st->no_key + st->long_lines, 0);
	fx_close(&fx);
}

static void test_lightning_sparse_rows_merge(void **state)
{
	(void)state;
	struct fixture dense, sparse;
	fx_open(&dense, "epoch", ',');
	fx_open(&sparse, "epoch", ',');
	fx_feed(&dense, tu_clinic07_csv);
	fx_feed(&sparse, clinic_sparse_csv);
	assert_int_equal(csv_stats(sparse.c)->rows, 30);
	assert_int_equal(records_count(sparse.r), 15);
	for (int64_t k = 1; k <= 15; k++) {
		for (size_t i = 0; i < TU_COUNT(tu_clinic07_names); i++)
			assert_num(tu_get(sparse.r, k, tu_clinic07_names[i]),
			           tu_get(dense.r, k, tu_clinic07_names[i]));
		assert_num(tu_get(sparse.r, k, "step"), (double)(k * 100 - 1));
	}
	assert_false(tu_has(sparse.r, 1, "epoch"));
	fx_close(&dense);
	fx_close(&sparse);
}

static void test_step_key_keeps_epoch_as_metric(void **state)
{
	(void)state;
	struct fixture fx;
	fx_open(&fx, "step", ',');
	fx_feed(&fx, clinic_sparse_csv);
	assert_int_equal(records_count(fx.r), 15);
	assert_num(tu_get(fx.r, 799, "epoch"), 8);
	assert_num(tu_get(fx.r, 799, "val_loss"), 0.481);
	assert_false(tu_has(fx.r, 799, "step"));
	fx_close(&fx);
}

static void test_rfc4180_quoting(void **state)
{
	(void)state;
	struct fixture fx;
	fx_open(&fx, "epoch", ',');
	fx_feed(&fx, "\"epoch\",\"val,loss\",\"say \"\"hi\"\"\",note,\"multi\nline\"\n"
	             "1,\"0.5\",2,\"a,b\n\"\"c\"\"\nd\",\"3\"\n"
	             "\"2\",0.25,\"\",,\"4\"\n");
	assert_int_equal(records_count(fx.r), 2);
	assert_num(tu_get(fx.r, 1, "val,loss"), 0.5);
	assert_num(tu_get(fx.r, 1, "say \"hi\""), 2);
	assert_num(tu_get(fx.r, 1, "multi\nline"), 3);
	assert_num(tu_get(fx.r, 2, "val,loss"), 0.25);
	assert_false(tu_has(fx.r, 2, "say \"hi\""));
	assert_false(tu_has(fx.r, 1, "note"));
	/* "a,b\n"c"\nd" is text: one bad cell, on one logical line. */
	assert_int_equal(csv_stats(fx.c)->bad_cells, 1);
	assert_int_equal(csv_stats(fx.c)->lines, 3);
	fx_close(&fx);
}

static void test_crlf(void **state)
{
	(void)state;
	struct fixture fx;
	fx_open(&fx, "epoch", ',');
	fx_feed(&fx, "epoch,val_loss\r\n1,0.5\r\n2,\"0.25\"\r\n\r\n3,\r\n");
	assert_int_equal(records_count(fx.r), 3);
	assert_num(tu_get(fx.r, 1, "val_loss"), 0.5);
	assert_num(tu_get(fx.r, 2, "val_loss"), 0.25);
	assert_false(tu_has(fx.r, 3, "val_loss"));
	assert_int_equal(records_metric_id(fx.r, "val_loss\r"), -1);
	assert_int_equal(csv_stats(fx.c)->bad_cells, 0);
	assert_int_equal(csv_stats(fx.c)->no_key, 0);
	assert_int_equal(csv_stats(fx.c)->lines, 4);
	fx_close(&fx);
}

static void test_bom_skipped(void **state)
{
	(void)state;
	struct fixture fx;
	fx_open(&fx, "epoch", ',');
	fx_feed(&fx, "\xEF\xBB\xBF" "epoch,val_loss\n1,0.5\n");
	assert_num(tu_get(fx.r, 1, "val_loss"), 0.5);
	/* Only at the start: later it is cell text. */
	fx_feed(&fx, "2,\xEF\xBB\xBF\n");
	assert_int_equal(csv_stats(fx.c)->bad_cells, 1);
	fx_close(&fx);
}

static void test_bom_prefix_is_not_eaten(void **state)
{
	(void)state;
	struct fixture fx;
	fx_open(&fx, "\xEF\xBB" "epoch", ',');
	fx_feed(&fx, "\xEF\xBB" "epoch,val_loss\n1,0.5\n");
	assert_num(tu_get(fx.r, 1, "val_loss"), 0.5);
	fx_close(&fx);
}

static void test_absent_and_non_finite_cells(void **state)
{
	(void)state;
	struct fixture fx;
	fx_open(&fx, "epoch", ',');
	fx_feed(&fx, "epoch,a,b,c,d,e,f,g,h,i\n"
	             "1,NA,,nan,-inf,Infinity,+INF,oops, 2.5 ,0x10\n");
	assert_false(tu_has(fx.r, 1, "a"));
	assert_false(tu_has(fx.r, 1, "b"));
	assert_true(isnan(tu_get(fx.r, 1, "c")));
	assert_true(isinf(tu_get(fx.r, 1, "d")) && tu_get(fx.r, 1, "d") < 0);
	assert_true(isinf(tu_get(fx.r, 1, "e")) && tu_get(fx.r, 1, "e") > 0);
	assert_true(isinf(tu_get(fx.r, 1, "f")) && tu_get(fx.r, 1, "f") > 0);
	assert_false(tu_has(fx.r, 1, "g"));
	assert_num(tu_get(fx.r, 1, "h"), 2.5);
	assert_false(tu_has(fx.r, 1, "i"));
	assert_int_equal(csv_stats(fx.c)->bad_cells, 2);
	fx_close(&fx);
}

static void test_tsv(void **state)
{
	(void)state;
	struct fixture fx;
	fx_open(&fx, "epoch", '\t');
	fx_feed(&fx, "epoch\tval_loss\tnote\n1\t0.5\ta,b\n2\t\"0.25\"\t\n");
	assert_num(tu_get(fx.r, 1, "val_loss"), 0.5);
	assert_num(tu_get(fx.r, 2, "val_loss"), 0.25);
	assert_int_equal(csv_stats(fx.c)->bad_cells, 1);
	fx_close(&fx);
}

static void test_key_rules(void **state)
{
	(void)state;
	struct fixture fx;
	fx_open(&fx, "epoch", ',');
	fx_feed(&fx, "epoch,v\n"
	             "8.0,1\n"   /* integral: key 8 */
	             " 9 ,2\n"   /* spaces allowed */
	             "-1,3\n1.5,4\nabc,5\n,6\nnan,7\n9223372036854775808,8\n"
	             "9223372036854775807,9\n");
	assert_num(tu_get(fx.r, 8, "v"), 1);
	assert_num(tu_get(fx.r, 9, "v"), 2);
	assert_num(tu_get(fx.r, INT64_MAX, "v"), 9);
	assert_int_equal(records_count(fx.r), 3);
	assert_int_equal(csv_stats(fx.c)->no_key, 6);
	fx_close(&fx);
}

static void test_key_offset_and_overflow(void **state)
{
	(void)state;
	struct fixture fx;
	fx_open(&fx, "epoch", ',');
	csv_free(fx.c);
	fx.opts.key_offset = 1;
	fx.c = csv_new(&fx.opts, fx.r);
	assert_non_null(fx.c);
	fx_feed(&fx, "epoch,v\n0,1\n9223372036854775807,2\n");
	assert_num(tu_get(fx.r, 1, "v"), 1);
	assert_int_equal(records_count(fx.r), 1);
	assert_int_equal(csv_stats(fx.c)->no_key, 1);
	fx_close(&fx);
}

static void test_no_key_column(void **state)
{
	(void)state;
	struct fixture fx;
	fx_open(&fx, "epoch", ',');
	fx_feed(&fx, "step,v\n1,1\n2,2\n");
	assert_int_equal(records_count(fx.r), 0);
	assert_int_equal(csv_stats(fx.c)->no_key, 2);
	fx_close(&fx);
}

static void test_ragged_rows(void **state)
{
	(void)state;
	struct fixture fx;
	fx_open(&fx, "epoch", ',');
	fx_feed(&fx, "epoch,a,b\n1,1,2,3,4\n2,5\n3,6,7,\n");
	assert_num(tu_get(fx.r, 1, "a"), 1);
	assert_num(tu_get(fx.r, 1, "b"), 2);
	assert_num(tu_get(fx.r, 2, "a"), 5);
	assert_false(tu_has(fx.r, 2, "b"));
	assert_num(tu_get(fx.r, 3, "b"), 7);
	/* two extra cells on row 1; a trailing empty cell is not counted */
	assert_int_equal(csv_stats(fx.c)->bad_cells, 2);
	fx_close(&fx);
}

static void test_duplicate_header_later_wins(void **state)
{
	(void)state;
	struct fixture fx;
	fx_open(&fx, "epoch", ',');
	fx_feed(&fx, "epoch,a,b,a,epoch\n1,10,20,30,2\n");
	assert_null(records_find(fx.r, 1));
	assert_num(tu_get(fx.r, 2, "a"), 30);
	assert_num(tu_get(fx.r, 2, "b"), 20);
	assert_int_equal(records_nmetrics(fx.r), 2);
	fx_close(&fx);
}

static void test_header_only(void **state)
{
	(void)state;
	struct fixture fx;
	fx_open(&fx, "epoch", ',');
	fx_feed(&fx, "epoch,val_loss\n");
	assert_int_equal(csv_finish(fx.c), 0);
	assert_int_equal(records_count(fx.r), 0);
	assert_int_equal(csv_stats(fx.c)->lines, 1);
	fx_close(&fx);
}

static void test_long_line_skipped_once(void **state)
{
	(void)state;
	size_t big = CKPTD_MAX_LINE + 10;
	char *line = malloc(big + 1);
	assert_non_null(line);
	memset(line, '9', big);
	line[0] = '3';
	line[1] = ',';
	line[big] = '\n';
	struct fixture fx;
	fx_open(&fx, "epoch", ',');
	fx_feed(&fx, "epoch,v\n1,1\n2,");
	/* a long quoted cell, then the over-long line in small pieces */
	fx_feed(&fx, "\"");
	for (size_t i = 0; i < CKPTD_MAX_LINE; i += 4096)
		assert_int_equal(csv_feed(fx.c, line + 2, 4096), 0);
	fx_feed(&fx, "\"\n");
	assert_int_equal(csv_feed(fx.c, line, big + 1), 0);
	fx_feed(&fx, "4,4\n");
	assert_int_equal(fx.w.n, 2);
	assert_int_equal(fx.w.line, 4);
	assert_int_equal(csv_stats(fx.c)->long_lines, 2);
	assert_int_equal(records_count(fx.r), 2);
	assert_num(tu_get(fx.r, 4, "v"), 4);
	fx_close(&fx);
	free(line);
}

static void test_line_at_limit_is_kept(void **state)
{
	(void)state;
	/* "5," + digits: exactly CKPTD_MAX_LINE bytes before the newline */
	char *line = malloc(CKPTD_MAX_LINE + 1);
	assert_non_null(line);
	memset(line, '0', CKPTD_MAX_LINE);
	memcpy(line, "5,1", 3);
	line[CKPTD_MAX_LINE] = '\n';
	struct fixture fx;
	fx_open(&fx, "epoch", ',');
	fx_feed(&fx, "epoch,v\n");
	assert_int_equal(csv_feed(fx.c, line, CKPTD_MAX_LINE + 1), 0);
	assert_int_equal(fx.w.n, 0);
	assert_true(isinf(tu_get(fx.r, 5, "v")));   /* 1e(1 MiB) overflows */
	fx_close(&fx);
	free(line);
}

static void test_partial_line_waits_for_finish(void **state)
{
	(void)state;
	struct fixture fx;
	fx_open(&fx, "epoch", ',');
	fx_feed(&fx, "epoch,v\n1,1\n2,0.5");
	assert_int_equal(records_count(fx.r), 1);
	fx_feed(&fx, "5");
	assert_int_equal(records_count(fx.r), 1);
	assert_int_equal(csv_finish(fx.c), 0);
	assert_int_equal(records_count(fx.r), 2);
	assert_num(tu_get(fx.r, 2, "v"), 0.55);
	fx_close(&fx);
}

static void test_finish_drops_unclosed_quote(void **state)
{
	(void)state;
	struct fixture fx;
	fx_open(&fx, "epoch", ',');
	fx_feed(&fx, "epoch,v\n1,1\n2,\"0.5");
	assert_int_equal(csv_finish(fx.c), 0);
	assert_int_equal(records_count(fx.r), 1);
	assert_int_equal(csv_stats(fx.c)->bad_lines, 1);
	fx_close(&fx);
}

static void test_reset_reads_new_header(void **state)
{
	(void)state;
	struct fixture fx;
	fx_open(&fx, "epoch", ',');
	fx_feed(&fx, "epoch,a\n1,1\n2,");
	csv_reset(fx.c);
	assert_int_equal(csv_stats(fx.c)->rows, 0);
	fx_feed(&fx, "\xEF\xBB\xBF" "epoch,b,a\n1,10,11\n2,20,21\n");
	assert_num(tu_get(fx.r, 1, "b"), 10);
	assert_num(tu_get(fx.r, 1, "a"), 11);
	assert_num(tu_get(fx.r, 2, "a"), 21);
	assert_int_equal(csv_stats(fx.c)->rows, 2);
	assert_int_equal(csv_stats(fx.c)->bad_cells, 0);
	fx_close(&fx);
}

static void test_key_going_back(void **state)
{
	(void)state;
	struct fixture fx;
	fx_open(&fx, "epoch", ',');
	fx_feed(&fx, "epoch,v\n1,1\n2,2\n3,3\n2,20\n3,30\n");
	assert_int_equal(csv_stats(fx.c)->rows, 5);
	assert_int_equal(records_resumes(fx.r), 1);
	assert_num(tu_get(fx.r, 2, "v"), 20);
	int64_t last;
	assert_true(records_last_key(fx.r, &last));
	assert_int_equal(last, 3);
	fx_close(&fx);
}

/* Quotes, CRLF, a BOM, NA, bad cells, a blank line, an extra cell and an
 * unterminated last line: every way of cutting it reads the same. */
static const char tricky[] =
	"\xEF\xBB\xBF" "epoch,\"a,\"\"b\"\"\",c\r\n"
	"1,\"1.5\",NA\r\n"
	"\r\n"
	"2,\"x\ny\",inf\n"
	"3,,-3,9\n"
	"nope,1,1\n"
	"4,\"4\"";

static void test_every_split_point(void **state)
{
	(void)state;
	size_t len = sizeof tricky - 1;
	struct tu_outcome whole;
	read_pieces(tricky, len, &len, 1, &whole);
	assert_int_equal(whole.st.rows, 4);
	tu_check_every_split(read_pieces, tricky, len, &whole);
	free(whole.table);
}

/* Cells are read to the same double strtod gives, whatever their shape. */
static void test_numbers_match_strtod(void **state)
{
	(void)state;
	enum { N = 5000 };
	char *s = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&s, &len);
	assert_non_null(f);
	char(*cells)[48] = calloc(N, sizeof *cells);
	assert_non_null(cells);
	uint64_t seed = 12345;
	fputs("epoch,v\n", f);
	for (int i = 0; i < N; i++) {
		char *c = cells[i];
		size_t n = 0, digits = 1 + tu_next_rand(&seed) % 20, point = tu_next_rand(&seed) % (digits + 2);
		if (tu_next_rand(&seed) % 3 == 0)
			c[n++] = tu_next_rand(&seed) % 2 ? '-' : '+';
		for (size_t d = 0; d < digits; d++) {
			if (d == point)
				c[n++] = '.';
			c[n++] = (char)('0' + tu_next_rand(&seed) % (d < 3 ? 2 : 10));
		}
		if (tu_next_rand(&seed) % 5 == 0)
			n += (size_t)sprintf(c + n, "e%d", (int)(tu_next_rand(&seed) % 40) - 20);
		c[n] = '\0';
		fprintf(f, "%d,%s\n", i, c);
	}
	assert_int_equal(fclose(f), 0);
	struct fixture fx;
	fx_open(&fx, "epoch", ',');
	assert_int_equal(csv_feed(fx.c, s, len), 0);
	assert_int_equal(csv_stats(fx.c)->bad_cells, 0);
	for (int i = 0; i < N; i++) {
		double want = strtod(cells[i], NULL), got = tu_get(fx.r, i, "v");
		if (want == 0)
			want = 0;   /* the reader reads -0 as 0 (csv.c: nonneg_zero) */
		if (memcmp(&got, &want, sizeof got) != 0)
			fail_msg("%s: got %a, want %a", cells[i], got, want);
	}
	fx_close(&fx);
	free(cells);
	free(s);
}

static void test_random_splits(void **state)
{
	(void)state;
	/* A few thousand rows of Lightning-style output with a long line and
	 * a resume in the middle. */
	char *s = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&s, &len);
	assert_non_null(f);
	fputs("epoch,step,\"train/loss\",val_loss\r\n", f);
	for (int i = 0; i < 3000; i++) {
		int e = i < 2000 ? i / 2 : (i - 1500) / 2;
		if (i % 2)
			fprintf(f, "%d,%d,,%.6f\r\n", e, i, 1.0 / (i + 1));
		else
			fprintf(f, "%d,%d,\"%.6f\",\r\n", e, i, 2.0 / (i + 1));
		if (i == 1234) {
			fputs("7,", f);
			for (unsigned k = 0; k < CKPTD_MAX_LINE; k++)
				fputc('1', f);
			fputs("\n", f);
		}
	}
	assert_int_equal(fclose(f), 0);
	struct tu_outcome whole;
	read_pieces(s, len, &len, 1, &whole);
	assert_int_equal(whole.st.long_lines, 1);
	assert_int_equal(whole.st.rows, 3000);
	tu_check_random_splits(read_pieces, s, len, &whole, 30, 0x9E3779B97F4A7C15u);
	free(whole.table);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clinic_table),
		cmocka_unit_test(test_lightning_sparse_rows_merge),
		cmocka_unit_test(test_step_key_keeps_epoch_as_metric),
		cmocka_unit_test(test_rfc4180_quoting),
		cmocka_unit_test(test_crlf),
		cmocka_unit_test(test_bom_skipped),
		cmocka_unit_test(test_bom_prefix_is_not_eaten),
		cmocka_unit_test(test_absent_and_non_finite_cells),
		cmocka_unit_test(test_tsv),
		cmocka_unit_test(test_key_rules),
		cmocka_unit_test(test_key_offset_and_overflow),
		cmocka_unit_test(test_no_key_column),
		cmocka_unit_test(test_ragged_rows),
		cmocka_unit_test(test_duplicate_header_later_wins),
		cmocka_unit_test(test_header_only),
		cmocka_unit_test(test_long_line_skipped_once),
		cmocka_unit_test(test_line_at_limit_is_kept),
		cmocka_unit_test(test_partial_line_waits_for_finish),
		cmocka_unit_test(test_finish_drops_unclosed_quote),
		cmocka_unit_test(test_reset_reads_new_header),
		cmocka_unit_test(test_key_going_back),
		cmocka_unit_test(test_every_split_point),
		cmocka_unit_test(test_numbers_match_strtod),
		cmocka_unit_test(test_random_splits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
