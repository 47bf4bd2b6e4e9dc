/* log.h - one line per message to stderr; `<N>` syslog priority prefixes
 * when stderr is the journal (JOURNAL_STREAM set). */
#ifndef CKPTD_LOG_H
#define CKPTD_LOG_H

#include "ckptd/config.h"

struct ckptd_log {
	enum ckptd_log_level level;
	int journal;              /* prefix lines with <N> */
	const char *prog;         /* prefix when not under the journal */
};

void log_init(struct ckptd_log *l, const char *prog, enum ckptd_log_level level);

#define CKPTD_PRINTF(a, b) __attribute__((format(printf, a, b)))
void log_msg(const struct ckptd_log *l, enum ckptd_log_level lvl, const char *fmt, ...) CKPTD_PRINTF(3, 4);
/* log_msg plus ": strerror(errno)". */
void log_errno(const struct ckptd_log *l, enum ckptd_log_level lvl, const char *fmt, ...) CKPTD_PRINTF(3, 4);

#endif
