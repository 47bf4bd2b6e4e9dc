/* explain.h - the human note about a selection, pure: why this record and
 * not the last one, where validation turned (overfitting onset), where
 * early stopping would fire, and what shipping the last record would cost.
 * Used by `ckptctl pick` (text and --json) and the daemon's status. */
#ifndef CKPTD_EXPLAIN_H
#define CKPTD_EXPLAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ckptd/config.h"
#include "ckptd/policy.h"
#include "ckptd/records.h"

struct ckptd_explain_in {
	const struct ckptd_records *records;
	const struct ckptd_select *select;
	const char *key_name;                 /* "epoch" or "step" */
	int64_t selected;                     /* the selected key (must have a record) */
	const struct ckptd_early_stop *stop;  /* NULL: no early stopping asked */
	const struct ckptd_stop_result *stop_result; /* with stop */
	/* The validation metric whose turn is reported and the train metric it
	 * is compared with; NULL = guessed by explain_guess_metrics(). */
	const char *val_metric;
	const char *train_metric;
};

struct ckptd_explanation {
	char **lines;          /* owned; sentences without trailing newline */
	size_t n;
	bool has_turn;
	struct ckptd_turn turn;
	const char *val_metric;   /* what was used (points into records or in) */
	const char *train_metric; /* NULL when none could be found */
};

/* Guess the validation loss and the train loss metric among the logged
 * names: val_metric is the first `by` metric whose name says validation
 * and loss, else a logged val_loss / val/loss / eval_loss / validation_loss,
 * else the first `by` metric; train_metric is a logged train_loss /
 * train/loss / loss / training_loss (a name with "loss" and "train", or
 * exactly "loss").  Either may be NULL. */
void explain_guess_metrics(const struct ckptd_records *r, const struct ckptd_select *sel,
                           const char **val_metric, const char **train_metric);

/* 0, or -1 with errno ENOMEM. */
int explain_build(const struct ckptd_explain_in *in, struct ckptd_explanation *out);
void explain_free(struct ckptd_explanation *e);

#endif
