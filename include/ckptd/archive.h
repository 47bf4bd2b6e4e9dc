/* archive.h - durable copies and compressed archives of checkpoints.
 *
 * Every function writes to a temporary name in the destination directory
 * (".NAME.XXXXXX.tmp"), fsyncs it, renames it into place and fsyncs the
 * directory: a crash at any moment leaves either nothing or the whole
 * result, plus at most a temporary that archive_clean_tmp() removes.  On
 * any error (ENOSPC included) the temporary is removed and the source is
 * untouched.  Sources are opened relative to a directory fd with
 * O_NOFOLLOW: a symlink is never followed (inside a directory checkpoint,
 * symlinks are archived or copied as symlinks).  These are slow on big
 * checkpoints: the daemon runs them in a child process. */
#ifndef CKPTD_ARCHIVE_H
#define CKPTD_ARCHIVE_H

#include <stddef.h>
#include <stdint.h>

struct ckptd_archive_stats {
	uint64_t bytes_in;   /* bytes of file content read */
	uint64_t bytes_out;  /* bytes of the result */
};

/* Regular file srcdir/name -> dstdir/name.zst (a zstd frame, readable by
 * `zstd -d`); directory srcdir/name -> dstdir/name.tar.zst (a pax tar
 * written by libarchive, zstd-compressed, readable by `tar --zstd -xf`).
 * The result name is written to out_name (size out_len).  An existing
 * result of that name is replaced.  0, or -1 with errno. */
int archive_compress_at(int srcdir, const char *name, int dstdir, int level,
                        char *out_name, size_t out_len, struct ckptd_archive_stats *st);

/* Copy regular file or directory srcdir/name to dstdir/dstname (replaced
 * atomically if it exists; a directory replaces a directory by renaming
 * the old one aside first and removing it after).  0, or -1 with errno. */
int archive_copy_at(int srcdir, const char *name, int dstdir, const char *dstname,
                    struct ckptd_archive_stats *st);

/* Remove srcdir/name, a regular file or a whole directory tree, without
 * following any symlink (unlinkat on the link itself).  0, or -1 with
 * errno (what could be removed is removed). */
int archive_remove_at(int dir, const char *name);

/* Remove temporaries these functions left in dir after a crash
 * (".*.tmp" names of their own pattern only).  Returns how many, or -1. */
int archive_clean_tmp(int dir);

#endif
