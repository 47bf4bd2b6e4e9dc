/* atomic.h - replace a file so that a crash at any moment leaves either
 * the old content or the new: a temporary in the same directory
 * (".NAME.XXXXXX.tmp", ignored by the checkpoint scanner), fsync, rename
 * over NAME, fsync the directory.  On failure the temporary is removed. */
#ifndef CKPTD_ATOMIC_H
#define CKPTD_ATOMIC_H

#include <stddef.h>
#include <sys/types.h>

/* 0, or -1 with errno. */
int atomic_write_at(int dirfd, const char *name, const void *data, size_t len, mode_t mode);

/* Replace link NAME in dirfd by a symlink to target (relative, as given),
 * atomically.  0, or -1 with errno. */
int atomic_symlink_at(int dirfd, const char *target, const char *name);

/* Replace NAME by a hard link to target (both in dirfd), atomically. */
int atomic_hardlink_at(int dirfd, const char *target, const char *name);

/* Read a whole small file (at most max bytes) relative to dirfd into a
 * NUL-terminated malloc'd buffer.  NULL with errno (ENOENT: missing,
 * EFBIG: too large). */
char *read_small_at(int dirfd, const char *name, size_t max, size_t *len);

#endif
