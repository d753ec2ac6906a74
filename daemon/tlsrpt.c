/*
 * daemon/tlsrpt.c - SMTP TLS Reporting (RFC 8460): each session's
 * outcome counted per (domain, UTC day, policy) with failure details,
 * appended to cache_dir/tlsrpt/<day>.log so that a restart loses
 * nothing; after the day, one JSON report (4.4) per domain, gzip'd
 * (5.3), to the rua of TXT _smtp._tls.<domain> (3): handed to the
 * caller's send(), or POSTed here as application/tlsrpt+gzip (5.4).
 *
 * The log is text, one event a line, fields separated by tabs and
 * %XX-escaped (so no field holds a tab or a line end):
 *   R day domain ptype pstring mxhost mx_host ip ok result_type
 *   S day domain		(the day's report of domain is done)
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>
#include <zlib.h>

#include <mailsec/dns.h>

#include "core/core.h"
#include "tlsp_int.h"
#include "tlsrpt_mail.h"

/* Fields of an R line. */
#define RPT_FIELDS	10
/* One log line at most (longer ones are not written or read). */
#define RPT_LINE_MAX	65536
/* Bytes of one day's log read back at start. */
#define RPT_LOG_MAX	(64u * 1024 * 1024)

static bool
rpt_streq(const char *a, const char *b)
{
	return strcmp(a != NULL ? a : "", b != NULL ? b : "") == 0;
}

/* ---- memory ------------------------------------------------------------- */

static void
rpt_clear(struct tlsp_rpt *e)
{
	size_t i;

	for (i = 0; i < e->nfails; i++) {
		free(e->fails[i].result_type);
		free(e->fails[i].ip);
		free(e->fails[i].mx);
	}
	free(e->fails);
	free(e->domain);
	free(e->ptype);
	free(e->pstring);
	free(e->mxhost);
	memset(e, 0, sizeof *e);
}

void
tlsp_rpt_free_all(struct tlsp_ctx *t)
{
	size_t i;

	for (i = 0; i < t->nrpt; i++)
		rpt_clear(&t->rpt[i]);
	free(t->rpt);
	t->rpt = NULL;
	t->nrpt = t->caprpt = 0;
}

static char *
dupz(const char *s)
{
	return strdup(s != NULL ? s : "");
}

/* Counts one result into memory. Under the lock. */
static mailsec_err
rpt_count(struct tlsp_ctx *t, int64_t day, const char *domain,
    const char *ptype, const char *pstring, const char *mxhost,
    const char *mx_host, const char *ip, bool ok, const char *rtype)
{
	struct tlsp_rpt *e = NULL, *v;
	struct tlsp_rpt_fail *f, *fv;
	size_t i, cap;

	for (i = 0; i < t->nrpt; i++) {
		v = &t->rpt[i];
		if (v->day == day && strcmp(v->domain, domain) == 0 &&
		    rpt_streq(v->ptype, ptype) &&
		    rpt_streq(v->pstring, pstring) &&
		    rpt_streq(v->mxhost, mxhost)) {
			e = v;
			break;
		}
	}
	if (e == NULL) {
		if (t->nrpt == t->caprpt) {
			cap = t->caprpt != 0 ? t->caprpt * 2 : 16;
			if ((v = ms_reallocarray(t->rpt, cap, sizeof *v)) ==
			    NULL)
				return MAILSEC_ENOMEM;
			t->rpt = v;
			t->caprpt = cap;
		}
		e = &t->rpt[t->nrpt];
		memset(e, 0, sizeof *e);
		e->day = day;
		if ((e->domain = dupz(domain)) == NULL ||
		    (e->ptype = dupz(ptype)) == NULL ||
		    (e->pstring = dupz(pstring)) == NULL ||
		    (e->mxhost = dupz(mxhost)) == NULL) {
			rpt_clear(e);
			return MAILSEC_ENOMEM;
		}
		t->nrpt++;
	}
	if (ok) {
		e->ok++;
		return MAILSEC_OK;
	}
	e->failed++;
	for (i = 0; i < e->nfails; i++) {
		f = &e->fails[i];
		if (rpt_streq(f->result_type, rtype) && rpt_streq(f->ip, ip) &&
		    rpt_streq(f->mx, mx_host)) {
			f->count++;
			return MAILSEC_OK;
		}
	}
	if (e->nfails >= TLSP_RPT_DETAILS_MAX)
		return MAILSEC_OK;	/* in the summary only */
	if ((fv = ms_reallocarray(e->fails, e->nfails + 1, sizeof *fv)) ==
	    NULL)
		return MAILSEC_ENOMEM;
	e->fails = fv;
	f = &e->fails[e->nfails];
	memset(f, 0, sizeof *f);
	if ((f->result_type = dupz(rtype != NULL ? rtype :
	    "validation-failure")) == NULL || (f->ip = dupz(ip)) == NULL ||
	    (f->mx = dupz(mx_host)) == NULL) {
		free(f->result_type);
		free(f->ip);
		free(f->mx);
		return MAILSEC_ENOMEM;
	}
	f->count = 1;
	e->nfails++;
	return MAILSEC_OK;
}

