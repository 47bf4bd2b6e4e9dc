/* strset.c - a small set of strings. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ckptd/strset.h"

bool strset_has(const struct strset *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i], name) == 0)
			return true;
	return false;
}

int strset_add(struct strset *s, const char *name)
{
	if (strset_has(s, name))
		return 0;
	char **v = realloc(s->v, (s->n + 1) * sizeof(*v));
	if (!v)
		return -1;
	s->v = v;
	if (!(v[s->n] = strdup(name))) {
		errno = ENOMEM;
		return -1;
	}
	s->n++;
	return 0;
}

void strset_del(struct strset *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++) {
		if (strcmp(s->v[i], name) == 0) {
			free(s->v[i]);
			s->v[i] = s->v[--s->n];
			return;
		}
	}
}

void strset_free(struct strset *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	s->v = NULL;
	s->n = 0;
}
