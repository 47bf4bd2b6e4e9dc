/* bom.c - strip a UTF-8 byte-order mark at the start of a stream. */
#include "ckptd/bom.h"

#define BOM_DONE 3u
static const unsigned char utf8_bom[BOM_DONE] = { 0xEF, 0xBB, 0xBF };

int bom_finish(unsigned *state, bom_sink_fn sink, void *reader)
{
	unsigned held = *state;
	if (held == BOM_DONE)
		return 0;
	*state = BOM_DONE;
	return held ? sink(reader, (const char *)utf8_bom, held) : 0;
}

int bom_feed(unsigned *state, const char *buf, size_t len, bom_sink_fn sink, void *reader)
{
	size_t i = 0;
	while (*state != BOM_DONE && i < len) {
		if ((unsigned char)buf[i] == utf8_bom[*state]) {
			i++;
			++*state;
		} else if (bom_finish(state, sink, reader) < 0) {
			return -1;
		}
	}
	return i < len ? sink(reader, buf + i, len - i) : 0;
}
