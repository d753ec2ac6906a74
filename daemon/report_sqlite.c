/*
 * daemon/report_sqlite.c - the report store over SQLite
 * (daemon/report_store.h): one file, STATE_DIR/reports.db, mode 0600.
 *
 * Several processes share it (the gateway adds evaluations while
 * `mailsec report` imports or sends): WAL journal mode lets readers run
 * beside the one writer, every write is one BEGIN IMMEDIATE transaction
 * (it takes the write lock up front, so a busy writer is waited for
 * through the busy timeout instead of failing halfway), and the timeout
 * is REPORT_STORE_BUSY_MS.
 *
 * The schema carries its version (table schema_version); opening a store
 * applies the migrations it lacks, in order, in one transaction. A store
 * of a newer version is refused. Enum values are stored as the words of
 * the report format ("pass", "quarantine"), so the file reads like a
 * report and survives changes of the C enums.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "core/core.h"
#include "report_store.h"

/* Longest grouping key of an evaluation's DKIM results or reasons. */
#define SQL_KEY_MAX	16384

/* ---- schema ------------------------------------------------------------ */

/* Migration i brings a store from version i to i + 1. Never edit one
 * that shipped: add the next. */
static const char *const migrations[] = {
	/* 1: evaluations by the gateway and imported reports */
	"CREATE TABLE evaluations ("
	" id INTEGER PRIMARY KEY,"
	" time INTEGER NOT NULL,"
	" source_ip TEXT NOT NULL,"
	" header_from TEXT NOT NULL,"
	" policy_domain TEXT NOT NULL,"
	" envelope_from TEXT, envelope_to TEXT,"
	" p TEXT, sp TEXT, np TEXT, adkim TEXT, aspf TEXT, pct INTEGER,"
	" testing INTEGER NOT NULL DEFAULT 0, discovery_method TEXT,"
	" rua TEXT, ruf TEXT, fo TEXT,"
	" spf_domain TEXT, spf_scope TEXT, spf_result TEXT,"
	" dmarc_dkim TEXT, dmarc_spf TEXT, disposition TEXT,"
	" dkim_key TEXT NOT NULL DEFAULT '',"
	" reason_key TEXT NOT NULL DEFAULT '');"
	"CREATE INDEX evaluations_period ON evaluations(policy_domain, time);"
	"CREATE TABLE eval_dkim ("
	" eval INTEGER NOT NULL REFERENCES evaluations(id) ON DELETE CASCADE,"
	" seq INTEGER NOT NULL, domain TEXT NOT NULL, selector TEXT,"
	" result TEXT, PRIMARY KEY (eval, seq));"
	"CREATE TABLE eval_reasons ("
	" eval INTEGER NOT NULL REFERENCES evaluations(id) ON DELETE CASCADE,"
	" seq INTEGER NOT NULL, type TEXT NOT NULL, comment TEXT,"
	" PRIMARY KEY (eval, seq));"
	"CREATE TABLE reports ("
	" id INTEGER PRIMARY KEY,"
	" org_name TEXT NOT NULL, report_id TEXT NOT NULL,"
	" domain TEXT NOT NULL COLLATE NOCASE,"
	" email TEXT, extra_contact_info TEXT, format TEXT, version TEXT,"
	" date_begin INTEGER, date_end INTEGER, generator TEXT,"
	" adkim TEXT, aspf TEXT, p TEXT, sp TEXT, np TEXT, pct INTEGER,"
	" fo TEXT, testing INTEGER NOT NULL DEFAULT 0, discovery_method TEXT,"
	" origin TEXT, imported INTEGER NOT NULL,"
	" UNIQUE (org_name, report_id, domain));"
	"CREATE TABLE report_errors ("
	" report INTEGER NOT NULL REFERENCES reports(id) ON DELETE CASCADE,"
	" seq INTEGER NOT NULL, text TEXT, PRIMARY KEY (report, seq));"
	"CREATE TABLE records ("
	" id INTEGER PRIMARY KEY,"
	" report INTEGER NOT NULL REFERENCES reports(id) ON DELETE CASCADE,"
	" seq INTEGER NOT NULL, source_ip TEXT NOT NULL,"
	" count INTEGER NOT NULL, disposition TEXT,"
	" dmarc_dkim TEXT, dmarc_spf TEXT,"
	" header_from TEXT, envelope_from TEXT, envelope_to TEXT);"
	"CREATE INDEX records_report ON records(report);"
	"CREATE TABLE record_reasons ("
	" record INTEGER NOT NULL REFERENCES records(id) ON DELETE CASCADE,"
	" seq INTEGER NOT NULL, type TEXT, comment TEXT,"
	" PRIMARY KEY (record, seq));"
	"CREATE TABLE auth_results ("
	" record INTEGER NOT NULL REFERENCES records(id) ON DELETE CASCADE,"
	" seq INTEGER NOT NULL, method TEXT NOT NULL,"
	" domain TEXT, selector TEXT, scope TEXT, result TEXT,"
	" human_result TEXT, PRIMARY KEY (record, seq));",

	/* 2: what the report job sent */
	"CREATE TABLE report_periods ("
	" id INTEGER PRIMARY KEY,"
	" policy_domain TEXT NOT NULL, begin INTEGER NOT NULL,"
	" end INTEGER NOT NULL, report_id TEXT NOT NULL,"
	" opened INTEGER NOT NULL, finished INTEGER,"
	" UNIQUE (policy_domain, begin));"
	"CREATE TABLE report_sends ("
	" period INTEGER NOT NULL REFERENCES report_periods(id)"
	"  ON DELETE CASCADE,"
	" destination TEXT NOT NULL, status TEXT NOT NULL, detail TEXT,"
	" time INTEGER NOT NULL, PRIMARY KEY (period, destination));"
};

#define SCHEMA_VERSION ((int)(sizeof migrations / sizeof migrations[0]))

