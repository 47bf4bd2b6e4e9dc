/* array.c - grow a malloc'd array by doubling. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ckptd/array.h"

int array_grow(void *pptr, size_t *cap, size_t need, size_t sz, size_t first)
{
	if (need <= *cap)
		return 0;
	size_t n = *cap ? *cap : first;
	while (n < need) {
		if (n > SIZE_MAX / 2) {
			errno = ENOMEM;
			return -1;
		}
		n *= 2;
	}
	if (sz && n > SIZE_MAX / sz) {
		errno = ENOMEM;
		return -1;
	}
	/* The pointer is read and written through memcpy: pptr points to a
	 * pointer of some object type, and accessing it as a void * would
	 * break C's aliasing rules (POSIX gives all pointers one
	 * representation). */
	void *p, *q;
	memcpy(&p, pptr, sizeof p);
	if (!(q = realloc(p, n * sz)))
		return -1;
	memcpy(pptr, &q, sizeof q);
	*cap = n;
	return 0;
}
