/*
 * tests/unit/daemon_report/test_report_store.c - the DMARC report store
 * over SQLite (daemon/report_store.h): schema creation and migrations
 * (an empty file, a version 1 store, a newer store refused), file mode,
 * evaluations grouped into report rows, report_eval_from_outcome(),
 * imports with duplicates, summary numbers with their filters, the
 * period bookkeeping of the sending job, and concurrent writers waiting
 * through the busy timeout (a held lock, and two processes).
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "report_store.h"
#include "testdir.h"

#define DAY 86400
/* 2024-03-01 00:00:00 UTC */
#define T0 ((int64_t)1709251200)

struct fixture {
	char dir[64];
	char path[256];
	struct report_store *st;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	char err[256];

	assert_non_null(f);
	assert_int_equal(testdir_new(f->dir, sizeof f->dir,
	    "/tmp/msrs-test-XXXXXX"), 0);
	snprintf(f->path, sizeof f->path, "%s/reports.db", f->dir);
	assert_int_equal(report_store_open(f->dir, &f->st, err, sizeof err),
	    MAILSEC_OK);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	report_store_close(f->st);
	testdir_remove(f->dir);
	free(f);
	return 0;
}

/* One integer from a query on a separate connection. */
static long long
query_int(const char *path, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	long long v = -1;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY,
	    NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL),
	    SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static void
