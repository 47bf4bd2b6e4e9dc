/* actions.h - what the daemon does to files and processes: promote,
 * prune, stop.  All file work goes through directory fds with *at()
 * calls and never follows a symlink; nothing outside the checkpoints dir,
 * the archive dir, the deploy dir (`promote.to`) and the early-stop touch
 * file is ever written.  In dry-run mode each function logs what it would
 * do ("would promote", "would prune", "would stop") and changes nothing. */
#ifndef CKPTD_ACTIONS_H
#define CKPTD_ACTIONS_H

#include <stdbool.h>
#include <stdint.h>
#include <json-c/json.h>

#include "ckptd/ckptdir.h"
#include "ckptd/config.h"
#include "ckptd/log.h"

struct ckptd_actx {
	const struct ckptd_run *run;
	const struct ckptd_log *log;
	int ckdir;          /* the checkpoints dir, O_DIRECTORY */
	bool dry_run;
};

/* Is the promotion link already the entry (symlink text, hardlink inode)? */
bool action_link_is(const struct ckptd_actx *a, const struct ckptd_entry *e);

/* Point promote.link at e (symlink, hardlink or copy, atomically) and
 * write the manifest (manifest: JSON object, consumed).  0, or -1 with
 * errno and a message in err. */
int action_promote(const struct ckptd_actx *a, const struct ckptd_entry *e,
                   struct json_object *manifest, char *err, size_t errlen);

/* Apply retain.action to e.  On success *bytes is what was freed in the
 * checkpoints dir and archive (size errlen) names the archive or moved
 * name ("" for delete).  The original is removed only after its archive
 * is durable.  0, or -1 with errno and a message in err; the original is
 * then left as it was. */
int action_prune(const struct ckptd_actx *a, const struct ckptd_entry *e,
                 uint64_t *bytes, char *archive, size_t archlen, char *err, size_t errlen);

/* Early stop: touch the STOP file (reason JSON inside), signal the pid in
 * pidfile.  (exec hooks are the caller's: they run asynchronously.)
 * Returns how many of the configured actions failed (each logged). */
int action_stop(const struct ckptd_actx *a, const char *reason_json);

#endif
