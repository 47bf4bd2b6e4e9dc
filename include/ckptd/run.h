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
#include "ckptd/log.h"
#include "ckptd/reader.h"
#include "ckptd/records.h"
#include "ckptd/state.h"

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
};

/* Open the run's state (creating STATE_DIR/RUN 0700) and load it.
 * 0, or -1 with errno (logged). */
int runner_open(struct ckptd_runner *r, const struct ckptd_run *cfg, const char *state_dir,
                const struct ckptd_log *log, bool dry_run);
void runner_close(struct ckptd_runner *r);

/* Read the whole metrics log (a missing log is not an error: nothing is
 * scored yet).  0, or -1 with errno (logged). */
int runner_read_log(struct ckptd_runner *r);

/* (Re)scan the checkpoints dir; now_ns is CLOCK_REALTIME. */
int runner_scan(struct ckptd_runner *r, int64_t now_ns);

/* Promote, stop, alert, prune as the policy says; save state.  Returns
 * the number of actions that failed (each logged and, for pruning,
 * reported as prune_failed), or -1 when state could not be written. */
int runner_decide(struct ckptd_runner *r);

#endif
