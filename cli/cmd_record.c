/*
 * cli/cmd_record.c - `mailsec record spf|dmarc|mta-sts|tlsrpt`: writes a
 * record (RFC 7208, RFC 9989, RFC 8461, RFC 8460) from options and
 * prints it as a zone-file line and as the one line DNS web panels
 * want. The library lints what it builds and refuses an input that
 * would make a broken record.
 */
#include <stdlib.h>
#include <string.h>

#include <mailsec/record.h>

#include "cli.h"

int cmd_record(int argc, char **argv);

/* Values of one repeated option. */
#define OPT_MAX 64

struct list {
	const char *v[OPT_MAX];
	size_t n;
};

static int
list_add(struct list *l, const char *opt, const char *v)
{
	if (l->n == OPT_MAX)
		return cli_usage("record", "%s: at most %d", opt, OPT_MAX);
	l->v[l->n++] = v;
	return CLI_OK;
}

struct out_opts {
	const char *domain;
	unsigned long ttl;
	bool json;
};

/* The owner for the zone line: absolute with --domain, else relative
 * to the zone ("@", "_dmarc", ...). */
static int
owner_of(enum mailsec_record_type t, const char *domain, char *buf,
    size_t sz)
{
	static const struct { enum mailsec_record_type t; const char *rel; }
	    rel[] = {
		{ MAILSEC_RECORD_SPF, "@" },
		{ MAILSEC_RECORD_DMARC, "_dmarc" },
		{ MAILSEC_RECORD_MTASTS, "_mta-sts" },
		{ MAILSEC_RECORD_TLSRPT, "_smtp._tls" },
	};
	char *o = NULL;
	size_t i;
	int n;

	if (domain == NULL) {
		buf[0] = '\0';
		for (i = 0; i < sizeof rel / sizeof rel[0]; i++)
			if (rel[i].t == t)
				(void)snprintf(buf, sz, "%s", rel[i].rel);
		return CLI_OK;
	}
	if (mailsec_record_owner(t, domain, NULL, &o) != MAILSEC_OK)
		return cli_usage("record", "--domain: '%s' is not a domain "
		    "name", domain);
	n = snprintf(buf, sz, "%s.", o);
	free(o);
	if (n < 0 || (size_t)n >= sz)
		return cli_usage("record", "--domain: too long");
	return CLI_OK;
}

static int
print_record(enum mailsec_record_type t, const struct out_opts *o,
    const char *rec, const char *policy)
{
	char owner[600], *line = NULL;
	char *url = NULL;
	size_t n;
	int rc;

	if ((rc = owner_of(t, o->domain, owner, sizeof owner)) != CLI_OK)
		return rc;
	if (mailsec_record_zone_line(owner, (uint32_t)o->ttl, rec,
	    strlen(rec), &line) != MAILSEC_OK)
		return cli_fail(CLI_ERR, "out of memory");
	if (o->domain != NULL)
		(void)mailsec_record_owner(MAILSEC_RECORD_MTASTS_POLICY,
		    o->domain, NULL, &url);
	if (o->json) {
		printf("{\"type\": \"%s\", \"name\": ",
		    mailsec_record_type_name(t));
		json_strz(stdout, owner);
		json_member(stdout, "record", rec);
		json_member(stdout, "zone", line);
		if (policy != NULL) {
			json_member(stdout, "policy", policy);
			json_member(stdout, "policy_url", url);
		}
		printf("}\n");
	} else {
		n = strlen(owner);
		printf("; zone file:\n%s\n", line);
		printf("; one line (DNS web panels), name %.*s:\n%s\n",
		    (int)(n > 1 && owner[n - 1] == '.' ? n - 1 : n), owner,
		    rec);
		if (policy != NULL)
			printf("; policy file, served at %s (HTTPS, "
			    "text/plain):\n%s", url != NULL ? url :
			    "https://mta-sts.DOMAIN/.well-known/mta-sts.txt",
			    policy);
	}
	free(url);
	free(line);
	return CLI_OK;
}

static int
parse_num(const char *opt, const char *s, unsigned long max,
    unsigned long *out)
{
	long v = 0;

	if (cli_number("record", opt, s, 0, (long)max, &v) != CLI_OK)
		return CLI_USAGE;
	*out = (unsigned long)v;
	return CLI_OK;
}

