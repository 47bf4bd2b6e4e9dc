/* confval.c - the small textual values that a config and the command line
 * share: modes inferred from metric names, durations, "METRIC:mode@TOL"
 * criteria and "METRIC>=X" bounds.  Declared in config.h; no YAML here. */
#include "ckptd/config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "mape" is an error although it starts like "map"; min words win. */
static const char *const confval_min_words[] = {
	"loss", "error", "err", "mse", "mae", "mape", "perplexity", "ppl", NULL
};
static const char *const confval_max_words[] = {
	"acc", "auc", "f1", "precision", "recall", "sensitivity", "specificity",
	"iou", "dice", "map", "bleu", "rouge", NULL
};

/* Does any word of name start with one of prefixes (ASCII, any case)? */
static bool confval_has_word(const char *name, const char *const *prefixes)
{
	const char *p = name;

	while (*p) {
		const char *end;

		while (*p && !isalnum((unsigned char)*p))
			p++;
		end = p;
		while (*end && isalnum((unsigned char)*end))
			end++;
		for (const char *const *w = prefixes; *w && end > p; w++) {
			size_t n = strlen(*w);

			if ((size_t)(end - p) >= n && !strncasecmp(p, *w, n))
				return true;
		}
		p = end;
	}
	return false;
}

bool mode_infer(const char *metric, enum ckptd_mode *out)
{
	if (confval_has_word(metric, confval_min_words)) {
		*out = CKPTD_MIN;
		return true;
	}
	if (confval_has_word(metric, confval_max_words)) {
		*out = CKPTD_MAX;
		return true;
	}
	return false;
}

const char *mode_name(enum ckptd_mode m)
{
	return m == CKPTD_MAX ? "max" : "min";
}

int duration_parse(const char *s, int64_t *ms)
{
	static const struct { const char *unit; int64_t ms; } units[] = {
		/* "ms" before "m" */
		{ "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 }, { "d", 86400000 },
	};
	int64_t total = 0;
	const char *p = s;

	if (!s || !*s)
		return -1;
	while (*p) {
		int64_t n = 0, mult = 0;

		if (!isdigit((unsigned char)*p))
			return -1;
		for (; isdigit((unsigned char)*p); p++) {
			if (n > (INT64_MAX - (*p - '0')) / 10)
				return -1;
			n = n * 10 + (*p - '0');
		}
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			size_t len = strlen(units[i].unit);

			if (!strncmp(p, units[i].unit, len) && !isalpha((unsigned char)p[len])) {
				mult = units[i].ms;
				p += len;
				break;
			}
		}
		if (!mult || n > INT64_MAX / mult || total > INT64_MAX - n * mult)
			return -1;
		total += n * mult;
	}
	*ms = total;
	return 0;
}

/* A whole decimal, finite number (strtod alone takes hex, nan, inf). */
static int confval_number(const char *s, double *out)
{
	char *end;
	double x;

	if (!*s || isspace((unsigned char)*s) || strpbrk(s, "xXnNiI"))
		return -1;
	errno = 0;
	x = strtod(s, &end);
	if (end == s || *end || !isfinite(x))
		return -1;
	*out = x;
	return 0;
}

int criterion_parse(const char *s, struct ckptd_criterion *out, char *err, size_t errlen)
{
	const char *at = strrchr(s, '@');
	size_t len = at ? (size_t)(at - s) : strlen(s);
	const char *colon = memrchr(s, ':', len);
	size_t mlen = colon ? (size_t)(colon - s) : len;
	struct ckptd_criterion c = { NULL, CKPTD_MIN, 0 };
	bool have_mode = false;

	if (mlen == 0) {
		snprintf(err, errlen, "'%s': no metric name", s);
		return -1;
	}
	if (colon) {
		size_t n = len - mlen - 1;

		if (n == 3 && !strncmp(colon + 1, "min", 3))
			c.mode = CKPTD_MIN;
		else if (n == 3 && !strncmp(colon + 1, "max", 3))
			c.mode = CKPTD_MAX;
		else {
			snprintf(err, errlen, "'%s': unknown mode '%.*s' (min or max)", s, (int)n, colon + 1);
			return -1;
		}
		have_mode = true;
	}
	if (at && (confval_number(at + 1, &c.tolerance) < 0 || c.tolerance < 0)) {
		snprintf(err, errlen, "'%s': tolerance must be a number >= 0", s);
		return -1;
	}
	c.metric = strndup(s, mlen);
	if (!c.metric) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (!have_mode && !mode_infer(c.metric, &c.mode)) {
		snprintf(err, errlen, "cannot tell whether '%s' is better low or high: "
		         "write %s:min or %s:max", c.metric, c.metric, c.metric);
		free(c.metric);
		return -1;
	}
	*out = c;
	return 0;
}

int bound_parse(const char *s, struct ckptd_bound *out, char *err, size_t errlen)
{
	const char *ge = strstr(s, ">="), *le = strstr(s, "<=");
	const char *op = ge && (!le || ge < le) ? ge : le;
	const char *m = s, *mend, *num;
	struct ckptd_bound b = { 0 };
	double x;

	if (!op) {
		snprintf(err, errlen, "'%s': expected METRIC>=X or METRIC<=X", s);
		return -1;
	}
	while (isspace((unsigned char)*m))
		m++;
	for (mend = op; mend > m && isspace((unsigned char)mend[-1]); mend--)
		;
	for (num = op + 2; isspace((unsigned char)*num); num++)
		;
	if (mend == m) {
		snprintf(err, errlen, "'%s': no metric name", s);
		return -1;
	}
	if (confval_number(num, &x) < 0) {
		snprintf(err, errlen, "'%s': '%s' is not a finite number", s, num);
		return -1;
	}
	b.metric = strndup(m, (size_t)(mend - m));
	if (!b.metric) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (op == ge) {
		b.has_min = true;
		b.min = x;
	} else {
		b.has_max = true;
		b.max = x;
	}
	*out = b;
	return 0;
}
