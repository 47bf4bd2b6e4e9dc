/* ckptd - the checkpoint daemon.  Flags and wiring only: --once catches
 * up with everything on disk and exits; otherwise daemon.c watches. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <sysexits.h>
#include <time.h>

#include "ckptd/config.h"
#include "ckptd/daemon.h"
#include "ckptd/log.h"
#include "ckptd/run.h"

#ifndef CKPTD_VERSION
#define CKPTD_VERSION "0.1.0"
#endif

struct opts {
	const char *config;
	bool once, dry_run, verbose;
};

static void usage(FILE *f)
{
	fputs("usage: ckptd [-c FILE] [--once] [--dry-run] [-v] [--version] [-h]\n", f);
}

static int parse(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "once", no_argument, NULL, 'o' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;
	o->config = CKPTD_DEFAULT_CONFIG;
	while ((ch = getopt_long(argc, argv, "c:vh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': o->config = optarg; break;
		case 'o': o->once = true; break;
		case 'n': o->dry_run = true; break;
		case 'v': o->verbose = true; break;
		case 'V': puts("ckptd " CKPTD_VERSION); return -1;
		case 'h': usage(stdout); return -1;
		default: usage(stderr); return EX_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "ckptd: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return EX_USAGE;
	}
	return 0;
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Catch up with every run once. */
static int once(const struct ckptd_config *cfg, const struct ckptd_log *log, bool dry_run)
{
	int rc = 0;
	for (size_t i = 0; i < cfg->nruns; i++) {
		struct ckptd_runner r;
		if (runner_open(&r, &cfg->runs[i], cfg->state_dir, log, dry_run) < 0) {
			runner_close(&r);
			rc = EX_CANTCREAT;
			continue;
		}
		if (runner_read_log(&r) < 0 || runner_scan(&r, now_ns()) < 0) {
			rc = rc ? rc : EX_IOERR;
		} else if (runner_decide(&r) < 0) {
			rc = EX_CANTCREAT;
		}
		runner_close(&r);
	}
	return rc;
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	int rc = parse(argc, argv, &o);
	if (rc)
		return rc < 0 ? 0 : rc;
	struct ckptd_config *cfg = NULL;
	struct ckptd_diags diags = { 0 };
	if (config_load(o.config, &cfg, &diags) < 0) {
		diags_print(&diags, stderr);
		diags_free(&diags);
		return EX_CONFIG;
	}
	diags_free(&diags);
	struct ckptd_log log;
	log_init(&log, "ckptd", o.verbose ? CKPTD_LOG_DEBUG : cfg->log_level);
	if (!o.once) {
		struct ckptd_daemon_opts dopts = { o.config, o.dry_run, o.verbose };
		return daemon_main(&dopts, cfg);
	}
	rc = once(cfg, &log, o.dry_run);
	config_free(cfg);
	return rc;
}
