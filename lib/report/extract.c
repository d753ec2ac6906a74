/*
 * lib/report/extract.c - finds the reports in whatever carries them: XML
 * or JSON as is, gzip (RFC 1952), zip, and report e-mails (RFC 5322
 * messages with MIME, RFC 2045/2046: multipart bodies, base64 and
 * quoted-printable; RFC 6522 multipart/report; RFC 6591 / RFC 9991
 * message/feedback-report; RFC 8460 3 application/tlsrpt+gzip).
 *
 * The kind of a document is decided by its bytes (gzip and zip magic, an
 * XML <feedback> element, a JSON object with "policies"), never by its
 * label: reporters mislabel (Mimecast sends a gzip as the whole message
 * body, others send application/octet-stream). Nesting and part counts
 * are bounded, and so is every inflated byte (MAILSEC_REPORT_XML_MAX in
 * all for one input).
 */
#include <stdlib.h>
#include <string.h>

#include <mailsec/msg.h>
#include <mailsec/report.h>

#include "core/core.h"
#include "report/report_int.h"

/* How far into a document its kind is looked for. */
#define SNIFF_WINDOW	((size_t)64 * 1024)

struct xctx {
	struct mailsec_report_doc *docs;
	size_t ndocs;
	size_t cap;
	size_t parts;		/* MIME parts and zip members so far */
	size_t budget;		/* inflated bytes still allowed */
	mailsec_err soft;	/* first broken part skipped */
	struct mailsec_diag *diag;
	struct mailsec_diag softdiag;
};

/* A Content-Type or Content-Disposition value, split (RFC 2045 5.1,
 * RFC 2183 2): views into the field value. */
struct ctype {
	struct mailsec_str type;
	struct mailsec_str subtype;
	struct mailsec_str boundary;
	struct mailsec_str name;	/* name= or filename= */
	struct mailsec_str report_type;
};

static mailsec_err sniff(struct xctx *, const char *, size_t, const char *,
    size_t, unsigned, bool);

static bool
str_is(struct mailsec_str s, const char *lit)
{
	return ms_ascii_eqz(s.ptr, s.len, lit);
}

/* Keeps the first broken-container error of a part that was skipped:
 * returned only when the input holds no report at all. Limits and
 * ENOMEM always stop. d: its diag, or NULL with what for the text. */
static mailsec_err
soft_fail(struct xctx *x, mailsec_err err, const struct mailsec_diag *d,
    const char *what)
{
	if (err != MAILSEC_ESYNTAX)
		return err;
	if (x->soft == MAILSEC_OK) {
		x->soft = err;
		if (d != NULL)
			x->softdiag = *d;
		else
			(void)ms_diag(&x->softdiag, err, 0, 0, "%s", what);
	}
	return MAILSEC_OK;
}

static mailsec_err
add_doc(struct xctx *x, enum mailsec_report_kind kind, const char *p,
    size_t len, const char *name, size_t namelen)
{
	struct mailsec_report_doc *d;
	void *np;
	size_t ncap;

	if (x->ndocs >= MS_REPORT_PARTS_MAX)
		return ms_diag(x->diag, MAILSEC_ELIMIT, 0, 0, "more than %d "
		    "reports in one input", MS_REPORT_PARTS_MAX);
	if (x->ndocs == x->cap) {
		ncap = x->cap == 0 ? 4 : x->cap * 2;
		if ((np = ms_reallocarray(x->docs, ncap, sizeof *x->docs)) ==
		    NULL)
			return MAILSEC_ENOMEM;
		x->docs = np;
		x->cap = ncap;
	}
	d = &x->docs[x->ndocs];
	memset(d, 0, sizeof *d);
	d->kind = kind;
	d->len = len;
	if ((d->data = ms_memdupz(p, len)) == NULL)
		return MAILSEC_ENOMEM;
	if (name != NULL && namelen > 0 &&
	    (d->name = ms_memdupz(name, namelen)) == NULL) {
		free(d->data);
		return MAILSEC_ENOMEM;
	}
	x->ndocs++;
	return MAILSEC_OK;
}

