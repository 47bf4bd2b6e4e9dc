/* bom.h - strip a UTF-8 byte-order mark at the start of a stream fed in
 * pieces (a BOM may arrive split across feeds). */
#ifndef CKPTD_BOM_H
#define CKPTD_BOM_H

#include <stddef.h>

#define BOM_START 0u /* state of a new stream */

/* Where the bytes after the BOM go: a reader's scan function. */
typedef int (*bom_sink_fn)(void *reader, const char *p, size_t n);

/* Pass buf to sink without a leading BOM.  Bytes that began like a BOM but
 * were not one are passed on.  Returns what sink returns (0 or -1). */
int bom_feed(unsigned *state, const char *buf, size_t len, bom_sink_fn sink, void *reader);
/* End of stream: pass on a held partial BOM. */
int bom_finish(unsigned *state, bom_sink_fn sink, void *reader);

#endif
