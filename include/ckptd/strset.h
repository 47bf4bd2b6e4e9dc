/* strset.h - a small set of strings (names of files being written, what a
 * dry run already reported).  Linear: these sets hold a handful. */
#ifndef CKPTD_STRSET_H
#define CKPTD_STRSET_H

#include <stdbool.h>
#include <stddef.h>

struct strset {
	char **v;
	size_t n;
};

bool strset_has(const struct strset *s, const char *name);
/* 0, or -1 with errno ENOMEM (the set is unchanged). */
int strset_add(struct strset *s, const char *name);
void strset_del(struct strset *s, const char *name);
void strset_free(struct strset *s);

#endif
