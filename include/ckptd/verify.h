/* verify.h - is a checkpoint file complete?  Judged by its format, so that
 * a half-written or truncated checkpoint is never promoted, whatever
 * event announced it.
 *
 * - zip (what torch.save writes, also .keras, .npz): complete only when
 *   the end-of-central-directory record (zip64 included) is present and
 *   consistent: the central directory it points at lies inside the file,
 *   before the record, and starts with a central-directory header.
 * - .safetensors (by name): the 8-byte little-endian header length fits
 *   the file, the header is a JSON object, and the largest data_offsets
 *   end equals the size of the data section.
 * - anything else: no format to judge by; taken as complete. */
#ifndef CKPTD_VERIFY_H
#define CKPTD_VERIFY_H

#include <stddef.h>

enum ckptd_verdict {
	CKPTD_VERIFY_OK,          /* complete in its format */
	CKPTD_VERIFY_UNKNOWN,     /* no format recognized: nothing to judge */
	CKPTD_VERIFY_INCOMPLETE,  /* its format shows it is cut short or torn */
};

/* Verify regular file `name` in directory dirfd, opened with O_NOFOLLOW
 * (a symlink is an error: ELOOP).  Returns 0 with *out set (and a short
 * reason in why when INCOMPLETE), or -1 with errno when it cannot be
 * read (the caller leaves such a file alone). */
int verify_file_at(int dirfd, const char *name, enum ckptd_verdict *out, char *why, size_t whylen);

/* The same on an open file of the given size (for tests and callers that
 * already hold the fd); name only chooses safetensors. */
int verify_fd(int fd, const char *name, long long size, enum ckptd_verdict *out,
              char *why, size_t whylen);

#endif
