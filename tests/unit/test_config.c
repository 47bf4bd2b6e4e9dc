/* Unit tests: the YAML configuration (config.c, yamlwalk.c, confval.c).
 * Each error class is checked at its exact line and column. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ckptd/config.h"
#include "testutil.h"

/* A valid run; tests append keys of the run at line 6, indent 4. */
#define RUN_HEAD                                                \
	"runs:\n"                                               \
	"  - name: a\n"                                         \
	"    dir: /srv/a\n"                                     \
	"    metrics: {path: m.csv}\n"                          \
	"    checkpoints: {pattern: \"epoch={epoch}.ckpt\"}\n"

/* A run at /x up to its metrics; tests add the checkpoints at line 5. */
#define RUN_X                                                   \
	"runs:\n"                                               \
	"  - name: a\n"                                         \
	"    dir: /x\n"                                         \
	"    metrics: {path: m}\n"

static void print_diags(const struct ckptd_diags *d)
{
	diags_print(d, stderr);
}

static struct ckptd_config *load_ok(const char *yaml)
{
	struct ckptd_diags d = { 0 };
	struct ckptd_config *c = NULL;
	int rc = config_parse("t.yaml", yaml, strlen(yaml), &c, &d);

	if (rc != 0)
		print_diags(&d);
	assert_int_equal(rc, 0);
	assert_non_null(c);
	assert_int_equal(d.n, 0);
	diags_free(&d);
	return c;
}

/* Exactly one error, at line:column, whose message contains needle. */
static void expect_err(const char *yaml, unsigned line, unsigned column, const char *needle)
{
	struct ckptd_diags d = { 0 };
	struct ckptd_config *c = (struct ckptd_config *)1;
	int rc = config_parse("t.yaml", yaml, strlen(yaml), &c, &d);

	if (rc != -1 || d.n != 1 || d.v[0].line != line || d.v[0].column != column ||
	    !strstr(d.v[0].message, needle)) {
		fprintf(stderr, "want t.yaml:%u:%u: ...%s...\ngot:\n", line, column, needle);
		print_diags(&d);
	}
	assert_int_equal(rc, -1);
	assert_null(c);
	assert_int_equal(d.n, 1);
	assert_int_equal(d.v[0].line, line);
	assert_int_equal(d.v[0].column, column);
	assert_non_null(strstr(d.v[0].message, needle));
	diags_free(&d);
}

/* One expected error: exactly one, at line:column, whose message contains
 * needle. */
struct err_case {
	const char *yaml;
	unsigned line, column;
	const char *needle;
};

static void expect_errs(const struct err_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++)
		expect_err(cases[i].yaml, cases[i].line, cases[i].column, cases[i].needle);
}

/* ---- YAML-level errors ---- */

static void test_syntax_error(void **state)
{
	(void)state;
	static const struct err_case cases[] = {
		{ "runs:\n  - name: a\n    dir: /x: y\n", 3, 12, "mapping values are not allowed" },
		{ "runs: [a, b\n", 2, 1, "did not find expected ',' or ']'" },
		{ "runs:\n\t- a\n", 2, 1, "found character that cannot start any token" },
		{ "runs: *nowhere\n", 1, 7, "undefined alias" },
	};
	expect_errs(cases, TU_COUNT(cases));
}

static void test_empty_and_not_mapping(void **state)
{
	(void)state;
	static const struct err_case cases[] = {
		{ "", 1, 1, "empty" },
		{ "# only a comment\n", 1, 1, "empty" },
		{ "---\n", 1, 1, "empty" },
		{ "- a\n- b\n", 1, 1, "must be a mapping" },
		{ "just a string\n", 1, 1, "must be a mapping" },
		{ "runs: []\n---\nruns: []\n", 2, 1, "only one YAML document" },
	};
	expect_errs(cases, TU_COUNT(cases));
}

static void test_runs_shape(void **state)
{
	(void)state;
	static const struct err_case cases[] = {
		{ "log_level: info\n", 1, 1, "missing required key 'runs'" },
		{ "runs: {name: a}\n", 1, 7, "runs must be a list, got a mapping" },
		{ "runs: []\n", 1, 7, "at least one run" },
		{ "runs:\n", 1, 6, "at least one run" },
		{ "runs:\n  - just-a-name\n", 2, 5, "a run must be a mapping, got a string" },
	};
	expect_errs(cases, TU_COUNT(cases));
}

static void test_unknown_key_hint(void **state)
{
	(void)state;
	static const struct err_case cases[] = {
		{ RUN_HEAD "    early_stp: {metric: val_loss}\n", 6, 5,
		  "unknown key 'early_stp' in a run (did you mean 'early_stop'?)" },
		{ RUN_HEAD "    early_stop: {metric: val_loss, patiense: 2}\n", 6, 36,
		  "(did you mean 'patience'?)" },
		{ "log_levle: info\n" RUN_HEAD, 1, 1, "did you mean 'log_level'?" },
		/* nothing close: no hint */
		{ RUN_HEAD "    colour: blue\n", 6, 5, "unknown key 'colour' in a run" },
	};
	expect_errs(cases, TU_COUNT(cases));
	struct ckptd_diags d = { 0 };
	struct ckptd_config *c;
	const char *y = RUN_HEAD "    colour: blue\n";
	assert_int_equal(config_parse("t", y, strlen(y), &c, &d), -1);
	assert_null(strstr(d.v[0].message, "did you mean"));
	diags_free(&d);
}

static void test_wrong_types(void **state)
{
	(void)state;
	static const struct err_case cases[] = {
		{ RUN_HEAD "    early_stop: {metric: val_loss, patience: abc}\n", 6, 46,
		  "patience must be an integer, got 'abc'" },
		{ RUN_HEAD "    early_stop: {metric: val_loss, patience: \"3\"}\n", 6, 46,
		  "got the quoted string \"3\"" },
		{ RUN_HEAD "    early_stop: {metric: val_loss, patience: 2.5}\n", 6, 46,
		  "must be an integer" },
		{ RUN_HEAD "    select: {by: {metric: val_loss}}\n", 6, 18,
		  "by must be a list, got a mapping" },
		{ RUN_HEAD "    select: [val_loss]\n", 6, 13, "select must be a mapping, got a list" },
		{ RUN_HEAD "    early_stop: {metric: [a, b]}\n", 6, 26,
		  "metric must be a string, got a list" },
		{ RUN_HEAD "    early_stop: {metric: val_loss, check_finite: yes}\n", 6, 50,
		  "check_finite must be true or false, got 'yes'" },
		{ RUN_HEAD "    select: {by: [{metric: val_loss, tolerance: nan}]}\n", 6, 49,
		  "tolerance must be a finite number" },
		{ RUN_HEAD "    select: {by: [{metric: val_loss, tolerance: .inf}]}\n", 6, 49,
		  "tolerance must be a finite number" },
		{ RUN_HEAD "    select: {by: [{metric: val_loss, tolerance: 1e999}]}\n", 6, 49,
		  "tolerance must be >= 0" },
		{ RUN_HEAD "    select: {by: [[val_loss]]}\n", 6, 19, "a by entry must be a mapping" },
		{ RUN_HEAD "    name: b\n", 6, 5, "duplicate key 'name'" },
		{ "runs:\n  - name: [a]\n    dir: /x\n    metrics: {path: m}\n"
		  "    checkpoints: {pattern: \"{epoch}\"}\n", 2, 11, "name must be a string, got a list" },
		{ RUN_HEAD "    metrics: {path: m.csv, key: epoch}\n", 6, 5, "duplicate key 'metrics'" },
	};
	expect_errs(cases, TU_COUNT(cases));
}

