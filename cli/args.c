/*
 * cli/args.c - option values shared by the commands.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

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

int
cli_need_value(const char *cmd, int argc, char **argv, int i)
{
	if (i + 1 < argc)
		return CLI_OK;
	return cli_usage(cmd, "%s needs a value", argv[i]);
}

int
cli_operand(const char *cmd, const char *arg, const char **file)
{
	if (arg[0] == '-' && arg[1] != '\0')
		return cli_usage(cmd, "unknown option '%s'", arg);
	if (*file != NULL)
		return cli_usage(cmd, "only one FILE, got '%s'", arg);
	*file = arg;
	return CLI_OK;
}

int
cli_dns_json_opt(const char *cmd, int argc, char **argv, int *i,
    struct cli_dns_opts *o, bool *json)
{
	int k;

	if ((k = cli_dns_opt(cmd, argc, argv, i, o)) != 0)
		return k;
	if (strcmp(argv[*i], "--json") != 0)
		return 0;
	*json = true;
	return 1;
}

char *
cli_strz(struct mailsec_str s)
{
	char *p = malloc(s.len + 1);

	if (p != NULL) {
		if (s.len > 0)
			memcpy(p, s.ptr, s.len);
		p[s.len] = '\0';
	}
	return p;
}