exec_sql(const char *path, const char *sql)
{
	sqlite3 *db;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

/* ---- evaluations ------------------------------------------------------- */

static const struct report_eval_dkim dkim_pass[] = {
	{ "example.com", "sel1", MAILSEC_RRES_PASS },
	{ "esp.example", "s2", MAILSEC_RRES_FAIL }
};

static const struct report_eval_reason reason_fwd[] = {
	{ MAILSEC_ROVR_TRUSTED_FORWARDER, "list.example" }
};

static struct report_eval
eval_base(int64_t t, const char *ip)
{
	struct report_eval ev;

	memset(&ev, 0, sizeof ev);
	ev.time = t;
	ev.source_ip = ip;
	ev.header_from = "example.com";
	ev.policy_domain = "example.com";
	ev.envelope_from = "bounce.example.com";
	ev.envelope_to = "receiver.example";
	ev.p = MAILSEC_RDISP_REJECT;
	ev.sp = MAILSEC_RDISP_QUARANTINE;
	ev.adkim = MAILSEC_RALIGN_RELAXED;
	ev.aspf = MAILSEC_RALIGN_STRICT;
	ev.pct = -1;
	ev.discovery_method = "treewalk";
	ev.rua = "mailto:dmarc@example.com";
	ev.spf_domain = "bounce.example.com";
	ev.spf_result = MAILSEC_RRES_PASS;
	ev.dkim = dkim_pass;
	ev.ndkim = 2;
	ev.dmarc_dkim = MAILSEC_REVAL_PASS;
	ev.dmarc_spf = MAILSEC_REVAL_FAIL;
	ev.disposition = MAILSEC_RDISP_PASS;
	return ev;
}

struct rows {
	size_t n;
	uint64_t count[8];
	char ip[8][64];
	size_t ndkim[8];
	char dkim_sel[8][32];
	enum mailsec_report_disp disp[8];
	size_t nreasons[8];
	char reason_comment[8][64];
	char rua[8][128];
	int pct[8];
	bool testing[8];
};

static int
collect(void *arg, const struct report_eval *ev, uint64_t count)
{
	struct rows *r = arg;
	size_t i = r->n++;

	assert_true(i < 8);
	r->count[i] = count;
	snprintf(r->ip[i], sizeof r->ip[i], "%s", ev->source_ip);
	r->ndkim[i] = ev->ndkim;
	if (ev->ndkim > 0 && ev->dkim[0].selector != NULL)
		snprintf(r->dkim_sel[i], sizeof r->dkim_sel[i], "%s",
		    ev->dkim[0].selector);
	r->disp[i] = ev->disposition;
	r->nreasons[i] = ev->nreasons;
	if (ev->nreasons > 0 && ev->reasons[0].comment != NULL)
		snprintf(r->reason_comment[i], sizeof r->reason_comment[i],
		    "%s", ev->reasons[0].comment);
	if (ev->rua != NULL)
		snprintf(r->rua[i], sizeof r->rua[i], "%s", ev->rua);
	r->pct[i] = ev->pct;
	r->testing[i] = ev->testing;
	return 0;
}

static void
test_open_creates_private_store(void **state)
{
	struct fixture *f = *state;
	struct stat sb;
	char wal[300];

	assert_int_equal(stat(f->path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(query_int(f->path, "SELECT version FROM "
	    "schema_version"), 2);
	/* WAL: the -wal file exists while a connection is open, private
	 * like the database */
	snprintf(wal, sizeof wal, "%s-wal", f->path);
	assert_int_equal(stat(wal, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
}

static void
test_migrate_empty_file(void **state)
{
	struct fixture *f = *state;
	struct report_store *st;
	char path[300], err[256];
	int fd;

	snprintf(path, sizeof path, "%s/empty.db", f->dir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(report_store_open_sqlite(path, &st, err,
	    sizeof err), MAILSEC_OK);
	report_store_close(st);
	assert_int_equal(query_int(path, "SELECT version FROM "
	    "schema_version"), 2);
	assert_int_equal(query_int(path, "SELECT COUNT(*) FROM "
	    "sqlite_master WHERE name = 'report_sends'"), 1);
	/* opening again changes nothing */
	assert_int_equal(report_store_open_sqlite(path, &st, err,
	    sizeof err), MAILSEC_OK);
	report_store_close(st);
	assert_int_equal(query_int(path, "SELECT COUNT(*) FROM "
	    "schema_version"), 1);
}

/* The schema as the first version wrote it (frozen: a fixture). */
static const char v1_schema[] =
    "CREATE TABLE schema_version (version INTEGER NOT NULL);"
    "INSERT INTO schema_version VALUES (1);"
    "CREATE TABLE evaluations (id INTEGER PRIMARY KEY,"
    " time INTEGER NOT NULL, source_ip TEXT NOT NULL,"
    " header_from TEXT NOT NULL, policy_domain TEXT NOT NULL,"
    " envelope_from TEXT, envelope_to TEXT, p TEXT, sp TEXT, np TEXT,"
    " adkim TEXT, aspf TEXT, pct INTEGER,"
    " testing INTEGER NOT NULL DEFAULT 0, discovery_method TEXT,"
    " rua TEXT, ruf TEXT, fo TEXT, spf_domain TEXT, spf_scope TEXT,"
    " spf_result TEXT, dmarc_dkim TEXT, dmarc_spf TEXT,"
    " disposition TEXT, dkim_key TEXT NOT NULL DEFAULT '',"
    " reason_key TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX evaluations_period ON evaluations(policy_domain, time);"
    "CREATE TABLE eval_dkim (eval INTEGER NOT NULL REFERENCES"
    " evaluations(id) ON DELETE CASCADE, seq INTEGER NOT NULL,"
    " domain TEXT NOT NULL, selector TEXT, result TEXT,"
    " PRIMARY KEY (eval, seq));"
    "CREATE TABLE eval_reasons (eval INTEGER NOT NULL REFERENCES"
    " evaluations(id) ON DELETE CASCADE, seq INTEGER NOT NULL,"
    " type TEXT NOT NULL, comment TEXT, PRIMARY KEY (eval, seq));"
    "CREATE TABLE reports (id INTEGER PRIMARY KEY,"
    " org_name TEXT NOT NULL, report_id TEXT NOT NULL,"
    " domain TEXT NOT NULL COLLATE NOCASE, email TEXT,"
    " extra_contact_info TEXT, format TEXT, version TEXT,"
    " date_begin INTEGER, date_end INTEGER, generator TEXT, adkim TEXT,"
    " aspf TEXT, p TEXT, sp TEXT, np TEXT, pct INTEGER, fo TEXT,"
    " testing INTEGER NOT NULL DEFAULT 0, discovery_method TEXT,"
    " origin TEXT, imported INTEGER NOT NULL,"
    " UNIQUE (org_name, report_id, domain));"
    "CREATE TABLE report_errors (report INTEGER NOT NULL REFERENCES"
    " reports(id) ON DELETE CASCADE, seq INTEGER NOT NULL, text TEXT,"
    " PRIMARY KEY (report, seq));"
    "CREATE TABLE records (id INTEGER PRIMARY KEY, report INTEGER NOT"
    " NULL REFERENCES reports(id) ON DELETE CASCADE,"
    " seq INTEGER NOT NULL, source_ip TEXT NOT NULL,"
    " count INTEGER NOT NULL, disposition TEXT, dmarc_dkim TEXT,"
    " dmarc_spf TEXT, header_from TEXT, envelope_from TEXT,"
    " envelope_to TEXT);"
    "CREATE INDEX records_report ON records(report);"
    "CREATE TABLE record_reasons (record INTEGER NOT NULL REFERENCES"
    " records(id) ON DELETE CASCADE, seq INTEGER NOT NULL, type TEXT,"
    " comment TEXT, PRIMARY KEY (record, seq));"
    "CREATE TABLE auth_results (record INTEGER NOT NULL REFERENCES"
    " records(id) ON DELETE CASCADE, seq INTEGER NOT NULL,"
    " method TEXT NOT NULL, domain TEXT, selector TEXT, scope TEXT,"
    " result TEXT, human_result TEXT, PRIMARY KEY (record, seq));"
    "INSERT INTO evaluations (time, source_ip, header_from,"
    " policy_domain, rua, dmarc_dkim, dmarc_spf, disposition)"
    " VALUES (1709251300, '192.0.2.1', 'old.example', 'old.example',"
    " 'mailto:r@old.example', 'pass', 'pass', 'none');";

static void
test_migrate_from_v1(void **state)
{
	struct fixture *f = *state;
	struct report_store *st;
	struct report_period *p;
	size_t n;
	char path[300], err[256];

	snprintf(path, sizeof path, "%s/v1.db", f->dir);
	exec_sql(path, v1_schema);
	assert_int_equal(report_store_open_sqlite(path, &st, err,
	    sizeof err), MAILSEC_OK);
	assert_int_equal(query_int(path, "SELECT version FROM "
	    "schema_version"), 2);
	/* the old evaluation is there and usable by the new tables */
	assert_int_equal(report_store_periods_new(st, T0 + DAY, &p, &n),
	    MAILSEC_OK);
	assert_int_equal(n, 1);
	assert_string_equal(p[0].domain, "old.example");
	assert_int_equal(p[0].begin, T0);
	assert_int_equal(p[0].end, T0 + DAY - 1);
	report_periods_free(p, n);
	report_store_close(st);
}

static void
test_newer_schema_refused(void **state)
{
	struct fixture *f = *state;
	struct report_store *st;
	char err[256];

	report_store_close(f->st);
	f->st = NULL;
	exec_sql(f->path, "UPDATE schema_version SET version = 99");
	assert_int_equal(report_store_open(f->dir, &st, err, sizeof err),
	    MAILSEC_EUNSUPPORTED);
	assert_null(st);
	assert_non_null(strstr(err, "99"));
}

static void
test_not_a_store(void **state)
{
	struct fixture *f = *state;
	struct report_store *st;
	char path[300], err[256];
	FILE *fp;

	snprintf(path, sizeof path, "%s/junk.db", f->dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("this is not an SQLite database, not even close to one; "
	    "it just has enough bytes to be looked at as a header.\n", fp);
	fclose(fp);
	assert_int_equal(report_store_open_sqlite(path, &st, err,
	    sizeof err), MAILSEC_EIO);
	assert_null(st);
	assert_non_null(strstr(err, "junk.db"));
}

static void
test_evals_grouped_into_rows(void **state)
{
	struct fixture *f = *state;
	struct report_eval a = eval_base(T0 + 10, "192.0.2.1");
	struct report_eval b = eval_base(T0 + 20, "192.0.2.1");
	struct report_eval c = eval_base(T0 + 30, "198.51.100.7");
	struct report_eval d = eval_base(T0 + 40, "192.0.2.1");
	struct report_period per = { 0 };
	struct rows r = { 0 };

	/* c: another source; d: same source, overridden, different policy
	 * (the last one: the period's policy) */
	c.dmarc_dkim = MAILSEC_REVAL_FAIL;
	c.disposition = MAILSEC_RDISP_REJECT;
	c.ndkim = 0;
	d.dmarc_dkim = MAILSEC_REVAL_FAIL;
	d.disposition = MAILSEC_RDISP_NONE;
	d.reasons = reason_fwd;
	d.nreasons = 1;
	d.rua = "mailto:new@example.com!1048576";
	d.pct = 50;
	d.testing = true;
	assert_int_equal(report_store_add_eval(f->st, &a), MAILSEC_OK);
	assert_int_equal(report_store_add_eval(f->st, &b), MAILSEC_OK);
	assert_int_equal(report_store_add_eval(f->st, &c), MAILSEC_OK);
	assert_int_equal(report_store_add_eval(f->st, &d), MAILSEC_OK);
	/* another day, another domain: not in the period */
	a.time = T0 + DAY + 5;
	assert_int_equal(report_store_add_eval(f->st, &a), MAILSEC_OK);
	a.time = T0 + 50;
	a.policy_domain = "other.example";
	assert_int_equal(report_store_add_eval(f->st, &a), MAILSEC_OK);

	per.domain = "example.com";
	per.begin = T0;
	per.end = T0 + DAY - 1;
	assert_int_equal(report_store_period_rows(f->st, &per, collect, &r),
	    MAILSEC_OK);
	assert_int_equal(r.n, 3);
	assert_int_equal(r.count[0], 2);
	assert_string_equal(r.ip[0], "192.0.2.1");
	assert_int_equal(r.ndkim[0], 2);
	assert_string_equal(r.dkim_sel[0], "sel1");
	assert_int_equal(r.disp[0], MAILSEC_RDISP_PASS);
	assert_int_equal(r.count[1], 1);
	assert_string_equal(r.ip[1], "198.51.100.7");
	assert_int_equal(r.ndkim[1], 0);
	assert_int_equal(r.count[2], 1);
	assert_int_equal(r.nreasons[2], 1);
	assert_string_equal(r.reason_comment[2], "list.example");

	memset(&r, 0, sizeof r);
	assert_int_equal(report_store_period_policy(f->st, &per, collect,
	    &r), MAILSEC_OK);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.rua[0], "mailto:new@example.com!1048576");
	assert_int_equal(r.pct[0], 50);
	assert_true(r.testing[0]);

	per.domain = "nothing.example";
	assert_int_equal(report_store_period_policy(f->st, &per, collect,
	    &r), MAILSEC_ENOTFOUND);
}

static void
test_eval_refused_without_identity(void **state)
{
	struct fixture *f = *state;
	struct report_eval ev = eval_base(T0, "192.0.2.1");

	ev.policy_domain = NULL;
	assert_int_equal(report_store_add_eval(f->st, &ev), MAILSEC_EINVAL);
	ev = eval_base(T0, NULL);
	assert_int_equal(report_store_add_eval(f->st, &ev), MAILSEC_EINVAL);
}

static void
test_eval_from_outcome(void **state)
{
	struct fixture *f = *state;
	struct mailsec_dmarc_record *rec = NULL;
	struct mailsec_dmarc_outcome o;
	struct mailsec_dmarc_domain dom;
	struct mailsec_dmarc_override ov = {
		MAILSEC_DMARC_OV_MAILING_LIST, (char *)"list"
	};
	struct mailsec_spf_outcome spf;
	struct report_eval_src src = { 0 };
	struct report_eval ev;
	static const char txt[] = "v=DMARC1; p=reject; sp=none; adkim=s; "
	    "fo=1:d; rua=mailto:agg@example.com!10m,mailto:x@y.example; "
	    "ruf=mailto:f@example.com";
	struct report_period per = { 0 };
	struct rows r = { 0 };

	assert_int_equal(mailsec_dmarc_record_parse(txt, sizeof txt - 1,
	    MAILSEC_DMARC_RFC9989, &rec, NULL), MAILSEC_OK);
	memset(&o, 0, sizeof o);
	memset(&dom, 0, sizeof dom);
	memset(&spf, 0, sizeof spf);
	dom.domain = (char *)"mail.example.com";
	dom.policy_domain = (char *)"example.com";
	dom.record = rec;
	o.mode = MAILSEC_DMARC_RFC9989;
	o.result = MAILSEC_DMARC_FAIL;
	o.from_domain = (char *)"mail.example.com";
	o.policy_domain = (char *)"example.com";
	o.policy = MAILSEC_DMARC_POLICY_REJECT;
	o.disposition = MAILSEC_DMARC_DISP_NONE;
	o.spf_aligned = true;
	o.noverrides = 1;
	o.overrides = &ov;
	o.ndomains = 1;
	o.domains = &dom;
	spf.result = MAILSEC_SPF_SOFTFAIL;
	spf.identity = MAILSEC_SPF_ID_MAILFROM;
	spf.domain = (char *)"bounces.example.com";
	src.time = T0 + 100;
	src.source_ip = "2001:db8::1";
	src.mail_from = "bob@bounces.example.com";
	src.rcpt_domain = "us.example";
	src.spf = &spf;

	assert_int_equal(report_eval_from_outcome(&ev, &o, &src), MAILSEC_OK);
	assert_string_equal(ev.policy_domain, "example.com");
	assert_string_equal(ev.header_from, "mail.example.com");
	assert_string_equal(ev.envelope_from, "bounces.example.com");
	assert_string_equal(ev.envelope_to, "us.example");
	assert_int_equal(ev.p, MAILSEC_RDISP_REJECT);
	assert_int_equal(ev.sp, MAILSEC_RDISP_NONE);
	assert_int_equal(ev.adkim, MAILSEC_RALIGN_STRICT);
	assert_int_equal(ev.aspf, MAILSEC_RALIGN_RELAXED);
	assert_int_equal(ev.pct, -1);
	assert_string_equal(ev.discovery_method, "treewalk");
	assert_string_equal(ev.rua,
	    "mailto:agg@example.com!10485760,mailto:x@y.example");
	assert_string_equal(ev.ruf, "mailto:f@example.com");
	assert_string_equal(ev.fo, "1:d");
	assert_int_equal(ev.spf_result, MAILSEC_RRES_SOFTFAIL);
	assert_false(ev.spf_helo);
	assert_int_equal(ev.dmarc_spf, MAILSEC_REVAL_PASS);
	assert_int_equal(ev.dmarc_dkim, MAILSEC_REVAL_FAIL);
	assert_int_equal(ev.disposition, MAILSEC_RDISP_NONE);
	assert_int_equal(ev.nreasons, 1);
	assert_int_equal(ev.reasons[0].type, MAILSEC_ROVR_MAILING_LIST);
	report_eval_cleanup(&ev);

	/* the hook stores it; a pass under p=reject is "pass" */
	o.result = MAILSEC_DMARC_PASS;
	o.noverrides = 0;
	assert_int_equal(report_store_add_outcome(f->st, &o, &src),
	    MAILSEC_OK);
	per.domain = "example.com";
	per.begin = T0;
	per.end = T0 + DAY - 1;
	assert_int_equal(report_store_period_rows(f->st, &per, collect, &r),
	    MAILSEC_OK);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.ip[0], "2001:db8::1");
	assert_int_equal(r.disp[0], MAILSEC_RDISP_PASS);

	/* no policy: nothing to report, nothing stored */
	o.policy_domain = NULL;
	assert_int_equal(report_eval_from_outcome(&ev, &o, &src),
	    MAILSEC_ENOTFOUND);
	assert_int_equal(report_store_add_outcome(f->st, &o, &src),
	    MAILSEC_OK);
	assert_int_equal(query_int(f->path, "SELECT COUNT(*) FROM "
	    "evaluations"), 1);
	mailsec_dmarc_record_free(rec);
}

/* ---- imports and summaries --------------------------------------------- */

struct test_report {
	struct mailsec_agg_report r;
	struct mailsec_report_record rec[3];
	struct mailsec_report_dkim dkim[3];
	struct mailsec_report_spf spf[3];
	struct mailsec_report_reason reason;
};

static void
report_init(struct test_report *t, char *org, char *id, char *domain,
    int64_t begin)
{
	static char *const ips[3] = {
		"192.0.2.1", "198.51.100.7", "192.0.2.1"
	};
	static const uint64_t counts[3] = { 10, 3, 5 };
	size_t i;

	memset(t, 0, sizeof *t);
	t->r.format = MAILSEC_REPORT_FMT_RFC7489;
	t->r.org_name = org;
	t->r.email = (char *)"noreply@reporter.example";
	t->r.report_id = id;
	t->r.date_begin = begin;
	t->r.date_end = begin + DAY - 1;
	t->r.domain = domain;
	t->r.p = MAILSEC_RDISP_REJECT;
	t->r.pct = 100;
	t->r.records = t->rec;
	t->r.nrecords = 3;
	for (i = 0; i < 3; i++) {
		t->rec[i].source_ip = ips[i];
		t->rec[i].count = counts[i];
		t->rec[i].header_from = domain;
		t->rec[i].disposition = MAILSEC_RDISP_NONE;
		t->dkim[i].domain = domain;
		t->dkim[i].result = MAILSEC_RRES_PASS;
		t->spf[i].domain = domain;
		t->spf[i].result = MAILSEC_RRES_FAIL;
		t->rec[i].dkim_results = &t->dkim[i];
		t->rec[i].ndkim = 1;
		t->rec[i].spf_results = &t->spf[i];
		t->rec[i].nspf = 1;
	}
	/* 192.0.2.1 x10: dkim and spf pass; 198.51.100.7 x3: both fail;
	 * 192.0.2.1 x5: spf pass only, with a reason */
	t->rec[0].dkim = MAILSEC_REVAL_PASS;
	t->rec[0].spf = MAILSEC_REVAL_PASS;
	t->rec[1].dkim = MAILSEC_REVAL_FAIL;
	t->rec[1].spf = MAILSEC_REVAL_FAIL;
	t->rec[1].disposition = MAILSEC_RDISP_REJECT;
	t->rec[2].dkim = MAILSEC_REVAL_FAIL;
	t->rec[2].spf = MAILSEC_REVAL_PASS;
	t->reason.type = MAILSEC_ROVR_LOCAL_POLICY;
	t->reason.comment = (char *)"arc";
	t->rec[2].reasons = &t->reason;
	t->rec[2].nreasons = 1;
}

static void
test_import_and_duplicate(void **state)
{
	struct fixture *f = *state;
	struct test_report t;
	bool dup;

	report_init(&t, "Reporter Inc", "rid-1", "example.com", T0);
	assert_int_equal(report_store_import(f->st, &t.r, "a.xml", &dup),
	    MAILSEC_OK);
	assert_false(dup);
	assert_int_equal(report_store_import(f->st, &t.r, "a.xml.gz", &dup),
	    MAILSEC_OK);
	assert_true(dup);
	/* the key is org_name + report_id + policy domain (case folded) */
	t.r.domain = (char *)"EXAMPLE.com";
	assert_int_equal(report_store_import(f->st, &t.r, "b", &dup),
	    MAILSEC_OK);
	assert_true(dup);
	t.r.report_id = (char *)"rid-2";
	assert_int_equal(report_store_import(f->st, &t.r, "c", &dup),
	    MAILSEC_OK);
	assert_false(dup);
	/* no org_name: stored under "" and still deduplicated */
	t.r.org_name = NULL;
	assert_int_equal(report_store_import(f->st, &t.r, "d", &dup),
	    MAILSEC_OK);
	assert_false(dup);
	assert_int_equal(report_store_import(f->st, &t.r, "d", &dup),
	    MAILSEC_OK);
	assert_true(dup);
	assert_int_equal(query_int(f->path, "SELECT COUNT(*) FROM reports"),
	    3);
	assert_int_equal(query_int(f->path, "SELECT COUNT(*) FROM records"),
	    9);
	assert_int_equal(query_int(f->path, "SELECT COUNT(*) FROM "
	    "auth_results"), 18);
	assert_int_equal(query_int(f->path, "SELECT COUNT(*) FROM "
	    "record_reasons WHERE type = 'local_policy'"), 3);
}

static void
test_summary_numbers(void **state)
{
	struct fixture *f = *state;
	struct report_summary_query q = { NULL, INT64_MIN, 0 };
	struct report_summary *s;
	struct test_report t;
	bool dup;

	report_init(&t, "A", "1", "example.com", T0);
	assert_int_equal(report_store_import(f->st, &t.r, NULL, &dup),
	    MAILSEC_OK);
	report_init(&t, "B", "1", "example.com", T0 + 3 * DAY);
	t.rec[1].count = 100;
	assert_int_equal(report_store_import(f->st, &t.r, NULL, &dup),
	    MAILSEC_OK);
	report_init(&t, "A", "2", "other.example", T0);
	assert_int_equal(report_store_import(f->st, &t.r, NULL, &dup),
	    MAILSEC_OK);

	assert_int_equal(report_store_summary(f->st, &q, &s), MAILSEC_OK);
	assert_int_equal(s->reports, 3);
	/* 198.51.100.7: 3 + 100 + 3; 192.0.2.1: 3 * (10 + 5) */
	assert_int_equal(s->nsources, 2);
	assert_string_equal(s->sources[0].ip, "198.51.100.7");
	assert_int_equal(s->sources[0].count, 106);
	assert_int_equal(s->sources[0].dmarc_pass, 0);
	assert_string_equal(s->sources[1].ip, "192.0.2.1");
	assert_int_equal(s->sources[1].count, 45);
	assert_int_equal(s->sources[1].spf_pass, 45);
	assert_int_equal(s->sources[1].dkim_pass, 30);
	assert_int_equal(s->sources[1].dmarc_pass, 45);
	assert_null(s->total.ip);
	assert_int_equal(s->total.count, 151);
	assert_int_equal(s->total.spf_pass, 45);
	assert_int_equal(s->total.dkim_pass, 30);
	assert_int_equal(s->total.dmarc_pass, 45);
	assert_int_equal(s->nfailing, 2);
	assert_string_equal(s->failing[0].ip, "198.51.100.7");
	assert_string_equal(s->failing[0].header_from, "example.com");
	assert_int_equal(s->failing[0].count, 103);
	assert_string_equal(s->failing[1].header_from, "other.example");
	assert_int_equal(s->failing[1].count, 3);
	report_summary_free(s);

	q.domain = "Example.COM";
	assert_int_equal(report_store_summary(f->st, &q, &s), MAILSEC_OK);
	assert_int_equal(s->reports, 2);
	assert_int_equal(s->total.count, 30 + 103);
	report_summary_free(s);

	q.since = T0 + 2 * DAY;
	assert_int_equal(report_store_summary(f->st, &q, &s), MAILSEC_OK);
	assert_int_equal(s->reports, 1);
	assert_int_equal(s->total.count, 15 + 100);
	assert_int_equal(s->total.dmarc_pass, 15);
	report_summary_free(s);

	q.domain = "nobody.example";
	q.since = INT64_MIN;
	assert_int_equal(report_store_summary(f->st, &q, &s), MAILSEC_OK);
	assert_int_equal(s->reports, 0);
	assert_int_equal(s->nsources, 0);
	assert_int_equal(s->total.count, 0);
	report_summary_free(s);

	/* failing_max caps the list */
	q.domain = NULL;
	q.failing_max = 1;
	assert_int_equal(report_store_summary(f->st, &q, &s), MAILSEC_OK);
	assert_int_equal(s->nfailing, 1);
	report_summary_free(s);
}

/* ---- periods ----------------------------------------------------------- */

static void
test_periods(void **state)
{
	struct fixture *f = *state;
	struct report_eval ev = eval_base(T0 + 100, "192.0.2.1");
	struct report_period *p, *u;
	size_t n, nu;
	bool done;

	assert_int_equal(report_store_add_eval(f->st, &ev), MAILSEC_OK);
	ev.time = T0 + DAY + 100;
	assert_int_equal(report_store_add_eval(f->st, &ev), MAILSEC_OK);
	ev.time = T0 + DAY + 200;
	assert_int_equal(report_store_add_eval(f->st, &ev), MAILSEC_OK);

	/* at the end of day 2 minus a bit: day 1 whole, day 2 up to now */
	assert_int_equal(report_store_periods_new(f->st, T0 + DAY + 150, &p,
	    &n), MAILSEC_OK);
	assert_int_equal(n, 2);
	assert_int_equal(p[0].begin, T0);
	assert_int_equal(p[0].end, T0 + DAY - 1);
	assert_int_equal(p[0].evals, 1);
	assert_int_equal(p[1].begin, T0 + DAY);
	assert_int_equal(p[1].end, T0 + DAY + 150);
	assert_int_equal(p[1].evals, 1);
	p[0].report_id = strdup("r1");
	p[1].report_id = strdup("r2");
	assert_int_equal(report_store_period_open(f->st, &p[0]), MAILSEC_OK);
	assert_int_equal(report_store_period_open(f->st, &p[1]), MAILSEC_OK);
	assert_true(p[0].id > 0 && p[1].id > p[0].id);

	assert_int_equal(report_store_send_record(f->st, p[0].id,
	    "a@example.com", REPORT_SEND_SENT, NULL, T0 + DAY), MAILSEC_OK);
	assert_int_equal(report_store_send_record(f->st, p[0].id,
	    "b@example.net", REPORT_SEND_TEMPFAIL, "DNS", T0 + DAY),
	    MAILSEC_OK);
	assert_int_equal(report_store_send_done(f->st, p[0].id,
	    "a@example.com", &done), MAILSEC_OK);
	assert_true(done);
	assert_int_equal(report_store_send_done(f->st, p[0].id,
	    "b@example.net", &done), MAILSEC_OK);
	assert_false(done);
	assert_int_equal(report_store_send_done(f->st, p[0].id,
	    "c@example.org", &done), MAILSEC_OK);
	assert_false(done);
	assert_int_equal(report_store_period_finish(f->st, p[1].id),
	    MAILSEC_OK);

	assert_int_equal(report_store_periods_unfinished(f->st, &u, &nu),
	    MAILSEC_OK);
	assert_int_equal(nu, 1);
	assert_int_equal(u[0].id, p[0].id);
	assert_string_equal(u[0].report_id, "r1");
	assert_string_equal(u[0].domain, "example.com");
	assert_int_equal(u[0].evals, 1);
	report_periods_free(u, nu);

	/* the next run starts after the last period: the rest of day 2 */
	report_periods_free(p, n);
	assert_int_equal(report_store_periods_new(f->st, T0 + 3 * DAY, &p,
	    &n), MAILSEC_OK);
	assert_int_equal(n, 1);
	assert_int_equal(p[0].begin, T0 + DAY + 151);
	assert_int_equal(p[0].end, T0 + 2 * DAY - 1);
	assert_int_equal(p[0].evals, 1);
	report_periods_free(p, n);

	/* the same period twice is refused */
	{
		struct report_period dup = { 0 };

		dup.domain = (char *)"example.com";
		dup.begin = T0;
		dup.end = T0 + 5;
		dup.report_id = (char *)"again";
		assert_int_equal(report_store_period_open(f->st, &dup),
		    MAILSEC_EIO);
		assert_non_null(strstr(report_store_error(f->st),
		    "UNIQUE"));
	}
}

/* ---- concurrency ------------------------------------------------------- */

struct holder {
	sqlite3 *db;
	int hold_ms;
};

static void *
release_later(void *arg)
{
	struct holder *h = arg;
	struct timespec ts = { h->hold_ms / 1000,
	    (long)(h->hold_ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
	assert_int_equal(sqlite3_exec(h->db, "COMMIT", NULL, NULL, NULL),
	    SQLITE_OK);
	return NULL;
}

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

static void
test_writer_waits_for_lock(void **state)
{
	struct fixture *f = *state;
	struct report_eval ev = eval_base(T0, "192.0.2.9");
	struct holder h = { NULL, 400 };
	pthread_t th;
	double t0, waited;

	assert_int_equal(sqlite3_open(f->path, &h.db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(h.db, "BEGIN IMMEDIATE; INSERT INTO "
	    "evaluations (time, source_ip, header_from, policy_domain) "
	    "VALUES (1, '192.0.2.8', 'x.example', 'x.example')", NULL, NULL,
	    NULL), SQLITE_OK);
	assert_int_equal(pthread_create(&th, NULL, release_later, &h), 0);
	t0 = now_ms();
	assert_int_equal(report_store_add_eval(f->st, &ev), MAILSEC_OK);
	waited = now_ms() - t0;
	pthread_join(th, NULL);
	sqlite3_close(h.db);
	assert_true(waited >= 300);
	assert_int_equal(query_int(f->path, "SELECT COUNT(*) FROM "
	    "evaluations"), 2);
}

#define PROC_EVALS 150

static void
test_two_processes(void **state)
{
	struct fixture *f = *state;
	pid_t pid[2];
	int i, status;

	for (i = 0; i < 2; i++) {
		pid[i] = fork();
		assert_true(pid[i] >= 0);
		if (pid[i] == 0) {
			struct report_store *st;
			char err[256];
			int k, bad = 0;

			if (report_store_open(f->dir, &st, err, sizeof err) !=
			    MAILSEC_OK)
				_exit(2);
			for (k = 0; k < PROC_EVALS; k++) {
				struct report_eval ev = eval_base(T0 + k,
				    i == 0 ? "192.0.2.1" : "192.0.2.2");

				if (report_store_add_eval(st, &ev) !=
				    MAILSEC_OK)
					bad++;
			}
			report_store_close(st);
			_exit(bad == 0 ? 0 : 1);
		}
	}
	for (i = 0; i < 2; i++) {
		assert_int_equal(waitpid(pid[i], &status, 0), pid[i]);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	assert_int_equal(query_int(f->path, "SELECT COUNT(*) FROM "
	    "evaluations"), 2 * PROC_EVALS);
	assert_int_equal(query_int(f->path, "SELECT COUNT(*) FROM "
	    "eval_dkim"), 2 * 2 * PROC_EVALS);
}

static void
test_words_round_trip(void **state)
{
	unsigned v;

	(void)state;
	for (v = MAILSEC_RRES_NONE; v <= MAILSEC_RRES_UNKNOWN; v++)
		assert_int_equal(report_result_parse(report_result_word(v)),
		    v);
	for (v = MAILSEC_RDISP_NONE; v <= MAILSEC_RDISP_PASS; v++)
		assert_int_equal(report_disp_parse(report_disp_word(v)), v);
	for (v = MAILSEC_ROVR_LOCAL_POLICY; v <= MAILSEC_ROVR_UNKNOWN; v++)
		assert_int_equal(report_override_parse(
		    report_override_word(v)), v);
	assert_null(report_result_word(MAILSEC_RRES_ABSENT));
	assert_int_equal(report_result_parse(NULL), MAILSEC_RRES_ABSENT);
	assert_int_equal(report_result_parse("Pass"), MAILSEC_RRES_PASS);
	assert_int_equal(report_result_parse("bogus"), MAILSEC_RRES_UNKNOWN);
	assert_int_equal(report_align_parse("s"), MAILSEC_RALIGN_STRICT);
	assert_int_equal(report_eval_parse("fail"), MAILSEC_REVAL_FAIL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_words_round_trip),
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_open_creates_private_store),
		T(test_migrate_empty_file),
		T(test_migrate_from_v1),
		T(test_newer_schema_refused),
		T(test_not_a_store),
		T(test_evals_grouped_into_rows),
		T(test_eval_refused_without_identity),
		T(test_eval_from_outcome),
		T(test_import_and_duplicate),
		T(test_summary_numbers),
		T(test_periods),
		T(test_writer_waits_for_lock),
		T(test_two_processes),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
