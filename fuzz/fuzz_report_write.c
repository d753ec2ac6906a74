/*
 * fuzz/fuzz_report_write.c - libFuzzer target for the DMARC report
 * writers (lib/report/write.c, mail.c, failure.c) against the reader
 * (lib/report/parse.c, extract.c).
 *
 * The input is a recipe: a model (struct mailsec_agg_report) whose
 * strings hold any bytes (or come from a small dictionary, so that many
 * models are valid), whose enums take every value, counts any size. The
 * model is written in both formats; each document that is written must:
 * - be well-formed (libxml2, strict, no recovery);
 * - read back with mailsec_agg_report_parse() to the same figures: the
 *   format, dates, policy, every record's address (as bytes), count,
 *   evaluation and results, mapped as docs/reports.md "Writing reports"
 *   says, and every string as the writer escapes it (bytes that are not
 *   XML characters as U+FFFD, computed here independently) and the
 *   reader trims it; a record whose count is above the reader's bound
 *   comes back as a warning, not a record;
 * - gzip and extract to the same bytes.
 * The report mail and a failure report built from input strings must
 * have exactly the header fields they should (no injected line: every
 * line ends in CRLF, starts with a known field name or is a
 * continuation), and extract to the report they carry.
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include <mailsec/report.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)	do {						\
		if (!(c)) {						\
			fprintf(stderr, "%s:%d: %s\n", __FILE__,	\
			    __LINE__, #c);				\
			abort();					\
		}							\
	} while (0)

/* -DFUZZ_TRACE: say which stages an input reaches (seed checks). */
#ifdef FUZZ_TRACE
#define TRACE(...)	fprintf(stderr, __VA_ARGS__)
#else
#define TRACE(...)	do { } while (0)
#endif

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))
/* The reader's bound on a record's count (lib/report/report_int.h). */
#define COUNT_MAX	UINT64_C(1000000000000)

/* ---- the recipe -------------------------------------------------------- */

struct fz {
	const uint8_t *p;
	size_t n;
};

static uint8_t
fz_u8(struct fz *f)
{
	if (f->n == 0)
		return 0;
	f->n--;
	return *f->p++;
}

static uint64_t
fz_uint(struct fz *f, int nbytes)
{
	uint64_t v = 0;

	while (nbytes-- > 0)
		v = v << 8 | fz_u8(f);
	return v;
}

