/*
 * cli/cmd_rotate.c - `mailsec dkim rotate --domain D`: plans a DKIM key
 * rotation (RFC 6376 3.6.1 key records; M3AAWG "DKIM Key Rotation Best
 * Common Practices"): a new selector and key, the record to publish,
 * when to switch signing (after the record has reached every resolver),
 * when to revoke the old key (empty p=, after mail signed with it has
 * left the queues) and when to delete it.
 *
 * Hooked into `mailsec dkim` (cli/cmd_dkim.c) as its "rotate"
 * subcommand: argv[0] is "rotate".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mailsec/dkim.h>
#include <mailsec/record.h>

#include "cli.h"

/* Wait before signing with the new key: at least two TTLs of the key
 * record, and two days for resolvers that hold answers longer. */
#define ROTATE_PROPAGATE_MIN (48 * 3600L)
/* Keep the old key after the switch: queues retry for up to five days
 * (RFC 5321 4.5.4.1 suggests 4-5), plus slack. */
#define ROTATE_OVERLAP (7 * 86400L)
/* Delete the revoked record this long after revoking it. */
#define ROTATE_DELETE_AFTER (30 * 86400L)

struct rotate {
	const char *domain, *old, *sel, *dir;
	enum mailsec_dkim_algorithm alg;
	long bits;
	long ttl;
	time_t now;
	bool json, write_key;
	struct cli_dns_opts dns;
	bool check;
};

static void
when(char *buf, size_t sz, time_t t)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, sz, "%Y-%m-%d %H:%M UTC", &tm) == 0)
		(void)snprintf(buf, sz, "@%lld", (long long)t);
}

static int
parse(int argc, char **argv, struct rotate *o, char *selbuf, size_t selsz)
{
	const char *type = "rsa";
	struct tm tm;
	long v = 0;
	int i, k;

	o->dir = ".";
	o->bits = 2048;
	o->ttl = 3600;
	o->now = time(NULL);
	o->write_key = true;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if ((k = cli_dns_opt("dkim", argc, argv, &i, &o->dns)) < 0)
			return CLI_USAGE;
		if (k > 0) {
			o->check = true;
			continue;
		}
		if (strcmp(a, "--json") == 0) {
			o->json = true;
			continue;
		}
		if (strcmp(a, "--check") == 0) {
			o->check = true;
			continue;
		}
		if (strcmp(a, "--no-key") == 0) {
			o->write_key = false;
			continue;
		}
		if (i + 1 >= argc)
			return cli_usage("dkim", "rotate: unknown option or "
			    "missing value: '%s'", a);
		if (strcmp(a, "--domain") == 0)
			o->domain = argv[++i];
		else if (strcmp(a, "--old") == 0 ||
		    strcmp(a, "--old-selector") == 0)
			o->old = argv[++i];
		else if (strcmp(a, "--selector") == 0)
			o->sel = argv[++i];
		else if (strcmp(a, "--out") == 0)
			o->dir = argv[++i];
		else if (strcmp(a, "--type") == 0)
			type = argv[++i];
		else if (strcmp(a, "--bits") == 0) {
			if (cli_number("dkim", a, argv[++i], 1024, 8192,
			    &o->bits) != CLI_OK)
				return CLI_USAGE;
		} else if (strcmp(a, "--ttl") == 0) {
			if (cli_number("dkim", a, argv[++i], 0, 604800,
			    &o->ttl) != CLI_OK)
				return CLI_USAGE;
		} else if (strcmp(a, "--now") == 0) {
			if (cli_number("dkim", a, argv[++i], 1, 4102444800L,
			    &v) != CLI_OK)
				return CLI_USAGE;
			o->now = (time_t)v;
		} else
			return cli_usage("dkim", "rotate: unknown option '%s'",
			    a);
	}
	if (o->domain == NULL)
		return cli_usage("dkim", "rotate needs --domain");
	if (strcmp(type, "rsa") == 0)
		o->alg = MAILSEC_DKIM_RSA_SHA256;
	else if (strcmp(type, "ed25519") == 0)
		o->alg = MAILSEC_DKIM_ED25519_SHA256;
	else
		return cli_usage("dkim", "--type: rsa or ed25519");
	if (o->sel == NULL) {
		/* a dated selector: s202406, or s202406b after s202406 */
		if (gmtime_r(&o->now, &tm) == NULL ||
		    strftime(selbuf, selsz, "s%Y%m", &tm) == 0)
			return cli_fail(CLI_ERR, "rotate: bad time");
		k = (int)strlen(selbuf);
		if (o->old != NULL && strcmp(o->old, selbuf) == 0 &&
		    (size_t)k + 2 <= selsz) {
			selbuf[k] = 'b';
			selbuf[k + 1] = '\0';
		}
		o->sel = selbuf;
	}
	if (o->old != NULL && strcmp(o->old, o->sel) == 0)
		return cli_usage("dkim", "rotate: the new selector must differ "
		    "from the old one");
	if (strchr(o->sel, '/') != NULL || o->sel[0] == '.')
		return cli_usage("dkim", "selector '%s' is not a file name",
		    o->sel);
	return CLI_OK;
}

