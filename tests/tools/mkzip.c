/* mkzip OUT SIZE [CUT]: write a stored (uncompressed) zip holding one
 * member of SIZE pseudo-random bytes, the way torch.save lays one out
 * (local header, data, central directory, end record); with CUT, only the
 * first CUT bytes (a checkpoint caught mid-write).  For the tests. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void le(FILE *f, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		fputc((int)((v >> (8 * i)) & 0xff), f);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: mkzip OUT SIZE [CUT]\n");
		return 64;
	}
	unsigned long size = strtoul(argv[2], NULL, 10);
	long cut = argc > 3 ? atol(argv[3]) : -1;
	const char *name = "archive/data.pkl";
	uint16_t nl = (uint16_t)strlen(name);
	char *tmp = NULL;
	size_t tlen = 0;
	FILE *f = open_memstream(&tmp, &tlen);
	if (!f)
		return 71;
	/* local file header */
	le(f, 0x04034b50, 4); le(f, 20, 2); le(f, 0, 2); le(f, 0, 2); le(f, 0, 2); le(f, 0, 2);
	le(f, 0, 4); le(f, size, 4); le(f, size, 4); le(f, nl, 2); le(f, 0, 2);
	fwrite(name, 1, nl, f);
	uint32_t x = 2463534242u;
	for (unsigned long i = 0; i < size; i++) {
		x ^= x << 13; x ^= x >> 17; x ^= x << 5;
		fputc((int)(x & 0xff), f);
	}
	fflush(f);
	uint64_t cd = tlen;
	/* central directory */
	le(f, 0x02014b50, 4); le(f, 20, 2); le(f, 20, 2); le(f, 0, 2); le(f, 0, 2); le(f, 0, 2);
	le(f, 0, 2); le(f, 0, 4); le(f, size, 4); le(f, size, 4); le(f, nl, 2); le(f, 0, 2);
	le(f, 0, 2); le(f, 0, 2); le(f, 0, 2); le(f, 0, 4); le(f, 0, 4);
	fwrite(name, 1, nl, f);
	fflush(f);
	uint64_t cdsize = tlen - cd;
	/* end of central directory */
	le(f, 0x06054b50, 4); le(f, 0, 2); le(f, 0, 2); le(f, 1, 2); le(f, 1, 2);
	le(f, cdsize, 4); le(f, cd, 4); le(f, 0, 2);
	fclose(f);
	FILE *out = fopen(argv[1], "wb");
	size_t n = cut >= 0 && (size_t)cut < tlen ? (size_t)cut : tlen;
	if (!out || fwrite(tmp, 1, n, out) != n || fclose(out) != 0) {
		perror("mkzip");
		free(tmp);
		return 74;
	}
	free(tmp);
	return 0;
}
