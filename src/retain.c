/* retain.c - which checkpoints to keep: pure. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckptd/policy.h"
#include "ckptd/retain.h"

static bool in_list(const int64_t *v, size_t n, int64_t key)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == key)
			return true;
	return false;
}

static int cmp_desc(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x < y) - (x > y);
}

/* The distinct ready keys, newest first. */
static size_t ready_keys(const struct ckptd_retain_item *items, size_t n, int64_t *out)
{
	size_t m = 0;
	for (size_t i = 0; i < n; i++)
		if (items[i].ready)
			out[m++] = items[i].key;
	qsort(out, m, sizeof(*out), cmp_desc);
	size_t w = 0;
	for (size_t i = 0; i < m; i++)
		if (w == 0 || out[w - 1] != out[i])
			out[w++] = out[i];
	return w;
}

int retain_decide(const struct ckptd_records *r, const struct ckptd_select *sel,
                  const struct ckptd_retain *ret, const int64_t *pins, size_t npins,
                  struct ckptd_retain_item *items, size_t n)
{
	size_t ntop = ret->best > 0 ? (size_t)ret->best : 1;
	int64_t *keys = malloc((n ? n : 1) * sizeof(*keys));
	int64_t *top = malloc(ntop * sizeof(*top));
	if (!keys || !top) {
		free(keys);
		free(top);
		errno = ENOMEM;
		return -1;
	}
	size_t nkeys = ready_keys(items, n, keys);
	long ranked = policy_rank(r, sel, keys, nkeys, top, ntop);
	if (ranked < 0) {
		free(keys);
		free(top);
		return -1;
	}
	size_t nlast = ret->last > 0 ? (size_t)ret->last : 0;
	if (nlast > nkeys)
		nlast = nkeys;

	bool kept_scored = false;
	for (size_t i = 0; i < n; i++) {
		struct ckptd_retain_item *it = &items[i];
		const struct ckptd_record *rec = records_find(r, it->key);
		bool scored = rec && policy_scored(r, rec, sel);
		unsigned k = 0;
		if (!it->ready)
			k |= CKPTD_KEEP_NOT_READY;
		if (ranked > 0 && top[0] == it->key)
			k |= CKPTD_KEEP_BEST;
		if (in_list(top, (size_t)ranked, it->key))
			k |= CKPTD_KEEP_TOP;
		if (in_list(keys, nlast, it->key)) /* keys is newest first */
			k |= CKPTD_KEEP_LAST;
		if (ret->every > 0 && it->key % ret->every == 0)
			k |= CKPTD_KEEP_EVERY;
		if (in_list(pins, npins, it->key))
			k |= CKPTD_KEEP_PINNED;
		if (!scored && !ret->unscored_prune)
			k |= CKPTD_KEEP_UNSCORED;
		it->keep = k;
		if (k && scored)
			kept_scored = true;
	}
	/* A scored checkpoint always stays: if the rules above kept none (say,
	 * only unscored ones are ready and `require` rejects the rest), keep
	 * the newest ready scored one. */
	if (!kept_scored) {
		struct ckptd_retain_item *newest = NULL;
		for (size_t i = 0; i < n; i++) {
			const struct ckptd_record *rec = records_find(r, items[i].key);
			if (items[i].ready && rec && policy_scored(r, rec, sel) &&
			    (!newest || items[i].key > newest->key))
				newest = &items[i];
		}
		if (newest)
			newest->keep |= CKPTD_KEEP_LAST_SCORED;
	}
	free(keys);
	free(top);
	return 0;
}

void retain_why(unsigned keep, char *buf, size_t len)
{
	static const char *const names[] = {
		"best", "top", "last", "every", "pinned", "unscored", "not-ready", "last-scored",
	};
	size_t off = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
		if (!(keep & (1u << i)))
			continue;
		int w = snprintf(buf + off, len - off, "%s%s", off ? "," : "", names[i]);
		if (w < 0 || (size_t)w >= len - off)
			return;
		off += (size_t)w;
	}
	if (!off)
		snprintf(buf, len, "prune");
}