/* Does (p, n) hold "<feedback" or ":feedback" as an element name? */
static bool
has_feedback(const char *p, size_t n)
{
	static const char tag[] = "feedback";
	size_t i, t = sizeof tag - 1;
	char c;

	for (i = 1; i + t < n; i++) {
		if ((p[i - 1] != '<' && p[i - 1] != ':') ||
		    memcmp(p + i, tag, t) != 0)
			continue;
		c = p[i + t];
		if (c == '>' || c == '/' || c == ' ' || c == '\t' ||
		    c == '\r' || c == '\n')
			return true;
	}
	return false;
}

static bool
has_bytes(const char *p, size_t n, const char *needle)
{
	size_t i, k = strlen(needle);

	for (i = 0; i + k <= n; i++)
		if (memcmp(p + i, needle, k) == 0)
			return true;
	return false;
}

/* ---- MIME ------------------------------------------------------------- */

static const char *
skip_cfws(const char *p, const char *end)
{
	int depth;

	for (;;) {
		while (p < end && (ms_iswsp(*p) || *p == '\r' || *p == '\n'))
			p++;
		if (p >= end || *p != '(')
			return p;
		/* A comment (RFC 5322 3.2.2), nesting bounded by its
		 * length. */
		for (depth = 0; p < end; p++) {
			if (*p == '\\' && p + 1 < end)
				p++;
			else if (*p == '(')
				depth++;
			else if (*p == ')' && --depth == 0) {
				p++;
				break;
			}
		}
	}
}