static void test_out_of_range(void **state)
{
	(void)state;
	static const struct err_case cases[] = {
		{ RUN_HEAD "    early_stop: {metric: val_loss, patience: -1}\n", 6, 46,
		  "patience must be between 0 and 2147483647, got -1" },
		{ RUN_HEAD "    retain: {level: 20}\n", 6, 21, "level must be between 1 and 19, got 20" },
		{ RUN_HEAD "    retain: {level: 0}\n", 6, 21, "level must be between 1 and 19" },
		{ RUN_HEAD "    alerts: {degrade: {metric: val_loss, after: 0}}\n", 6, 49,
		  "after must be between 1 and 2147483647, got 0" },
		{ RUN_HEAD "    select: {by: [{metric: val_loss, tolerance: -0.1}]}\n", 6, 49,
		  "tolerance must be >= 0, got -0.1" },
		{ RUN_HEAD "    early_stop: {metric: val_loss, min_delta: -1}\n", 6, 47,
		  "min_delta must be >= 0, got -1" },
		{ RUN_HEAD "    alerts: {degrade: {metric: val_loss, by: -0.5}}\n", 6, 46,
		  "by must be >= 0" },
		{ RUN_HEAD "    early_stop: {metric: val_loss, start_from: -3}\n", 6, 48,
		  "start_from must be >= 0, got -3" },
		{ RUN_HEAD "    retain: {best: -1}\n", 6, 20, "best must be between 0 and" },
		{ "runs:\n  - name: a\n    dir: /srv/a\n"
		  "    metrics: {path: m.csv, key_offset: 3000000000}\n"
		  "    checkpoints: {pattern: \"epoch={epoch}.ckpt\"}\n", 4, 40,
		  "key_offset must be between -2147483648 and 2147483647" },
		{ "runs:\n  - name: a\n    dir: /srv/a\n"
		  "    metrics: {path: m.csv, key_offset: 99999999999999999999}\n"
		  "    checkpoints: {pattern: \"epoch={epoch}.ckpt\"}\n", 4, 40,
		  "key_offset must be between" },
	};
	expect_errs(cases, TU_COUNT(cases));
}

static void test_duplicate_run_name(void **state)
{
	(void)state;
	expect_err(RUN_HEAD
	           "  - name: a\n"
	           "    dir: /srv/b\n"
	           "    metrics: {path: m.csv}\n"
	           "    checkpoints: {pattern: \"epoch={epoch}.ckpt\"}\n",
	           6, 11, "duplicate run name 'a' (first at line 2)");
}

static void test_bad_run_name(void **state)
{
	char y[512];
	(void)state;
	expect_err("runs:\n  - name: a/b\n    dir: /x\n    metrics: {path: m}\n"
	           "    checkpoints: {pattern: \"{epoch}\"}\n", 2, 11, "run name 'a/b' must be");
	expect_err("runs:\n  - name: \"\"\n    dir: /x\n    metrics: {path: m}\n"
	           "    checkpoints: {pattern: \"{epoch}\"}\n", 2, 11, "must be 1 to 64");
	snprintf(y, sizeof(y), "runs:\n  - name: %065d\n    dir: /x\n    metrics: {path: m}\n"
	         "    checkpoints: {pattern: \"{epoch}\"}\n", 0);
	expect_err(y, 2, 11, "must be 1 to 64");
	snprintf(y, sizeof(y), "runs:\n  - name: %064d\n    dir: /x\n    metrics: {path: m}\n"
	         "    checkpoints: {pattern: \"{epoch}\"}\n", 0);
	config_free(load_ok(y));
}

static void test_dir(void **state)
{
	(void)state;
	static const struct err_case cases[] = {
		{ "runs:\n  - name: a\n    dir: srv/a\n    metrics: {path: m}\n"
		  "    checkpoints: {pattern: \"{epoch}\"}\n", 3, 10,
		  "dir must be an absolute path, got 'srv/a'" },
		{ "runs:\n  - name: a\n    metrics: {path: m}\n"
		  "    checkpoints: {pattern: \"{epoch}\"}\n", 2, 5,
		  "missing required key 'dir' in run" },
	};
	expect_errs(cases, TU_COUNT(cases));
}

static void test_missing_required(void **state)
{
	(void)state;
	static const struct err_case cases[] = {
		{ "runs:\n  - dir: /x\n    metrics: {path: m}\n"
		  "    checkpoints: {pattern: \"{epoch}\"}\n", 2, 5, "missing required key 'name'" },
		{ "runs:\n  - name: a\n    dir: /x\n    metrics: {format: csv}\n"
		  "    checkpoints: {pattern: \"{epoch}\"}\n", 4, 14,
		  "missing required key 'path' in metrics" },
		{ "runs:\n  - name: a\n    dir: /x\n    metrics:\n      format: csv\n"
		  "    checkpoints: {pattern: \"{epoch}\"}\n", 5, 7,
		  "missing required key 'path' in metrics" },
		{ RUN_X "    checkpoints: {path: ckpt}\n", 5, 18,
		  "missing required key 'pattern' in checkpoints" },
		{ RUN_X, 2, 5,
		  "missing required key 'checkpoints' in run" },
	};
	expect_errs(cases, TU_COUNT(cases));
}