/* The columns of an evaluation row, in this order, for eval_row(). */
#define EVAL_COLS \
	"time, source_ip, header_from, policy_domain, envelope_from," \
	" envelope_to, p, sp, np, adkim, aspf, pct, testing," \
	" discovery_method, rua, ruf, fo, spf_domain, spf_scope," \
	" spf_result, dmarc_dkim, dmarc_spf, disposition"
/* The columns that make two evaluations the same report row. */
#define ROW_COLS \
	"source_ip, header_from, envelope_from, envelope_to, spf_domain," \
	" spf_scope, spf_result, dmarc_dkim, dmarc_spf, disposition," \
	" dkim_key, reason_key"

enum stmt {
	S_EVAL_INSERT,
	S_EVAL_DKIM_INSERT,
	S_EVAL_REASON_INSERT,
	S_EVAL_DKIM_SELECT,
	S_EVAL_REASON_SELECT,
	S_REPORT_FIND,
	S_REPORT_INSERT,
	S_REPORT_ERROR_INSERT,
	S_RECORD_INSERT,
	S_RECORD_REASON_INSERT,
	S_AUTH_INSERT,
	S_SUM_REPORTS,
	S_SUM_SOURCES,
	S_SUM_FAILING,
	S_PERIODS_UNFINISHED,
	S_PERIODS_NEW,
	S_PERIOD_INSERT,
	S_PERIOD_FINISH,
	S_PERIOD_POLICY,
	S_PERIOD_ROWS,
	S_SEND_DONE,
	S_SEND_RECORD,
	S_COUNT
};

static const char *const stmt_sql[S_COUNT] = {
	[S_EVAL_INSERT] = "INSERT INTO evaluations (" EVAL_COLS
	    ", dkim_key, reason_key) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8,"
	    " ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20,"
	    " ?21, ?22, ?23, ?24, ?25)",
	[S_EVAL_DKIM_INSERT] = "INSERT INTO eval_dkim (eval, seq, domain,"
	    " selector, result) VALUES (?1, ?2, ?3, ?4, ?5)",
	[S_EVAL_REASON_INSERT] = "INSERT INTO eval_reasons (eval, seq, type,"
	    " comment) VALUES (?1, ?2, ?3, ?4)",
	[S_EVAL_DKIM_SELECT] = "SELECT domain, selector, result FROM"
	    " eval_dkim WHERE eval = ?1 ORDER BY seq",
	[S_EVAL_REASON_SELECT] = "SELECT type, comment FROM eval_reasons"
	    " WHERE eval = ?1 ORDER BY seq",
	[S_REPORT_FIND] = "SELECT id FROM reports WHERE org_name = ?1 AND"
	    " report_id = ?2 AND domain = ?3",
	[S_REPORT_INSERT] = "INSERT INTO reports (org_name, report_id,"
	    " domain, email, extra_contact_info, format, version, date_begin,"
	    " date_end, generator, adkim, aspf, p, sp, np, pct, fo, testing,"
	    " discovery_method, origin, imported) VALUES (?1, ?2, ?3, ?4, ?5,"
	    " ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,"
	    " ?19, ?20, ?21)",
	[S_REPORT_ERROR_INSERT] = "INSERT INTO report_errors (report, seq,"
	    " text) VALUES (?1, ?2, ?3)",
	[S_RECORD_INSERT] = "INSERT INTO records (report, seq, source_ip,"
	    " count, disposition, dmarc_dkim, dmarc_spf, header_from,"
	    " envelope_from, envelope_to) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7,"
	    " ?8, ?9, ?10)",
	[S_RECORD_REASON_INSERT] = "INSERT INTO record_reasons (record, seq,"
	    " type, comment) VALUES (?1, ?2, ?3, ?4)",
	[S_AUTH_INSERT] = "INSERT INTO auth_results (record, seq, method,"
	    " domain, selector, scope, result, human_result) VALUES (?1, ?2,"
	    " ?3, ?4, ?5, ?6, ?7, ?8)",
	[S_SUM_REPORTS] = "SELECT COUNT(*) FROM reports WHERE (?1 IS NULL OR"
	    " domain = ?1) AND date_end >= ?2",
	[S_SUM_SOURCES] = "SELECT r.source_ip, SUM(r.count),"
	    " SUM(CASE WHEN r.dmarc_spf = 'pass' THEN r.count ELSE 0 END),"
	    " SUM(CASE WHEN r.dmarc_dkim = 'pass' THEN r.count ELSE 0 END),"
	    " SUM(CASE WHEN r.dmarc_spf = 'pass' OR r.dmarc_dkim = 'pass'"
	    " THEN r.count ELSE 0 END)"
	    " FROM records r JOIN reports p ON r.report = p.id"
	    " WHERE (?1 IS NULL OR p.domain = ?1) AND p.date_end >= ?2"
	    " GROUP BY r.source_ip ORDER BY 2 DESC, 1",
	[S_SUM_FAILING] = "SELECT r.source_ip, r.header_from, SUM(r.count)"
	    " FROM records r JOIN reports p ON r.report = p.id"
	    " WHERE (?1 IS NULL OR p.domain = ?1) AND p.date_end >= ?2"
	    " AND NOT (IFNULL(r.dmarc_spf, '') = 'pass' OR"
	    " IFNULL(r.dmarc_dkim, '') = 'pass')"
	    " GROUP BY r.source_ip, r.header_from ORDER BY 3 DESC, 1, 2"
	    " LIMIT ?3",
	[S_PERIODS_UNFINISHED] = "SELECT p.id, p.policy_domain, p.begin,"
	    " p.end, p.report_id, (SELECT COUNT(*) FROM evaluations e WHERE"
	    " e.policy_domain = p.policy_domain AND e.time BETWEEN p.begin"
	    " AND p.end) FROM report_periods p WHERE p.finished IS NULL"
	    " ORDER BY p.policy_domain, p.begin",
	/* After the domain's last period, per UTC day (RFC 9990 3.1.1.4:
	 * "Typically ... a single UTC day"). */
	[S_PERIODS_NEW] = "SELECT e.policy_domain, e.time / 86400,"
	    " COUNT(*), IFNULL((SELECT MAX(p.end) FROM report_periods p"
	    " WHERE p.policy_domain = e.policy_domain), -1) AS last"
	    " FROM evaluations e WHERE e.time <= ?1 AND e.time >"
	    " IFNULL((SELECT MAX(p.end) FROM report_periods p"
	    " WHERE p.policy_domain = e.policy_domain), -1)"
	    " GROUP BY e.policy_domain, e.time / 86400 ORDER BY 1, 2",
	[S_PERIOD_INSERT] = "INSERT INTO report_periods (policy_domain,"
	    " begin, end, report_id, opened) VALUES (?1, ?2, ?3, ?4, ?5)",
	[S_PERIOD_FINISH] = "UPDATE report_periods SET finished = ?2"
	    " WHERE id = ?1",
	[S_PERIOD_POLICY] = "SELECT " EVAL_COLS ", id FROM evaluations"
	    " WHERE policy_domain = ?1 AND time BETWEEN ?2 AND ?3"
	    " ORDER BY time DESC, id DESC LIMIT 1",
	[S_PERIOD_ROWS] = "SELECT " ROW_COLS ", COUNT(*), MIN(id)"
	    " FROM evaluations WHERE policy_domain = ?1 AND time BETWEEN ?2"
	    " AND ?3 GROUP BY " ROW_COLS " ORDER BY COUNT(*) DESC, MIN(id)",
	[S_SEND_DONE] = "SELECT status FROM report_sends WHERE period = ?1"
	    " AND destination = ?2",
	[S_SEND_RECORD] = "INSERT OR REPLACE INTO report_sends (period,"
	    " destination, status, detail, time) VALUES (?1, ?2, ?3, ?4, ?5)"
};

