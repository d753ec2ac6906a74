/*
 * cli/cmd_report.c - `mailsec report import|summary|send`: DMARC
 * aggregate reports (RFC 9990) in the gateway's report store
 * (daemon/report_store.h, STATE_DIR/reports.db): import what others sent
 * us, summarize it per source IP, and run the sending job
 * (daemon/report_job.h) by hand. docs/reports.md, "Commands".
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <mailsec/report.h>

#include "cli.h"
#include "control.h"
#include "queue.h"
#include "report_job.h"
#include "report_sched.h"
#include "report_store.h"

int cmd_report(int argc, char **argv);

#define REPORT_DEFAULT_STATE_DIR "./var"
/* Largest input file (a zip or a report e-mail; the reader caps what
 * it inflates at MAILSEC_REPORT_XML_MAX). */
#define REPORT_INPUT_MAX	CLI_MESSAGE_MAX
/* Directory nesting followed by import. */
#define REPORT_DIR_DEPTH_MAX	8
#define REPORT_PATH_MAX		4096

struct report_opts {
	const char *state_dir;
	const char *verb;
	const char **files;		/* import operands */
	int nfiles;
	const char *domain;		/* summary */
	int64_t since;
	bool json, csv;
	bool now, dry_run;		/* send */
	bool rfc7489;
	const char *receiver, *from, *org;
	struct cli_dns_opts dns;
};

/* Peer-supplied text on a terminal: control bytes shown as '?'. */
static void
put_safe(FILE *f, const char *s)
{
	if (s == NULL)
		s = "";
	for (; *s != '\0'; s++)
		fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, f);
}

/* ---- import ------------------------------------------------------------ */

struct import_run {
	struct report_store *st;
	int failed;			/* inputs that could not be parsed */
	int stored, dups;
};

static void
fail_input(struct import_run *ir, const char *name, const char *member,
    const struct mailsec_diag *diag, mailsec_err e)
{
	ir->failed++;
	fputs("mailsec: ", stderr);
	put_safe(stderr, name);
	if (member != NULL) {
		fputs(" (", stderr);
		put_safe(stderr, member);
		fputc(')', stderr);
	}
	fputs(": ", stderr);
	if (diag->set && diag->line > 0)
		fprintf(stderr, "line %zu: ", diag->line);
	put_safe(stderr, diag->set ? diag->text : mailsec_strerror(e));
	fputc('\n', stderr);
}

static const char *
kind_name(enum mailsec_report_kind k)
{
	switch (k) {
	case MAILSEC_REPORT_KIND_AGGREGATE:
		return "aggregate report";
	case MAILSEC_REPORT_KIND_FAILURE:
		return "failure report";
	case MAILSEC_REPORT_KIND_TLSRPT:
		return "TLS report";
	}
	return "document";
}

/* The records the reader left out of a stored report (not a failure:
 * the rest was stored), one line each on standard error. */
static void
print_warnings(const char *name, const struct mailsec_agg_report *r)
{
	size_t i;

	fflush(stdout);
	for (i = 0; i < r->nwarnings; i++) {
		fputs("mailsec: ", stderr);
		put_safe(stderr, name);
		fputs(": warning: ", stderr);
		put_safe(stderr, r->warnings[i]);
		fputc('\n', stderr);
	}
}

/* One input's bytes: every aggregate report in it is stored. Returns
 * CLI_ERR for a store failure (the import stops), else CLI_OK. */