static void test_pattern_key(void **state)
{
	(void)state;
	static const struct err_case cases[] = {
		{ "runs:\n  - name: a\n    dir: /x\n    metrics: {path: m, key: step}\n"
		  "    checkpoints: {pattern: \"epoch={epoch}.ckpt\"}\n", 5, 28, "no {step}" },
		{ RUN_X "    checkpoints: {pattern: \"ckpt_{iter}.pt\"}\n", 5, 28, "{iter}" },
		{ RUN_X "    checkpoints: {pattern: \"a/{epoch}\"}\n", 5, 28, "'/'" },
	};
	expect_errs(cases, TU_COUNT(cases));
}

static void test_copy_without_to(void **state)
{
	(void)state;
	expect_err(RUN_HEAD "    promote: {method: copy}\n", 6, 23, "method copy needs 'to'");
	config_free(load_ok(RUN_HEAD "    promote: {method: copy, to: deploy}\n"));
}

static void test_signal_without_pidfile(void **state)
{
	(void)state;
	static const struct err_case cases[] = {
		{ RUN_HEAD "    early_stop:\n      metric: val_loss\n      action: {signal: TERM}\n",
		  8, 24, "signal needs a pidfile" },
		{ RUN_HEAD "    early_stop:\n      metric: val_loss\n"
		  "      action: {signal: BOGUS, pidfile: p}\n", 8, 24,
		  "signal must be TERM, INT, HUP, QUIT, KILL, USR1, USR2" },
		{ RUN_HEAD "    early_stop:\n      metric: val_loss\n"
		  "      action: {signal: 65, pidfile: p}\n", 8, 24, "between 1 and 64" },
	};
	expect_errs(cases, TU_COUNT(cases));
}

static void test_unknown_enum(void **state)
{
	(void)state;
	static const struct err_case cases[] = {
		{ "runs:\n  - name: a\n    dir: /x\n    metrics: {path: m, format: xml}\n"
		  "    checkpoints: {pattern: \"{epoch}\"}\n", 4, 32,
		  "format must be auto, csv, tsv or jsonl, got 'xml'" },
		{ "log_level: verbose\n" RUN_HEAD, 1, 12,
		  "log_level must be debug, info, notice, warning or error" },
		{ RUN_HEAD "    retain: {action: shred}\n", 6, 22,
		  "action must be none, delete, compress or move, got 'shred'" },
		{ RUN_HEAD "    promote: {method: rsync}\n", 6, 23,
		  "method must be symlink, hardlink or copy" },
		{ RUN_HEAD "    select: {by: [{metric: val_loss, mode: lowest}]}\n", 6, 44,
		  "mode must be min or max, got 'lowest'" },
		{ RUN_HEAD "    early_stop: {metric: val_loss, mode: down}\n", 6, 42,
		  "mode must be min or max" },
		{ RUN_X "    checkpoints: {pattern: \"{epoch}\", ready: open}\n", 5, 46,
		  "ready must be close, marker:NAME or settle:DURATION" },
		{ RUN_X "    checkpoints: {pattern: \"{epoch}\", verify: strict}\n", 5, 47,
		  "verify must be none or auto" },
	};
	expect_errs(cases, TU_COUNT(cases));
}

static void test_mode_not_inferable(void **state)
{
	(void)state;
	static const struct err_case cases[] = {
		{ RUN_HEAD "    select: {by: [{metric: foo}]}\n", 6, 28,
		  "cannot tell whether 'foo' is better low or high" },
		{ RUN_HEAD "    select: {by: [foo]}\n", 6, 19, "cannot tell whether 'foo'" },
		{ RUN_HEAD "    early_stop: {metric: throughput}\n", 6, 26, "'throughput'" },
		{ RUN_HEAD "    alerts: {degrade: {metric: lr}}\n", 6, 32, "'lr'" },
	};
	expect_errs(cases, TU_COUNT(cases));
}

static void test_bad_durations(void **state)
{
	(void)state;
	static const struct err_case cases[] = {
		{ RUN_HEAD "    alerts: {stall: 30}\n", 6, 21, "stall needs a unit (ms, s, m, h or d): write e.g. '30s'" },
		{ RUN_HEAD "    alerts: {stall: 5x}\n", 6, 21, "stall must be a duration like 500ms" },
		{ RUN_HEAD "    alerts: {stall: 99999999999999999d}\n", 6, 21, "must be a duration" },
		{ RUN_X "    checkpoints: {pattern: \"{epoch}\", ready: \"settle:soon\"}\n", 5, 46,
		  "settle:DURATION needs a duration" },
		{ RUN_X "    checkpoints: {pattern: \"{epoch}\", ready: \"marker:a/b\"}\n", 5, 46,
		  "marker:NAME needs a plain file name" },
	};
	expect_errs(cases, TU_COUNT(cases));
}

static void test_missing_metric(void **state)
{
	(void)state;
	static const struct err_case cases[] = {
		{ RUN_HEAD "    early_stop:\n      patience: 3\n", 7, 7,
		  "missing required key 'metric' in early_stop" },
		{ RUN_HEAD "    alerts:\n      degrade: {after: 3}\n", 7, 16,
		  "missing required key 'metric' in degrade" },
		{ RUN_HEAD "    select: {by: [{mode: min}]}\n", 6, 19,
		  "missing required key 'metric' in a by entry" },
	};
	expect_errs(cases, TU_COUNT(cases));
}

static void test_require_entries(void **state)
{
	(void)state;
	static const struct err_case cases[] = {
		{ RUN_HEAD "    select: {require: [{metric: val_acc}]}\n", 6, 24,
		  "needs min, max or both" },
		{ RUN_HEAD "    select: {require: [{metric: val_acc, min: 0.9, max: 0.5}]}\n", 6, 47,
		  "min 0.9 is above max 0.5" },
		{ RUN_HEAD "    select: {require: [\"val_acc=0.9\"]}\n", 6, 24,
		  "expected METRIC>=X or METRIC<=X" },
	};
	expect_errs(cases, TU_COUNT(cases));
}

static void test_promote_names(void **state)
{
	(void)state;
	static const struct err_case cases[] = {
		{ RUN_HEAD "    promote: {link: ../best.ckpt}\n", 6, 21,
		  "promote.link must be a plain file name without '/'" },
		{ RUN_HEAD "    promote: {manifest: out/best.json}\n", 6, 25,
		  "promote.manifest must be a plain file name" },
		{ RUN_HEAD "    promote: {link: epoch=99.ckpt}\n", 6, 21,
		  "promote.link 'epoch=99.ckpt' matches the checkpoint pattern" },
		{ RUN_HEAD "    promote: {link: best.json}\n", 6, 21,
		  "promote.manifest and promote.link are both 'best.json'" },
	};
	expect_errs(cases, TU_COUNT(cases));
}