struct sql_store {
	struct report_store base;	/* first: the handle */
	sqlite3 *db;
	sqlite3_stmt *stmt[S_COUNT];
};

/* ---- helpers ----------------------------------------------------------- */

static mailsec_err
db_fail(struct sql_store *s, const char *what)
{
	int rc = sqlite3_errcode(s->db);

	snprintf(s->base.error, sizeof s->base.error, "%s: %s", what,
	    sqlite3_errmsg(s->db));
	return rc == SQLITE_NOMEM ? MAILSEC_ENOMEM : MAILSEC_EIO;
}

static sqlite3_stmt *
stmt(struct sql_store *s, enum stmt which)
{
	sqlite3_stmt *st = s->stmt[which];

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return st;
}

static int
bind_text(sqlite3_stmt *st, int i, const char *v)
{
	if (v == NULL)
		return sqlite3_bind_null(st, i);
	return sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
}

static const char *
col_text(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

/* A copy of column i (NULL stays NULL); *ok false on ENOMEM. */
static char *
col_dup(sqlite3_stmt *st, int i, bool *ok)
{
	const char *v = col_text(st, i);
	char *c;

	if (v == NULL)
		return NULL;
	if ((c = ms_memdupz(v, (size_t)sqlite3_column_bytes(st, i))) == NULL)
		*ok = false;
	return c;
}

/* uint64 counts into SQLite's int64, saturating. */
static sqlite3_int64
count64(uint64_t v)
{
	return v > (uint64_t)INT64_MAX ? INT64_MAX : (sqlite3_int64)v;
}

static uint64_t
col_u64(sqlite3_stmt *st, int i)
{
	sqlite3_int64 v = sqlite3_column_int64(st, i);

	return v < 0 ? 0 : (uint64_t)v;
}

static mailsec_err
exec(struct sql_store *s, const char *sql)
{
	if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return db_fail(s, sql);
	return MAILSEC_OK;
}

static mailsec_err
step_done(struct sql_store *s, sqlite3_stmt *st, const char *what)
{
	if (sqlite3_step(st) != SQLITE_DONE)
		return db_fail(s, what);
	return MAILSEC_OK;
}

static void
rollback(struct sql_store *s)
{
	if (!sqlite3_get_autocommit(s->db))
		(void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

/* Key grouping equal lists: fields joined with US, entries with RS. */
static mailsec_err
key_add(struct ms_buf *b, const char *a, const char *c, const char *d)
{
	mailsec_err e;

	if ((e = ms_buf_appendz(b, a != NULL ? a : "")) == MAILSEC_OK &&
	    (e = ms_buf_appendc(b, 0x1f)) == MAILSEC_OK &&
	    (e = ms_buf_appendz(b, c != NULL ? c : "")) == MAILSEC_OK &&
	    (e = ms_buf_appendc(b, 0x1f)) == MAILSEC_OK &&
	    (e = ms_buf_appendz(b, d != NULL ? d : "")) == MAILSEC_OK)
		e = ms_buf_appendc(b, 0x1e);
	return e;
}

/* ---- evaluations ------------------------------------------------------- */

static mailsec_err
eval_keys(const struct report_eval *ev, struct ms_buf *dk, struct ms_buf *rk)
{
	size_t i;
	mailsec_err e = MAILSEC_OK;

	for (i = 0; i < ev->ndkim && i < REPORT_EVAL_DKIM_MAX &&
	    e == MAILSEC_OK; i++)
		e = key_add(dk, ev->dkim[i].domain, ev->dkim[i].selector,
		    report_result_word(ev->dkim[i].result));
	for (i = 0; i < ev->nreasons && i < REPORT_EVAL_REASON_MAX &&
	    e == MAILSEC_OK; i++)
		e = key_add(rk, report_override_word(ev->reasons[i].type),
		    ev->reasons[i].comment, NULL);
	return e;
}

static mailsec_err
sql_add_eval(struct report_store *base, const struct report_eval *ev)
{
	struct sql_store *s = (struct sql_store *)base;
	struct ms_buf dk, rk;
	sqlite3_stmt *st;
	sqlite3_int64 id;
	size_t i;
	mailsec_err e;

	ms_buf_init(&dk, SQL_KEY_MAX);
	ms_buf_init(&rk, SQL_KEY_MAX);
	if ((e = eval_keys(ev, &dk, &rk)) != MAILSEC_OK)
		goto out;
	if ((e = exec(s, "BEGIN IMMEDIATE")) != MAILSEC_OK)
		goto out;
	st = stmt(s, S_EVAL_INSERT);
	sqlite3_bind_int64(st, 1, ev->time);
	bind_text(st, 2, ev->source_ip);
	bind_text(st, 3, ev->header_from);
	bind_text(st, 4, ev->policy_domain);
	bind_text(st, 5, ev->envelope_from);
	bind_text(st, 6, ev->envelope_to);
	bind_text(st, 7, report_disp_word(ev->p));
	bind_text(st, 8, report_disp_word(ev->sp));
	bind_text(st, 9, report_disp_word(ev->np));
	bind_text(st, 10, report_align_word(ev->adkim));
	bind_text(st, 11, report_align_word(ev->aspf));
	if (ev->pct >= 0)
		sqlite3_bind_int(st, 12, ev->pct);
	sqlite3_bind_int(st, 13, ev->testing);
	bind_text(st, 14, ev->discovery_method);
	bind_text(st, 15, ev->rua);
	bind_text(st, 16, ev->ruf);
	bind_text(st, 17, ev->fo);
	bind_text(st, 18, ev->spf_domain);
	if (ev->spf_domain != NULL)
		bind_text(st, 19, ev->spf_helo ? "helo" : "mfrom");
	bind_text(st, 20, report_result_word(ev->spf_result));
	bind_text(st, 21, report_eval_word(ev->dmarc_dkim));
	bind_text(st, 22, report_eval_word(ev->dmarc_spf));
	bind_text(st, 23, report_disp_word(ev->disposition));
	sqlite3_bind_text(st, 24, dk.ptr != NULL ? dk.ptr : "",
	    (int)dk.len, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 25, rk.ptr != NULL ? rk.ptr : "",
	    (int)rk.len, SQLITE_TRANSIENT);
	if ((e = step_done(s, st, "add evaluation")) != MAILSEC_OK)
		goto out;
	id = sqlite3_last_insert_rowid(s->db);
	for (i = 0; i < ev->ndkim && i < REPORT_EVAL_DKIM_MAX; i++) {
		st = stmt(s, S_EVAL_DKIM_INSERT);
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)i);
		bind_text(st, 3, ev->dkim[i].domain != NULL ?
		    ev->dkim[i].domain : "");
		bind_text(st, 4, ev->dkim[i].selector);
		bind_text(st, 5, report_result_word(ev->dkim[i].result));
		if ((e = step_done(s, st, "add DKIM result")) != MAILSEC_OK)
			goto out;
	}
	for (i = 0; i < ev->nreasons && i < REPORT_EVAL_REASON_MAX; i++) {
		const char *w = report_override_word(ev->reasons[i].type);

		st = stmt(s, S_EVAL_REASON_INSERT);
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)i);
		bind_text(st, 3, w != NULL ? w : "other");
		bind_text(st, 4, ev->reasons[i].comment);
		if ((e = step_done(s, st, "add reason")) != MAILSEC_OK)
			goto out;
	}
	e = exec(s, "COMMIT");