static int
import_bytes(struct import_run *ir, const char *name, const char *data,
    size_t len)
{
	struct mailsec_report_doc *docs = NULL;
	struct mailsec_diag diag = { 0 };
	size_t ndocs = 0, i;
	bool input_failed = false;
	int rc = CLI_OK;
	mailsec_err e;

	e = mailsec_report_extract(data, len, &docs, &ndocs, &diag);
	if (e == MAILSEC_ENOTFOUND && !diag.set)
		snprintf(diag.text, sizeof diag.text, "no DMARC report in it");
	if (e == MAILSEC_ENOTFOUND)
		diag.set = 1;
	if (e != MAILSEC_OK) {
		fail_input(ir, name, NULL, &diag, e);
		return CLI_OK;
	}
	for (i = 0; i < ndocs; i++) {
		struct mailsec_agg_report *r = NULL;
		struct mailsec_report_totals tot;
		char origin[REPORT_PATH_MAX];
		bool dup = false;

		if (docs[i].kind != MAILSEC_REPORT_KIND_AGGREGATE) {
			put_safe(stdout, name);
			printf(": %s skipped (only aggregate reports are "
			    "stored)\n", kind_name(docs[i].kind));
			continue;
		}
		memset(&diag, 0, sizeof diag);
		e = mailsec_agg_report_parse(docs[i].data, docs[i].len, &r,
		    &diag);
		if (e != MAILSEC_OK) {
			if (!input_failed)
				fail_input(ir, name, ndocs > 1 ?
				    docs[i].name : NULL, &diag, e);
			input_failed = true;
			continue;
		}
		snprintf(origin, sizeof origin, "%s%s%s", name,
		    docs[i].name != NULL ? "#" : "",
		    docs[i].name != NULL ? docs[i].name : "");
		e = report_store_import(ir->st, r, origin, &dup);
		if (e != MAILSEC_OK) {
			rc = cli_fail(CLI_ERR, "report store: %s",
			    report_store_error(ir->st));
			mailsec_agg_report_free(r);
			break;
		}
		mailsec_agg_report_totals(r, &tot);
		put_safe(stdout, name);
		fputs(": report ", stdout);
		put_safe(stdout, r->report_id);
		fputs(" from ", stdout);
		put_safe(stdout, r->org_name);
		fputs(" for ", stdout);
		put_safe(stdout, r->domain);
		if (dup) {
			fputs(": already imported\n", stdout);
			ir->dups++;
		} else {
			printf(": stored, %zu records, %llu messages\n",
			    r->nrecords, (unsigned long long)tot.messages);
			ir->stored++;
			print_warnings(name, r);
		}
		mailsec_agg_report_free(r);
	}
	mailsec_report_docs_free(docs, ndocs);
	return rc;
}

static int
import_path(struct import_run *ir, const char *path, int depth);

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The entries of a directory in name order, dot files left out. */
static int
import_dir(struct import_run *ir, const char *path, int depth)
{
	DIR *d;
	struct dirent *de;
	char **names = NULL, sub[REPORT_PATH_MAX];
	size_t n = 0, cap = 0, i;
	int rc = CLI_OK;

	if (depth >= REPORT_DIR_DEPTH_MAX) {
		ir->failed++;
		return cli_fail(CLI_OK, "%s: directories nested deeper than "
		    "%d: not followed", path, REPORT_DIR_DEPTH_MAX);
	}
	if ((d = opendir(path)) == NULL) {
		ir->failed++;
		return cli_fail(CLI_OK, "%s: %s", path, strerror(errno));
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			size_t ncap = cap == 0 ? 32 : 2 * cap;
			char **p = realloc(names, ncap * sizeof *names);

			if (p == NULL) {
				rc = cli_fail(CLI_ERR, "out of memory");
				goto out;
			}
			names = p;
			cap = ncap;
		}
		if ((names[n] = strdup(de->d_name)) == NULL) {
			rc = cli_fail(CLI_ERR, "out of memory");
			goto out;
		}
		n++;
	}
	qsort(names, n, sizeof *names, name_cmp);
	for (i = 0; i < n && rc == CLI_OK; i++) {
		int k = snprintf(sub, sizeof sub, "%s%s%s", path,
		    path[strlen(path) - 1] == '/' ? "" : "/", names[i]);

		if (k < 0 || (size_t)k >= sizeof sub) {
			ir->failed++;
			cli_fail(CLI_OK, "%s/%s: path too long", path,
			    names[i]);
			continue;
		}
		rc = import_path(ir, sub, depth + 1);
	}
out:
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(d);
	return rc;
}

