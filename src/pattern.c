/* pattern.c - checkpoint names <-> keys.
 *
 * Written by hand: fnmatch(3) cannot capture the digits of {epoch}, and a
 * regex engine would let a pattern with many '*' backtrack exponentially.
 * This matcher memoizes failed (token, position) pairs, so any pattern
 * matches any name in O(tokens * len^2). */
#include <stdio.h>
#include <string.h>

#include "ckptd/pattern.h"

#define MAX_TOKENS 64
#define MAX_NAME 255 /* NAME_MAX: longer names are never checkpoints */

enum tok_type { TOK_LIT, TOK_EPOCH, TOK_STEP, TOK_STAR };

struct tok {
	enum tok_type type;
	const char *lit;
	size_t len;
};

struct matcher {
	const struct tok *toks;
	size_t ntoks;
	enum tok_type key_tok;
	const char *name;
	size_t len;
	int64_t key;
	unsigned char failed[MAX_TOKENS + 1][(MAX_NAME + 1 + 7) / 8];
};

/* Split a pattern into tokens; -1 with a message when it is malformed. */
static long tokenize(const char *p, struct tok *toks, char *err, size_t errlen)
{
	size_t n = 0;
	while (*p) {
		if (n == MAX_TOKENS) {
			snprintf(err, errlen, "pattern has more than %d parts", MAX_TOKENS);
			return -1;
		}
		if (*p == '*') {
			toks[n++] = (struct tok){ TOK_STAR, NULL, 0 };
			while (*p == '*') /* "**" is "*" */
				p++;
		} else if (*p == '{') {
			const char *end = strchr(p, '}');
			size_t len = end ? (size_t)(end - p - 1) : 0;
			if (end && len == 5 && strncmp(p + 1, "epoch", 5) == 0) {
				toks[n++] = (struct tok){ TOK_EPOCH, NULL, 0 };
			} else if (end && len == 4 && strncmp(p + 1, "step", 4) == 0) {
				toks[n++] = (struct tok){ TOK_STEP, NULL, 0 };
			} else if (!end) {
				snprintf(err, errlen, "pattern has '{' without '}'");
				return -1;
			} else {
				snprintf(err, errlen, "pattern has unknown field '{%.*s}' (expected {epoch} or {step})",
				         (int)(len > 32 ? 32 : len), p + 1);
				return -1;
			}
			p = end + 1;
		} else {
			size_t len = strcspn(p, "*{");
			toks[n++] = (struct tok){ TOK_LIT, p, len };
			p += len;
		}
	}
	return (long)n;
}

int pattern_check(const char *pattern, enum ckptd_key key, char *err, size_t errlen)
{
	struct tok toks[MAX_TOKENS];
	if (!*pattern) {
		snprintf(err, errlen, "pattern is empty");
		return -1;
	}
	if (strchr(pattern, '/')) {
		snprintf(err, errlen, "pattern must name entries of the checkpoints dir, without '/'");
		return -1;
	}
	if (strlen(pattern) > MAX_NAME) {
		snprintf(err, errlen, "pattern is longer than %d characters", MAX_NAME);
		return -1;
	}
	long n = tokenize(pattern, toks, err, errlen);
	if (n < 0)
		return -1;
	enum tok_type want = key == CKPTD_KEY_STEP ? TOK_STEP : TOK_EPOCH;
	int seen = 0;
	for (long i = 0; i < n; i++) {
		if (toks[i].type == want)
			seen++;
		if (i > 0 && toks[i].type != TOK_LIT && toks[i - 1].type != TOK_LIT) {
			snprintf(err, errlen, "pattern has two fields with nothing between them; "
			         "put literal text between {...} and *");
			return -1;
		}
	}
	const char *field = key == CKPTD_KEY_STEP ? "{step}" : "{epoch}";
	if (seen == 0) {
		snprintf(err, errlen, "pattern has no %s, but metrics.key is %s",
		         field, key == CKPTD_KEY_STEP ? "step" : "epoch");
		return -1;
	}
	if (seen > 1) {
		snprintf(err, errlen, "pattern has %s more than once", field);
		return -1;
	}
	return 0;
}

static bool digits_value(const char *s, size_t len, int64_t *out)
{
	int64_t v = 0;
	for (size_t i = 0; i < len; i++) {
		int d = s[i] - '0';
		if (v > (INT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

static bool match_at(struct matcher *m, size_t t, size_t pos)
{
	if (t == m->ntoks)
		return pos == m->len;
	unsigned char *bit = &m->failed[t][pos / 8];
	unsigned char mask = (unsigned char)(1u << (pos % 8));
	if (*bit & mask)
		return false;

	const struct tok *tk = &m->toks[t];
	switch (tk->type) {
	case TOK_LIT:
		if (m->len - pos >= tk->len && memcmp(m->name + pos, tk->lit, tk->len) == 0 &&
		    match_at(m, t + 1, pos + tk->len))
			return true;
		break;
	case TOK_STAR: /* shortest first */
		for (size_t end = pos; end <= m->len; end++)
			if (match_at(m, t + 1, end))
				return true;
		break;
	case TOK_EPOCH:
	case TOK_STEP: {
		size_t end = pos;
		while (end < m->len && m->name[end] >= '0' && m->name[end] <= '9')
			end++;
		/* longest run of digits first: "epoch=12.ckpt" is 12, not 1 */
		for (; end > pos; end--) {
			int64_t v = 0;
			if (tk->type == m->key_tok && !digits_value(m->name + pos, end - pos, &v))
				continue;
			if (match_at(m, t + 1, end)) {
				if (tk->type == m->key_tok)
					m->key = v;
				return true;
			}
		}
		break;
	}
	}
	*bit |= mask;
	return false;
}

bool pattern_match(const char *pattern, enum ckptd_key key, const char *name, int64_t *key_out)
{
	struct tok toks[MAX_TOKENS];
	char err[128];
	size_t len = strlen(name);
	if (len == 0 || len > MAX_NAME || strlen(pattern) > MAX_NAME)
		return false;
	long n = tokenize(pattern, toks, err, sizeof(err));
	if (n < 0)
		return false;
	struct matcher m = {
		.toks = toks, .ntoks = (size_t)n, .name = name, .len = len, .key = -1,
		.key_tok = key == CKPTD_KEY_STEP ? TOK_STEP : TOK_EPOCH,
	};
	memset(m.failed, 0, sizeof(m.failed));
	if (!match_at(&m, 0, 0) || m.key < 0)
		return false;
	*key_out = m.key;
	return true;
}