out:
	if (e != MAILSEC_OK)
		rollback(s);
	ms_buf_free(&dk);
	ms_buf_free(&rk);
	return e;
}

/* ---- imported reports -------------------------------------------------- */

static const char *
format_word(enum mailsec_report_format f)
{
	switch (f) {
	case MAILSEC_REPORT_FMT_RFC7489:
		return "rfc7489";
	case MAILSEC_REPORT_FMT_RFC9990:
		return "rfc9990";
	case MAILSEC_REPORT_FMT_UNKNOWN:
		break;
	}
	return NULL;
}

static mailsec_err
import_record(struct sql_store *s, sqlite3_int64 report, size_t seq,
    const struct mailsec_report_record *rec)
{
	sqlite3_stmt *st;
	sqlite3_int64 id;
	size_t i, n = 0;
	mailsec_err e;

	st = stmt(s, S_RECORD_INSERT);
	sqlite3_bind_int64(st, 1, report);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)seq);
	bind_text(st, 3, rec->source_ip != NULL ? rec->source_ip : "");
	sqlite3_bind_int64(st, 4, count64(rec->count));
	bind_text(st, 5, report_disp_word(rec->disposition));
	bind_text(st, 6, report_eval_word(rec->dkim));
	bind_text(st, 7, report_eval_word(rec->spf));
	bind_text(st, 8, rec->header_from);
	bind_text(st, 9, rec->envelope_from);
	bind_text(st, 10, rec->envelope_to);
	if ((e = step_done(s, st, "add record")) != MAILSEC_OK)
		return e;
	id = sqlite3_last_insert_rowid(s->db);
	for (i = 0; i < rec->nreasons; i++) {
		st = stmt(s, S_RECORD_REASON_INSERT);
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)i);
		bind_text(st, 3, report_override_word(rec->reasons[i].type));
		bind_text(st, 4, rec->reasons[i].comment);
		if ((e = step_done(s, st, "add reason")) != MAILSEC_OK)
			return e;
	}
	for (i = 0; i < rec->ndkim; i++, n++) {
		const struct mailsec_report_dkim *d = &rec->dkim_results[i];

		st = stmt(s, S_AUTH_INSERT);
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)n);
		bind_text(st, 3, "dkim");
		bind_text(st, 4, d->domain);
		bind_text(st, 5, d->selector);
		bind_text(st, 7, report_result_word(d->result));
		bind_text(st, 8, d->human_result);
		if ((e = step_done(s, st, "add DKIM result")) != MAILSEC_OK)
			return e;
	}
	for (i = 0; i < rec->nspf; i++, n++) {
		const struct mailsec_report_spf *f = &rec->spf_results[i];

		st = stmt(s, S_AUTH_INSERT);
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)n);
		bind_text(st, 3, "spf");
		bind_text(st, 4, f->domain);
		bind_text(st, 6, f->helo ? "helo" : "mfrom");
		bind_text(st, 7, report_result_word(f->result));
		bind_text(st, 8, f->human_result);
		if ((e = step_done(s, st, "add SPF result")) != MAILSEC_OK)
			return e;
	}
	return MAILSEC_OK;
}

