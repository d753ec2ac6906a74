/*
 * cli/cmd_serve.c - `mailsec serve`: the gateway (daemon/server.h,
 * docs/gateway.md). With no configuration file it runs the zero-config
 * gateway on loopback ports under ./var.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "server.h"

int cmd_serve(int argc, char **argv);

/* Largest --workers and --greet-pause values. */
#define SERVE_WORKERS_MAX	256
#define SERVE_GREET_PAUSE_MAX	60000

static int
parse_uint(const char *s, unsigned max, unsigned *out)
{
	char *end;
	unsigned long v;

	if (s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > max)
		return -1;
	*out = (unsigned)v;
	return 0;
}

int
cmd_serve(int argc, char **argv)
{
	struct server_opts o = { 0 };
	struct gw_config cfg;
	char err[GW_CONFIG_ERR_MAX];
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool has_val = i + 1 < argc;

		if (strcmp(a, "--foreground") == 0 || strcmp(a, "-f") == 0)
			o.foreground = true;
		else if (strcmp(a, "--check-config") == 0)
			o.check_config = true;
		else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0)
			o.verbose = true;
		else if (strcmp(a, "--config") == 0 ||
		    strcmp(a, "--state-dir") == 0 || strcmp(a, "--dns") == 0 ||
		    strcmp(a, "--dns-zone") == 0 ||
		    strcmp(a, "--workers") == 0 ||
		    strcmp(a, "--greet-pause") == 0) {
			if (!has_val)
				return cli_usage("serve", "%s needs a value",
				    a);
			i++;
			if (strcmp(a, "--config") == 0)
				o.config = argv[i];
			else if (strcmp(a, "--state-dir") == 0)
				o.state_dir = argv[i];
			else if (strcmp(a, "--dns") == 0)
				o.dns = argv[i];
			else if (strcmp(a, "--dns-zone") == 0)
				o.dns_zone = argv[i];
			else if (strcmp(a, "--workers") == 0) {
				if (parse_uint(argv[i], SERVE_WORKERS_MAX,
				    &o.workers) == -1 || o.workers == 0)
					return cli_usage("serve", "--workers: "
					    "1 to %d", SERVE_WORKERS_MAX);
			} else if (parse_uint(argv[i], SERVE_GREET_PAUSE_MAX,
			    &o.greet_pause_ms) == -1)
				return cli_usage("serve", "--greet-pause: "
				    "milliseconds, 0 to %d",
				    SERVE_GREET_PAUSE_MAX);
		} else
			return cli_usage("serve", "unknown option '%s'", a);
	}
	if (o.dns != NULL && o.dns_zone != NULL)
		return cli_usage("serve", "--dns and --dns-zone exclude each "
		    "other");
	if (o.check_config) {
		if (server_config_load(&o, &cfg, err, sizeof err) !=
		    MAILSEC_OK)
			return cli_fail(CLI_ERR, "%s", err);
		if (o.verbose)
			gw_config_dump(&cfg, stdout);
		printf("%s: configuration OK\n", cfg.source != NULL ?
		    cfg.source : "(defaults)");
		gw_config_free(&cfg);
		return CLI_OK;
	}
	return server_run(&o) == 0 ? CLI_OK : CLI_ERR;
}