static int
import_path(struct import_run *ir, const char *path, int depth)
{
	struct stat sb;
	char *data;
	size_t len;
	int rc;

	if (strcmp(path, "-") != 0) {
		if (stat(path, &sb) == -1) {
			ir->failed++;
			return cli_fail(CLI_OK, "%s: %s", path,
			    strerror(errno));
		}
		if (S_ISDIR(sb.st_mode))
			return import_dir(ir, path, depth);
		if (!S_ISREG(sb.st_mode)) {
			ir->failed++;
			return cli_fail(CLI_OK, "%s: not a regular file",
			    path);
		}
	}
	if (cli_read_file(path, REPORT_INPUT_MAX, &data, &len) != CLI_OK) {
		ir->failed++;
		return CLI_OK;
	}
	rc = import_bytes(ir, strcmp(path, "-") == 0 ? "standard input" :
	    path, data, len);
	free(data);
	return rc;
}

static int
run_import(struct report_store *st, const struct report_opts *o)
{
	struct import_run ir = { st, 0, 0, 0 };
	int i, rc = CLI_OK;

	for (i = 0; i < o->nfiles && rc == CLI_OK; i++)
		rc = import_path(&ir, o->files[i], 0);
	if (rc != CLI_OK)
		return rc;
	printf("%d stored, %d already imported, %d failed\n", ir.stored,
	    ir.dups, ir.failed);
	return ir.failed > 0 ? CLI_ERR : CLI_OK;
}

/* ---- summary ----------------------------------------------------------- */

static void
pct(char *buf, size_t sz, uint64_t part, uint64_t whole)
{
	uint64_t permille;

	if (whole == 0) {
		snprintf(buf, sz, "-");
		return;
	}
	/* rounded down: 100.0% only when every message passed */
	permille = part >= whole ? 1000 : (uint64_t)((double)part * 1000.0 /
	    (double)whole);
	if (permille == 1000 && part < whole)
		permille = 999;
	snprintf(buf, sz, "%u.%u%%", (unsigned)(permille / 10),
	    (unsigned)(permille % 10));
}

static void
print_source_text(const struct report_source *s, const char *label)
{
	char spf[16], dkim[16], dmarc[16];

	pct(spf, sizeof spf, s->spf_pass, s->count);
	pct(dkim, sizeof dkim, s->dkim_pass, s->count);
	pct(dmarc, sizeof dmarc, s->dmarc_pass, s->count);
	printf("%-39s %12llu %7s %7s %7s\n", label,
	    (unsigned long long)s->count, spf, dkim, dmarc);
}