static char *
dupn(const void *p, size_t n)
{
	char *s = malloc(n + 1);

	CHECK(s != NULL);
	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

static const char *const d_domain[] = {
	"example.com", "example.org", "sub.example.net", "EXAMPLE.com.",
	"xn--bcher-kva.example",
};
static const char *const d_addr[] = {
	"dmarc@example.com", "mailto:rua@example.org", "postmaster@example.net",
	"\"quoted local\"@example.com", "a@[192.0.2.1]",
};
static const char *const d_text[] = {
	"", " padded ", "a&b<c>\"d'", "caf\xc3\xa9", "\xff\xfe bad",
	"x\ry\nz\t", "]]>", "\xef\xbf\xbe", "\xed\xa0\x80", "rid-1",
	"<a.b@c.d>", "1234567890",
};

/*
 * A string (malloc'd): from dict when the mode byte's high bit is set,
 * else up to 127 input bytes as they are (a NUL ends the C string).
 * NULL when optional and the mode byte says so.
 */
static char *
fz_str(struct fz *f, const char *const *dict, size_t ndict, bool optional)
{
	uint8_t mode = fz_u8(f);
	size_t len;
	char *s;

	if (optional && mode == 0x7f)
		return NULL;
	if (mode & 0x80)
		return dupn(dict[(mode & 0x7f) % ndict],
		    strlen(dict[(mode & 0x7f) % ndict]));
	len = mode & 0x7f;
	if (len > f->n)
		len = f->n;
	s = dupn(f->p, len);
	f->p += len;
	f->n -= len;
	return s;
}

/* An address: IPv4 or IPv6 from input bytes, or any string. */
static char *
fz_ip(struct fz *f)
{
	unsigned char a[16];
	char buf[INET6_ADDRSTRLEN];
	uint8_t mode = fz_u8(f);
	size_t i;

	if (mode % 4 == 3)
		return fz_str(f, d_text, NELEM(d_text), true);
	for (i = 0; i < sizeof a; i++)
		a[i] = fz_u8(f);
	CHECK(inet_ntop(mode % 4 == 0 ? AF_INET : AF_INET6, a, buf,
	    sizeof buf) != NULL);
	return dupn(buf, strlen(buf));
}

static void *
zalloc(size_t n, size_t size)
{
	void *p = calloc(n > 0 ? n : 1, size);

	CHECK(p != NULL);
	return p;
}

static struct mailsec_agg_report *
build_model(struct fz *f)
{
	struct mailsec_agg_report *r = zalloc(1, sizeof *r);
	size_t i, j;

	r->format = (enum mailsec_report_format)(fz_u8(f) % 3);
	r->org_name = fz_str(f, d_domain, NELEM(d_domain), true);
	r->email = fz_str(f, d_addr, NELEM(d_addr), true);
	r->extra_contact_info = fz_str(f, d_text, NELEM(d_text), true);
	r->report_id = fz_str(f, d_text, NELEM(d_text), true);
	r->date_begin = (int64_t)fz_uint(f, 5) - (fz_u8(f) == 0xff ?
	    (int64_t)1 << 40 : 0);
	r->date_end = r->date_begin + (int64_t)fz_uint(f, 3);
	r->nerrors = fz_u8(f) % 4;
	r->errors = zalloc(r->nerrors, sizeof *r->errors);
	for (i = 0; i < r->nerrors; i++)
		r->errors[i] = fz_str(f, d_text, NELEM(d_text), false);
	r->generator = fz_str(f, d_text, NELEM(d_text), true);
	r->domain = fz_str(f, d_domain, NELEM(d_domain), true);
	r->adkim = (enum mailsec_report_align)(fz_u8(f) % 3);
	r->aspf = (enum mailsec_report_align)(fz_u8(f) % 3);
	r->p = (enum mailsec_report_disp)(fz_u8(f) % 5);
	r->sp = (enum mailsec_report_disp)(fz_u8(f) % 5);
	r->np = (enum mailsec_report_disp)(fz_u8(f) % 5);
	r->pct = (int)(fz_u8(f) % 103) - 1;	/* -1 (absent) .. 101 */
	r->fo = fz_str(f, d_text, NELEM(d_text), true);
	r->testing = fz_u8(f) & 1;
	switch (fz_u8(f) % 4) {
	case 0: r->discovery_method = NULL; break;
	case 1: r->discovery_method = dupn("psl", 3); break;
	case 2: r->discovery_method = dupn("TreeWalk", 8); break;
	default:
		r->discovery_method = fz_str(f, d_text, NELEM(d_text), false);
	}
	r->nrecords = fz_u8(f) % 5;
	r->records = zalloc(r->nrecords, sizeof *r->records);
	for (i = 0; i < r->nrecords; i++) {
		struct mailsec_report_record *rec = &r->records[i];

		rec->source_ip = fz_ip(f);
		switch (fz_u8(f) % 4) {
		case 0: rec->count = fz_uint(f, 1); break;
		case 1: rec->count = fz_uint(f, 4); break;
		case 2: rec->count = COUNT_MAX + 1 - fz_uint(f, 1) % 3; break;
		default: rec->count = fz_uint(f, 8); break;
		}
		rec->disposition = (enum mailsec_report_disp)(fz_u8(f) % 5);
		rec->dkim = (enum mailsec_report_eval)(fz_u8(f) % 3);
		rec->spf = (enum mailsec_report_eval)(fz_u8(f) % 3);
		rec->nreasons = fz_u8(f) % 3;
		rec->reasons = zalloc(rec->nreasons, sizeof *rec->reasons);
		for (j = 0; j < rec->nreasons; j++) {
			rec->reasons[j].type = (enum mailsec_report_override)
			    (fz_u8(f) % 9);
			rec->reasons[j].comment = fz_str(f, d_text,
			    NELEM(d_text), true);
		}
		rec->header_from = fz_str(f, d_domain, NELEM(d_domain), true);
		rec->envelope_from = fz_str(f, d_domain, NELEM(d_domain),
		    true);
		rec->envelope_to = fz_str(f, d_domain, NELEM(d_domain), true);
		rec->ndkim = fz_u8(f) % 3;
		rec->dkim_results = zalloc(rec->ndkim,
		    sizeof *rec->dkim_results);
		for (j = 0; j < rec->ndkim; j++) {
			struct mailsec_report_dkim *d = &rec->dkim_results[j];

			d->domain = fz_str(f, d_domain, NELEM(d_domain), true);
			d->selector = fz_str(f, d_text, NELEM(d_text), true);
			d->result = (enum mailsec_report_result)(fz_u8(f) % 10);
			if (d->result == MAILSEC_RRES_UNKNOWN)
				d->raw_result = dupn("bogus", 5);
			d->human_result = fz_str(f, d_text, NELEM(d_text),
			    true);
		}
		rec->nspf = fz_u8(f) % 3;
		rec->spf_results = zalloc(rec->nspf, sizeof *rec->spf_results);
		for (j = 0; j < rec->nspf; j++) {
			struct mailsec_report_spf *s = &rec->spf_results[j];

			s->domain = fz_str(f, d_domain, NELEM(d_domain), true);
			s->helo = fz_u8(f) & 1;
			s->result = (enum mailsec_report_result)(fz_u8(f) % 10);
			if (s->result == MAILSEC_RRES_UNKNOWN)
				s->raw_result = dupn("bogus", 5);
			s->human_result = fz_str(f, d_text, NELEM(d_text),
			    true);
		}
	}
	return r;
}

/* ---- what the reader should give back --------------------------------- */

/* Length of the well-formed UTF-8 sequence at p (RFC 3629 4), or 0. */
static size_t
utf8_seq(const unsigned char *p, size_t n, uint32_t *cp)
{
	size_t len, i;
	unsigned lo = 0x80, hi = 0xbf;

	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4;
	else
		return 0;
	if (p[0] == 0xe0)
		lo = 0xa0;
	else if (p[0] == 0xed)
		hi = 0x9f;
	else if (p[0] == 0xf0)
		lo = 0x90;
	else if (p[0] == 0xf4)
		hi = 0x8f;
	if (n < len || p[1] < lo || p[1] > hi)
		return 0;
	*cp = p[0] & (0xff >> (len + 1));
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		*cp = *cp << 6 | (p[i] & 0x3f);
	}
	return len;
}

