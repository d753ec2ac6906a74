/*
 * tests/unit/daemon_pipeline/plfix.c - the pipeline fixture (plfix.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <fcntl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "plfix.h"
#include "testdir.h"

/* the arguments after the script's name: --arc WANT MESSAGE, 4 pairs */
#define DKIMPY_ARGS_MAX	11

int
plfix_new(struct plfix **fp, const char *tmpl, const char *key)
{
	struct plfix *f = calloc(1, sizeof *f);
	FILE *z;

	*fp = NULL;
	if (f == NULL)
		return -1;
	if (testdir_new(f->dir, sizeof f->dir, tmpl) != 0) {
		f->dir[0] = '\0';
		goto fail;
	}
	snprintf(f->zone, sizeof f->zone, "%s/test.zone", f->dir);
	snprintf(f->key, sizeof f->key, "%s/%s", f->dir, key);
	if ((z = fopen(f->zone, "w")) == NULL)
		goto fail;
	if (plfix_append_file(z, MAILSEC_SOURCE_DIR
	    "/examples/example.zone") != 0 ||
	    plfix_append_file(z, MAILSEC_SOURCE_DIR
	    "/tests/unit/daemon_pipeline/pipeline.zone") != 0) {
		fclose(z);
		goto fail;
	}
	if (fclose(z) != 0)
		goto fail;
	if ((f->base = event_base_new()) == NULL)
		goto fail;
	*fp = f;
	return 0;
fail:
	plfix_free(f);
	return -1;
}

void
plfix_free(struct plfix *f)
{
	if (f == NULL)
		return;
	pipeline_free(f->p);
	gw_config_free(&f->cfg);
	if (f->base != NULL)
		event_base_free(f->base);
	if (f->dir[0] != '\0')
		(void)testdir_remove(f->dir);
	free(f);
}

int
plfix_teardown(void **state)
{
	plfix_free(*state);
	return 0;
}

void
plfix_run_until(struct plfix *f, const int *calls)
{
	time_t end = time(NULL) + 30;

	while (*calls == 0) {
		assert_true(time(NULL) < end);
		assert_int_not_equal(event_base_loop(f->base, EVLOOP_ONCE),
		    -1);
	}
}

int
plfix_append_file(FILE *out, const char *path)
{
	char buf[4096];
	size_t n;
	FILE *in = fopen(path, "r");

	if (in == NULL)
		return -1;
	while ((n = fread(buf, 1, sizeof buf, in)) > 0)
		fwrite(buf, 1, n, out);
	fclose(in);
	return 0;
}

int
plfix_write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	size_t len = strlen(text);

	if (fd < 0)
		return -1;
	if (write(fd, text, len) != (ssize_t)len) {
		close(fd);
		return -1;
	}
	return close(fd);
}

int
plfix_dkimpy(const struct plfix *f, const char *text, const char *arc_want,
    ...)
{
	char path[160];
	const char *a[DKIMPY_ARGS_MAX + 1] = { NULL }, *s;
	va_list ap;
	size_t n = 0;
	pid_t pid;
	int st;

	snprintf(path, sizeof path, "%s/dkimpy.eml", f->dir);
	assert_int_equal(plfix_write_file(path, text, 0600), 0);
	if (access("/usr/bin/python3", X_OK) != 0)
		return 77;
	if (arc_want != NULL) {
		a[n++] = "--arc";
		a[n++] = arc_want;
	}
	a[n++] = path;
	va_start(ap, arc_want);
	while ((s = va_arg(ap, const char *)) != NULL) {
		assert_true(n < DKIMPY_ARGS_MAX);
		a[n++] = s;
	}
	va_end(ap);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* the arguments end at the first NULL of a[] */
		execl("/usr/bin/python3", "python3", MAILSEC_SOURCE_DIR
		    "/tests/unit/daemon_pipeline/dkimpy_verify.py", a[0], a[1],
		    a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10],
		    a[11], (char *)NULL);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	if (!WIFEXITED(st))
		return 1;
	return WEXITSTATUS(st) == 127 ? 77 : WEXITSTATUS(st);
}