/* token of RFC 2045 5.1: any printable but tspecials and space. */
static bool
is_token(int c)
{
	return c > ' ' && c < 127 && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

static const char *
token(const char *p, const char *end, struct mailsec_str *out)
{
	const char *s = p;

	while (p < end && is_token((unsigned char)*p))
		p++;
	out->ptr = s;
	out->len = (size_t)(p - s);
	return p;
}

/*
 * Parses "type/subtype; a=b; c="d"" (a Content-Disposition has no
 * subtype). A quoted value is taken between its quotes, escapes left in
 * (boundaries and file names in reports have none). RFC 2231 name*=
 * values are taken after their charset''. Never fails: what it cannot
 * read it leaves empty.
 */
static void
parse_ctype(struct mailsec_str v, bool has_subtype, struct ctype *ct)
{
	const char *p = v.ptr, *end = v.ptr + v.len, *q;
	struct mailsec_str name, val;

	memset(ct, 0, sizeof *ct);
	p = skip_cfws(p, end);
	p = token(p, end, &ct->type);
	if (has_subtype) {
		p = skip_cfws(p, end);
		if (p < end && *p == '/')
			p = token(skip_cfws(p + 1, end), end, &ct->subtype);
	}
	while (p < end) {
		while (p < end && *p != ';')
			p++;
		if (p >= end)
			break;
		p = skip_cfws(p + 1, end);
		p = token(p, end, &name);
		p = skip_cfws(p, end);
		if (name.len == 0 || p >= end || *p != '=')
			continue;
		p = skip_cfws(p + 1, end);
		if (p < end && *p == '"') {
			for (q = ++p; q < end && *q != '"'; q++)
				if (*q == '\\' && q + 1 < end)
					q++;
			val.ptr = p;
			val.len = (size_t)(q - p);
			p = q < end ? q + 1 : q;
		} else
			p = token(p, end, &val);
		if (str_is(name, "boundary"))
			ct->boundary = val;
		else if (str_is(name, "report-type"))
			ct->report_type = val;
		else if (str_is(name, "name") || str_is(name, "filename"))
			ct->name = val;
		else if ((str_is(name, "name*") || str_is(name, "filename*")) &&
		    ct->name.len == 0) {
			q = val.ptr + val.len;
			while (q > val.ptr && q[-1] != '\'')
				q--;
			ct->name.ptr = q;
			ct->name.len = (size_t)(val.ptr + val.len - q);
		}
	}
}

static struct mailsec_str
field_value(const struct mailsec_msg *m, const char *name)
{
	struct mailsec_str none = { "", 0 };
	size_t i = mailsec_msg_find(m, name, 0);

	return i == (size_t)-1 ? none : mailsec_msg_field(m, i)->value;
}

/* Quoted-printable (RFC 2045 6.7): "=XX", soft line breaks; a '=' that
 * starts neither is kept (rule 1's robustness note). */
static char *
qp_decode(const char *p, size_t len, size_t *outlen)
{
	char *out = malloc(len + 1);
	size_t i = 0, n = 0, k;
	int h, l;

	if (out == NULL)
		return NULL;
	while (i < len) {
		if (p[i] != '=') {
			out[n++] = p[i++];
			continue;
		}
		for (k = i + 1; k < len && ms_iswsp(p[k]); k++)
			;
		if (k < len && (p[k] == '\n' || p[k] == '\r')) {
			i = k + 1;
			if (p[k] == '\r' && i < len && p[i] == '\n')
				i++;
			continue;
		}
		if (i + 2 < len &&
		    (h = ms_hexval((unsigned char)p[i + 1])) >= 0 &&
		    (l = ms_hexval((unsigned char)p[i + 2])) >= 0) {
			out[n++] = (char)(h << 4 | l);
			i += 3;
			continue;
		}
		out[n++] = p[i++];
	}
	out[n] = '\0';
	*outlen = n;
	return out;
}

/* The decoded body of an entity; *buf is what to free (NULL when the
 * body is used as it is). */
static mailsec_err
decode_body(struct xctx *x, const struct mailsec_msg *m, const char **out,
    size_t *outlen, char **buf)
{
	struct mailsec_str body = mailsec_msg_body(m);
	struct mailsec_str cte, enc;
	size_t n;

	*buf = NULL;
	*out = body.ptr;
	*outlen = body.len;
	cte = field_value(m, "Content-Transfer-Encoding");
	(void)token(skip_cfws(cte.ptr, cte.ptr + cte.len), cte.ptr + cte.len,
	    &enc);
	if (str_is(enc, "base64")) {
		if ((*buf = malloc(body.len / 4 * 3 + 4)) == NULL)
			return MAILSEC_ENOMEM;
		n = ms_base64_decode(body.ptr, body.len, MS_B64_FWS,
		    (unsigned char *)*buf, body.len / 4 * 3 + 3);
		if (n == (size_t)-1) {
			free(*buf);
			*buf = NULL;
			(void)soft_fail(x, MAILSEC_ESYNTAX, NULL,
			    "MIME part: invalid base64");
			return MAILSEC_ESYNTAX;	/* the part is skipped */
		}
		*out = *buf;
		*outlen = n;
	} else if (str_is(enc, "quoted-printable")) {
		if ((*buf = qp_decode(body.ptr, body.len, &n)) == NULL)
			return MAILSEC_ENOMEM;
		*out = *buf;
		*outlen = n;
	}
	return MAILSEC_OK;
}

static mailsec_err entity(struct xctx *, const char *, size_t, unsigned,
    bool, bool);

/* The human-readable first part of a report without a machine-readable
 * one, decoded, as a failure report. */
static mailsec_err
non_arf(struct xctx *x, const char *p, size_t len)
{
	struct mailsec_msg *m = NULL;
	const char *data;
	size_t dlen;
	char *buf = NULL;
	mailsec_err err;

	if (mailsec_msg_parse(p, len, NULL, 0, &m, NULL) != MAILSEC_OK)
		return MAILSEC_OK;
	err = decode_body(x, m, &data, &dlen, &buf);
	if (err == MAILSEC_OK)
		err = add_doc(x, MAILSEC_REPORT_KIND_FAILURE, data, dlen,
		    NULL, 0);
	else if (err == MAILSEC_ESYNTAX)
		err = MAILSEC_OK;	/* recorded, part skipped */
	free(buf);
	mailsec_msg_free(m);
	return err;
}

/* Is the line at p (to end) the delimiter "--boundary" [--] LWSP? */
static int
delimiter(const char *p, const char *end, struct mailsec_str b)
{
	if ((size_t)(end - p) < b.len + 2 || p[0] != '-' || p[1] != '-' ||
	    memcmp(p + 2, b.ptr, b.len) != 0)
		return 0;
	p += 2 + b.len;
	if (end - p >= 2 && p[0] == '-' && p[1] == '-')
		return 2;
	while (p < end && ms_iswsp(*p))
		p++;
	return p == end || *p == '\r' || *p == '\n' ? 1 : 0;
}

/* The body parts of a multipart entity (RFC 2046 5.1.1). */
static mailsec_err
multipart(struct xctx *x, const char *p, size_t len, struct mailsec_str b,
    unsigned depth, bool report, struct mailsec_str *first)
{
	const char *end = p + len, *line, *eol, *start = NULL, *pend;
	mailsec_err err;
	int d;

	/* RFC 2046 5.1.1: 1 to 70 characters. */
	if (b.len == 0 || b.len > 70)
		return soft_fail(x, MAILSEC_ESYNTAX, NULL, "multipart "
		    "without a valid boundary");
	for (line = p; line < end; line = eol) {
		eol = memchr(line, '\n', (size_t)(end - line));
		eol = eol != NULL ? eol + 1 : end;
		if ((d = delimiter(line, eol, b)) == 0)
			continue;
		if (start != NULL) {
			/* The CRLF before a delimiter is part of it. */
			pend = line;
			if (pend > start && pend[-1] == '\n')
				pend--;
			if (pend > start && pend[-1] == '\r')
				pend--;
			if (++x->parts > MS_REPORT_PARTS_MAX)
				return ms_diag(x->diag, MAILSEC_ELIMIT, 0, 0,
				    "more than %d MIME parts",
				    MS_REPORT_PARTS_MAX);
			if (first->ptr == NULL) {
				first->ptr = start;
				first->len = (size_t)(pend - start);
			}
			err = entity(x, start, (size_t)(pend - start),
			    depth + 1, report, false);
			if (err != MAILSEC_OK)
				return err;
		}
		if (d == 2)
			return MAILSEC_OK;
		start = eol;
	}
	/* No close delimiter: a truncated message. What was read stands;
	 * the last part is taken as far as it goes. */
	if (start != NULL && start < end) {
		if (++x->parts > MS_REPORT_PARTS_MAX)
			return ms_diag(x->diag, MAILSEC_ELIMIT, 0, 0, "more "
			    "than %d MIME parts", MS_REPORT_PARTS_MAX);
		if (first->ptr == NULL) {
			first->ptr = start;
			first->len = (size_t)(end - start);
		}
		return entity(x, start, (size_t)(end - start), depth + 1,
		    report, false);
	}
	return MAILSEC_OK;
}

/*
 * One MIME entity (a whole message at the top): header, then by
 * Content-Type a walk of its parts, a failure report, or its decoded body
 * sniffed for a report. in_report: the entity is a part of a
 * multipart/report (its message/rfc822 is the reported message, not a
 * carrier of reports).
 */
static mailsec_err
entity(struct xctx *x, const char *p, size_t len, unsigned depth,
    bool in_report, bool top)
{
	struct mailsec_msg_limits lim = { 0 };
	struct mailsec_msg *m = NULL;
	struct ctype ct, cd;
	const char *data;
	size_t dlen, before = x->ndocs;
	char *buf = NULL;
	mailsec_err err = MAILSEC_OK;

	if (depth > MS_REPORT_DEPTH_MAX)
		return ms_diag(x->diag, MAILSEC_ELIMIT, 0, 0, "MIME nested "
		    "deeper than %d", MS_REPORT_DEPTH_MAX);
	if (mailsec_msg_parse(p, len, &lim, 0, &m, NULL) != MAILSEC_OK) {
		/* Not a message at all is "no report", not an error. */
		return top ? MAILSEC_OK : soft_fail(x, MAILSEC_ESYNTAX, NULL,
		    "MIME part with a broken header");
	}
	if (top && mailsec_msg_field_count(m) == 0)
		goto out;
	parse_ctype(field_value(m, "Content-Type"), true, &ct);
	parse_ctype(field_value(m, "Content-Disposition"), false, &cd);
	if (cd.name.len > 0)
		ct.name = cd.name;

	if (str_is(ct.type, "multipart")) {
		bool report = str_is(ct.subtype, "report");
		struct mailsec_str body = mailsec_msg_body(m);
		struct mailsec_str first = { NULL, 0 };

		err = multipart(x, body.ptr, body.len, ct.boundary, depth,
		    report, &first);
		if (err != MAILSEC_OK || !report || x->ndocs > before ||
		    (ct.report_type.len > 0 &&
		    !str_is(ct.report_type, "feedback-report")))
			goto out;
		/* A multipart/report with no machine-readable part (Exim
		 * sends such DMARC failure reports): a failure report in
		 * prose, its first part. */
		if (first.ptr != NULL)
			err = non_arf(x, first.ptr, first.len);
		goto out;
	}
	if (str_is(ct.type, "message") && str_is(ct.subtype, "rfc822") &&
	    in_report)
		goto out;
	if (str_is(ct.type, "text") && str_is(ct.subtype, "rfc822-headers"))
		goto out;
	if ((err = decode_body(x, m, &data, &dlen, &buf)) != MAILSEC_OK) {
		if (err == MAILSEC_ESYNTAX)
			err = MAILSEC_OK;	/* recorded, part skipped */
		goto out;
	}
	if (str_is(ct.type, "message") &&
	    str_is(ct.subtype, "feedback-report")) {
		err = add_doc(x, MAILSEC_REPORT_KIND_FAILURE, data, dlen,
		    ct.name.ptr, ct.name.len);
		goto out;
	}
	if (str_is(ct.type, "message") && (str_is(ct.subtype, "rfc822") ||
	    str_is(ct.subtype, "global"))) {
		err = entity(x, data, dlen, depth + 1, false, false);
		goto out;
	}
	err = sniff(x, data, dlen, ct.name.ptr, ct.name.len, depth + 1,
	    false);
out:
	free(buf);
	mailsec_msg_free(m);
	return err;
}

/* ---- containers and documents ----------------------------------------- */

/* (name, n) without a final ".gz" (case-insensitive). */
static size_t
strip_gz(const char *name, size_t n)
{
	if (n > 3 && ms_ascii_eqz(name + n - 3, 3, ".gz"))
		return n - 3;
	return n;
}

/*
 * A gzip or zip container that cannot be opened: a limit, or an
 * outermost input that is broken, stops the extraction with d's text;
 * anything else is passed over (soft_fail()).
 */
static mailsec_err
container_fail(struct xctx *x, mailsec_err err, const struct mailsec_diag *d,
    unsigned depth)
{
	if (err == MAILSEC_ELIMIT || (err == MAILSEC_ESYNTAX && depth == 0))
		return ms_diag(x->diag, err, d->offset, 0, "%s", d->text);
	return soft_fail(x, err, d, NULL);
}

/*
 * Decides what (p, len) is by its bytes and takes the reports out of it.
 * mime: a message may be tried (the input itself, or a message/rfc822
 * part); a decoded attachment is never read as a message.
 */
static mailsec_err
sniff(struct xctx *x, const char *p, size_t len, const char *name,
    size_t namelen, unsigned depth, bool mime)
{
	const unsigned char *u = (const unsigned char *)p;
	struct ms_zip_member *mem = NULL;
	struct mailsec_diag d = { 0 };
	size_t nmem = 0, i, n, win;
	char *out = NULL;
	mailsec_err err;

	if (depth > MS_REPORT_DEPTH_MAX)
		return ms_diag(x->diag, MAILSEC_ELIMIT, 0, 0, "containers "
		    "nested deeper than %d", MS_REPORT_DEPTH_MAX);
	if (len >= 2 && u[0] == 0x1f && u[1] == 0x8b) {
		err = ms_report_gunzip(p, len, x->budget, &out, &n, &d);
		if (err != MAILSEC_OK)
			return container_fail(x, err, &d, depth);
		x->budget -= n;
		err = sniff(x, out, n, name, strip_gz(name, namelen),
		    depth + 1, false);
		free(out);
		return err;
	}
	if (len >= 4 && u[0] == 'P' && u[1] == 'K' &&
	    ((u[2] == 3 && u[3] == 4) || (u[2] == 5 && u[3] == 6))) {
		err = ms_zip_read(p, len, x->budget,
		    MS_REPORT_PARTS_MAX - x->parts, &mem, &nmem, &d);
		if (err != MAILSEC_OK)
			return container_fail(x, err, &d, depth);
		x->parts += nmem;
		err = MAILSEC_OK;
		for (i = 0; i < nmem && err == MAILSEC_OK; i++) {
			x->budget -= mem[i].len;
			err = sniff(x, mem[i].data, mem[i].len, mem[i].name,
			    mem[i].namelen, depth + 1, false);
		}
		ms_zip_members_free(mem, nmem);
		return err;
	}
	/* Text: white space and a UTF-8 byte order mark before it. */
	for (i = 0; i < len; i++) {
		if (i == 0 && len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0) {
			i = 2;
			continue;
		}
		if (!ms_iswsp(p[i]) && p[i] != '\r' && p[i] != '\n')
			break;
	}
	win = len - i < SNIFF_WINDOW ? len - i : SNIFF_WINDOW;
	if (i < len && p[i] == '<' && has_feedback(p + i, win))
		return add_doc(x, MAILSEC_REPORT_KIND_AGGREGATE, p, len, name,
		    namelen);
	if (i < len && p[i] == '{' && has_bytes(p + i, win, "\"policies\""))
		return add_doc(x, MAILSEC_REPORT_KIND_TLSRPT, p, len, name,
		    namelen);
	if (!mime)
		return MAILSEC_OK;
	/* An mbox "From " line before a saved message. */
	if (len >= 5 && memcmp(p, "From ", 5) == 0) {
		const char *nl = memchr(p, '\n', len);

		if (nl == NULL)
			return MAILSEC_OK;
		len -= (size_t)(nl + 1 - p);
		p = nl + 1;
	}
	return entity(x, p, len, depth, false, depth == 0);
}

mailsec_err
mailsec_report_extract(const void *in, size_t len,
    struct mailsec_report_doc **docs, size_t *ndocs,
    struct mailsec_diag *diag)
{
	struct xctx x;
	mailsec_err err;

	if (docs == NULL || ndocs == NULL || (in == NULL && len > 0))
		return MAILSEC_EINVAL;
	*docs = NULL;
	*ndocs = 0;
	if (len > MS_REPORT_INPUT_MAX)
		return ms_diag(diag, MAILSEC_ELIMIT, 0, 0, "input of %zu bytes "
		    "is larger than %zu", len, (size_t)MS_REPORT_INPUT_MAX);
	memset(&x, 0, sizeof x);
	x.diag = diag;
	x.budget = MAILSEC_REPORT_XML_MAX;
	err = sniff(&x, in != NULL ? in : "", len, NULL, 0, 0, true);
	if (err == MAILSEC_OK && x.ndocs == 0) {
		if (x.soft != MAILSEC_OK) {
			err = x.soft;
			if (diag != NULL)
				*diag = x.softdiag;
		} else
			err = ms_diag(diag, MAILSEC_ENOTFOUND, 0, 0, "no "
			    "report found");
	}
	if (err != MAILSEC_OK) {
		mailsec_report_docs_free(x.docs, x.ndocs);
		return err;
	}
	*docs = x.docs;
	*ndocs = x.ndocs;
	return MAILSEC_OK;
}

void
mailsec_report_docs_free(struct mailsec_report_doc *docs, size_t ndocs)
{
	size_t i;

	if (docs == NULL)
		return;
	for (i = 0; i < ndocs; i++) {
		free(docs[i].data);
		free(docs[i].name);
	}
	free(docs);
}