/* XML 1.0 2.2 Char. */
static bool
xml_char(uint32_t c)
{
	return c == 0x9 || c == 0xa || c == 0xd || (c >= 0x20 &&
	    c <= 0xd7ff) || (c >= 0xe000 && c <= 0xfffd) ||
	    (c >= 0x10000 && c <= 0x10ffff);
}

static bool
xml_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* s as the writer escapes it and the reader trims it (malloc'd). */
static char *
expect_text(const char *s)
{
	size_t n = strlen(s), i = 0, k, o = 0, a, b;
	char *out = malloc(3 * n + 1);
	uint32_t cp;

	CHECK(out != NULL);
	while (i < n) {
		k = utf8_seq((const unsigned char *)s + i, n - i, &cp);
		if (k == 0 || !xml_char(cp)) {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			i += k == 0 ? 1 : k;
		} else {
			memcpy(out + o, s + i, k);
			o += k;
			i += k;
		}
	}
	for (a = 0; a < o && xml_ws(out[a]); a++)
		;
	for (b = o; b > a && xml_ws(out[b - 1]); b--)
		;
	memmove(out, out + a, b - a);
	out[b - a] = '\0';
	return out;
}

/* got equals the reader's view of want (both NULL, or equal text). */
static void
check_text(const char *want, const char *got)
{
	char *e;

	if (want == NULL) {
		CHECK(got == NULL);
		return;
	}
	CHECK(got != NULL);
	e = expect_text(want);
	CHECK(strcmp(e, got) == 0);
	free(e);
}

static bool
same_ip(const char *a, const char *b)
{
	unsigned char x[16], y[16];

	if (inet_pton(AF_INET, a, x) == 1)
		return inet_pton(AF_INET, b, y) == 1 && memcmp(x, y, 4) == 0;
	return inet_pton(AF_INET6, a, x) == 1 &&
	    inet_pton(AF_INET6, b, y) == 1 && memcmp(x, y, 16) == 0;
}

static enum mailsec_report_override
expect_override(enum mailsec_report_override o, bool rfc7489)
{
	switch (o) {
	case MAILSEC_ROVR_POLICY_TEST_MODE:
	case MAILSEC_ROVR_SAMPLED_OUT:
		return rfc7489 ? MAILSEC_ROVR_SAMPLED_OUT :
		    MAILSEC_ROVR_POLICY_TEST_MODE;
	case MAILSEC_ROVR_FORWARDED:
		return rfc7489 ? MAILSEC_ROVR_FORWARDED :
		    MAILSEC_ROVR_LOCAL_POLICY;
	case MAILSEC_ROVR_UNKNOWN:
		return MAILSEC_ROVR_OTHER;
	default:
		return o;
	}
}

static void
check_record(const struct mailsec_report_record *w,
    const struct mailsec_report_record *g, bool rfc7489)
{
	const struct mailsec_report_spf *ws;
	size_t i, j;

	CHECK(same_ip(w->source_ip, g->source_ip));
	CHECK(w->count == g->count);
	CHECK(g->disposition == (rfc7489 && w->disposition ==
	    MAILSEC_RDISP_PASS ? MAILSEC_RDISP_NONE : w->disposition));
	CHECK(g->dkim == w->dkim && g->spf == w->spf);
	for (i = j = 0; i < w->nreasons; i++) {
		if (w->reasons[i].type == MAILSEC_ROVR_ABSENT)
			continue;	/* left out */
		CHECK(j < g->nreasons);
		CHECK(g->reasons[j].type ==
		    expect_override(w->reasons[i].type, rfc7489));
		check_text(w->reasons[i].comment, g->reasons[j].comment);
		j++;
	}
	CHECK(j == g->nreasons);
	check_text(w->header_from, g->header_from);
	check_text(w->envelope_from != NULL || !rfc7489 ? w->envelope_from :
	    "", g->envelope_from);
	check_text(w->envelope_to, g->envelope_to);
	CHECK(g->ndkim == w->ndkim);
	for (i = 0; i < w->ndkim; i++) {
		check_text(w->dkim_results[i].domain,
		    g->dkim_results[i].domain);
		check_text(w->dkim_results[i].selector,
		    g->dkim_results[i].selector);
		CHECK(g->dkim_results[i].result == w->dkim_results[i].result);
		check_text(w->dkim_results[i].human_result,
		    g->dkim_results[i].human_result);
	}
	for (i = j = 0; i < w->nspf; i++) {
		ws = &w->spf_results[i];
		if (!rfc7489 && ws->helo)
			continue;	/* RFC 9990: mfrom only */
		CHECK(j < g->nspf);
		check_text(ws->domain, g->spf_results[j].domain);
		CHECK(g->spf_results[j].helo == ws->helo);
		CHECK(g->spf_results[j].result == ws->result);
		check_text(rfc7489 ? NULL : ws->human_result,
		    g->spf_results[j].human_result);
		j++;
	}
	CHECK(j == g->nspf);
}

static void
check_report(const struct mailsec_agg_report *w,
    const struct mailsec_agg_report *g, bool rfc7489)
{
	char joined[4096] = "";
	size_t i, j, over = 0;

	CHECK(g->format == (rfc7489 ? MAILSEC_REPORT_FMT_RFC7489 :
	    MAILSEC_REPORT_FMT_RFC9990));
	check_text("1.0", g->version);
	check_text(w->org_name, g->org_name);
	check_text(w->email, g->email);
	check_text(w->extra_contact_info, g->extra_contact_info);
	check_text(w->report_id, g->report_id);
	CHECK(g->date_begin == w->date_begin && g->date_end == w->date_end);
	if (rfc7489 || w->nerrors == 0) {
		CHECK(g->nerrors == w->nerrors);
		for (i = 0; i < w->nerrors; i++)
			check_text(w->errors[i], g->errors[i]);
	} else {
		/* RFC 9990: one <error>, the texts joined */
		for (i = 0, j = 0; i < w->nerrors; i++) {
			int k = snprintf(joined + j, sizeof joined - j, "%s%s",
			    i > 0 ? "; " : "", w->errors[i]);

			CHECK(k >= 0 && (size_t)k < sizeof joined - j);
			j += (size_t)k;
		}
		joined[j] = '\0';
		CHECK(g->nerrors == 1);
		check_text(joined, g->errors[0]);
	}
	check_text(rfc7489 ? NULL : w->generator, g->generator);
	check_text(w->domain, g->domain);
	CHECK(g->adkim == w->adkim && g->aspf == w->aspf);
	CHECK(g->p == w->p);
	CHECK(g->sp == (rfc7489 && w->sp == MAILSEC_RDISP_ABSENT ? w->p :
	    w->sp));
	CHECK(g->np == (rfc7489 ? MAILSEC_RDISP_ABSENT : w->np));
	CHECK(g->pct == (!rfc7489 ? -1 : w->pct >= 0 ? w->pct : 100));
	check_text(w->fo != NULL || !rfc7489 ? w->fo : "0", g->fo);
	CHECK(g->testing == (!rfc7489 && w->testing));
	if (rfc7489 || w->discovery_method == NULL)
		CHECK(g->discovery_method == NULL);
	else
		CHECK(g->discovery_method != NULL &&
		    strcasecmp(g->discovery_method, w->discovery_method) == 0);
	/* every record comes back, but those over the reader's count
	 * bound, which come back as warnings */
	for (i = j = 0; i < w->nrecords; i++) {
		if (w->records[i].count > COUNT_MAX) {
			over++;
			continue;
		}
		CHECK(j < g->nrecords);
		check_record(&w->records[i], &g->records[j], rfc7489);
		j++;
	}
	CHECK(j == g->nrecords);
	CHECK(g->nwarnings == over);
	for (i = 0; i < g->nwarnings; i++)
		CHECK(strstr(g->warnings[i], "count") != NULL);
}

/* Would the reader refuse what was written? Only when every record is
 * over the count bound, or a required text is white space only. */
static bool
reader_refuses(const struct mailsec_agg_report *w)
{
	size_t i;
	char *d = expect_text(w->domain);
	bool empty = d[0] == '\0';

	free(d);
	if (empty)
		return true;
	for (i = 0; i < w->nrecords; i++)
		if (w->records[i].count <= COUNT_MAX)
			return false;
	return true;
}

/* ---- messages --------------------------------------------------------- */

/*
 * The header section of msg (up to the first empty line): every line
 * ends in CRLF, holds no other control byte but HTAB and no 8-bit byte,
 * is at most 998 octets, and is a continuation or a field whose name is
 * in names (each at most once; the first nreq of them exactly once).
 * Returns the length of the header section with its empty line.
 */
static size_t
check_header(const char *msg, size_t len, const char *const *names,
    size_t nnames, size_t nreq)
{
	unsigned seen[32] = { 0 };
	size_t i = 0, e, k, n;
	const char *colon;

	CHECK(nnames <= NELEM(seen));
	for (;;) {
		for (e = i; e + 1 < len && !(msg[e] == '\r' &&
		    msg[e + 1] == '\n'); e++) {
			unsigned char c = (unsigned char)msg[e];

			CHECK(c == '\t' || (c >= 0x20 && c < 0x7f));
		}
		CHECK(e + 1 < len);	/* every line ends in CRLF */
		CHECK(e - i <= 998);
		if (e == i)
			break;		/* the empty line */
		if (msg[i] != ' ' && msg[i] != '\t') {
			colon = memchr(msg + i, ':', e - i);
			CHECK(colon != NULL);
			n = (size_t)(colon - (msg + i));
			for (k = 0; k < nnames; k++)
				if (strlen(names[k]) == n &&
				    strncasecmp(names[k], msg + i, n) == 0)
					break;
			CHECK(k < nnames);
			CHECK(++seen[k] == 1);
		} else
			CHECK(i > 0);
		i = e + 2;
	}
	for (k = 0; k < nreq; k++)
		CHECK(seen[k] == 1);
	return i + 2;
}

static const char *const mail_fields[] = {
	"From", "To", "Subject", "Date", "Message-ID", "Auto-Submitted",
	"MIME-Version", "Content-Type",
};

static void
check_report_mail(struct fz *f, const struct mailsec_agg_report *r,
    const char *xml, size_t xmllen, const void *gz, size_t gzlen)
{
	struct mailsec_report_mail m;
	struct mailsec_report_doc *docs = NULL;
	struct mailsec_diag d;
	char *from, *to, *receiver, *midd, *out = NULL;
	size_t outlen = 0, n = 0;
	mailsec_err err;

	from = fz_str(f, d_addr, NELEM(d_addr), false);
	to = fz_str(f, d_addr, NELEM(d_addr), false);
	receiver = fz_str(f, d_domain, NELEM(d_domain), false);
	midd = fz_str(f, d_domain, NELEM(d_domain), true);
	memset(&m, 0, sizeof m);
	m.from = from;
	m.to = to;
	m.receiver = receiver;
	m.message_id_domain = midd;
	m.now = (int64_t)fz_uint(f, 4);
	memset(&d, 0, sizeof d);
	err = mailsec_agg_report_mail(r, gz, gzlen, &m, &out, &outlen, &d);
	TRACE("  mail: %s %s\n", mailsec_errname(err), d.text);
	if (err != MAILSEC_OK) {
		CHECK(out == NULL);
		CHECK(err == MAILSEC_EINVAL || err == MAILSEC_ELIMIT ||
		    err == MAILSEC_ENOMEM);
		goto done;
	}
	CHECK(out != NULL && outlen == strlen(out));
	(void)check_header(out, outlen, mail_fields, NELEM(mail_fields),
	    NELEM(mail_fields));
	memset(&d, 0, sizeof d);
	CHECK(mailsec_report_extract(out, outlen, &docs, &n, &d) ==
	    MAILSEC_OK);
	CHECK(n == 1 && docs[0].kind == MAILSEC_REPORT_KIND_AGGREGATE);
	CHECK(docs[0].len == xmllen && memcmp(docs[0].data, xml, xmllen) == 0);
	mailsec_report_docs_free(docs, n);
done:
	free(out);
	free(from);
	free(to);
	free(receiver);
	free(midd);
}

static const char *const afrf_fields[] = {
	/* required */
	"Feedback-Type", "User-Agent", "Version", "Auth-Failure",
	"Identity-Alignment", "Arrival-Date", "Source-IP",
	"Reported-Domain", "Authentication-Results",
	/* optional */
	"Original-Mail-From", "Original-Rcpt-To", "Reporting-MTA",
	"DKIM-Domain", "DKIM-Identity", "DKIM-Selector", "SPF-DNS",
};

static const char *const d_auth[] = { "dmarc", "dkim", "spf", "bad token" };
static const char *const d_align[] = { "dkim", "spf", "dkim, spf", "none" };
static const char *const d_hdrs[] = {
	"From: <someone@example.com>\r\nTo: x@y.org\r\n\r\nbody\r\n",
	"Received: from a\n\tby b\nFrom: \"A\" <a.b@example.com>\n\n",
	"X-Bad: \r\nFrom: <>\r\n",
};

static void
check_failure_report(struct fz *f)
{
	struct mailsec_failure_report fr;
	struct mailsec_report_doc *docs = NULL;
	struct mailsec_diag d;
	char *s[17], *out = NULL, *bnd, *p, *end, delim[96];
	const char *ct;
	size_t outlen = 0, n = 0, i, hlen, parts;
	mailsec_err err;

	memset(&fr, 0, sizeof fr);
	memset(s, 0, sizeof s);
	fr.from = s[0] = fz_str(f, d_addr, NELEM(d_addr), true);
	fr.to = s[1] = fz_str(f, d_addr, NELEM(d_addr), true);
	fr.reporting_mta = s[2] = fz_str(f, d_domain, NELEM(d_domain), true);
	fr.source_ip = s[3] = fz_ip(f);
	fr.original_mail_from = s[4] = fz_str(f, d_addr, NELEM(d_addr), true);
	fr.original_rcpt_to = s[5] = fz_str(f, d_addr, NELEM(d_addr), true);
	fr.reported_domain = s[6] = fz_str(f, d_domain, NELEM(d_domain),
	    true);
	fr.auth_failure = s[7] = fz_str(f, d_auth, NELEM(d_auth), true);
	fr.authentication_results = s[8] = fz_str(f, d_text, NELEM(d_text),
	    true);
	fr.dkim_domain = s[9] = fz_str(f, d_domain, NELEM(d_domain), true);
	fr.dkim_selector = s[10] = fz_str(f, d_domain, NELEM(d_domain), true);
	fr.spf_dns = s[11] = fz_str(f, d_text, NELEM(d_text), true);
	fr.message_id_domain = s[12] = fz_str(f, d_domain, NELEM(d_domain),
	    true);
	fr.identity_alignment = s[13] = fz_str(f, d_align, NELEM(d_align),
	    true);
	fr.dkim_identity = s[14] = fz_str(f, d_addr, NELEM(d_addr), true);
	fr.headers = s[15] = fz_str(f, d_hdrs, NELEM(d_hdrs), true);
	fr.headers_len = s[15] != NULL ? strlen(s[15]) : 0;
	fr.redact = fz_u8(f) & 1;
	fr.now = (int64_t)fz_uint(f, 4);
	fr.arrival = (int64_t)fz_uint(f, 4);
	memset(&d, 0, sizeof d);
	err = mailsec_failure_report_compose(&fr, &out, &outlen, &d);
	TRACE("failure report: %s %s\n", mailsec_errname(err), d.text);
	if (err != MAILSEC_OK) {
		CHECK(out == NULL);
		CHECK(err == MAILSEC_EINVAL || err == MAILSEC_ELIMIT ||
		    err == MAILSEC_ENOMEM);
		CHECK(d.set);
		goto done;
	}
	CHECK(out != NULL && outlen == strlen(out));
	hlen = check_header(out, outlen, mail_fields, NELEM(mail_fields),
	    NELEM(mail_fields));
	/* the parts: text, the AFRF fields, the original header */
	ct = strstr(out, "boundary=\"");
	CHECK(ct != NULL && (size_t)(ct - out) < hlen);
	bnd = dupn(ct + 10, strcspn(ct + 10, "\""));
	snprintf(delim, sizeof delim, "\r\n--%s", bnd);
	free(bnd);
	for (p = out + hlen, parts = 0; (p = strstr(p, delim)) != NULL;
	    p += strlen(delim))
		parts++;
	CHECK(parts == 4);		/* three parts and the close */
	p = strstr(out, "\r\nContent-Type: message/feedback-report\r\n\r\n");
	CHECK(p != NULL);
	p += strlen("\r\nContent-Type: message/feedback-report\r\n\r\n");
	end = strstr(p, delim);
	CHECK(end != NULL);
	/* the fields, then the empty line check_header() wants */
	{
		size_t flen = (size_t)(end - p);
		char *fields = malloc(flen + 3);

		CHECK(fields != NULL);
		memcpy(fields, p, flen);
		memcpy(fields + flen, "\r\n", 3);
		(void)check_header(fields, flen + 2, afrf_fields,
		    NELEM(afrf_fields), 9);
		if (fr.redact)
			CHECK(strstr(fields, "Original-Rcpt-To") == NULL);
		free(fields);
	}
	memset(&d, 0, sizeof d);
	CHECK(mailsec_report_extract(out, outlen, &docs, &n, &d) ==
	    MAILSEC_OK);
	CHECK(n == 1 && docs[0].kind == MAILSEC_REPORT_KIND_FAILURE);
	CHECK(strstr(docs[0].data, "Feedback-Type: auth-failure") != NULL);
	mailsec_report_docs_free(docs, n);
done:
	free(out);
	for (i = 0; i < NELEM(s); i++)
		free(s[i]);
}

/* ---- the target ------------------------------------------------------- */

static void
write_and_read(const struct mailsec_agg_report *r,
    enum mailsec_report_format fmt, struct fz *f)
{
	struct mailsec_agg_report *g = NULL;
	struct mailsec_report_doc *docs = NULL;
	struct mailsec_diag d;
	char *xml = NULL;
	void *gz = NULL;
	size_t len = 0, gzlen = 0, n = 0;
	xmlDoc *doc;
	mailsec_err err;

	memset(&d, 0, sizeof d);
	err = mailsec_agg_report_write(r, fmt, &xml, &len, &d);
	TRACE("write %d: %s %s\n", (int)fmt, mailsec_errname(err), d.text);
	if (err != MAILSEC_OK) {
		CHECK(xml == NULL && len == 0);
		CHECK(err == MAILSEC_EINVAL || err == MAILSEC_ELIMIT ||
		    err == MAILSEC_ENOMEM);
		CHECK(d.set);
		return;
	}
	CHECK(xml != NULL && len == strlen(xml));
	/* well-formed, strictly */
	doc = xmlReadMemory(xml, (int)len, NULL, NULL, XML_PARSE_NONET |
	    XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	CHECK(doc != NULL);
	xmlFreeDoc(doc);
	/* the same figures through our reader */
	memset(&d, 0, sizeof d);
	err = mailsec_agg_report_parse(xml, len, &g, &d);
	TRACE("  parse: %s %s\n", mailsec_errname(err), d.text);
	if (reader_refuses(r)) {
		CHECK(err == MAILSEC_ESYNTAX && g == NULL);
	} else {
		if (err != MAILSEC_OK)
			fprintf(stderr, "parse: %s\n", d.text);
		CHECK(err == MAILSEC_OK);
		check_report(r, g, fmt == MAILSEC_REPORT_FMT_RFC7489);
		mailsec_agg_report_free(g);
	}
	/* gzip'd, extracted: the same bytes */
	CHECK(mailsec_report_gzip(xml, len, &gz, &gzlen) == MAILSEC_OK);
	memset(&d, 0, sizeof d);
	CHECK(mailsec_report_extract(gz, gzlen, &docs, &n, &d) ==
	    MAILSEC_OK);
	CHECK(n == 1 && docs[0].kind == MAILSEC_REPORT_KIND_AGGREGATE);
	CHECK(docs[0].len == len && memcmp(docs[0].data, xml, len) == 0);
	mailsec_report_docs_free(docs, n);
	check_report_mail(f, r, xml, len, gz, gzlen);
	free(gz);
	free(xml);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	struct mailsec_agg_report *r;

	r = build_model(&f);
	write_and_read(r, MAILSEC_REPORT_FMT_RFC9990, &f);
	write_and_read(r, MAILSEC_REPORT_FMT_RFC7489, &f);
	mailsec_agg_report_free(r);
	check_failure_report(&f);
	return 0;
}