/* A word an option takes (or its alias), and the value it stands for. */
struct word {
	const char *name, *alias;
	int value;
};

/* *out = the value of the word s in t (ending with a NULL name); else a
 * usage error "opt: choices". */
static int
parse_word(const char *opt, const char *s, const struct word *t,
    const char *choices, int *out)
{
	for (; t->name != NULL; t++)
		if (strcmp(s, t->name) == 0 ||
		    (t->alias != NULL && strcmp(s, t->alias) == 0)) {
			*out = t->value;
			return CLI_OK;
		}
	return cli_usage("record", "%s: %s", opt, choices);
}

static int
parse_policy(const char *opt, const char *s, enum mailsec_dmarc_policy *p)
{
	static const struct word w[] = {
		{ "none", NULL, MAILSEC_DMARC_POLICY_NONE },
		{ "quarantine", NULL, MAILSEC_DMARC_POLICY_QUARANTINE },
		{ "reject", NULL, MAILSEC_DMARC_POLICY_REJECT },
		{ NULL, NULL, 0 },
	};
	int v = 0;

	if (parse_word(opt, s, w, "none, quarantine or reject", &v) !=
	    CLI_OK)
		return CLI_USAGE;
	*p = (enum mailsec_dmarc_policy)v;
	return CLI_OK;
}

/* A flag option of one builder: sets *on. */
struct flag {
	const char *name;
	bool *on;
};

/*
 * The options every builder takes (--domain, --ttl, --json) and its
 * flags (up to a NULL name; flags may be NULL). Returns 1 when argv[*i]
 * was one of those (advancing *i past a value), 0 when it is another
 * option with a value after it, -1 on a usage error.
 */
static int
common_opt(int argc, char **argv, int *i, struct out_opts *o,
    const struct flag *flags)
{
	const char *a = argv[*i];
	bool common = strcmp(a, "--domain") == 0 || strcmp(a, "--ttl") == 0;

	if (strcmp(a, "--json") == 0) {
		o->json = true;
		return 1;
	}
	for (; flags != NULL && flags->name != NULL; flags++)
		if (strcmp(a, flags->name) == 0) {
			*flags->on = true;
			return 1;
		}
	if (*i + 1 >= argc) {
		if (common)
			cli_usage("record", "%s needs a value", a);
		else
			cli_usage("record", "unknown option or missing "
			    "value: '%s'", a);
		return -1;
	}
	if (!common)
		return 0;
	(*i)++;
	if (strcmp(a, "--domain") == 0)
		o->domain = argv[*i];
	else if (parse_num(a, argv[*i], 2147483647ul, &o->ttl) != CLI_OK)
		return -1;
	return 1;
}

/* What a builder returned (err, d): the record (and policy) printed,
 * or the error; frees rec and policy. */
static int
built(enum mailsec_record_type t, const struct out_opts *o, mailsec_err err,
    const struct mailsec_diag *d, char *rec, char *policy)
{
	int rc;

	if (err == MAILSEC_EINVAL)
		rc = cli_usage("record", "%s", d->set ? d->text :
		    "bad arguments");
	else if (err != MAILSEC_OK)
		rc = cli_fail(CLI_ERR, "%s", d->set ? d->text :
		    mailsec_strerror(err));
	else
		rc = print_record(t, o, rec, policy);
	free(rec);
	free(policy);
	return rc;
}

/* A builder's option a with its value v: CLI_OK or a usage error. */
typedef int opt_fn(void *in, const char *a, const char *v);

/* Reads the options after the record type: the common ones and flags
 * here, the others (with their values) through opt. */
static int
read_opts(int argc, char **argv, struct out_opts *o,
    const struct flag *flags, opt_fn *opt, void *in)
{
	int i, k, rc;

	for (i = 1; i < argc; i++) {
		if ((k = common_opt(argc, argv, &i, o, flags)) < 0)
			return CLI_USAGE;
		if (k > 0)
			continue;
		if ((rc = opt(in, argv[i], argv[i + 1])) != CLI_OK)
			return rc;
		i++;
	}
	return CLI_OK;
}

struct spf_in {
	struct mailsec_spf_build b;
	struct list ip4, ip6, inc;
};

