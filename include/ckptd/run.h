/* run.h - one watched run: ties the pieces together.
 *
 * Data flows one way: log bytes -> records -> decisions -> actions ->
 * state/events.  runner_decide() is called whenever something changed
 * (new records, a checkpoint became ready, pins changed); it takes every
 * action the policy calls for and reports each in events.jsonl, and is
 * idempotent: calling it again with nothing new does nothing. */
#ifndef CKPTD_RUN_H
#define CKPTD_RUN_H

#include <stdbool.h>
#include <stdint.h>

#include "ckptd/ckptdir.h"
#include "ckptd/config.h"
#include "ckptd/hook.h"
#include "ckptd/log.h"
#include "ckptd/reader.h"
#include "ckptd/records.h"
#include "ckptd/state.h"
#include "ckptd/strset.h"
#include "ckptd/tail.h"

#define CKPTD_LOG_PREFIX 4096

/* Slow work running in a child process (compress, move, a promotion by
 * copy), one at a time per run: the loop watches
 * child.pidfd and calls runner_child_done(). */
struct ckptd_slow {
	bool active;
	bool promote;                  /* a copy promotion, not a prune */
	struct json_object *manifest;  /* promote: the manifest the child writes */
	struct ckptd_child child;
	struct ckptd_entry entry;      /* a copy; entry.name owned */
	char archive[512];
};

struct ckptd_runner {
	const struct ckptd_run *cfg;
	const struct ckptd_log *log;
	bool dry_run;
	struct ckptd_statedir sd;
	struct ckptd_state st;
	struct ckptd_records *records;
	struct ckptd_reader_stats stats;
	bool log_missing;
	int ckdir;                     /* -1 while the checkpoints dir does not exist */
	struct ckptd_entries entries;
	struct ckptd_metrics *reader;  /* incremental: fed by the daemon's tail */
	/* what of the log was delivered, to resume after a restart */
	uint64_t delivered, complete;  /* bytes; complete: up to the last newline */
	char prefix[CKPTD_LOG_PREFIX]; /* the first bytes delivered */
	size_t prefix_n;
	bool records_dirty;
	struct strset writing;         /* files opened for writing, not closed yet */
	struct strset dry_seen;        /* dry run: prunes already reported */
	bool async;                    /* slow work goes to children (the daemon) */
	bool polling;                  /* the checkpoints dir is polled, not watched */
	unsigned warned_nosys;         /* said once that children cannot be watched */
	/* after a failed prune (a full disk, say) the next try waits, 1 s
	 * doubling to 60 s, so a lasting fault does not spin the loop */
	int64_t prune_backoff_ms;
	int64_t prune_retry_at;        /* CLOCK_MONOTONIC ms; 0 = now */
	struct ckptd_slow slow;
	/* async: hand a started child (a hook, or slow.child) to the loop,
	 * which reaps it and kills a hook still running after its timeout */
	void (*on_child)(void *arg, struct ckptd_runner *r, struct ckptd_child *c, bool hook);
	void *child_arg;
};

/* Open the run's state (creating STATE_DIR/RUN 0700) and load it.
 * 0, or -1 with errno (logged). */
int runner_open(struct ckptd_runner *r, const struct ckptd_run *cfg, const char *state_dir,
                const struct ckptd_log *log, bool dry_run);
void runner_close(struct ckptd_runner *r);

/* Read the whole metrics log (a missing log is not an error: nothing is
 * scored yet).  0, or -1 with errno (logged). */
int runner_read_log(struct ckptd_runner *r);

/* The daemon's tail hands the log over in pieces: bytes, a restart at
 * byte 0, or the end of a finished log. */
int runner_feed(struct ckptd_runner *r, const char *buf, size_t len);
void runner_log_reset(struct ckptd_runner *r);

/* Save the records and where reading got to (tp: the tail's position on
 * the same file) in STATE_DIR/RUN/log.json, atomically; a restart then
 * continues from there.  Nothing is saved for .zst logs (a compressed
 * stream cannot be entered in the middle).  0, or -1 (logged). */
int runner_save_log(struct ckptd_runner *r, const struct ckptd_tail_pos *tp);
/* Restore what runner_save_log saved; 0 with *pos set for tail_start, or
 * -1 when there is nothing usable (read the log from the start). */
int runner_load_log(struct ckptd_runner *r, struct ckptd_tail_pos *pos);

/* A file in the checkpoints dir was opened for writing (true) or closed
 * or renamed in (false): a file being written is never ready. */
void runner_writing(struct ckptd_runner *r, const char *name, bool writing);

/* No record for alerts.stall: emit `stalled` once per latest key. */
void runner_stalled(struct ckptd_runner *r, int64_t idle_ms);

/* The slow child (a prune, or a promotion by copy) exited with wait status. */
void runner_child_done(struct ckptd_runner *r, int status);

/* (Re)scan the checkpoints dir; now_ns is CLOCK_REALTIME. */
int runner_scan(struct ckptd_runner *r, int64_t now_ns);

/* Promote, stop, alert, prune as the policy says; save state.  Returns
 * the number of actions that failed (each logged and, for pruning,
 * reported as prune_failed), or -1 when state could not be written. */
int runner_decide(struct ckptd_runner *r);

#endif
