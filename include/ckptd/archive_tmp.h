/* archive_tmp.h - the temporary-then-rename discipline shared by
 * src/archive.c (compress) and src/copy.c (copy, remove); see archive.h
 * for the functions callers use.  Temporaries are named
 * ".FINAL.XXXXXX.tmp" (XXXXXX: six of [A-Za-z0-9]) in the directory of
 * their final name; archive_clean_tmp() recognizes exactly that shape. */
#ifndef CKPTD_ARCHIVE_TMP_H
#define CKPTD_ARCHIVE_TMP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

/* Room for a temporary's name. */
#define ARCHIVE_TMP_NAME_MAX 256

/* Is name one path component a checkpoint may have: not empty, no '/',
 * not "." or ".."? */
bool archive_tmp_valid_name(const char *name);

/* A fresh temporary name for final, ".FINAL.XXXXXX.tmp" with random
 * letters, into tmp (ARCHIVE_TMP_NAME_MAX bytes).  0, or -1 with errno
 * (ENAMETOOLONG when final leaves no room for the suffix). */
int archive_tmp_name(const char *final, char *tmp);

/* Is name a temporary of ours (".FINAL.XXXXXX.tmp")? */
bool archive_tmp_is_ours(const char *name);
/* Is name a temporary of ours for final (".FINAL.XXXXXX.tmp")?  false
 * when final is NULL. */
bool archive_tmp_is_ours_for(const char *name, const char *final);

/* Create a new temporary for `final` in dir, exclusively, never following
 * a symlink: a regular file opened for writing (mkdir false) or a
 * directory opened for reading (mkdir true), with the given mode.  Its
 * name goes to tmp (ARCHIVE_TMP_NAME_MAX bytes).  Returns the fd, or -1
 * with errno (ENAMETOOLONG when final leaves no room for the suffix). */
int archive_tmp_create(int dir, const char *final, bool mkdir, mode_t mode, char *tmp);

/* Write all n bytes (EINTR and short writes handled).  0, or -1 errno. */
int archive_tmp_write(int fd, const void *buf, size_t n);

/* Finish a temporary: fsync fd, close it, rename tmp to final in dir
 * (an existing directory final is swapped out and removed; a file never
 * replaces a directory nor a directory a file), fsync dir.  On failure
 * before the rename the temporary is removed.  fd is closed in every
 * case.  0, or -1 with errno; -1 after the rename (only the directory
 * fsync failed) leaves the result in place. */
int archive_tmp_commit(int fd, int dir, const char *tmp, const char *final);

/* Abandon a temporary: close fd (when >= 0) and remove tmp from dir,
 * keeping errno as it was. */
void archive_tmp_abort(int fd, int dir, const char *tmp);

/* Open name in dir for reading, never following a symlink, and check it
 * is still the file or directory *expect (from fstatat) described:
 * EAGAIN when it was replaced since.  *st gets its fstat.  fd or -1. */
int archive_tmp_open_same(int dir, const char *name, const struct stat *expect, struct stat *st);

/* Check a source entry before copying or archiving it: *want gets its
 * lstat; a symlink is ELOOP, anything but a regular file or a directory
 * EINVAL.  0, or -1 with errno. */
int archive_tmp_stat_source(int dir, const char *name, struct stat *want);

/* The text of symlink name in dir, NUL-terminated, into target (len
 * bytes).  0, or -1 with errno (ENAMETOOLONG when it does not fit). */
int archive_tmp_readlink(int dir, const char *name, char *target, size_t len);

/* The names in directory fd dir (without "." and ".."), sorted; *names
 * is an array of *n strings freed with archive_tmp_names_free.  The
 * directory is read through its own descriptor: dir's offset is not
 * used.  0, or -1 with errno. */
int archive_tmp_names(int dir, char ***names, size_t *n);
void archive_tmp_names_free(char **names, size_t n);

#endif
