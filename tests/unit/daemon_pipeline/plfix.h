/*
 * tests/unit/daemon_pipeline/plfix.h - the pipeline fixture shared by
 * test_pipeline.c and tests/unit/daemon_forward/test_forward.c: a
 * scratch state_dir (testdir.c), the test zone (examples/example.zone
 * plus pipeline.zone), a libevent base, the loop run until a verdict,
 * and dkimpy's verdict through dkimpy_verify.py.
 */
#ifndef MAILSEC_TEST_PLFIX_H
#define MAILSEC_TEST_PLFIX_H

#include <stdio.h>
#include <sys/types.h>

#include "config.h"
#include "pipeline.h"

struct plfix {
	char dir[64];		/* scratch state_dir */
	char zone[128];		/* dir/test.zone */
	char key[128];		/* dir/<key>: a key file, not created */
	struct event_base *base;
	struct gw_config cfg;	/* the test's, freed with the fixture */
	struct pipeline *p;	/* likewise */
};

/*
 * A new fixture in *fp: the directory from tmpl (testdir_new), the test
 * zone written, key the path of a key file in it. Returns 0, or -1 with
 * nothing left behind.
 */
int plfix_new(struct plfix **fp, const char *tmpl, const char *key);

/* Frees the pipeline, the configuration, the base; removes the tree. */
void plfix_free(struct plfix *f);

/* cmocka teardown: plfix_free(*state). */
int plfix_teardown(void **state);

/*
 * Runs the loop until *calls is set. A pipeline over libunbound keeps
 * its descriptor registered, so the loop never runs out of events:
 * step it, with a bound of 30 s.
 */
void plfix_run_until(struct plfix *f, const int *calls);

/* Copies the file path to out. Returns 0, or -1 when it cannot open. */
int plfix_append_file(FILE *out, const char *path);

/* Writes text to path (created with mode, or truncated). Returns 0/-1. */
int plfix_write_file(const char *path, const char *text, mode_t mode);

/*
 * dkimpy's verdict on text (written to dir/dkimpy.eml) with DNS from
 * the (name, record) pairs that follow, up to a NULL name: every DKIM
 * signature, or, when arc_want is non-NULL, the ARC chain status, one of
 * arc_want's alternatives separated by '|' (dkimpy_verify.py). Returns 0
 * pass, 1 fail, 77 when python3 or dkimpy is not installed.
 */
int plfix_dkimpy(const struct plfix *f, const char *text,
    const char *arc_want, ...);

#endif /* MAILSEC_TEST_PLFIX_H */