static mailsec_err
sql_import(struct report_store *base, const struct mailsec_agg_report *r,
    const char *origin, bool *duplicate)
{
	struct sql_store *s = (struct sql_store *)base;
	sqlite3_stmt *st;
	sqlite3_int64 id;
	const char *org = r->org_name != NULL ? r->org_name : "";
	const char *rid = r->report_id != NULL ? r->report_id : "";
	size_t i;
	int rc;
	mailsec_err e;

	if ((e = exec(s, "BEGIN IMMEDIATE")) != MAILSEC_OK)
		return e;
	st = stmt(s, S_REPORT_FIND);
	bind_text(st, 1, org);
	bind_text(st, 2, rid);
	bind_text(st, 3, r->domain);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*duplicate = true;
		sqlite3_reset(st);
		e = exec(s, "COMMIT");
		goto out;
	}
	if (rc != SQLITE_DONE) {
		e = db_fail(s, "find report");
		goto out;
	}
	st = stmt(s, S_REPORT_INSERT);
	bind_text(st, 1, org);
	bind_text(st, 2, rid);
	bind_text(st, 3, r->domain);
	bind_text(st, 4, r->email);
	bind_text(st, 5, r->extra_contact_info);
	bind_text(st, 6, format_word(r->format));
	bind_text(st, 7, r->version);
	sqlite3_bind_int64(st, 8, r->date_begin);
	sqlite3_bind_int64(st, 9, r->date_end);
	bind_text(st, 10, r->generator);
	bind_text(st, 11, report_align_word(r->adkim));
	bind_text(st, 12, report_align_word(r->aspf));
	bind_text(st, 13, report_disp_word(r->p));
	bind_text(st, 14, report_disp_word(r->sp));
	bind_text(st, 15, report_disp_word(r->np));
	if (r->pct >= 0)
		sqlite3_bind_int(st, 16, r->pct);
	bind_text(st, 17, r->fo);
	sqlite3_bind_int(st, 18, r->testing);
	bind_text(st, 19, r->discovery_method);
	bind_text(st, 20, origin);
	sqlite3_bind_int64(st, 21, (sqlite3_int64)time(NULL));
	if ((e = step_done(s, st, "add report")) != MAILSEC_OK)
		goto out;
	id = sqlite3_last_insert_rowid(s->db);
	for (i = 0; i < r->nerrors; i++) {
		st = stmt(s, S_REPORT_ERROR_INSERT);
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)i);
		bind_text(st, 3, r->errors[i]);
		if ((e = step_done(s, st, "add error")) != MAILSEC_OK)
			goto out;
	}
	for (i = 0; i < r->nrecords; i++)
		if ((e = import_record(s, id, i, &r->records[i])) !=
		    MAILSEC_OK)
			goto out;
	e = exec(s, "COMMIT");
out:
	if (e != MAILSEC_OK)
		rollback(s);
	return e;
}

/* ---- summary ----------------------------------------------------------- */

static void
bind_query(sqlite3_stmt *st, const struct report_summary_query *q)
{
	bind_text(st, 1, q != NULL ? q->domain : NULL);
	sqlite3_bind_int64(st, 2, q != NULL ? q->since : INT64_MIN);
}

static mailsec_err
sql_summary(struct report_store *base, const struct report_summary_query *q,
    struct report_summary **out)
{
	struct sql_store *s = (struct sql_store *)base;
	struct report_summary *sum;
	sqlite3_stmt *st;
	size_t cap = 0, fmax;
	bool ok = true;
	int rc;
	mailsec_err e = MAILSEC_OK;

	if ((sum = ms_calloc(1, sizeof *sum)) == NULL)
		return MAILSEC_ENOMEM;
	st = stmt(s, S_SUM_REPORTS);
	bind_query(st, q);
	if (sqlite3_step(st) != SQLITE_ROW) {
		e = db_fail(s, "count reports");
		goto out;
	}
	sum->reports = col_u64(st, 0);
	sqlite3_reset(st);

	st = stmt(s, S_SUM_SOURCES);
	bind_query(st, q);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct report_source *src;

		if (sum->nsources == cap) {
			size_t ncap = cap == 0 ? 64 : 2 * cap;
			void *p = ms_reallocarray(sum->sources, ncap,
			    sizeof *sum->sources);

			if (p == NULL) {
				e = MAILSEC_ENOMEM;
				goto out;
			}
			sum->sources = p;
			cap = ncap;
		}
		src = &sum->sources[sum->nsources];
		memset(src, 0, sizeof *src);
		src->ip = col_dup(st, 0, &ok);
		sum->nsources++;
		if (!ok) {
			e = MAILSEC_ENOMEM;
			goto out;
		}
		src->count = col_u64(st, 1);
		src->spf_pass = col_u64(st, 2);
		src->dkim_pass = col_u64(st, 3);
		src->dmarc_pass = col_u64(st, 4);
		sum->total.count += src->count;
		sum->total.spf_pass += src->spf_pass;
		sum->total.dkim_pass += src->dkim_pass;
		sum->total.dmarc_pass += src->dmarc_pass;
	}
	if (rc != SQLITE_DONE) {
		e = db_fail(s, "sum sources");
		goto out;
	}
	sqlite3_reset(st);

	fmax = q != NULL && q->failing_max > 0 ? q->failing_max :
	    REPORT_SUMMARY_FAILING_MAX;
	if ((sum->failing = ms_calloc(fmax, sizeof *sum->failing)) == NULL) {
		e = MAILSEC_ENOMEM;
		goto out;
	}
	st = stmt(s, S_SUM_FAILING);
	bind_query(st, q);
	sqlite3_bind_int64(st, 3, count64(fmax));
	while ((rc = sqlite3_step(st)) == SQLITE_ROW &&
	    sum->nfailing < fmax) {
		struct report_failing *f = &sum->failing[sum->nfailing++];

		f->ip = col_dup(st, 0, &ok);
		f->header_from = col_dup(st, 1, &ok);
		f->count = col_u64(st, 2);
		if (!ok) {
			e = MAILSEC_ENOMEM;
			goto out;
		}
	}
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		e = db_fail(s, "failing sources");
	sqlite3_reset(st);
