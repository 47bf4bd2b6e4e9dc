/* policy.h - the decisions, pure: no I/O, no clock, no allocation beyond
 * what the caller is handed back.
 *
 * Selection narrows criterion by criterion: keep the candidates within
 * `tolerance` of the best value of the first `by` metric, then of the
 * second among those, and so on; of what remains the earliest key wins.
 * NaN and infinity are never best: a record is scored only when every
 * `by` metric is logged and finite, and it must meet every `require`.
 *
 * Early stopping follows Lightning's EarlyStopping (check_finite, then
 * stopping_threshold, then divergence_threshold, then improvement by more
 * than min_delta resets the wait, else wait += 1 and stop at patience),
 * with Keras's baseline (an improvement resets the wait only once it
 * also beats the baseline) and start_from (records below it ignored).
 *
 * Degradation: `degraded` fires when the last `after` evaluations are all
 * worse than the best so far and the latest is worse than the best by
 * more than `by` (relative to |best|; absolute when best is 0).  It then
 * stays quiet until a new best re-arms it. */
#ifndef CKPTD_POLICY_H
#define CKPTD_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ckptd/config.h"
#include "ckptd/records.h"

/* Is a strictly better than b in mode m? */
bool policy_better(enum ckptd_mode m, double a, double b);
/* Is v within tol (absolute, >= 0) of best?  Both must be finite; tol 0
 * means an exact tie; a positive tol includes its edge up to a few ulps
 * of decimal rounding (0.486 is within 0.005 of 0.481). */
bool policy_within(double best, double v, double tol);

/* Every `by` metric logged and finite. */
bool policy_scored(const struct ckptd_records *r, const struct ckptd_record *rec,
                   const struct ckptd_select *sel);
/* Every `require` bound met (a missing or non-finite value fails). */
bool policy_meets(const struct ckptd_records *r, const struct ckptd_record *rec,
                  const struct ckptd_select *sel);

/* Rank the candidates: out[0] is the selected key, out[1] the selection
 * repeated on the rest, and so on, at most max_out keys.  cands lists the
 * keys that may be chosen (the daemon: ready checkpoints); NULL means
 * every record.  Keys with no record, unscored or failing `require` are
 * left out.  Returns how many keys were written (0: nothing selectable),
 * or -1 with errno ENOMEM. */
long policy_rank(const struct ckptd_records *r, const struct ckptd_select *sel,
                 const int64_t *cands, size_t ncands, int64_t *out, size_t max_out);
/* policy_rank with max_out 1.  false when nothing is selectable. */
bool policy_select(const struct ckptd_records *r, const struct ckptd_select *sel,
                   const int64_t *cands, size_t ncands, int64_t *out);

enum ckptd_stop_reason {
	CKPTD_STOP_NONE,
	CKPTD_STOP_PATIENCE,      /* no improvement for `patience` evaluations */
	CKPTD_STOP_NON_FINITE,    /* check_finite */
	CKPTD_STOP_THRESHOLD,     /* stopping_threshold reached */
	CKPTD_STOP_DIVERGENCE,    /* divergence_threshold passed */
};

struct ckptd_stop_result {
	bool fired;
	int64_t stop_at;          /* key of the record after which it fires */
	enum ckptd_stop_reason reason;
	bool has_best;            /* some finite value improved on the start */
	int64_t best_key;
	double best_value;
	int64_t wait;             /* evaluations without improvement at the end */
	int64_t evaluated;        /* records that carried the metric */
	double last_value;        /* value at stop_at (or the last evaluated) */
};

/* Replay early stopping over the records in key order; evaluation stops
 * at the first firing. */
void policy_early_stop(const struct ckptd_records *r, const struct ckptd_early_stop *es,
                       struct ckptd_stop_result *out);
const char *policy_stop_reason_name(enum ckptd_stop_reason reason);

struct ckptd_degrade_alert {
	int64_t key;              /* the record at which it fires */
	int64_t best_key;
	double best, value;       /* best so far and the latest value */
	double rel;               /* (value - best) worse-wards, relative */
	bool has_train;           /* train_metric logged at best_key and key */
	double train_best, train_value; /* train metric at best_key and at key */
	bool train_improving;     /* train metric better at key than at best_key */
};

/* Every point at which `degraded` would fire, in key order (re-armed by a
 * new best).  Returns the number of alerts (at most max_out written), or
 * -1 on bad arguments. */
long policy_degrade(const struct ckptd_records *r, const struct ckptd_degrade *d,
                    struct ckptd_degrade_alert *out, size_t max_out);

/* Where validation turned: the best key of the validation metric, how
 * many later records were worse, and whether the train metric kept
 * improving meanwhile (overfitting). */
struct ckptd_turn {
	bool turned;              /* some record after the best was worse */
	int64_t best_key;
	double best;
	int64_t onset;            /* first key after best_key */
	int64_t last_key;
	double last;
	long worse;               /* records after best_key worse than best */
	long after;               /* records after best_key carrying the metric */
	bool has_train;
	bool train_improving;     /* train metric at last_key better than at best_key */
	double train_best, train_last;
};

bool policy_turn(const struct ckptd_records *r, const char *val_metric, enum ckptd_mode val_mode,
                 const char *train_metric, enum ckptd_mode train_mode, struct ckptd_turn *out);

#endif