static void
print_summary_text(const struct report_summary *s,
    const struct report_opts *o)
{
	size_t i, len;

	printf("reports: %llu, messages: %llu%s%s\n",
	    (unsigned long long)s->reports,
	    (unsigned long long)s->total.count,
	    o->domain != NULL ? ", domain: " : "",
	    o->domain != NULL ? o->domain : "");
	printf("%-39s %12s %7s %7s %7s\n", "source IP", "messages", "SPF",
	    "DKIM", "DMARC");
	for (i = 0; i < s->nsources; i++) {
		char ip[40], *p;

		snprintf(ip, sizeof ip, "%s", s->sources[i].ip);
		for (p = ip; *p != '\0'; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				*p = '?';
		print_source_text(&s->sources[i], ip);
	}
	print_source_text(&s->total, "total");
	if (s->nfailing == 0)
		return;
	printf("\nfailing DMARC (sending as the domain, neither SPF nor "
	    "DKIM aligned):\n");
	printf("%-39s %-30s %12s\n", "source IP", "header_from", "messages");
	for (i = 0; i < s->nfailing; i++) {
		put_safe(stdout, s->failing[i].ip);
		printf("%*s", (int)(40 - (strlen(s->failing[i].ip) < 40 ?
		    strlen(s->failing[i].ip) : 39)), "");
		put_safe(stdout, s->failing[i].header_from);
		/* the count right-aligned under "messages" */
		len = strlen(s->failing[i].header_from);
		printf("%*s%12llu\n", (int)(len < 30 ? 31 - len : 1), "",
		    (unsigned long long)s->failing[i].count);
	}
}

static void
json_source(FILE *f, const struct report_source *s)
{
	fputs("{\"ip\": ", f);
	json_strz(f, s->ip);
	fprintf(f, ", \"count\": %llu, \"spf_pass\": %llu, \"dkim_pass\": "
	    "%llu, \"dmarc_pass\": %llu}", (unsigned long long)s->count,
	    (unsigned long long)s->spf_pass,
	    (unsigned long long)s->dkim_pass,
	    (unsigned long long)s->dmarc_pass);
}

static void
print_summary_json(const struct report_summary *s,
    const struct report_opts *o)
{
	size_t i;

	printf("{\"domain\": ");
	json_strz(stdout, o->domain);
	printf(", \"reports\": %llu, \"messages\": %llu, \"spf_pass\": "
	    "%llu, \"dkim_pass\": %llu, \"dmarc_pass\": %llu,\n"
	    " \"sources\": [", (unsigned long long)s->reports,
	    (unsigned long long)s->total.count,
	    (unsigned long long)s->total.spf_pass,
	    (unsigned long long)s->total.dkim_pass,
	    (unsigned long long)s->total.dmarc_pass);
	for (i = 0; i < s->nsources; i++) {
		fputs(i > 0 ? ",\n  " : "\n  ", stdout);
		json_source(stdout, &s->sources[i]);
	}
	printf("],\n \"failing\": [");
	for (i = 0; i < s->nfailing; i++) {
		fputs(i > 0 ? ",\n  " : "\n  ", stdout);
		fputs("{\"ip\": ", stdout);
		json_strz(stdout, s->failing[i].ip);
		json_member(stdout, "header_from", s->failing[i].header_from);
		printf(", \"count\": %llu}",
		    (unsigned long long)s->failing[i].count);
	}
	printf("]}\n");
}

/* RFC 4180 field: quoted when it holds a comma, quote or line break. */
static void
csv_field(FILE *f, const char *s)
{
	if (s == NULL)
		s = "";
	if (strpbrk(s, ",\"\r\n") == NULL) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s != '\0'; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

static void
print_summary_csv(const struct report_summary *s)
{
	size_t i;

	printf("ip,count,spf_pass,dkim_pass,dmarc_pass\r\n");
	for (i = 0; i < s->nsources; i++) {
		csv_field(stdout, s->sources[i].ip);
		printf(",%llu,%llu,%llu,%llu\r\n",
		    (unsigned long long)s->sources[i].count,
		    (unsigned long long)s->sources[i].spf_pass,
		    (unsigned long long)s->sources[i].dkim_pass,
		    (unsigned long long)s->sources[i].dmarc_pass);
	}
}

static int
run_summary(struct report_store *st, const struct report_opts *o)
{
	struct report_summary_query q = { o->domain, o->since, 0 };
	struct report_summary *s;

	if (report_store_summary(st, &q, &s) != MAILSEC_OK)
		return cli_fail(CLI_ERR, "report store: %s",
		    report_store_error(st));
	if (o->json)
		print_summary_json(s, o);
	else if (o->csv)
		print_summary_csv(s);
	else
		print_summary_text(s, o);
	report_summary_free(s);
	return CLI_OK;
}

/* ---- send -------------------------------------------------------------- */

/*
 * `mailsec report send` puts the mails into the gateway's queue
 * (STATE_DIR/queue, queue_inject(): durable when it returns), then asks
 * a running daemon to deliver now (the control socket's flush). Without
 * a daemon they wait in the queue for the next `mailsec serve`.
 */
static void
queue_kick(const char *state_dir)
{
	struct mailsec_diag diag = { 0 };
	char *resp = NULL;
	size_t len = 0;
	mailsec_err e;

	e = control_request(state_dir, "flush", &resp, &len, &diag);
	free(resp);
	if (e == MAILSEC_ENOTFOUND)
		printf("no mailsec serve running on %s: the reports are "
		    "delivered when it starts\n", state_dir);
	else if (e != MAILSEC_OK)
		cli_fail(CLI_OK, "queue flush: %s", diag.set ? diag.text :
		    mailsec_strerror(e));
}

/* This host's name when it has a dot, else "localhost". */
static void
default_receiver(char *buf, size_t sz)
{
	if (gethostname(buf, sz) == -1 || buf[sz - 1] != '\0' ||
	    strchr(buf, '.') == NULL)
		snprintf(buf, sz, "localhost");
}

static int
run_send(struct report_store *st, const struct report_opts *o)
{
	struct report_job_conf c;
	struct report_job_stats s;
	struct mailsec_resolver *res = NULL;
	struct queue *q = NULL;
	struct mailsec_diag diag = { 0 };
	char host[256] = { 0 }, from[320];
	int rc;
	mailsec_err e;

	memset(&c, 0, sizeof c);
	c.receiver = o->receiver;
	if (c.receiver == NULL) {
		default_receiver(host, sizeof host);
		c.receiver = host;
	}
	c.from = o->from;
	if (c.from == NULL) {
		snprintf(from, sizeof from, "dmarc-noreply@%s", c.receiver);
		c.from = from;
	}
	c.org_name = o->org;
	c.format = o->rfc7489 ? MAILSEC_REPORT_FMT_RFC7489 :
	    MAILSEC_REPORT_FMT_RFC9990;
	c.now = report_sched_now();
	c.include_current = o->now;
	c.dry_run = o->dry_run;
	c.out = stdout;
	if (!o->dry_run && queue_open(&q, o->state_dir, NULL, &diag) !=
	    MAILSEC_OK)
		return cli_fail(CLI_ERR, "queue: %s", diag.set ? diag.text :
		    "cannot open");
	c.send = report_queue_send;
	c.send_arg = q;
	if (cli_dns_resolver(&o->dns, &res) != CLI_OK) {
		queue_close(q);
		return CLI_ERR;
	}
	c.resolver = res;
	e = report_job_run(st, &c, &s);
	mailsec_resolver_free(res);
	queue_close(q);
	if (e != MAILSEC_OK)
		return cli_fail(CLI_ERR, "report send: %s",
		    e == MAILSEC_EIO ? report_store_error(st) :
		    mailsec_strerror(e));
	printf("%zu periods: %zu sent, %zu size notices, %zu unauthorized, "
	    "%zu skipped, %zu to retry%s\n", s.periods, s.sent, s.too_big,
	    s.unauthorized, s.skipped, s.tempfail,
	    !o->dry_run && s.sent + s.too_big > 0 ? "; mails queued" : "");
	if (!o->dry_run && s.sent + s.too_big > 0)
		queue_kick(o->state_dir);
	rc = s.tempfail > 0 ? CLI_ERR : CLI_OK;
	return rc;
}

/* ---- options ----------------------------------------------------------- */

/* YYYY-MM-DD as the Unix time of that day's start (UTC). */
static int
parse_date(const char *s, int64_t *out)
{
	struct tm tm;
	int v[3] = { 0, 0, 0 }, i, k = 0;
	static const int width[3] = { 4, 2, 2 };
	time_t t;

	for (i = 0; i < 3; i++) {
		int w;

		for (w = 0; w < width[i]; w++, k++) {
			if (s[k] < '0' || s[k] > '9')
				return -1;
			v[i] = v[i] * 10 + (s[k] - '0');
		}
		if (i < 2 && s[k++] != '-')
			return -1;
	}
	if (s[k] != '\0' || v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31 ||
	    v[0] < 1970)
		return -1;
	memset(&tm, 0, sizeof tm);
	tm.tm_year = v[0] - 1900;
	tm.tm_mon = v[1] - 1;
	tm.tm_mday = v[2];
	if ((t = timegm(&tm)) == (time_t)-1 || tm.tm_mday != v[2])
		return -1;
	*out = (int64_t)t;
	return 0;
}

static int
parse_opts(int argc, char **argv, struct report_opts *o)
{
	int i, r;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--state-dir") == 0 ||
		    strcmp(a, "--domain") == 0 || strcmp(a, "--since") == 0 ||
		    strcmp(a, "--receiver") == 0 ||
		    strcmp(a, "--from") == 0 || strcmp(a, "--org") == 0) {
			if ((r = cli_need_value("report", argc, argv, i)) !=
			    CLI_OK)
				return r;
			i++;
			if (strcmp(a, "--state-dir") == 0)
				o->state_dir = argv[i];
			else if (strcmp(a, "--domain") == 0)
				o->domain = argv[i];
			else if (strcmp(a, "--receiver") == 0)
				o->receiver = argv[i];
			else if (strcmp(a, "--from") == 0)
				o->from = argv[i];
			else if (strcmp(a, "--org") == 0)
				o->org = argv[i];
			else if (parse_date(argv[i], &o->since) == -1)
				return cli_usage("report", "--since: a date "
				    "YYYY-MM-DD, not '%s'", argv[i]);
		} else if (strcmp(a, "--json") == 0) {
			o->json = true;
		} else if (strcmp(a, "--csv") == 0) {
			o->csv = true;
		} else if (strcmp(a, "--now") == 0) {
			o->now = true;
		} else if (strcmp(a, "--dry-run") == 0) {
			o->dry_run = true;
		} else if (strcmp(a, "--rfc7489") == 0) {
			o->rfc7489 = true;
		} else if ((r = cli_dns_opt("report", argc, argv, &i,
		    &o->dns)) != 0) {
			if (r < 0)
				return CLI_USAGE;
		} else if (a[0] == '-' && a[1] != '\0') {
			return cli_usage("report", "unknown option '%s'", a);
		} else if (o->verb == NULL) {
			o->verb = a;
		} else {
			o->files[o->nfiles++] = a;
		}
	}
	return CLI_OK;
}

