/* retain.h - which checkpoints to keep, pure.
 *
 * Keep the union of: the selected best, the top `best` in selection order,
 * the newest `last` by key, keys divisible by `every`, pinned keys, and
 * unscored ones (unless `unscored: prune`).  Checkpoints that are not
 * ready (still being written) or could not be read are never candidates
 * for pruning.  Never leave fewer than one scored checkpoint. */
#ifndef CKPTD_RETAIN_H
#define CKPTD_RETAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ckptd/config.h"
#include "ckptd/records.h"

enum ckptd_keep_why {
	CKPTD_KEEP_NO = 0,         /* prune it */
	CKPTD_KEEP_BEST = 1 << 0,  /* the selected one */
	CKPTD_KEEP_TOP = 1 << 1,   /* among the top `best` */
	CKPTD_KEEP_LAST = 1 << 2,  /* among the newest `last` */
	CKPTD_KEEP_EVERY = 1 << 3,
	CKPTD_KEEP_PINNED = 1 << 4,
	CKPTD_KEEP_UNSCORED = 1 << 5,
	CKPTD_KEEP_NOT_READY = 1 << 6,
	CKPTD_KEEP_LAST_SCORED = 1 << 7, /* the only scored one left */
};

struct ckptd_retain_item {
	int64_t key;
	bool ready;      /* complete and readable */
	unsigned keep;   /* out: CKPTD_KEEP_* bits, 0 = prune */
};

/* Decide keep bits for items (any order; keys may repeat: each item is
 * judged by its key).  r and sel score and rank them; pins lists pinned
 * keys.  Returns 0, or -1 with errno ENOMEM. */
int retain_decide(const struct ckptd_records *r, const struct ckptd_select *sel,
                  const struct ckptd_retain *ret, const int64_t *pins, size_t npins,
                  struct ckptd_retain_item *items, size_t n);

/* "best,top" etc. for logs and status: the reasons in words. */
void retain_why(unsigned keep, char *buf, size_t len);

#endif
