/* pattern.h - checkpoint names <-> keys.
 *
 * A pattern is literal text with {epoch} and {step} (each a run of ASCII
 * digits) and * (any run of characters other than '/').  Matching is of
 * the whole name; the first way that matches wins (leftmost, shortest *).
 * A number too large for int64_t does not match. */
#ifndef CKPTD_PATTERN_H
#define CKPTD_PATTERN_H

#include <stdbool.h>
#include <stdint.h>

#include "ckptd/config.h"

/* Check a pattern: 0, or -1 with a message (unknown {field}, '/', no
 * {epoch}/{step} for key, empty). */
int pattern_check(const char *pattern, enum ckptd_key key, char *err, size_t errlen);

/* Does name match?  On a match *key is the value of the key field. */
bool pattern_match(const char *pattern, enum ckptd_key key, const char *name, int64_t *key_out);

#endif
