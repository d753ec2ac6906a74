/*
 * fuzz/fuzz_config.c - the mailsec.conf parser and loader
 * (daemon/conf_parse.c, daemon/config.c) on arbitrary bytes. Invariants:
 * a failed load leaves the struct empty with a one-line error that names
 * the file; a successful load dumps to text that loads again and dumps
 * to the same text.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_parse.h"
#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *
dump(const struct gw_config *cfg, size_t *len)
{
	char *buf = NULL, *nl, *body;
	FILE *f;

	if ((f = open_memstream(&buf, len)) == NULL)
		abort();
	gw_config_dump(cfg, f);
	if (fclose(f) != 0)
		abort();
	/* the first line names the source; compare what follows */
	if ((nl = strchr(buf, '\n')) == NULL)
		abort();
	if ((body = strdup(nl + 1)) == NULL)
		abort();
	free(buf);
	*len = strlen(body);
	return body;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gw_config cfg, again;
	struct conf_node *root;
	char err[GW_CONFIG_ERR_MAX], out[256], *d1, *d2;
	size_t l1, l2;
	mailsec_err e;

	if (conf_parse((const char *)data, size, "fuzz.conf", &root, err,
	    sizeof err) == MAILSEC_OK)
		conf_free(root);

	e = gw_config_load_mem((const char *)data, size, "fuzz.conf", &cfg,
	    err, sizeof err);
	if (e != MAILSEC_OK) {
		if (cfg.state_dir != NULL || cfg.source != NULL)
			abort();
		if (strncmp(err, "fuzz.conf", 9) != 0 ||
		    strchr(err, '\n') != NULL)
			abort();
		return 0;
	}
	d1 = dump(&cfg, &l1);
	e = gw_config_load_mem(d1, l1, "dump.conf", &again, err, sizeof err);
	if (e != MAILSEC_OK) {
		fprintf(stderr, "dump does not load: %s\n%s", err, d1);
		abort();
	}
	d2 = dump(&again, &l2);
	if (l1 != l2 || memcmp(d1, d2, l1) != 0) {
		fprintf(stderr, "dump changed:\n%s\n----\n%s", d1, d2);
		abort();
	}
	(void)gw_config_is_local(&cfg, "localhost", 9);
	(void)gw_config_mailbox_path(&cfg, "postmaster", 10, "localhost", 9,
	    out, sizeof out);
	(void)gw_config_sender_allowed(&cfg, "alice", "alice@example.org",
	    17);
	if (gw_config_recipient(&cfg, NULL, "postmaster", 10, "localhost",
	    9) == GW_RCPT_BAD_MAILBOX)
		abort();
	if (gw_config_set_state_dir(&cfg, "/tmp/fuzz-state") != MAILSEC_OK)
		abort();
	free(d1);
	free(d2);
	gw_config_free(&cfg);
	gw_config_free(&again);
	return 0;
}