static void test_empty_exec(void **state)
{
	(void)state;
	static const struct err_case cases[] = {
		{ RUN_HEAD "    alerts: {exec: []}\n", 6, 20, "exec must not be empty" },
		{ RUN_HEAD "    early_stop: {metric: val_loss, action: {exec: []}}\n", 6, 51,
		  "exec must not be empty" },
		{ RUN_HEAD "    alerts: {exec: /bin/alert}\n", 6, 20, "exec must be a list" },
	};
	expect_errs(cases, TU_COUNT(cases));
}

static void test_alias_bomb(void **state)
{
	(void)state;
	const char *bomb =
		"a: &a [x, x, x, x, x, x, x, x, x, x]\n"
		"b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
		"c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
		"d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
		"e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
		"f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
		"g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
		"h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]\n"
		"i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h, *h]\n";
	struct ckptd_diags d = { 0 };
	struct ckptd_config *c;

	assert_int_equal(config_parse("t", bomb, strlen(bomb), &c, &d), -1);
	assert_int_equal(d.n, 1);
	assert_non_null(strstr(d.v[0].message, "alias bomb"));
	diags_free(&d);
	/* an alias inside its own anchor */
	expect_err("runs: &r [*r]\n", 1, 7, "nesting deeper than 64");
	expect_err("runs: &r {a: *r}\n", 1, 7, "nesting deeper than 64");
}

static void test_deep_nesting(void **state)
{
	char *y = malloc(200001);
	(void)state;
	memset(y, '[', 100000);
	memset(y + 100000, ']', 100000);
	y[200000] = '\0';
	expect_err(y, 1, 65, "nesting deeper than 64 levels");
	free(y);
}

static void test_merge_keys(void **state)
{
	struct ckptd_config *c;
	(void)state;
	c = load_ok("runs:\n"
	            "  - &base\n"
	            "    name: a\n"
	            "    dir: /srv/a\n"
	            "    metrics: {path: m.csv}\n"
	            "    checkpoints: {pattern: \"epoch={epoch}.ckpt\"}\n"
	            "    select: &sel {by: [val_acc, val_loss]}\n"
	            "  - <<: *base\n"
	            "    name: b\n"
	            "    dir: /srv/b\n"
	            "  - name: c\n"
	            "    dir: /srv/c\n"
	            "    metrics: {path: log.jsonl}\n"
	            "    checkpoints: {pattern: \"{epoch}\"}\n"
	            "    select: *sel\n");
	assert_int_equal(c->nruns, 3);
	assert_string_equal(c->runs[1].name, "b");
	assert_string_equal(c->runs[1].dir, "/srv/b");
	assert_string_equal(c->runs[1].metrics.path, "/srv/b/m.csv");
	assert_string_equal(c->runs[1].checkpoints.pattern, "epoch={epoch}.ckpt");
	assert_int_equal(c->runs[1].select.nby, 2);
	assert_string_equal(c->runs[2].select.by[0].metric, "val_acc");
	assert_int_equal(c->runs[2].select.by[0].mode, CKPTD_MAX);
	assert_int_equal(c->runs[2].metrics.format, CKPTD_FMT_JSONL);
	config_free(c);
	/* an unknown key inside a merged mapping is reported where it is */
	expect_err("x: &x {nam: b}\n" RUN_HEAD, 1, 1, "unknown key 'x'");
	expect_err(RUN_HEAD "    <<: [a]\n", 6, 10, "'<<' merges mappings, got a string");
}

static void test_multiple_errors_one_pass(void **state)
{
	const char *y = "log_level: loud\n"
	                "runs:\n"
	                "  - name: a\n"
	                "    dir: rel\n"
	                "    metrics: {path: m.csv, key: iteration}\n"
	                "    checkpoints: {pattern: \"epoch={epoch}.ckpt\"}\n"
	                "    retain: {level: 42, bets: 2}\n";
	struct ckptd_diags d = { 0 };
	struct ckptd_config *c;
	(void)state;
	assert_int_equal(config_parse("t", y, strlen(y), &c, &d), -1);
	if (d.n != 5)
		print_diags(&d);
	assert_int_equal(d.n, 5);
	assert_int_equal(d.v[0].line, 1); /* log_level */
	assert_int_equal(d.v[1].line, 4); /* dir */
	assert_int_equal(d.v[2].line, 5); /* key */
	assert_int_equal(d.v[2].column, 33);
	/* in file order, though the walk checks "bets" (unknown) first */
	assert_int_equal(d.v[3].line, 7); /* level */
	assert_int_equal(d.v[3].column, 21);
	assert_int_equal(d.v[4].line, 7); /* bets */
	assert_int_equal(d.v[4].column, 25);
	assert_non_null(strstr(d.v[4].message, "did you mean 'best'?"));
	diags_free(&d);
}

/* ---- defaults and resolution ---- */

static void test_defaults(void **state)
{
	struct ckptd_config *c;
	const struct ckptd_run *r;
	(void)state;

	unsetenv("STATE_DIRECTORY");
	c = load_ok(RUN_HEAD);
	assert_string_equal(c->state_dir, "/var/lib/ckptd");
	assert_int_equal(c->log_level, CKPTD_LOG_INFO);
	assert_string_equal(c->file, "t.yaml");
	r = config_find_run(c, "a");
	assert_non_null(r);
	assert_null(config_find_run(c, "b"));
	assert_string_equal(r->metrics.path, "/srv/a/m.csv");
	assert_int_equal(r->metrics.format, CKPTD_FMT_CSV);
	assert_false(r->metrics.zst);
	assert_int_equal(r->metrics.key, CKPTD_KEY_EPOCH);
	assert_int_equal(r->metrics.key_offset, 0);
	assert_string_equal(r->checkpoints.path, "/srv/a");
	assert_int_equal(r->checkpoints.ready, CKPTD_READY_DEFAULT);
	assert_true(r->checkpoints.verify);
	assert_int_equal(r->select.nby, 1);
	assert_string_equal(r->select.by[0].metric, "val_loss");
	assert_int_equal(r->select.by[0].mode, CKPTD_MIN);
	assert_true(r->select.by[0].tolerance == 0);
	assert_int_equal(r->select.nrequire, 0);
	assert_false(r->early_stop.enabled);
	assert_string_equal(r->promote.link, "best.ckpt");
	assert_int_equal(r->promote.method, CKPTD_PROMOTE_SYMLINK);
	assert_null(r->promote.to);
	assert_string_equal(r->promote.manifest, "best.json");
	assert_false(r->retain.enabled);
	assert_int_equal(r->retain.best, 1);
	assert_int_equal(r->retain.last, 1);
	assert_int_equal(r->retain.every, 0);
	assert_false(r->retain.unscored_prune);
	assert_int_equal(r->retain.action, CKPTD_RETAIN_NONE);
	assert_string_equal(r->retain.archive, "/srv/a/archive");
	assert_int_equal(r->retain.level, 3);
	assert_false(r->alerts.degrade.enabled);
	assert_int_equal(r->alerts.degrade.after, 2);
	assert_int_equal(r->alerts.stall_ms, 0);
	assert_null(r->alerts.exec);
	config_free(c);

	setenv("STATE_DIRECTORY", "/var/lib/ckptd-x:/var/lib/other", 1);
	c = load_ok(RUN_HEAD);
	assert_string_equal(c->state_dir, "/var/lib/ckptd-x");
	config_free(c);
	c = load_ok("state_dir: /data//state/\n" RUN_HEAD);
	assert_string_equal(c->state_dir, "/data/state");
	config_free(c);
	unsetenv("STATE_DIRECTORY");
	expect_err("state_dir: state\n" RUN_HEAD, 1, 12, "state_dir must be an absolute path");
}