/* ---- the log ------------------------------------------------------------ */

static mailsec_err
esc_append(struct ms_buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	unsigned char c;
	mailsec_err err = MAILSEC_OK;

	for (; s != NULL && *s != '\0' && err == MAILSEC_OK; s++) {
		c = (unsigned char)*s;
		if (c > 0x20 && c < 0x7f && c != '%')
			err = ms_buf_appendc(b, (char)c);
		else if ((err = ms_buf_appendc(b, '%')) == MAILSEC_OK &&
		    (err = ms_buf_appendc(b, hex[c >> 4])) == MAILSEC_OK)
			err = ms_buf_appendc(b, hex[c & 15]);
	}
	return err;
}

/* Decodes a field in place (%XX); false on a bad escape or a NUL. */
static bool
unesc(char *s)
{
	char *w = s;
	int h, l;

	for (; *s != '\0'; s++) {
		if (*s != '%') {
			*w++ = *s;
			continue;
		}
		if ((h = ms_hexval((unsigned char)s[1])) < 0 ||
		    (l = ms_hexval((unsigned char)s[2])) < 0 ||
		    (h == 0 && l == 0))
			return false;
		*w++ = (char)(h * 16 + l);
		s += 2;
	}
	*w = '\0';
	return true;
}

/* Appends one line to cache_dir/tlsrpt/<day>.log. Under the lock. */
static void
log_append(const struct tlsp_ctx *t, int64_t day, const char *line,
    size_t len)
{
	char path[4096];
	ssize_t w;
	int fd, k;

	if (t->cache_dir == NULL)
		return;
	k = snprintf(path, sizeof path, "%s/tlsrpt/%lld.log", t->cache_dir,
	    (long long)day);
	if (k < 0 || (size_t)k >= sizeof path)
		return;
	if ((fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
	    0600)) == -1)
		return;
	/* one write(): O_APPEND keeps lines whole */
	do {
		w = write(fd, line, len);
	} while (w == -1 && errno == EINTR);
	(void)close(fd);
}

/*
 * Drops from memory (not from the logs) the results of days so old that
 * a report run would give them up anyway: a context that only records
 * (the delivery threads'; the daemon's reports are built from the logs
 * by a context of their own, daemon/report_sched.c) keeps at most
 * TLSP_RPT_KEEP_DAYS days. Under the lock.
 */
static void
forget_old(struct tlsp_ctx *t, int64_t today)
{
	size_t i, w;

	for (i = w = 0; i < t->nrpt; i++) {
		if (t->rpt[i].day + TLSP_RPT_KEEP_DAYS + 1 < today)
			rpt_clear(&t->rpt[i]);
		else
			t->rpt[w++] = t->rpt[i];
	}
	t->nrpt = w;
}