out:
	if (e != MAILSEC_OK) {
		report_summary_free(sum);
		sum = NULL;
	}
	*out = sum;
	return e;
}

/* ---- periods ----------------------------------------------------------- */

static mailsec_err
period_push(struct report_period **v, size_t *n, size_t *cap,
    struct report_period **slot)
{
	if (*n == *cap) {
		size_t ncap = *cap == 0 ? 16 : 2 * *cap;
		void *p = ms_reallocarray(*v, ncap, sizeof **v);

		if (p == NULL)
			return MAILSEC_ENOMEM;
		*v = p;
		*cap = ncap;
	}
	*slot = &(*v)[(*n)++];
	memset(*slot, 0, sizeof **slot);
	return MAILSEC_OK;
}

static mailsec_err
sql_periods_unfinished(struct report_store *base, struct report_period **out,
    size_t *n)
{
	struct sql_store *s = (struct sql_store *)base;
	sqlite3_stmt *st = stmt(s, S_PERIODS_UNFINISHED);
	struct report_period *p;
	size_t cap = 0;
	bool ok = true;
	int rc;
	mailsec_err e = MAILSEC_OK;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((e = period_push(out, n, &cap, &p)) != MAILSEC_OK)
			break;
		p->id = sqlite3_column_int64(st, 0);
		p->domain = col_dup(st, 1, &ok);
		p->begin = sqlite3_column_int64(st, 2);
		p->end = sqlite3_column_int64(st, 3);
		p->report_id = col_dup(st, 4, &ok);
		p->evals = col_u64(st, 5);
		if (!ok) {
			e = MAILSEC_ENOMEM;
			break;
		}
	}
	if (e == MAILSEC_OK && rc != SQLITE_DONE)
		e = db_fail(s, "unfinished periods");
	sqlite3_reset(st);
	if (e != MAILSEC_OK) {
		report_periods_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return e;
}

static mailsec_err
sql_periods_new(struct report_store *base, int64_t cutoff,
    struct report_period **out, size_t *n)
{
	struct sql_store *s = (struct sql_store *)base;
	sqlite3_stmt *st = stmt(s, S_PERIODS_NEW);
	struct report_period *p;
	size_t cap = 0;
	bool ok = true;
	int rc;
	mailsec_err e = MAILSEC_OK;

	sqlite3_bind_int64(st, 1, cutoff);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t day = sqlite3_column_int64(st, 1);
		int64_t last = sqlite3_column_int64(st, 3);

		if ((e = period_push(out, n, &cap, &p)) != MAILSEC_OK)
			break;
		p->domain = col_dup(st, 0, &ok);
		p->begin = day * 86400;
		if (p->begin <= last)
			p->begin = last + 1;
		p->end = day * 86400 + 86399;
		if (p->end > cutoff)
			p->end = cutoff;
		p->evals = col_u64(st, 2);
		if (!ok) {
			e = MAILSEC_ENOMEM;
			break;
		}
	}
	if (e == MAILSEC_OK && rc != SQLITE_DONE)
		e = db_fail(s, "new periods");
	sqlite3_reset(st);
	if (e != MAILSEC_OK) {
		report_periods_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return e;
}

static mailsec_err
sql_period_open(struct report_store *base, struct report_period *p)
{
	struct sql_store *s = (struct sql_store *)base;
	sqlite3_stmt *st = stmt(s, S_PERIOD_INSERT);
	mailsec_err e;

	bind_text(st, 1, p->domain);
	sqlite3_bind_int64(st, 2, p->begin);
	sqlite3_bind_int64(st, 3, p->end);
	bind_text(st, 4, p->report_id);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)time(NULL));
	if ((e = step_done(s, st, "open period")) != MAILSEC_OK)
		return e;
	p->id = sqlite3_last_insert_rowid(s->db);
	return MAILSEC_OK;
}

static mailsec_err
sql_period_finish(struct report_store *base, int64_t id)
{
	struct sql_store *s = (struct sql_store *)base;
	sqlite3_stmt *st = stmt(s, S_PERIOD_FINISH);

	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)time(NULL));
	return step_done(s, st, "finish period");
}

/* The DKIM results and reasons of evaluation id, copied (the strings of
 * a stepped statement do not outlive the next step). */
struct row_children {
	struct report_eval_dkim dkim[REPORT_EVAL_DKIM_MAX];
	struct report_eval_reason reasons[REPORT_EVAL_REASON_MAX];
	size_t ndkim, nreasons;
	char *str[2 * REPORT_EVAL_DKIM_MAX + REPORT_EVAL_REASON_MAX];
	size_t nstr;
};

static const char *
child_str(struct row_children *c, sqlite3_stmt *st, int i, bool *ok)
{
	char *v = col_dup(st, i, ok);

	if (v != NULL)
		c->str[c->nstr++] = v;
	return v;
}

static void
children_free(struct row_children *c)
{
	size_t i;

	for (i = 0; i < c->nstr; i++)
		free(c->str[i]);
}

