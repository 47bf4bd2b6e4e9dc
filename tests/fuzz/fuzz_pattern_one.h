/* fuzz_pattern_one.h - one fuzz input for the checkpoint-name matcher:
 * the bytes up to the first NUL or newline are the pattern, the rest the
 * name (up to its own first NUL).  pattern_check, then pattern_match
 * with both keys; a match must give a key >= 0.  Returns 0, or -1 when a
 * property fails (the caller traps). */
#ifndef CKPTD_FUZZ_PATTERN_ONE_H
#define CKPTD_FUZZ_PATTERN_ONE_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ckptd/pattern.h"

static int fuzz_pattern_one(const uint8_t *data, size_t size)
{
	size_t cut = 0;
	while (cut < size && data[cut] != '\0' && data[cut] != '\n')
		cut++;
	char *pattern = malloc(cut + 1);
	size_t nlen = cut < size ? size - cut - 1 : 0;
	char *name = malloc(nlen + 1);
	int rc = 0;
	if (!pattern || !name)
		goto out;
	memcpy(pattern, data, cut);
	pattern[cut] = '\0';
	if (nlen)
		memcpy(name, data + cut + 1, nlen);
	name[nlen] = '\0';

	static const enum ckptd_key keys[] = { CKPTD_KEY_EPOCH, CKPTD_KEY_STEP };
	for (size_t i = 0; i < 2; i++) {
		char err[256];
		err[0] = '\0';
		if (pattern_check(pattern, keys[i], err, sizeof err) < 0 && err[0] == '\0')
			rc = -1; /* a refusal always says why */
		int64_t key = -1;
		if (pattern_match(pattern, keys[i], name, &key) && key < 0)
			rc = -1;
		/* the name matches itself when it has no pattern syntax */
		if (name[0] && !strpbrk(name, "*{") && pattern_match(name, keys[i], name, &key))
			rc = -1; /* no {epoch}/{step} field: never a key */
	}
out:
	free(pattern);
	free(name);
	return rc;
}

#endif