/* The old selector's record now: "RSA 1024 bits", "no record", ... */
static void
old_state(struct rotate *o, char *buf, size_t sz)
{
	struct mailsec_resolver *r = NULL;
	struct mailsec_dns_result *res = NULL;
	struct mailsec_dkim_record rec;
	char *name = NULL;

	(void)snprintf(buf, sz, "not checked (--check)");
	if (!o->check || o->old == NULL)
		return;
	if (mailsec_record_owner(MAILSEC_RECORD_DKIM, o->domain, o->old,
	    &name) != MAILSEC_OK || cli_dns_resolver(&o->dns, &r) != CLI_OK)
		goto done;
	if (mailsec_dns_lookup(r, name, MAILSEC_DNS_TXT, &res) != MAILSEC_OK)
		goto done;
	if (res->status != MAILSEC_DNS_ANSWER || res->count == 0)
		(void)snprintf(buf, sz, "no record at %s (%s)", name,
		    mailsec_dns_status_name(res->status));
	else if (mailsec_dkim_record_parse(res->rrs[0].u.txt.data,
	    res->rrs[0].u.txt.len, &rec, NULL) != MAILSEC_OK)
		(void)snprintf(buf, sz, "published, but the record does not "
		    "parse (mailsec lint)");
	else if (rec.revoked)
		(void)snprintf(buf, sz, "already revoked (empty p=)");
	else
		(void)snprintf(buf, sz, "published, %.*s %u bits%s",
		    (int)rec.key_type_text.len, rec.key_type_text.ptr,
		    rec.key_bits, rec.testing ? ", t=y" : "");
done:
	mailsec_dns_result_free(res);
	mailsec_resolver_free(r);
	free(name);
}

static int
write_key(const struct rotate *o, const struct mailsec_dkim_key *key,
    char *path, size_t pathsz)
{
	char *pem = NULL;
	size_t len;
	int fd, n, rc = CLI_ERR;

	n = snprintf(path, pathsz, "%s/%s.%s.private", o->dir, o->sel,
	    o->domain);
	if (n < 0 || (size_t)n >= pathsz)
		return cli_fail(CLI_ERR, "rotate: path too long");
	if (!o->write_key)
		return CLI_OK;
	if (mailsec_dkim_key_pem(key, &pem, &len) != MAILSEC_OK)
		return cli_fail(CLI_ERR, "rotate: out of memory");
	/* never world-readable, never over an existing key */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0) {
		rc = cli_fail(CLI_ERR, "%s: %s", path, strerror(errno));
		goto done;
	}
	if (write(fd, pem, len) != (ssize_t)len || close(fd) != 0) {
		rc = cli_fail(CLI_ERR, "%s: write failed", path);
		goto done;
	}
	rc = CLI_OK;
done:
	free(pem);
	return rc;
}

