/*
 * tests/unit/daemon_queue/testdir.c - scratch directories (testdir.h).
 */
#define _GNU_SOURCE	/* nftw flags */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "testdir.h"

int
testdir_new(char *dir, size_t size, const char *tmpl)
{
	int n = snprintf(dir, size, "%s", tmpl);

	if (n < 0 || (size_t)n >= size)
		return -1;
	return mkdtemp(dir) != NULL ? 0 : -1;
}

static int
remove_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

int
testdir_remove(const char *path)
{
	/* Depth first: a directory after its entries. */
	return nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : -1;
}