static int
spf_opt(void *in, const char *a, const char *v)
{
	static const struct word all[] = {
		{ "fail", "-all", MAILSEC_SPF_ALL_FAIL },
		{ "softfail", "~all", MAILSEC_SPF_ALL_SOFTFAIL },
		{ "neutral", "?all", MAILSEC_SPF_ALL_NEUTRAL },
		{ NULL, NULL, 0 },
	};
	struct spf_in *x = in;
	int w = 0;

	if (strcmp(a, "--ip4") == 0)
		return list_add(&x->ip4, a, v);
	if (strcmp(a, "--ip6") == 0)
		return list_add(&x->ip6, a, v);
	if (strcmp(a, "--include") == 0)
		return list_add(&x->inc, a, v);
	if (strcmp(a, "--redirect") == 0) {
		x->b.redirect = v;
		return CLI_OK;
	}
	if (strcmp(a, "--policy") != 0 && strcmp(a, "--all") != 0)
		return cli_usage("record", "unknown option '%s'", a);
	if (parse_word("--policy", v, all, "fail, softfail or neutral",
	    &w) != CLI_OK)
		return CLI_USAGE;
	x->b.all = (enum mailsec_spf_all)w;
	return CLI_OK;
}

static int
record_spf(int argc, char **argv)
{
	struct spf_in x;
	const struct flag flags[] = {
		{ "--a", &x.b.a }, { "--mx", &x.b.mx }, { NULL, NULL },
	};
	struct out_opts o = { 0 };
	struct mailsec_diag d = { 0 };
	char *rec = NULL;
	int rc;
	mailsec_err err;

	memset(&x, 0, sizeof x);
	if ((rc = read_opts(argc, argv, &o, flags, spf_opt, &x)) != CLI_OK)
		return rc;
	x.b.ip4 = x.ip4.v;
	x.b.nip4 = x.ip4.n;
	x.b.ip6 = x.ip6.v;
	x.b.nip6 = x.ip6.n;
	x.b.include = x.inc.v;
	x.b.ninclude = x.inc.n;
	err = mailsec_record_spf(&x.b, &rec, &d);
	return built(MAILSEC_RECORD_SPF, &o, err, &d, rec, NULL);
}

struct dmarc_in {
	struct mailsec_dmarc_build b;
	struct list rua, ruf;
};

static int
dmarc_opt(void *in, const char *a, const char *v)
{
	static const struct word align[] = {
		{ "s", "strict", true }, { "r", "relaxed", false },
		{ NULL, NULL, 0 },
	};
	struct dmarc_in *x = in;
	int w = 0;

	if (strcmp(a, "--policy") == 0 || strcmp(a, "-p") == 0)
		return parse_policy(a, v, &x->b.p);
	if (strcmp(a, "--sp") == 0)
		return parse_policy(a, v, &x->b.sp);
	if (strcmp(a, "--np") == 0)
		return parse_policy(a, v, &x->b.np);
	if (strcmp(a, "--rua") == 0)
		return list_add(&x->rua, a, v);
	if (strcmp(a, "--ruf") == 0)
		return list_add(&x->ruf, a, v);
	if (strcmp(a, "--fo") == 0) {
		x->b.fo = v;
		return CLI_OK;
	}
	if (strcmp(a, "--adkim") != 0 && strcmp(a, "--aspf") != 0)
		return cli_usage("record", "unknown option '%s'", a);
	if (parse_word(a, v, align, "r or s", &w) != CLI_OK)
		return CLI_USAGE;
	if (strcmp(a, "--adkim") == 0)
		x->b.adkim_strict = w;
	else
		x->b.aspf_strict = w;
	return CLI_OK;
}

static int
record_dmarc(int argc, char **argv)
{
	struct dmarc_in x;
	const struct flag flags[] = {
		{ "--testing", &x.b.testing }, { NULL, NULL },
	};
	struct out_opts o = { 0 };
	struct mailsec_diag d = { 0 };
	char *rec = NULL;
	int rc;
	mailsec_err err;

	memset(&x, 0, sizeof x);
	x.b.p = MAILSEC_DMARC_POLICY_NONE;
	if ((rc = read_opts(argc, argv, &o, flags, dmarc_opt, &x)) != CLI_OK)
		return rc;
	x.b.rua = x.rua.v;
	x.b.nrua = x.rua.n;
	x.b.ruf = x.ruf.v;
	x.b.nruf = x.ruf.n;
	err = mailsec_record_dmarc(&x.b, &rec, &d);
	return built(MAILSEC_RECORD_DMARC, &o, err, &d, rec, NULL);
}