static void test_section_defaults(void **state)
{
	struct ckptd_config *c;
	const struct ckptd_run *r;
	(void)state;
	c = load_ok(RUN_HEAD
	            "    early_stop: {metric: val_loss}\n"
	            "    retain: {}\n"
	            "    promote: {manifest: null}\n"
	            "    alerts: {degrade: {metric: val_acc}}\n");
	r = &c->runs[0];
	assert_true(r->early_stop.enabled);
	assert_int_equal(r->early_stop.mode, CKPTD_MIN);
	assert_int_equal(r->early_stop.patience, 3);
	assert_true(r->early_stop.min_delta == 0);
	assert_true(r->early_stop.check_finite);
	assert_int_equal(r->early_stop.start_from, 0);
	assert_false(r->early_stop.has_baseline);
	assert_null(r->early_stop.touch);
	assert_int_equal(r->early_stop.signal, 0);
	assert_null(r->early_stop.exec);
	assert_true(r->retain.enabled);
	assert_int_equal(r->retain.best, 1);
	assert_int_equal(r->retain.action, CKPTD_RETAIN_NONE);
	assert_null(r->promote.manifest);
	assert_string_equal(r->promote.link, "best.ckpt");
	assert_true(r->alerts.degrade.enabled);
	assert_int_equal(r->alerts.degrade.mode, CKPTD_MAX);
	assert_int_equal(r->alerts.degrade.after, 2);
	assert_true(r->alerts.degrade.by == 0);
	assert_null(r->alerts.degrade.train_metric);
	config_free(c);
}

static void test_formats(void **state)
{
	static const struct {
		const char *path, *format;
		enum ckptd_format want;
		bool zst;
	} cases[] = {
		{ "m.csv", "auto", CKPTD_FMT_CSV, false },
		{ "m.jsonl", "auto", CKPTD_FMT_JSONL, false },
		{ "m.tsv", "auto", CKPTD_FMT_TSV, false },
		{ "m.csv.zst", "auto", CKPTD_FMT_CSV, true },
		{ "m.jsonl.zst", "auto", CKPTD_FMT_JSONL, true },
		{ "training.log", "auto", CKPTD_FMT_CSV, false },
		{ "training.log", "jsonl", CKPTD_FMT_JSONL, false },
		{ "log.zst", "csv", CKPTD_FMT_CSV, true },
	};
	char y[512];
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ckptd_config *c;

		snprintf(y, sizeof(y), "runs:\n  - name: a\n    dir: /x\n"
		         "    metrics: {path: %s, format: %s}\n"
		         "    checkpoints: {pattern: \"{epoch}\"}\n", cases[i].path, cases[i].format);
		c = load_ok(y);
		assert_int_equal(c->runs[0].metrics.format, cases[i].want);
		assert_int_equal(c->runs[0].metrics.zst, cases[i].zst);
		config_free(c);
	}
}

static void test_path_resolution(void **state)
{
	struct ckptd_config *c;
	const struct ckptd_run *r;
	(void)state;
	c = load_ok("runs:\n"
	            "  - name: a\n"
	            "    dir: /srv//a/\n"
	            "    metrics: {path: logs/../lightning_logs//version_0/./metrics.csv}\n"
	            "    checkpoints: {path: ckpt/, pattern: \"{epoch}.pt\"}\n"
	            "    early_stop:\n"
	            "      metric: val_loss\n"
	            "      action: {touch: STOP, pidfile: /run/train.pid, signal: SIGUSR1}\n"
	            "    promote: {method: copy, to: ../deploy}\n"
	            "    retain: {archive: ../../../../old}\n");
	r = &c->runs[0];
	assert_string_equal(r->dir, "/srv/a");
	assert_string_equal(r->metrics.path, "/srv/a/lightning_logs/version_0/metrics.csv");
	assert_string_equal(r->checkpoints.path, "/srv/a/ckpt");
	assert_string_equal(r->early_stop.touch, "/srv/a/STOP");
	assert_string_equal(r->early_stop.pidfile, "/run/train.pid");
	assert_int_equal(r->early_stop.signal, SIGUSR1);
	assert_string_equal(r->promote.to, "/srv/deploy");
	assert_string_equal(r->retain.archive, "/old");
	config_free(c);
}

static void test_early_stop_options(void **state)
{
	struct ckptd_config *c;
	const struct ckptd_early_stop *es;
	(void)state;
	c = load_ok(RUN_HEAD
	            "    early_stop:\n"
	            "      metric: val/f1\n"
	            "      patience: 0\n"
	            "      min_delta: 1e-3\n"
	            "      baseline: 0.5\n"
	            "      stopping_threshold: ~\n"
	            "      divergence_threshold:\n"
	            "      check_finite: false\n"
	            "      start_from: 10\n"
	            "      action:\n"
	            "        signal: 15\n"
	            "        pidfile: train.pid\n"
	            "        exec: [/bin/stop, \"{run}\", 42]\n");
	es = &c->runs[0].early_stop;
	assert_int_equal(es->mode, CKPTD_MAX);
	assert_int_equal(es->patience, 0);
	assert_true(es->min_delta == 1e-3);
	assert_true(es->has_baseline);
	assert_true(es->baseline == 0.5);
	assert_false(es->has_stopping_threshold);
	assert_false(es->has_divergence_threshold);
	assert_false(es->check_finite);
	assert_int_equal(es->start_from, 10);
	assert_int_equal(es->signal, 15);
	assert_string_equal(es->pidfile, "/srv/a/train.pid");
	assert_int_equal(es->nexec, 3);
	assert_string_equal(es->exec[0], "/bin/stop");
	assert_string_equal(es->exec[1], "{run}");
	assert_string_equal(es->exec[2], "42");
	assert_null(es->exec[3]);
	config_free(c);
}