static mailsec_err
children_load(struct sql_store *s, sqlite3_int64 id, struct row_children *c)
{
	sqlite3_stmt *st;
	bool ok = true;
	int rc;

	memset(c, 0, sizeof *c);
	st = stmt(s, S_EVAL_DKIM_SELECT);
	sqlite3_bind_int64(st, 1, id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW &&
	    c->ndkim < REPORT_EVAL_DKIM_MAX) {
		struct report_eval_dkim *d = &c->dkim[c->ndkim++];

		d->domain = child_str(c, st, 0, &ok);
		d->selector = child_str(c, st, 1, &ok);
		d->result = report_result_parse(col_text(st, 2));
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return db_fail(s, "DKIM results");
	st = stmt(s, S_EVAL_REASON_SELECT);
	sqlite3_bind_int64(st, 1, id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW &&
	    c->nreasons < REPORT_EVAL_REASON_MAX) {
		struct report_eval_reason *r = &c->reasons[c->nreasons++];

		r->type = report_override_parse(col_text(st, 0));
		r->comment = child_str(c, st, 1, &ok);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return db_fail(s, "reasons");
	return ok ? MAILSEC_OK : MAILSEC_ENOMEM;
}

static mailsec_err
cb_result(int rc)
{
	if (rc == 0)
		return MAILSEC_OK;
	if (rc > 0 && rc < MAILSEC_ERR_COUNT)
		return (mailsec_err)rc;
	return MAILSEC_EINVAL;
}

static mailsec_err
sql_period_policy(struct report_store *base, const struct report_period *p,
    report_row_cb cb, void *arg)
{
	struct sql_store *s = (struct sql_store *)base;
	sqlite3_stmt *st = stmt(s, S_PERIOD_POLICY);
	struct report_eval ev;
	struct row_children c;
	int rc;
	mailsec_err e;

	bind_text(st, 1, p->domain);
	sqlite3_bind_int64(st, 2, p->begin);
	sqlite3_bind_int64(st, 3, p->end);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		sqlite3_reset(st);
		if (rc == SQLITE_DONE)
			return MAILSEC_ENOTFOUND;
		return db_fail(s, "period policy");
	}
	if ((e = children_load(s, sqlite3_column_int64(st, 23), &c)) !=
	    MAILSEC_OK)
		goto out;
	memset(&ev, 0, sizeof ev);
	ev.time = sqlite3_column_int64(st, 0);
	ev.source_ip = col_text(st, 1);
	ev.header_from = col_text(st, 2);
	ev.policy_domain = col_text(st, 3);
	ev.envelope_from = col_text(st, 4);
	ev.envelope_to = col_text(st, 5);
	ev.p = report_disp_parse(col_text(st, 6));
	ev.sp = report_disp_parse(col_text(st, 7));
	ev.np = report_disp_parse(col_text(st, 8));
	ev.adkim = report_align_parse(col_text(st, 9));
	ev.aspf = report_align_parse(col_text(st, 10));
	ev.pct = sqlite3_column_type(st, 11) == SQLITE_NULL ? -1 :
	    sqlite3_column_int(st, 11);
	ev.testing = sqlite3_column_int(st, 12) != 0;
	ev.discovery_method = col_text(st, 13);
	ev.rua = col_text(st, 14);
	ev.ruf = col_text(st, 15);
	ev.fo = col_text(st, 16);
	ev.spf_domain = col_text(st, 17);
	ev.spf_helo = col_text(st, 18) != NULL &&
	    strcmp(col_text(st, 18), "helo") == 0;
	ev.spf_result = report_result_parse(col_text(st, 19));
	ev.dmarc_dkim = report_eval_parse(col_text(st, 20));
	ev.dmarc_spf = report_eval_parse(col_text(st, 21));
	ev.disposition = report_disp_parse(col_text(st, 22));
	ev.dkim = c.dkim;
	ev.ndkim = c.ndkim;
	ev.reasons = c.reasons;
	ev.nreasons = c.nreasons;
	e = cb_result(cb(arg, &ev, 1));
out:
	children_free(&c);
	sqlite3_reset(st);
	return e;
}

static mailsec_err
sql_period_rows(struct report_store *base, const struct report_period *p,
    report_row_cb cb, void *arg)
{
	struct sql_store *s = (struct sql_store *)base;
	sqlite3_stmt *st = stmt(s, S_PERIOD_ROWS);
	struct report_eval ev;
	struct row_children c;
	int rc;
	mailsec_err e = MAILSEC_OK;

	bind_text(st, 1, p->domain);
	sqlite3_bind_int64(st, 2, p->begin);
	sqlite3_bind_int64(st, 3, p->end);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		e = children_load(s, sqlite3_column_int64(st, 13), &c);
		if (e != MAILSEC_OK) {
			children_free(&c);
			break;
		}
		memset(&ev, 0, sizeof ev);
		ev.policy_domain = p->domain;
		ev.source_ip = col_text(st, 0);
		ev.header_from = col_text(st, 1);
		ev.envelope_from = col_text(st, 2);
		ev.envelope_to = col_text(st, 3);
		ev.spf_domain = col_text(st, 4);
		ev.spf_helo = col_text(st, 5) != NULL &&
		    strcmp(col_text(st, 5), "helo") == 0;
		ev.spf_result = report_result_parse(col_text(st, 6));
		ev.dmarc_dkim = report_eval_parse(col_text(st, 7));
		ev.dmarc_spf = report_eval_parse(col_text(st, 8));
		ev.disposition = report_disp_parse(col_text(st, 9));
		ev.pct = -1;
		ev.dkim = c.dkim;
		ev.ndkim = c.ndkim;
		ev.reasons = c.reasons;
		ev.nreasons = c.nreasons;
		e = cb_result(cb(arg, &ev, col_u64(st, 12)));
		children_free(&c);
		if (e != MAILSEC_OK)
			break;
	}
	if (e == MAILSEC_OK && rc != SQLITE_DONE)
		e = db_fail(s, "period rows");
	sqlite3_reset(st);
	return e;
}

static mailsec_err
sql_send_done(struct report_store *base, int64_t id, const char *dest,
    bool *done)
{
	struct sql_store *s = (struct sql_store *)base;
	sqlite3_stmt *st = stmt(s, S_SEND_DONE);
	int rc;

	sqlite3_bind_int64(st, 1, id);
	bind_text(st, 2, dest);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*done = strcmp(col_text(st, 0) != NULL ? col_text(st, 0) :
		    "", report_send_status_name(REPORT_SEND_TEMPFAIL)) != 0;
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_fail(s, "send status");
	return MAILSEC_OK;
}

