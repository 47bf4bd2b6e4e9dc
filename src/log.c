/* log.c - one line per message to stderr, journald priority prefixes. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckptd/log.h"

/* syslog(3) priorities, as sd-daemon(3) prefixes expect them */
static const int prio[] = {
	[CKPTD_LOG_DEBUG] = 7, [CKPTD_LOG_INFO] = 6, [CKPTD_LOG_NOTICE] = 5,
	[CKPTD_LOG_WARNING] = 4, [CKPTD_LOG_ERROR] = 3,
};
static const char *const words[] = {
	[CKPTD_LOG_DEBUG] = "debug", [CKPTD_LOG_INFO] = "info", [CKPTD_LOG_NOTICE] = "notice",
	[CKPTD_LOG_WARNING] = "warning", [CKPTD_LOG_ERROR] = "error",
};

void log_init(struct ckptd_log *l, const char *prog, enum ckptd_log_level level)
{
	l->level = level;
	l->prog = prog;
	/* systemd sets JOURNAL_STREAM when stderr is connected to the journal */
	l->journal = getenv("JOURNAL_STREAM") != NULL;
}

static void vlog(const struct ckptd_log *l, enum ckptd_log_level lvl, const char *err,
                 const char *fmt, va_list ap) __attribute__((format(printf, 4, 0)));
static void vlog(const struct ckptd_log *l, enum ckptd_log_level lvl, const char *err,
                 const char *fmt, va_list ap)
{
	char msg[2048];
	if (lvl < l->level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (l->journal)
		fprintf(stderr, "<%d>%s%s%s\n", prio[lvl], msg, err ? ": " : "", err ? err : "");
	else
		fprintf(stderr, "%s: %s%s%s%s%s\n", l->prog,
		        lvl >= CKPTD_LOG_WARNING ? words[lvl] : "", lvl >= CKPTD_LOG_WARNING ? ": " : "",
		        msg, err ? ": " : "", err ? err : "");
}

void log_msg(const struct ckptd_log *l, enum ckptd_log_level lvl, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(l, lvl, NULL, fmt, ap);
	va_end(ap);
}

void log_errno(const struct ckptd_log *l, enum ckptd_log_level lvl, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;
	va_start(ap, fmt);
	vlog(l, lvl, strerror(saved), fmt, ap);
	va_end(ap);
	errno = saved;
}