static void test_signals(void **state)
{
	static const struct { const char *s; int sig; } ok[] = {
		{ "TERM", SIGTERM }, { "SIGTERM", SIGTERM }, { "int", SIGINT }, { "HUP", SIGHUP },
		{ "SIGQUIT", SIGQUIT }, { "KILL", SIGKILL }, { "USR1", SIGUSR1 },
		{ "SIGUSR2", SIGUSR2 }, { "1", 1 }, { "64", 64 },
	};
	char y[512];
	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		struct ckptd_config *c;

		snprintf(y, sizeof(y), RUN_HEAD "    early_stop: {metric: val_loss, "
		         "action: {signal: %s, pidfile: p}}\n", ok[i].s);
		c = load_ok(y);
		assert_int_equal(c->runs[0].early_stop.signal, ok[i].sig);
		config_free(c);
	}
	expect_err(RUN_HEAD "    early_stop: {metric: val_loss, action: {signal: 0, pidfile: p}}\n",
	           6, 53, "between 1 and 64");
}

static void test_ready(void **state)
{
	struct ckptd_config *c;
	(void)state;
	c = load_ok(RUN_X
	            "    checkpoints: {pattern: \"checkpoint-{epoch}\", ready: \"marker:DONE\", verify: none}\n"
	            "  - name: b\n    dir: /y\n    metrics: {path: m}\n"
	            "    checkpoints: {pattern: \"{epoch}\", ready: \"settle:1m30s\"}\n"
	            "  - name: c\n    dir: /z\n    metrics: {path: m}\n"
	            "    checkpoints: {pattern: \"{epoch}\", ready: close}\n");
	assert_int_equal(c->runs[0].checkpoints.ready, CKPTD_READY_MARKER);
	assert_string_equal(c->runs[0].checkpoints.marker, "DONE");
	assert_false(c->runs[0].checkpoints.verify);
	assert_int_equal(c->runs[1].checkpoints.ready, CKPTD_READY_SETTLE);
	assert_int_equal(c->runs[1].checkpoints.settle_ms, 90000);
	assert_int_equal(c->runs[2].checkpoints.ready, CKPTD_READY_CLOSE);
	config_free(c);
}

static void test_select_forms(void **state)
{
	struct ckptd_config *c;
	const struct ckptd_select *s;
	(void)state;
	c = load_ok(RUN_HEAD
	            "    select:\n"
	            "      by:\n"
	            "        - val_sensitivity\n"
	            "        - \"val_loss:min@0.005\"\n"
	            "        - {metric: score, mode: max, tolerance: 0.1}\n"
	            "      require:\n"
	            "        - {metric: val_specificity, min: 0.75}\n"
	            "        - val_loss<=1.5\n"
	            "        - {metric: val_acc, min: 0.5, max: 1}\n");
	s = &c->runs[0].select;
	assert_int_equal(s->nby, 3);
	assert_string_equal(s->by[0].metric, "val_sensitivity");
	assert_int_equal(s->by[0].mode, CKPTD_MAX);
	assert_string_equal(s->by[1].metric, "val_loss");
	assert_true(s->by[1].tolerance == 0.005);
	assert_string_equal(s->by[2].metric, "score");
	assert_int_equal(s->by[2].mode, CKPTD_MAX);
	assert_true(s->by[2].tolerance == 0.1);
	assert_int_equal(s->nrequire, 3);
	assert_true(s->require[0].has_min && !s->require[0].has_max);
	assert_true(s->require[0].min == 0.75);
	assert_true(s->require[1].has_max && !s->require[1].has_min);
	assert_true(s->require[1].max == 1.5);
	assert_true(s->require[2].has_min && s->require[2].has_max);
	config_free(c);
	/* select present without by: the default criterion */
	c = load_ok(RUN_HEAD "    select: {require: [val_acc>=0.5]}\n");
	assert_int_equal(c->runs[0].select.nby, 1);
	assert_string_equal(c->runs[0].select.by[0].metric, "val_loss");
	config_free(c);
	expect_err(RUN_HEAD "    select: {by: []}\n", 6, 18, "by must list at least one criterion");
}

/* ---- values shared with the command line ---- */

static void test_mode_infer(void **state)
{
	/* ok false: the name says nothing, and mode is not looked at */
	static const struct { const char *name; bool ok; enum ckptd_mode mode; } cases[] = {
		{ "val_loss", true, CKPTD_MIN },
		{ "val_acc", true, CKPTD_MAX },
		{ "val/f1", true, CKPTD_MAX },
		{ "dice_loss", true, CKPTD_MIN },
		{ "foo", false, CKPTD_MIN },
		{ "val_accuracy", true, CKPTD_MAX },
		{ "eval/perplexity", true, CKPTD_MIN },
		{ "val.ppl", true, CKPTD_MIN },
		{ "valid_mAP", true, CKPTD_MAX },
		{ "val_mape", true, CKPTD_MIN },
		{ "test-ROUGE-L", true, CKPTD_MAX },
		{ "val_error_rate", true, CKPTD_MIN },
		{ "val_sensitivity", true, CKPTD_MAX },
		{ "valloss", false, CKPTD_MIN }, /* words split at non-alphanumerics only */
		{ "", false, CKPTD_MIN },
	};
	(void)state;
	for (size_t i = 0; i < TU_COUNT(cases); i++) {
		enum ckptd_mode m;
		if (cases[i].ok)
			assert_true(mode_infer(cases[i].name, &m) && m == cases[i].mode);
		else
			assert_false(mode_infer(cases[i].name, &m));
	}
	assert_string_equal(mode_name(CKPTD_MIN), "min");
	assert_string_equal(mode_name(CKPTD_MAX), "max");
}