void
tlsp_rpt_record(struct tlsp_ctx *t, const char *domain, const char *ptype,
    const char *pstring, const char *mxhost, const char *mx_host,
    const char *ip, bool ok, const char *result_type)
{
	const char *f[RPT_FIELDS];
	char dayb[24];
	struct ms_buf b;
	int64_t day;
	size_t i;
	bool good = true;

	if (t == NULL || !t->tlsrpt || domain == NULL)
		return;
	if (!ok && result_type == NULL)
		result_type = "validation-failure";
	(void)pthread_mutex_lock(&t->lock);
	day = tlsp_now(t) / 86400;
	forget_old(t, day);
	(void)snprintf(dayb, sizeof dayb, "%lld", (long long)day);
	if (rpt_count(t, day, domain, ptype, pstring, mxhost, mx_host, ip, ok,
	    result_type) != MAILSEC_OK)
		goto done;
	f[0] = "R";
	f[1] = dayb;
	f[2] = domain;
	f[3] = ptype;
	f[4] = pstring;
	f[5] = mxhost;
	f[6] = mx_host;
	f[7] = ip;
	f[8] = ok ? "1" : "0";
	f[9] = ok ? "" : result_type;
	ms_buf_init(&b, RPT_LINE_MAX);
	for (i = 0; i < RPT_FIELDS && good; i++)
		good = (i == 0 || ms_buf_appendc(&b, '\t') == MAILSEC_OK) &&
		    esc_append(&b, f[i]) == MAILSEC_OK;
	if (good && ms_buf_appendc(&b, '\n') == MAILSEC_OK)
		log_append(t, day, b.ptr, b.len);
	ms_buf_free(&b);
done:
	(void)pthread_mutex_unlock(&t->lock);
}

/* Joins n strings with '\n' (NULL for none). */
static char *
join_lines(char *const *v, size_t n)
{
	struct ms_buf b;
	size_t i;

	if (n == 0)
		return NULL;
	ms_buf_init(&b, RPT_LINE_MAX);
	for (i = 0; i < n; i++)
		if ((i > 0 && ms_buf_appendc(&b, '\n') != MAILSEC_OK) ||
		    ms_buf_appendz(&b, v[i]) != MAILSEC_OK)
			return NULL;
	return ms_buf_steal(&b, NULL);
}

void
tlsp_report_result(struct tlsp_ctx *t, const char *domain,
    const struct tlsp_domain *d, const struct tlsp_dane *dane,
    const char *mx_host, const char *ip, bool ok, const char *result_type)
{
	static const char hex[] = "0123456789abcdef";
	char norm[TLSP_NAME_MAX + 1];
	char *pstring = NULL, *mxhost = NULL;
	const char *ptype = "no-policy-found";
	const struct tlsp_tlsa *x;
	struct ms_buf b;
	size_t i, k;

	if (t == NULL || !t->tlsrpt || !tlsp_name_norm(domain, norm))
		return;
	ms_buf_init(&b, RPT_LINE_MAX);
	if (dane != NULL && dane->usable) {
		/* RFC 8460 4.4: the TLSA records in presentation form */
		ptype = "tlsa";
		for (i = 0; i < dane->n; i++) {
			x = &dane->tlsa[i];
			if (ms_buf_printf(&b, "%s%u %u %u ", i > 0 ? "\n" :
			    "", x->usage, x->selector, x->mtype) !=
			    MAILSEC_OK)
				goto done;
			for (k = 0; k < x->len; k++)
				if (ms_buf_appendc(&b, hex[x->data[k] >> 4]) !=
				    MAILSEC_OK || ms_buf_appendc(&b,
				    hex[x->data[k] & 15]) != MAILSEC_OK)
					goto done;
		}
		pstring = ms_buf_steal(&b, NULL);
		mxhost = mx_host != NULL ? strdup(mx_host) : NULL;
	} else if (d != NULL && d->sts != TLSP_STS_NONE) {
		/* the policy's lines (RFC 8460 4.4 policy-string) */
		if (ms_buf_printf(&b, "version: STSv1\nmode: %s",
		    d->sts == TLSP_STS_ENFORCE ? "enforce" : "testing") !=
		    MAILSEC_OK)
			goto done;
		for (i = 0; i < d->nmx; i++)
			if (ms_buf_printf(&b, "\nmx: %s", d->mx_patterns[i]) !=
			    MAILSEC_OK)
				goto done;
		if (ms_buf_printf(&b, "\nmax_age: %u", d->max_age) !=
		    MAILSEC_OK)
			goto done;
		ptype = "sts";
		pstring = ms_buf_steal(&b, NULL);
		mxhost = join_lines(d->mx_patterns, d->nmx);
	}
	tlsp_rpt_record(t, norm, ptype, pstring, mxhost, mx_host, ip, ok,
	    result_type);
done:
	ms_buf_free(&b);
	free(pstring);
	free(mxhost);
}

