/* ckptdir.h - one checkpoint directory: its entries and their readiness.
 *
 * An entry whose name matches the run's pattern is a checkpoint: a regular
 * file or a directory.  Symlinks are never checkpoints; names starting
 * with '.' or ending in .tmp, .part, .partial, .incomplete are a writer's
 * temporaries and ignored.  Readiness: `close` (a file already there, or
 * closed after writing, or renamed in), `marker:NAME` (a directory with
 * NAME inside), `settle:D` (size and mtime unchanged for D); files must
 * also pass verify (verify: auto). */
#ifndef CKPTD_CKPTDIR_H
#define CKPTD_CKPTDIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ckptd/config.h"

struct ckptd_entry {
	char *name;
	int64_t key;
	bool is_dir;
	bool ready;          /* complete: may be promoted */
	bool unreadable;     /* could not be examined: left alone */
	int64_t size;        /* bytes (a directory: sum of regular files) */
	int64_t mtime_ns;    /* newest mtime (a directory: of any entry inside) */
	char why[96];        /* why not ready, for logs */
};

struct ckptd_entries {
	struct ckptd_entry *v;
	size_t n;
};

/* Is this a name the daemon ignores (temporaries, hidden)? */
bool ckptdir_ignored_name(const char *name);

/* Scan directory fd dirfd (the checkpoints dir) with the run's settings.
 * now_ns is CLOCK_REALTIME (for settle).  Entries sorted by key, then
 * name.  0, or -1 with errno (the directory could not be read). */
int ckptdir_scan(int dirfd, const struct ckptd_run *run, int64_t now_ns, struct ckptd_entries *out);
void ckptdir_free(struct ckptd_entries *e);

/* One entry per key, the newest by mtime, among ready ones: NULL if none. */
const struct ckptd_entry *ckptdir_find(const struct ckptd_entries *e, int64_t key);

#endif