/* Options that belong to another operation are refused, not ignored. */
static int
check_opts(const struct report_opts *o)
{
	bool imp = strcmp(o->verb, "import") == 0;
	bool sum = strcmp(o->verb, "summary") == 0;
	bool snd = strcmp(o->verb, "send") == 0;

	if (!imp && !sum && !snd)
		return cli_usage("report", "unknown operation '%s' (import, "
		    "summary or send)", o->verb);
	if (imp && o->nfiles == 0)
		return cli_usage("report", "import needs a FILE, DIR or -");
	if (!imp && o->nfiles > 0)
		return cli_usage("report", "unexpected '%s'", o->files[0]);
	if (!sum && (o->domain != NULL || o->since != INT64_MIN ||
	    o->json || o->csv))
		return cli_usage("report", "--domain, --since, --json and "
		    "--csv are options of summary");
	if (o->json && o->csv)
		return cli_usage("report", "--json and --csv exclude each "
		    "other");
	if (!snd && (o->now || o->dry_run || o->rfc7489 ||
	    o->receiver != NULL || o->from != NULL || o->org != NULL ||
	    o->dns.server != NULL || o->dns.zone != NULL))
		return cli_usage("report", "--now, --dry-run, --rfc7489, "
		    "--receiver, --from, --org and --dns are options of send");
	return CLI_OK;
}

int
cmd_report(int argc, char **argv)
{
	struct report_opts o;
	struct report_store *st = NULL;
	char err[512];
	int rc;

	memset(&o, 0, sizeof o);
	o.state_dir = REPORT_DEFAULT_STATE_DIR;
	o.since = INT64_MIN;
	if ((o.files = calloc((size_t)argc + 1, sizeof *o.files)) == NULL)
		return cli_fail(CLI_ERR, "out of memory");
	if ((rc = parse_opts(argc, argv, &o)) != CLI_OK)
		goto out;
	if (o.verb == NULL) {
		rc = cli_usage("report", "import, summary or send?");
		goto out;
	}
	if ((rc = check_opts(&o)) != CLI_OK)
		goto out;
	if (report_store_open(o.state_dir, &st, err, sizeof err) !=
	    MAILSEC_OK) {
		rc = cli_fail(CLI_ERR, "report store: %s", err);
		goto out;
	}
	if (strcmp(o.verb, "import") == 0)
		rc = run_import(st, &o);
	else if (strcmp(o.verb, "summary") == 0)
		rc = run_summary(st, &o);
	else
		rc = run_send(st, &o);
out:
	report_store_close(st);
	free(o.files);
	return rc;
}