/* Splits line (NUL-terminated, modified) at tabs into f; returns the
 * count (at most max). */
static size_t
split_tabs(char *line, char **f, size_t max)
{
	size_t n = 0;
	char *p = line, *tab;

	while (n < max) {
		f[n++] = p;
		if ((tab = strchr(p, '\t')) == NULL)
			break;
		*tab = '\0';
		p = tab + 1;
	}
	return n;
}

static int64_t
parse_day(const char *s)
{
	int64_t v = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (!ms_isdigit((unsigned char)*s) || v > 1000000000)
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v;
}

/* Marks the entries of (day, domain) done. Under the lock. */
static void
rpt_mark(struct tlsp_ctx *t, int64_t day, const char *domain)
{
	size_t i;

	for (i = 0; i < t->nrpt; i++)
		if (t->rpt[i].day == day &&
		    strcmp(t->rpt[i].domain, domain) == 0)
			t->rpt[i].sent = true;
}

/* Replays one line of a day's log. */
static void
replay(struct tlsp_ctx *t, int64_t fileday, char *line)
{
	char *f[RPT_FIELDS + 1];
	size_t n, i;
	int64_t day;

	n = split_tabs(line, f, RPT_FIELDS + 1);
	for (i = 0; i < n; i++)
		if (!unesc(f[i]))
			return;
	if (n < 3 || (day = parse_day(f[1])) != fileday)
		return;
	if (strcmp(f[0], "S") == 0 && n == 3) {
		rpt_mark(t, day, f[2]);
		return;
	}
	if (strcmp(f[0], "R") != 0 || n != RPT_FIELDS ||
	    (strcmp(f[8], "1") != 0 && strcmp(f[8], "0") != 0))
		return;
	(void)rpt_count(t, day, f[2], f[3], f[4], f[5], f[6], f[7],
	    f[8][0] == '1', f[9]);
}