struct mtasts_in {
	struct mailsec_mtasts_build b;
	struct list mx;
};

static int
mtasts_opt(void *in, const char *a, const char *v)
{
	static const struct word mode[] = {
		{ "enforce", NULL, MAILSEC_MTASTS_ENFORCE },
		{ "testing", NULL, MAILSEC_MTASTS_TESTING },
		{ "none", NULL, MAILSEC_MTASTS_NONE },
		{ NULL, NULL, 0 },
	};
	struct mtasts_in *x = in;
	unsigned long n;
	int w = 0;

	if (strcmp(a, "--mx") == 0)
		return list_add(&x->mx, a, v);
	if (strcmp(a, "--id") == 0) {
		x->b.id = v;
		return CLI_OK;
	}
	if (strcmp(a, "--max-age") == 0) {
		if (parse_num(a, v, MAILSEC_MTASTS_MAX_AGE_MAX, &n) != CLI_OK)
			return CLI_USAGE;
		x->b.max_age = (uint32_t)n;
		return CLI_OK;
	}
	if (strcmp(a, "--mode") != 0)
		return cli_usage("record", "unknown option '%s'", a);
	if (parse_word(a, v, mode, "enforce, testing or none", &w) != CLI_OK)
		return CLI_USAGE;
	x->b.mode = (enum mailsec_mtasts_mode)w;
	return CLI_OK;
}

static int
record_mtasts(int argc, char **argv)
{
	struct mtasts_in x;
	struct out_opts o = { 0 };
	struct mailsec_diag d = { 0 };
	char *txt = NULL, *pol = NULL;
	int rc;
	mailsec_err err;

	memset(&x, 0, sizeof x);
	if ((rc = read_opts(argc, argv, &o, NULL, mtasts_opt, &x)) != CLI_OK)
		return rc;
	x.b.mx = x.mx.v;
	x.b.nmx = x.mx.n;
	err = mailsec_record_mtasts(&x.b, &txt, &pol, &d);
	return built(MAILSEC_RECORD_MTASTS, &o, err, &d, txt, pol);
}

static int
tlsrpt_opt(void *in, const char *a, const char *v)
{
	if (strcmp(a, "--rua") == 0)
		return list_add(in, a, v);
	return cli_usage("record", "unknown option or missing value: '%s'",
	    a);
}

static int
record_tlsrpt(int argc, char **argv)
{
	struct mailsec_tlsrpt_build b = { 0 };
	struct list rua = { { 0 }, 0 };
	struct out_opts o = { 0 };
	struct mailsec_diag d = { 0 };
	char *rec = NULL;
	int rc;
	mailsec_err err;

	if ((rc = read_opts(argc, argv, &o, NULL, tlsrpt_opt, &rua)) != CLI_OK)
		return rc;
	b.rua = rua.v;
	b.nrua = rua.n;
	err = mailsec_record_tlsrpt(&b, &rec, &d);
	return built(MAILSEC_RECORD_TLSRPT, &o, err, &d, rec, NULL);
}

int
cmd_record(int argc, char **argv)
{
	if (argc < 2)
		return cli_usage("record", "spf, dmarc, mta-sts or tlsrpt?");
	if (strcmp(argv[1], "spf") == 0)
		return record_spf(argc - 1, argv + 1);
	if (strcmp(argv[1], "dmarc") == 0)
		return record_dmarc(argc - 1, argv + 1);
	if (strcmp(argv[1], "mta-sts") == 0 || strcmp(argv[1], "mtasts") == 0)
		return record_mtasts(argc - 1, argv + 1);
	if (strcmp(argv[1], "tlsrpt") == 0 || strcmp(argv[1], "tls-rpt") == 0)
		return record_tlsrpt(argc - 1, argv + 1);
	return cli_usage("record", "unknown record type '%s'", argv[1]);
}