int
cli_dkim_rotate(int argc, char **argv)
{
	struct rotate o;
	struct mailsec_dkim_key *key = NULL;
	struct mailsec_lint *l = NULL;
	char selbuf[32], path[4096], t1[40], t2[40], t3[40], t4[40];
	char oldst[200], *rec = NULL, *owner = NULL, *zone = NULL;
	char *oldowner = NULL, revoke[64];
	long wait;
	int rc;

	memset(&o, 0, sizeof o);
	if ((rc = parse(argc, argv, &o, selbuf, sizeof selbuf)) != CLI_OK)
		return rc;
	if (mailsec_record_owner(MAILSEC_RECORD_DKIM, o.domain, o.sel,
	    &owner) != MAILSEC_OK)
		return cli_usage("dkim", "rotate: '%s' / '%s' is not a "
		    "selector and domain", o.sel, o.domain);
	rc = CLI_ERR;
	if (o.old != NULL && mailsec_record_owner(MAILSEC_RECORD_DKIM,
	    o.domain, o.old, &oldowner) != MAILSEC_OK) {
		rc = cli_usage("dkim", "rotate: --old '%s' is not a selector",
		    o.old);
		goto done;
	}
	if (mailsec_dkim_key_generate(o.alg, (unsigned)o.bits, &key) !=
	    MAILSEC_OK || mailsec_dkim_key_record(key, &rec, NULL) !=
	    MAILSEC_OK) {
		rc = cli_fail(CLI_ERR, "rotate: key generation failed");
		goto done;
	}
	/* the record we tell people to publish passes our own linter */
	if (mailsec_lint_record(rec, strlen(rec), NULL, &l, NULL) !=
	    MAILSEC_OK || mailsec_lint_count(l, MAILSEC_SEV_ERROR) > 0) {
		rc = cli_fail(CLI_ERR, "rotate: the new record does not lint");
		goto done;
	}
	if (write_key(&o, key, path, sizeof path) != CLI_OK)
		goto done;
	{
		char abs[600];
		int n = snprintf(abs, sizeof abs, "%s.", owner);

		if (n < 0 || (size_t)n >= sizeof abs ||
		    mailsec_record_zone_line(abs, (uint32_t)o.ttl, rec,
		    strlen(rec), &zone) != MAILSEC_OK) {
			rc = cli_fail(CLI_ERR, "rotate: out of memory");
			goto done;
		}
	}
	old_state(&o, oldst, sizeof oldst);
	wait = 2 * o.ttl > ROTATE_PROPAGATE_MIN ? 2 * o.ttl :
	    ROTATE_PROPAGATE_MIN;
	when(t1, sizeof t1, o.now);
	when(t2, sizeof t2, o.now + wait);
	when(t3, sizeof t3, o.now + wait + ROTATE_OVERLAP);
	when(t4, sizeof t4, o.now + wait + ROTATE_OVERLAP +
	    ROTATE_DELETE_AFTER);
	(void)snprintf(revoke, sizeof revoke, "v=DKIM1; k=%s; p=",
	    o.alg == MAILSEC_DKIM_ED25519_SHA256 ? "ed25519" : "rsa");
	if (o.json) {
		printf("{\"domain\": ");
		json_strz(stdout, o.domain);
		json_member(stdout, "old_selector", o.old);
		json_member(stdout, "new_selector", o.sel);
		json_member(stdout, "algorithm", mailsec_dkim_algorithm_name(
		    o.alg));
		printf(", \"key_bits\": %u", mailsec_dkim_key_bits(key));
		json_member(stdout, "private_key", o.write_key ? path : NULL);
		json_member(stdout, "record_name", owner);
		json_member(stdout, "record", rec);
		json_member(stdout, "zone", zone);
		printf(",\n \"steps\": [{\"step\": \"publish\", \"at\": %lld},"
		    " {\"step\": \"switch\", \"at\": %lld}, {\"step\": "
		    "\"revoke\", \"at\": %lld}, {\"step\": \"delete\", "
		    "\"at\": %lld}]", (long long)o.now,
		    (long long)(o.now + wait),
		    (long long)(o.now + wait + ROTATE_OVERLAP),
		    (long long)(o.now + wait + ROTATE_OVERLAP +
		    ROTATE_DELETE_AFTER));
		json_member(stdout, "revoke_record", o.old ? revoke : NULL);
		printf("}\n");
		rc = CLI_OK;
		goto done;
	}
	printf("DKIM key rotation for %s\n", o.domain);
	if (o.old != NULL)
		printf("  old selector: %s (%s)\n", o.old, oldst);
	printf("  new selector: %s, %s %u bits\n", o.sel,
	    mailsec_dkim_algorithm_name(o.alg), mailsec_dkim_key_bits(key));
	if (o.write_key)
		printf("  private key:  %s (mode 0600)\n", path);
	printf("\n1. now (%s): publish the new key record\n", t1);
	printf("   zone file:\n   %s\n", zone);
	printf("   one line (DNS web panels), name %s:\n   %s\n", owner, rec);
	printf("   check it: mailsec dkim record --domain %s --selector %s\n",
	    o.domain, o.sel);
	printf("\n2. from %s (%ld h: twice the TTL, at least 48 h, so every "
	    "resolver has it): switch signing to s=%s\n", t2, wait / 3600,
	    o.sel);
	printf("   mailsec dkim sign --domain %s --selector %s --key %s\n",
	    o.domain, o.sel, path);
	printf("\n3. from %s (a week later: mail signed with the old key "
	    "has left the queues): revoke the old key\n", t3);
	if (o.old != NULL)
		printf("   %s. %ld IN TXT \"%s\"\n", oldowner, o.ttl, revoke);
	else
		printf("   OLD._domainkey.%s. IN TXT \"%s\" (--old names the "
		    "selector)\n", o.domain, revoke);
	printf("   and destroy the old private key\n");
	printf("\n4. from %s: delete the revoked record\n", t4);
	rc = CLI_OK;
done:
	mailsec_lint_free(l);
	mailsec_dkim_key_free(key);
	free(rec);
	free(owner);
	free(oldowner);
	free(zone);
	return rc;
}
