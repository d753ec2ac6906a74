/*
 * cli/args.c - option values shared by the commands.
 */
#include <errno.h>
#include <stdlib.h>

#include "cli.h"

int
cli_number(const char *cmd, const char *opt, const char *s, long min,
    long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || end == s || v < min || v > max)
		return cli_usage(cmd, "%s: '%s' is not a number from %ld to %ld",
		    opt, s, min, max);
	*out = v;
	return CLI_OK;
}