static void test_durations(void **state)
{
	static const struct { const char *s; int64_t ms; } ok[] = {
		{ "500ms", 500 },
		{ "30s", 30000 },
		{ "5m", 300000 },
		{ "2h", 7200000 },
		{ "1d", 86400000 },
		{ "1h30m", 5400000 },
		{ "1m500ms", 60500 },
		{ "0s", 0 },
		{ "9223372036854775807ms", INT64_MAX },
	};
	static const char *const bad[] = {
		"9223372036854775807s",
		"99999999999999999999ms",
		"9223372036854775807ms1ms",
		"",
		"30",
		"5x",
		"m",
		"-5s",
		"5 s",
		"5sec",
		"1.5h",
	};
	(void)state;
	for (size_t i = 0; i < TU_COUNT(ok); i++) {
		int64_t ms = -1;
		assert_int_equal(duration_parse(ok[i].s, &ms), 0);
		assert_int_equal(ms, ok[i].ms);
	}
	for (size_t i = 0; i < TU_COUNT(bad); i++) {
		int64_t ms = -1;
		assert_int_equal(duration_parse(bad[i], &ms), -1);
	}
}

static void test_criterion_parse(void **state)
{
	struct ckptd_criterion cr;
	char err[256];
	(void)state;
	assert_int_equal(criterion_parse("val_loss", &cr, err, sizeof(err)), 0);
	assert_string_equal(cr.metric, "val_loss");
	assert_int_equal(cr.mode, CKPTD_MIN);
	assert_true(cr.tolerance == 0);
	free(cr.metric);
	assert_int_equal(criterion_parse("val_loss:min", &cr, err, sizeof(err)), 0);
	assert_int_equal(cr.mode, CKPTD_MIN);
	free(cr.metric);
	assert_int_equal(criterion_parse("val_loss:min@0.005", &cr, err, sizeof(err)), 0);
	assert_string_equal(cr.metric, "val_loss");
	assert_true(cr.tolerance == 0.005);
	free(cr.metric);
	assert_int_equal(criterion_parse("val_sensitivity", &cr, err, sizeof(err)), 0);
	assert_int_equal(cr.mode, CKPTD_MAX);
	free(cr.metric);
	assert_int_equal(criterion_parse("foo:max", &cr, err, sizeof(err)), 0);
	assert_int_equal(cr.mode, CKPTD_MAX);
	free(cr.metric);
	assert_int_equal(criterion_parse("val/acc@0.01", &cr, err, sizeof(err)), 0);
	assert_string_equal(cr.metric, "val/acc");
	assert_int_equal(cr.mode, CKPTD_MAX);
	free(cr.metric);
	assert_int_equal(criterion_parse("foo", &cr, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "foo:min or foo:max"));
	assert_int_equal(criterion_parse("val_loss:lowest", &cr, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unknown mode 'lowest'"));
	assert_int_equal(criterion_parse("val_loss@-1", &cr, err, sizeof(err)), -1);
	assert_int_equal(criterion_parse("val_loss@nan", &cr, err, sizeof(err)), -1);
	assert_int_equal(criterion_parse("val_loss@", &cr, err, sizeof(err)), -1);
	assert_int_equal(criterion_parse(":min", &cr, err, sizeof(err)), -1);
	assert_int_equal(criterion_parse("", &cr, err, sizeof(err)), -1);
}

static void test_bound_parse(void **state)
{
	struct ckptd_bound b;
	char err[256];
	(void)state;
	assert_int_equal(bound_parse("val_specificity>=0.75", &b, err, sizeof(err)), 0);
	assert_string_equal(b.metric, "val_specificity");
	assert_true(b.has_min && !b.has_max && b.min == 0.75);
	free(b.metric);
	assert_int_equal(bound_parse("val_loss <= 2", &b, err, sizeof(err)), 0);
	assert_string_equal(b.metric, "val_loss");
	assert_true(b.has_max && !b.has_min && b.max == 2);
	free(b.metric);
	assert_int_equal(bound_parse("val_loss=2", &b, err, sizeof(err)), -1);
	assert_int_equal(bound_parse(">=2", &b, err, sizeof(err)), -1);
	assert_int_equal(bound_parse("a>=x", &b, err, sizeof(err)), -1);
	assert_int_equal(bound_parse("a>=inf", &b, err, sizeof(err)), -1);
}

/* ---- whole files ---- */

static void test_full_config(void **state)
{
	static const char y[] =
		"state_dir: /var/lib/ckptd\n"
		"log_level: notice\n"
		"runs:\n"
		"  - name: cnn-medical\n"
		"    dir: /srv/train/cnn-medical\n"
		"    metrics:\n"
		"      path: metrics.csv\n"
		"      format: auto\n"
		"      key: epoch\n"
		"      key_offset: 0\n"
		"    checkpoints:\n"
		"      path: checkpoints\n"
		"      pattern: \"epoch={epoch}.ckpt\"\n"
		"      ready: close\n"
		"      verify: auto\n"
		"    select:\n"
		"      by:\n"
		"        - {metric: val_sensitivity, mode: max, tolerance: 0}\n"
		"        - {metric: val_loss, mode: min}\n"
		"      require:\n"
		"        - {metric: val_specificity, min: 0.75}\n"
		"    early_stop:\n"
		"      metric: val_loss\n"
		"      mode: min\n"
		"      patience: 3\n"
		"      min_delta: 0.0\n"
		"      baseline: null\n"
		"      stopping_threshold: null\n"
		"      divergence_threshold: 5\n"
		"      check_finite: true\n"
		"      start_from: 0\n"
		"      action:\n"
		"        touch: STOP\n"
		"        signal: TERM\n"
		"        pidfile: train.pid\n"
		"        exec: [\"/usr/local/bin/stop-job\", \"{run}\"]\n"
		"    promote:\n"
		"      link: best.ckpt\n"
		"      method: hardlink\n"
		"      to: null\n"
		"      manifest: best.json\n"
		"    retain:\n"
		"      best: 2\n"
		"      last: 1\n"
		"      every: 5\n"
		"      unscored: prune\n"
		"      action: compress\n"
		"      archive: archive\n"
		"      level: 19\n"
		"    alerts:\n"
		"      degrade: {metric: val_loss, mode: min, after: 2, by: 0.02, train_metric: train_loss}\n"
		"      stall: 30m\n"
		"      exec: [\"/usr/local/bin/alert\", \"{run}\", \"{event}\"]\n";
	struct ckptd_config *c;
	const struct ckptd_run *r;
	(void)state;
	c = load_ok(y);
	assert_int_equal(c->log_level, CKPTD_LOG_NOTICE);
	assert_int_equal(c->nruns, 1);
	r = config_find_run(c, "cnn-medical");
	assert_non_null(r);
	assert_string_equal(r->checkpoints.path, "/srv/train/cnn-medical/checkpoints");
	assert_int_equal(r->checkpoints.ready, CKPTD_READY_CLOSE);
	assert_int_equal(r->select.nby, 2);
	assert_int_equal(r->select.nrequire, 1);
	assert_true(r->early_stop.has_divergence_threshold);
	assert_true(r->early_stop.divergence_threshold == 5);
	assert_false(r->early_stop.has_baseline);
	assert_int_equal(r->early_stop.signal, SIGTERM);
	assert_string_equal(r->early_stop.touch, "/srv/train/cnn-medical/STOP");
	assert_int_equal(r->early_stop.nexec, 2);
	assert_int_equal(r->promote.method, CKPTD_PROMOTE_HARDLINK);
	assert_true(r->retain.enabled);
	assert_int_equal(r->retain.best, 2);
	assert_int_equal(r->retain.every, 5);
	assert_true(r->retain.unscored_prune);
	assert_int_equal(r->retain.action, CKPTD_RETAIN_COMPRESS);
	assert_string_equal(r->retain.archive, "/srv/train/cnn-medical/archive");
	assert_int_equal(r->retain.level, 19);
	assert_true(r->alerts.degrade.enabled);
	assert_true(r->alerts.degrade.by == 0.02);
	assert_string_equal(r->alerts.degrade.train_metric, "train_loss");
	assert_int_equal(r->alerts.degrade.train_mode, CKPTD_MIN);
	assert_int_equal(r->alerts.stall_ms, 30 * 60000);
	assert_int_equal(r->alerts.nexec, 3);
	assert_string_equal(r->alerts.exec[2], "{event}");
	config_free(c);
}

static void test_shipped_configs_load(void **state)
{
	static const char *const files[] = {
		"config/ckptd.yaml", "config/examples/lightning.yaml",
		"config/examples/keras.yaml", "config/examples/pytorch-jsonl.yaml",
	};
	(void)state;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		struct ckptd_diags d = { 0 };
		struct ckptd_config *c = NULL;
		int rc = config_load(files[i], &c, &d);

		if (rc != 0) {
			fprintf(stderr, "%s (run the tests from the top of the tree):\n", files[i]);
			print_diags(&d);
		}
		assert_int_equal(rc, 0);
		assert_true(c->nruns >= 1);
		if (i == 2) {
			assert_int_equal(c->runs[0].metrics.key_offset, 1);
			assert_int_equal(c->runs[0].metrics.format, CKPTD_FMT_CSV);
		}
		if (i == 3) {
			assert_int_equal(c->runs[0].metrics.key, CKPTD_KEY_STEP);
			assert_int_equal(c->runs[0].metrics.format, CKPTD_FMT_JSONL);
		}
		config_free(c);
		diags_free(&d);
	}
}

static void test_load_missing_file(void **state)
{
	struct ckptd_diags d = { 0 };
	struct ckptd_config *c = (struct ckptd_config *)1;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	(void)state;
	errno = 0;
	assert_int_equal(config_load("/nonexistent/ckptd.yaml", &c, &d), -1);
	assert_int_equal(errno, ENOENT);
	assert_null(c);
	assert_int_equal(d.n, 1);
	assert_int_equal(d.v[0].line, 0);
	assert_non_null(strstr(d.v[0].message, "/nonexistent/ckptd.yaml"));
	assert_non_null(strstr(d.v[0].message, strerror(ENOENT)));
	f = open_memstream(&buf, &len);
	diags_print(&d, f);
	fclose(f);
	assert_string_equal(buf, "/nonexistent/ckptd.yaml: error: cannot read "
	                    "/nonexistent/ckptd.yaml: No such file or directory\n");
	free(buf);
	diags_free(&d);

	assert_int_equal(config_load("/", &c, &d), -1);
	assert_int_equal(errno, EISDIR);
	diags_free(&d);
}

static void test_diags_print(void **state)
{
	struct ckptd_diags d = { 0 };
	struct ckptd_config *c;
	const char *y = RUN_HEAD "    retain: {level: 0}\n";
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	(void)state;
	assert_int_equal(config_parse("/etc/ckptd/ckptd.yaml", y, strlen(y), &c, &d), -1);
	assert_int_equal(errno, EINVAL);
	f = open_memstream(&buf, &len);
	diags_print(&d, f);
	fclose(f);
	assert_string_equal(buf, "/etc/ckptd/ckptd.yaml:6:21: error: "
	                    "level must be between 1 and 19, got 0\n");
	free(buf);
	diags_free(&d);
}

static void test_nul_and_utf8(void **state)
{
	static const char y[] = "runs:\n  - name: \"a\\0b\"\n    dir: /x\n    metrics: {path: m}\n    checkpoints: {pattern: \"{epoch}\"}\n";
	static const char bad[] = "runs:\n  - name: \xff\n";
	(void)state;
	expect_err(y, 2, 11, "NUL");
	expect_err(bad, 2, 11, "invalid");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_syntax_error),
		cmocka_unit_test(test_empty_and_not_mapping),
		cmocka_unit_test(test_runs_shape),
		cmocka_unit_test(test_unknown_key_hint),
		cmocka_unit_test(test_wrong_types),
		cmocka_unit_test(test_out_of_range),
		cmocka_unit_test(test_duplicate_run_name),
		cmocka_unit_test(test_bad_run_name),
		cmocka_unit_test(test_dir),
		cmocka_unit_test(test_missing_required),
		cmocka_unit_test(test_pattern_key),
		cmocka_unit_test(test_copy_without_to),
		cmocka_unit_test(test_signal_without_pidfile),
		cmocka_unit_test(test_unknown_enum),
		cmocka_unit_test(test_mode_not_inferable),
		cmocka_unit_test(test_bad_durations),
		cmocka_unit_test(test_missing_metric),
		cmocka_unit_test(test_require_entries),
		cmocka_unit_test(test_promote_names),
		cmocka_unit_test(test_empty_exec),
		cmocka_unit_test(test_alias_bomb),
		cmocka_unit_test(test_deep_nesting),
		cmocka_unit_test(test_merge_keys),
		cmocka_unit_test(test_multiple_errors_one_pass),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_section_defaults),
		cmocka_unit_test(test_formats),
		cmocka_unit_test(test_path_resolution),
		cmocka_unit_test(test_early_stop_options),
		cmocka_unit_test(test_signals),
		cmocka_unit_test(test_ready),
		cmocka_unit_test(test_select_forms),
		cmocka_unit_test(test_mode_infer),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_criterion_parse),
		cmocka_unit_test(test_bound_parse),
		cmocka_unit_test(test_full_config),
		cmocka_unit_test(test_shipped_configs_load),
		cmocka_unit_test(test_load_missing_file),
		cmocka_unit_test(test_diags_print),
		cmocka_unit_test(test_nul_and_utf8),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