static mailsec_err
sql_send_record(struct report_store *base, int64_t id, const char *dest,
    enum report_send_status status, const char *detail, int64_t when)
{
	struct sql_store *s = (struct sql_store *)base;
	sqlite3_stmt *st = stmt(s, S_SEND_RECORD);

	sqlite3_bind_int64(st, 1, id);
	bind_text(st, 2, dest);
	bind_text(st, 3, report_send_status_name(status));
	bind_text(st, 4, detail);
	sqlite3_bind_int64(st, 5, when);
	return step_done(s, st, "record send");
}

/* ---- open, migrate, close ---------------------------------------------- */

static void
sql_close(struct report_store *base)
{
	struct sql_store *s = (struct sql_store *)base;
	size_t i;

	for (i = 0; i < S_COUNT; i++)
		sqlite3_finalize(s->stmt[i]);
	sqlite3_close(s->db);
	free(s);
}

static const struct report_store_ops sql_ops = {
	.name = "sqlite",
	.close = sql_close,
	.add_eval = sql_add_eval,
	.import = sql_import,
	.summary = sql_summary,
	.periods_unfinished = sql_periods_unfinished,
	.periods_new = sql_periods_new,
	.period_open = sql_period_open,
	.period_finish = sql_period_finish,
	.period_policy = sql_period_policy,
	.period_rows = sql_period_rows,
	.send_done = sql_send_done,
	.send_record = sql_send_record
};

static mailsec_err
migrate(struct sql_store *s)
{
	sqlite3_stmt *st = NULL;
	int version = -1, v;
	mailsec_err e;

	if ((e = exec(s, "BEGIN IMMEDIATE")) != MAILSEC_OK)
		return e;
	if ((e = exec(s, "CREATE TABLE IF NOT EXISTS schema_version"
	    " (version INTEGER NOT NULL)")) != MAILSEC_OK)
		goto out;
	if (sqlite3_prepare_v2(s->db, "SELECT MAX(version) FROM"
	    " schema_version", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		e = db_fail(s, "schema version");
		goto out;
	}
	if (sqlite3_column_type(st, 0) != SQLITE_NULL)
		version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	st = NULL;
	if (version < 0) {
		if ((e = exec(s, "INSERT INTO schema_version VALUES (0)")) !=
		    MAILSEC_OK)
			goto out;
		version = 0;
	}
	if (version > SCHEMA_VERSION) {
		snprintf(s->base.error, sizeof s->base.error, "schema version "
		    "%d is newer than this program's (%d)", version,
		    SCHEMA_VERSION);
		e = MAILSEC_EUNSUPPORTED;
		goto out;
	}
	for (v = version; v < SCHEMA_VERSION; v++)
		if ((e = exec(s, migrations[v])) != MAILSEC_OK)
			goto out;
	if (version < SCHEMA_VERSION) {
		char sql[64];

		snprintf(sql, sizeof sql, "UPDATE schema_version SET "
		    "version = %d", SCHEMA_VERSION);
		if ((e = exec(s, sql)) != MAILSEC_OK)
			goto out;
	}
	e = exec(s, "COMMIT");
out:
	sqlite3_finalize(st);
	if (e != MAILSEC_OK)
		rollback(s);
	return e;
}

/* Creates the file with mode 0600 before SQLite opens it: SQLite gives
 * its -wal and -shm files the database file's permissions. Only a file
 * that does not exist yet is opened (O_EXCL): closing a descriptor of a
 * database that another connection of this process has open would drop
 * that connection's POSIX locks (SQLite's "How To Corrupt" 2.2), and
 * another process could then take the WAL from under it. */
static mailsec_err
create_private(const char *path, char *err, size_t errlen)
{
	int fd;

	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
	    0600);
	if (fd == -1 && errno == EEXIST)
		return MAILSEC_OK;
	if (fd == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return MAILSEC_EIO;
	}
	close(fd);
	return MAILSEC_OK;
}

mailsec_err
report_store_open_sqlite(const char *path, struct report_store **out,
    char *err, size_t errlen)
{
	struct sql_store *s;
	char *slash, dir[4096];
	size_t i;
	mailsec_err e;

	*out = NULL;
	/* the state directory itself, as queue_open() makes it */
	if ((slash = strrchr(path, '/')) != NULL && slash != path &&
	    (size_t)(slash - path) < sizeof dir) {
		memcpy(dir, path, (size_t)(slash - path));
		dir[slash - path] = '\0';
		if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
			snprintf(err, errlen, "%s: %s", dir, strerror(errno));
			return MAILSEC_EIO;
		}
	}
	if ((e = create_private(path, err, errlen)) != MAILSEC_OK)
		return e;
	if ((s = ms_calloc(1, sizeof *s)) == NULL)
		return MAILSEC_ENOMEM;
	s->base.ops = &sql_ops;
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		e = s->db != NULL ? db_fail(s, path) : MAILSEC_ENOMEM;
		goto fail;
	}
	sqlite3_extended_result_codes(s->db, 0);
	sqlite3_busy_timeout(s->db, REPORT_STORE_BUSY_MS);
	if ((e = exec(s, "PRAGMA journal_mode = WAL")) != MAILSEC_OK ||
	    (e = exec(s, "PRAGMA synchronous = NORMAL")) != MAILSEC_OK ||
	    (e = exec(s, "PRAGMA foreign_keys = ON")) != MAILSEC_OK ||
	    (e = migrate(s)) != MAILSEC_OK)
		goto fail;
	for (i = 0; i < S_COUNT; i++)
		if (sqlite3_prepare_v3(s->db, stmt_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &s->stmt[i], NULL) !=
		    SQLITE_OK) {
			e = db_fail(s, stmt_sql[i]);
			goto fail;
		}
	*out = &s->base;
	return MAILSEC_OK;
fail:
	snprintf(err, errlen, "%s: %s", path, s->base.error[0] != '\0' ?
	    s->base.error : mailsec_strerror(e));
	sql_close(&s->base);
	return e;
}