/* Reads one day's log back. */
static void
load_day(struct tlsp_ctx *t, const char *dir, const char *name, int64_t day)
{
	char path[4096], *line;
	struct ms_buf b;
	char chunk[8192];
	size_t s, e;
	ssize_t r;
	int fd, k;

	k = snprintf(path, sizeof path, "%s/%s", dir, name);
	if (k < 0 || (size_t)k >= sizeof path ||
	    (fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return;
	ms_buf_init(&b, RPT_LOG_MAX);
	for (;;) {
		r = read(fd, chunk, sizeof chunk);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0 || ms_buf_append(&b, chunk, (size_t)r) !=
		    MAILSEC_OK)
			break;
	}
	(void)close(fd);
	/* complete lines only: a crash may have cut the last one */
	for (s = 0; s < b.len; s = e + 1) {
		line = memchr(b.ptr + s, '\n', b.len - s);
		if (line == NULL)
			break;
		e = (size_t)(line - b.ptr);
		b.ptr[e] = '\0';
		if (memchr(b.ptr + s, '\0', e - s) == NULL)
			replay(t, day, b.ptr + s);
	}
	ms_buf_free(&b);
}

mailsec_err
tlsp_rpt_load(struct tlsp_ctx *t)
{
	char dir[4096], num[32];
	struct dirent *de;
	const char *dot;
	int64_t day;
	size_t n;
	DIR *d;
	int k;

	k = snprintf(dir, sizeof dir, "%s/tlsrpt", t->cache_dir);
	if (k < 0 || (size_t)k >= sizeof dir || tlsp_mkdirs(dir) == -1)
		return MAILSEC_EIO;
	if ((d = opendir(dir)) == NULL)
		return MAILSEC_EIO;
	while ((de = readdir(d)) != NULL) {
		dot = strchr(de->d_name, '.');
		if (dot == NULL || strcmp(dot, ".log") != 0)
			continue;
		n = (size_t)(dot - de->d_name);
		if (n == 0 || n >= sizeof num)
			continue;
		memcpy(num, de->d_name, n);
		num[n] = '\0';
		if ((day = parse_day(num)) < 0)
			continue;
		load_day(t, dir, de->d_name, day);
	}
	(void)closedir(d);
	return MAILSEC_OK;
}

/* ---- the report --------------------------------------------------------- */

static mailsec_err
json_str(struct ms_buf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char c;
	mailsec_err err;

	if ((err = ms_buf_appendc(b, '"')) != MAILSEC_OK)
		return err;
	for (; s != NULL && *s != '\0'; s++) {
		c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			err = ms_buf_printf(b, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			/* ASCII out: a byte of a broken UTF-8 sequence
			 * cannot make the report invalid JSON */
			err = ms_buf_printf(b, "\\u00%c%c", hex[c >> 4],
			    hex[c & 15]);
		else
			err = ms_buf_appendc(b, (char)c);
		if (err != MAILSEC_OK)
			return err;
	}
	return ms_buf_appendc(b, '"');
}

/* A '\n'-joined list as a JSON array of strings. */
static mailsec_err
json_lines(struct ms_buf *b, const char *s)
{
	const char *nl;
	char *one;
	mailsec_err err;
	bool first = true;

	if ((err = ms_buf_appendc(b, '[')) != MAILSEC_OK)
		return err;
	while (s != NULL && *s != '\0') {
		nl = strchr(s, '\n');
		if ((one = ms_memdupz(s, nl != NULL ? (size_t)(nl - s) :
		    strlen(s))) == NULL) {
			ms_buf_free(b);
			return MAILSEC_ENOMEM;
		}
		if (!first)
			err = ms_buf_appendc(b, ',');
		if (err == MAILSEC_OK)
			err = json_str(b, one);
		free(one);
		if (err != MAILSEC_OK)
			return err;
		first = false;
		s = nl != NULL ? nl + 1 : NULL;
	}
	return ms_buf_appendc(b, ']');
}

static void
day_text(int64_t day, char *out, size_t outsz)
{
	time_t tt = (time_t)(day * 86400);
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL) {
		(void)snprintf(out, outsz, "1970-01-01");
		return;
	}
	(void)strftime(out, outsz, "%Y-%m-%d", &tm);
}

/*
 * The RFC 8460 4.4 JSON report of (day, domain) from the entries in
 * memory. Under the lock.
 */
static mailsec_err
build_json(struct tlsp_ctx *t, int64_t day, const char *domain,
    const char *report_id, struct ms_buf *b)
{
	const struct tlsp_rpt *e;
	const struct tlsp_rpt_fail *f;
	char date[32];
	size_t i, k;
	mailsec_err err;
	bool first = true;

	day_text(day, date, sizeof date);
	if ((err = ms_buf_appendz(b, "{\"organization-name\":")) !=
	    MAILSEC_OK || (err = json_str(b, t->reporting_org)) !=
	    MAILSEC_OK || (err = ms_buf_printf(b, ",\"date-range\":{"
	    "\"start-datetime\":\"%sT00:00:00Z\",\"end-datetime\":"
	    "\"%sT23:59:59Z\"},\"contact-info\":", date, date)) !=
	    MAILSEC_OK || (err = json_str(b, t->reporting_contact)) !=
	    MAILSEC_OK || (err = ms_buf_appendz(b, ",\"report-id\":")) !=
	    MAILSEC_OK || (err = json_str(b, report_id)) != MAILSEC_OK ||
	    (err = ms_buf_appendz(b, ",\"policies\":[")) != MAILSEC_OK)
		return err;
	for (i = 0; i < t->nrpt; i++) {
		e = &t->rpt[i];
		if (e->day != day || strcmp(e->domain, domain) != 0)
			continue;
		if ((!first && (err = ms_buf_appendc(b, ',')) != MAILSEC_OK) ||
		    (err = ms_buf_appendz(b, "{\"policy\":{\"policy-type\":"))
		    != MAILSEC_OK || (err = json_str(b, e->ptype)) !=
		    MAILSEC_OK)
			return err;
		first = false;
		if (e->pstring[0] != '\0' &&
		    ((err = ms_buf_appendz(b, ",\"policy-string\":")) !=
		    MAILSEC_OK || (err = json_lines(b, e->pstring)) !=
		    MAILSEC_OK))
			return err;
		if ((err = ms_buf_appendz(b, ",\"policy-domain\":")) !=
		    MAILSEC_OK || (err = json_str(b, e->domain)) !=
		    MAILSEC_OK)
			return err;
		if (e->mxhost[0] != '\0' &&
		    ((err = ms_buf_appendz(b, ",\"mx-host\":")) !=
		    MAILSEC_OK || (err = json_lines(b, e->mxhost)) !=
		    MAILSEC_OK))
			return err;
		if ((err = ms_buf_printf(b, "},\"summary\":{"
		    "\"total-successful-session-count\":%llu,"
		    "\"total-failure-session-count\":%llu}",
		    (unsigned long long)e->ok, (unsigned long long)e->failed))
		    != MAILSEC_OK)
			return err;
		if (e->nfails > 0 && (err = ms_buf_appendz(b,
		    ",\"failure-details\":[")) != MAILSEC_OK)
			return err;
		for (k = 0; k < e->nfails; k++) {
			f = &e->fails[k];
			if ((err = ms_buf_appendz(b, k > 0 ?
			    ",{\"result-type\":" : "{\"result-type\":")) !=
			    MAILSEC_OK || (err = json_str(b, f->result_type))
			    != MAILSEC_OK)
				return err;
			/* RFC 8460 4.3: the MX's address is receiving-ip
			 * (sending-mta-ip would be our own) */
			if (f->ip[0] != '\0' && ((err = ms_buf_appendz(b,
			    ",\"receiving-ip\":")) != MAILSEC_OK ||
			    (err = json_str(b, f->ip)) != MAILSEC_OK))
				return err;
			if (f->mx[0] != '\0' && ((err = ms_buf_appendz(b,
			    ",\"receiving-mx-hostname\":")) != MAILSEC_OK ||
			    (err = json_str(b, f->mx)) != MAILSEC_OK))
				return err;
			if ((err = ms_buf_printf(b, ",\"failed-session-count\""
			    ":%llu}", (unsigned long long)f->count)) !=
			    MAILSEC_OK)
				return err;
		}
		if ((e->nfails > 0 && (err = ms_buf_appendc(b, ']')) !=
		    MAILSEC_OK) || (err = ms_buf_appendc(b, '}')) !=
		    MAILSEC_OK)
			return err;
	}
	return ms_buf_appendz(b, "]}");
}

/* gzip (RFC 1952) of (p, len) through zlib. */
static mailsec_err
gzip_bytes(const char *p, size_t len, unsigned char **out, size_t *outlen)
{
	z_stream zs;
	unsigned char *o;
	uLong bound;
	int rc;

	*out = NULL;
	*outlen = 0;
	if (len > (size_t)UINT32_MAX)
		return MAILSEC_ELIMIT;
	memset(&zs, 0, sizeof zs);
	/* 15 + 16: a gzip wrapper around the deflate stream */
	if (deflateInit2(&zs, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
	    Z_DEFAULT_STRATEGY) != Z_OK)
		return MAILSEC_ENOMEM;
	bound = deflateBound(&zs, (uLong)len) + 32;
	if ((o = malloc(bound)) == NULL) {
		(void)deflateEnd(&zs);
		return MAILSEC_ENOMEM;
	}
	zs.next_in = (Bytef *)(uintptr_t)p;
	zs.avail_in = (uInt)len;
	zs.next_out = o;
	zs.avail_out = (uInt)bound;
	rc = deflate(&zs, Z_FINISH);
	*outlen = zs.total_out;
	(void)deflateEnd(&zs);
	if (rc != Z_STREAM_END) {
		free(o);
		return MAILSEC_EIO;
	}
	*out = o;
	return MAILSEC_OK;
}

/* The rua URIs of domain; NONE when it has no valid TLS-RPT record. */
enum rua_state { RUA_FOUND, RUA_NONE, RUA_TEMP };

static enum rua_state
rua_lookup(struct mailsec_resolver *res, const char *domain, char ***rua,
    size_t *nrua)
{
	struct mailsec_dns_result *r = NULL;
	const struct mailsec_dns_rr *rr, *one = NULL;
	char name[TLSP_NAME_MAX + 16];
	enum rua_state st = RUA_NONE;
	size_t i, n = 0;

	*rua = NULL;
	*nrua = 0;
	(void)snprintf(name, sizeof name, "_smtp._tls.%s", domain);
	if (mailsec_dns_lookup(res, name, MAILSEC_DNS_TXT, &r) != MAILSEC_OK)
		return RUA_TEMP;
	if (mailsec_dns_status_is_temporary(r->status)) {
		st = RUA_TEMP;
		goto done;
	}
	/* RFC 8460 3: records not starting with v=TLSRPTv1 are ignored;
	 * more than one valid: none */
	for (i = 0; r->status == MAILSEC_DNS_ANSWER && i < r->count; i++) {
		rr = &r->rrs[i];
		if (rr->type == MAILSEC_DNS_TXT && rr->u.txt.len >= 10 &&
		    memcmp(rr->u.txt.data, "v=TLSRPTv1", 10) == 0) {
			one = rr;
			n++;
		}
	}
	if (n == 1 && mailsec_tlsrpt_txt_parse(one->u.txt.data,
	    one->u.txt.len, rua, nrua, NULL) == MAILSEC_OK)
		st = RUA_FOUND;
done:
	mailsec_dns_result_free(r);
	return st;
}

/* The sender part of the file name (RFC 8460 5.3): the domain of the
 * contact address, else "mailsec". */
static void
sender_name(const struct tlsp_ctx *t, char *out)
{
	const char *at = strrchr(t->reporting_contact, '@');

	if (at == NULL || !tlsp_name_norm(at + 1, out))
		(void)snprintf(out, TLSP_NAME_MAX + 1, "mailsec");
}

/* POSTs one report (an https rua, send NULL). */
static mailsec_err
post_report(struct tlsp_ctx *t, struct mailsec_resolver *res,
    const char *rua, const void *gz, size_t len)
{
	char why[256];

	/* a policy port other than 443 is a test setup: its names are in
	 * the test's zone, like the policy hosts' */
	return tlsrpt_post(rua, t->ca_file, t->https_port != 0 ? res : NULL,
	    gz, len, why, sizeof why);
}

/* One pending (day, domain). */
struct pending {
	int64_t day;
	char *domain;
};

/* Sends the report of (day, domain); true when it is done with (sent,
 * or nobody to send it to). */
static bool
report_one(struct tlsp_ctx *t, struct mailsec_resolver *res, int64_t day,
    const char *domain, tlsp_send_fn *send, void *arg)
{
	char id[TLSRPT_ID_MAX], fname[TLSRPT_FNAME_MAX];
	char sender[TLSP_NAME_MAX + 1];
	unsigned char rnd[TLSRPT_UNIQUE_BYTES], *gz = NULL;
	struct ms_buf b;
	char **rua = NULL;
	size_t nrua = 0, gzlen = 0, i;
	enum rua_state st;
	mailsec_err err;
	bool done = false;

	st = rua_lookup(res, domain, &rua, &nrua);
	if (st == RUA_TEMP)
		return false;
	if (st == RUA_NONE)
		return true;
	if (RAND_bytes(rnd, sizeof rnd) != 1)
		memset(rnd, 0, sizeof rnd);
	sender_name(t, sender);
	/* RFC 8460 5.3: sender!policy-domain!begin!end!unique.json.gz; the
	 * report-id is made from it, so the mail's Report-ID is the same */
	if ((err = tlsrpt_filename(sender, domain, day, rnd, fname,
	    sizeof fname)) != MAILSEC_OK ||
	    (err = tlsrpt_filename_parse(fname, id, sizeof id, NULL, NULL,
	    NULL)) != MAILSEC_OK) {
		/* a domain that is no host name (a damaged log): nothing
		 * can ever be sent for it */
		done = true;
		goto out;
	}
	ms_buf_init(&b, TLSP_RPT_JSON_MAX);
	(void)pthread_mutex_lock(&t->lock);
	err = build_json(t, day, domain, id, &b);
	(void)pthread_mutex_unlock(&t->lock);
	if (err == MAILSEC_OK)
		err = gzip_bytes(b.ptr, b.len, &gz, &gzlen);
	ms_buf_free(&b);
	if (err != MAILSEC_OK)
		goto out;
	for (i = 0; i < nrua; i++) {
		if (send != NULL)
			err = send(arg, domain, rua[i], fname, gz, gzlen);
		else if (strncmp(rua[i], "https://", 8) == 0)
			err = post_report(t, res, rua[i], gz, gzlen);
		else
			continue;	/* mailto: needs the queue's send */
		/* RFC 8460 5.1: one delivered copy is the report */
		if (err == MAILSEC_OK)
			done = true;
	}
out:
	free(gz);
	mailsec_tlsrpt_rua_free(rua, nrua);
	return done;
}

/* Marks (day, domain) done in memory and in the log. Under the lock. */
static void
mark_done(struct tlsp_ctx *t, int64_t day, const char *domain)
{
	struct ms_buf b;

	rpt_mark(t, day, domain);
	ms_buf_init(&b, RPT_LINE_MAX);
	if (ms_buf_printf(&b, "S\t%lld\t", (long long)day) == MAILSEC_OK &&
	    esc_append(&b, domain) == MAILSEC_OK &&
	    ms_buf_appendc(&b, '\n') == MAILSEC_OK)
		log_append(t, day, b.ptr, b.len);
	ms_buf_free(&b);
}

/* Drops the days whose every entry is done, and their logs. Under the
 * lock. */
static void
prune(struct tlsp_ctx *t, int64_t today)
{
	char path[4096];
	size_t i, j, w;
	int64_t day;
	bool all;

	for (i = 0; i < t->nrpt; i++) {
		day = t->rpt[i].day;
		if (day >= today)
			continue;
		all = true;
		for (j = 0; j < t->nrpt && all; j++)
			if (t->rpt[j].day == day && !t->rpt[j].sent)
				all = false;
		if (!all)
			continue;
		for (j = w = 0; j < t->nrpt; j++) {
			if (t->rpt[j].day == day)
				rpt_clear(&t->rpt[j]);
			else
				t->rpt[w++] = t->rpt[j];
		}
		t->nrpt = w;
		if (t->cache_dir != NULL && snprintf(path, sizeof path,
		    "%s/tlsrpt/%lld.log", t->cache_dir, (long long)day) <
		    (int)sizeof path)
			(void)unlink(path);
		i = (size_t)-1;		/* the array changed: again */
	}
}

mailsec_err
tlsp_reports_run(struct tlsp_ctx *t, struct mailsec_resolver *res,
    int64_t now, tlsp_send_fn *send, void *arg)
{
	struct pending *p = NULL, *pv;
	size_t np = 0, i, k;
	int64_t today = now / 86400;
	mailsec_err err = MAILSEC_OK;
	bool done;

	if (t == NULL || res == NULL)
		return MAILSEC_EINVAL;
	if (!t->tlsrpt)
		return MAILSEC_OK;
	/* the pairs to report, copied: DNS and sending run unlocked */
	(void)pthread_mutex_lock(&t->lock);
	for (i = 0; i < t->nrpt && err == MAILSEC_OK; i++) {
		if (t->rpt[i].sent || t->rpt[i].day >= today)
			continue;
		for (k = 0; k < np; k++)
			if (p[k].day == t->rpt[i].day &&
			    strcmp(p[k].domain, t->rpt[i].domain) == 0)
				break;
		if (k < np)
			continue;
		if ((pv = ms_reallocarray(p, np + 1, sizeof *p)) == NULL ||
		    (pv[np].domain = strdup(t->rpt[i].domain)) == NULL) {
			if (pv != NULL)
				p = pv;
			err = MAILSEC_ENOMEM;
			break;
		}
		p = pv;
		p[np++].day = t->rpt[i].day;
	}
	(void)pthread_mutex_unlock(&t->lock);
	for (i = 0; i < np && err == MAILSEC_OK; i++) {
		done = report_one(t, res, p[i].day, p[i].domain, send, arg);
		/* too old to keep trying */
		if (!done && p[i].day + TLSP_RPT_KEEP_DAYS < today)
			done = true;
		if (done) {
			(void)pthread_mutex_lock(&t->lock);
			mark_done(t, p[i].day, p[i].domain);
			(void)pthread_mutex_unlock(&t->lock);
		}
	}
	(void)pthread_mutex_lock(&t->lock);
	prune(t, today);
	(void)pthread_mutex_unlock(&t->lock);
	for (i = 0; i < np; i++)
		free(p[i].domain);
	free(p);
	return err;
}
