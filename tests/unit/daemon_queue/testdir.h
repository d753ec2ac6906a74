/*
 * tests/unit/daemon_queue/testdir.h - scratch directories for the spool's
 * tests and bench/queue: a new one from a mkdtemp(3) template, and the
 * removal of a whole tree. Other daemon tests that need a scratch
 * STATE_DIR may compile testdir.c too.
 */
#ifndef MAILSEC_TESTDIR_H
#define MAILSEC_TESTDIR_H

#include <stddef.h>

/*
 * Creates a new directory (mode 0700) from tmpl, which ends in "XXXXXX"
 * (e.g. "/tmp/msq-test-XXXXXX"), and writes its name into dir (size
 * bytes). Returns 0, or -1 when the name does not fit or mkdtemp fails.
 */
int testdir_new(char *dir, size_t size, const char *tmpl);

/* Removes path and everything below it, links not followed. Returns 0,
 * or -1 if anything could not be removed (a missing path included). */
int testdir_remove(const char *path);

#endif /* MAILSEC_TESTDIR_H */
