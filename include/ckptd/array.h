/* array.h - grow a malloc'd array by doubling. */
#ifndef CKPTD_ARRAY_H
#define CKPTD_ARRAY_H

#include <stddef.h>

/* pptr is the address of a pointer to the array (any object type); grow
 * it to hold at least need elements of size sz, starting at first.
 * 0, or -1 with errno ENOMEM (the array is unchanged). */
int array_grow(void *pptr, size_t *cap, size_t need, size_t sz, size_t first);

#endif
