/* run_int.h - what run.c, run_alerts.c and run_prune.c share; not for
 * other modules (they use run.h). */
#ifndef CKPTD_RUN_INT_H
#define CKPTD_RUN_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <json-c/json.h>

#include "ckptd/actions.h"
#include "ckptd/run.h"

/* "epoch" or "step". */
const char *run_key_word(const struct ckptd_run *cfg);

/* Append an event (nothing in dry-run); alerts also run alerts.exec.
 * fields is consumed.  0, or -1 (logged). */
int run_emit(struct ckptd_runner *r, const char *event, bool has_key, int64_t key,
             struct json_object *fields);

/* run_alerts.c: early stop and the alerts the records call for, each once. */
void run_early_stop(struct ckptd_runner *r, const struct ckptd_actx *ax);
void run_degrade(struct ckptd_runner *r);
void run_non_finite(struct ckptd_runner *r);

/* run_prune.c: a prune a crash interrupted; retention.  run_retain fills
 * keep[i] (CKPTD_KEEP_* bits) for each entry and prunes the rest; returns
 * how many prunes failed, or -1. */
void run_finish_pending(struct ckptd_runner *r);
/* The slow prune's child exited. */
void run_prune_done(struct ckptd_runner *r, int status);
/* CLOCK_MONOTONIC in milliseconds. */
int64_t run_now_ms(void);
int run_retain(struct ckptd_runner *r, const struct ckptd_actx *ax, const struct ckptd_entry *best,
               unsigned *keep);

#endif
