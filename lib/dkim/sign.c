/*
 * lib/dkim/sign.c - DKIM signing (RFC 6376 section 5): rsa-sha256 and
 * ed25519-sha256 (RFC 8463), relaxed/relaxed by default, a default header
 * list that over-signs (RFC 6376 8.15), the signing time fixed once.
 *
 * Signing is incremental, like verification: header fields (only those
 * a signature's list names are kept), the end of the header block, body
 * chunks (hashed as they arrive, one hasher per body canonicalization
 * shared by the signatures that use it), the end of the message, which
 * makes the DKIM-Signature fields. mailsec_dkim_sign_msg() wraps it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "dkim/dkim_int.h"

EVP_MD_CTX *ms_dkim_key_sign_ctx(const struct mailsec_dkim_key *key);

/* Fields whose addition or change alters what a reader sees. Each is
 * signed once more than it occurs, so an added instance (or an added
 * field that was absent) breaks the signature. */
static const char default_headers[] =
    "from:sender:reply-to:subject:date:message-id:to:cc:mime-version:"
    "content-type:content-transfer-encoding:content-id:"
    "content-description:in-reply-to:references:resent-date:resent-from:"
    "resent-sender:resent-to:resent-cc:resent-message-id:list-id:"
    "list-help:list-unsubscribe:list-unsubscribe-post:list-subscribe:"
    "list-post:list-owner:list-archive";

#define MS_DKIM_MAX_SIGN_HEADERS 4096	/* bytes of h= built */
#define MS_DKIM_MAX_SIGN_SIGS	16	/* signatures per context */
#define MS_DKIM_MAX_SIGN_NAMES	256	/* names in one header list */
#define MS_DKIM_MAX_SIGN_FIELDS	1000	/* kept fields (RFC 5322 has no
					   limit; mailsec_msg's default) */
#define MS_DKIM_MAX_SIGN_HDR	((size_t)1024 * 1024)	/* kept bytes */
#define MS_DKIM_FOLD 76

const char *
mailsec_dkim_default_headers(void)
{
	return default_headers;
}

/* A name of a header list: a view into the list. */
struct hname {
	const char *p;
	size_t len;
};

/* One signature of the context. */
struct ssig {
	struct mailsec_dkim_sign_opts o;	/* strings: copies in strs */
	char *strs;
	enum mailsec_dkim_algorithm alg;
	enum mailsec_dkim_canon hc, bc;
	struct hname *names;
	size_t nnames;
	bool oversign;		/* default list: each name count+1 times */
	time_t t;		/* t= written and hashed */
	struct ms_buf hl;	/* h= built at the end of the header */
};

/* A kept header field: raw bytes in hdrs. */
struct sfield {
	size_t off, len;
	size_t namelen;		/* name without WSP before the colon */
};

enum sstate { S_HEADERS, S_BODY, S_DONE };

struct mailsec_dkim_sign {
	enum sstate state;
	time_t t;		/* the signing time, taken once */
	struct ssig *sigs;
	size_t nsigs;
	struct ms_buf hdrs;
	struct sfield *fields;
	size_t nfields, capfields;
	/* One body hasher per canonicalization (index: the enum). */
	struct ms_dkim_body body[2];
	bool body_live[2];
	unsigned char dig[2][EVP_MAX_MD_SIZE];
	unsigned diglen[2];
	uint64_t body_len[2];
};

/* Splits a colon-separated list into names (WSP around each dropped).
 * strict: a caller's list (empty names refused). */
static mailsec_err
parse_list(const char *list, bool strict, struct ssig *s,
    struct mailsec_diag *diag)
{
	size_t i = 0, start, k, j, len = strlen(list), cap = 1;
	bool from = false;

	/* Room for the names the list can hold (one more than its colons),
	 * up to the limit: not a fixed table per message. */
	for (j = 0; j < len && cap <= MS_DKIM_MAX_SIGN_NAMES; j++)
		if (list[j] == ':')
			cap++;
	if (cap > MS_DKIM_MAX_SIGN_NAMES)
		cap = MS_DKIM_MAX_SIGN_NAMES;
	s->names = ms_reallocarray(NULL, cap, sizeof *s->names);
	if (s->names == NULL)
		return MAILSEC_ENOMEM;
	while (i <= len) {
		start = i;
		while (i < len && list[i] != ':')
			i++;
		while (start < i && ms_iswsp((unsigned char)list[start]))
			start++;
		k = i;
		while (k > start && ms_iswsp((unsigned char)list[k - 1]))
			k--;
		i++;
		if (k == start) {
			if (strict)
				return ms_diag(diag, MAILSEC_EINVAL, start, 0,
				    "empty name in the header list");
			continue;
		}
		for (j = start; j < k; j++) {
			unsigned char c = (unsigned char)list[j];

			/* RFC 5322 2.2 field names: 33..126 but ':' */
			if (c <= 0x20 || c >= 0x7f)
				return ms_diag(diag, MAILSEC_EINVAL, j, 0,
				    "invalid byte in a header name");
		}
		if (s->nnames == cap)
			return ms_diag(diag, MAILSEC_EINVAL, start, 0,
			    "more than %d names in the header list",
			    MS_DKIM_MAX_SIGN_NAMES);
		if (ms_ascii_eq(list + start, k - start, "from", 4))
			from = true;
		s->names[s->nnames].p = list + start;
		s->names[s->nnames].len = k - start;
		s->nnames++;
	}
	if (!from)
		return ms_diag(diag, MAILSEC_EINVAL, 0, 0,
		    "the header list must include From (RFC 6376 5.4)");
	return MAILSEC_OK;
}

/* Checks one signature's options and copies what it keeps. */
static mailsec_err
sig_setup(const struct mailsec_dkim_sign_opts *o, struct ssig *s,
    struct mailsec_diag *diag)
{
	size_t dl, sl, il, hl;
	char *q;

	if (o->key == NULL || o->domain == NULL || o->selector == NULL)
		return ms_diag(diag, MAILSEC_EINVAL, 0, 0,
		    "signing needs a key, a domain and a selector");
	dl = strlen(o->domain);
	sl = strlen(o->selector);
	il = o->identity != NULL ? strlen(o->identity) : 0;
	hl = o->headers != NULL ? strlen(o->headers) : 0;
	if (!ms_dkim_domain_ok(o->domain, dl))
		return ms_diag(diag, MAILSEC_EINVAL, 0, 0,
		    "'%s' is not a domain name", o->domain);
	if (!ms_dkim_domain_ok(o->selector, sl))
		return ms_diag(diag, MAILSEC_EINVAL, 0, 0,
		    "'%s' is not a selector", o->selector);
	if (o->identity != NULL) {
		const char *at = strrchr(o->identity, '@');
		size_t al;

		if (at == NULL || strchr(o->identity, ';') != NULL ||
		    (al = strlen(at + 1)) < dl ||
		    !ms_ascii_eq(at + 1 + al - dl, dl, o->domain, dl) ||
		    (al > dl && at[al - dl] != '.'))
			return ms_diag(diag, MAILSEC_EINVAL, 0, 0,
			    "identity '%s' is not within d=%s", o->identity,
			    o->domain);
	}
	s->alg = o->algorithm ? o->algorithm :
	    mailsec_dkim_key_algorithm(o->key);
	if (s->alg != mailsec_dkim_key_algorithm(o->key))
		return ms_diag(diag, MAILSEC_EINVAL, 0, 0,
		    "algorithm %s does not match the key (%s)",
		    mailsec_dkim_algorithm_name(s->alg),
		    mailsec_dkim_algorithm_name(
		    mailsec_dkim_key_algorithm(o->key)));
	s->hc = o->canon_set ? o->header_canon : MAILSEC_DKIM_RELAXED;
	s->bc = o->canon_set ? o->body_canon : MAILSEC_DKIM_RELAXED;
	if ((unsigned)s->hc > MAILSEC_DKIM_RELAXED ||
	    (unsigned)s->bc > MAILSEC_DKIM_RELAXED)
		return ms_diag(diag, MAILSEC_EINVAL, 0, 0,
		    "unknown canonicalization");
	/* domain, selector, identity, headers: one allocation */
	if ((s->strs = malloc(dl + sl + il + hl + 4)) == NULL)
		return MAILSEC_ENOMEM;
	s->o = *o;
	q = s->strs;
	memcpy(q, o->domain, dl + 1);
	s->o.domain = q;
	q += dl + 1;
	memcpy(q, o->selector, sl + 1);
	s->o.selector = q;
	q += sl + 1;
	if (o->identity != NULL) {
		memcpy(q, o->identity, il + 1);
		s->o.identity = q;
		q += il + 1;
	}
	if (o->headers != NULL) {
		memcpy(q, o->headers, hl + 1);
		s->o.headers = q;
	}
	s->oversign = o->headers == NULL;
	ms_buf_init(&s->hl, MS_DKIM_MAX_SIGN_HEADERS);
	return parse_list(o->headers != NULL ? s->o.headers :
	    default_headers, o->headers != NULL, s, diag);
}

mailsec_err
mailsec_dkim_sign_new(const struct mailsec_dkim_sign_opts *opts, size_t n,
    struct mailsec_dkim_sign **out, struct mailsec_diag *diag)
{
	struct mailsec_dkim_sign *ctx;
	size_t i;
	mailsec_err err;

	if (opts == NULL || out == NULL || n == 0)
		return ms_diag(diag, MAILSEC_EINVAL, 0, 0,
		    "mailsec_dkim_sign_new: no signature to make");
	if (n > MS_DKIM_MAX_SIGN_SIGS)
		return ms_diag(diag, MAILSEC_EINVAL, 0, 0,
		    "more than %d signatures at once", MS_DKIM_MAX_SIGN_SIGS);
	if ((ctx = calloc(1, sizeof *ctx)) == NULL)
		return MAILSEC_ENOMEM;
	ms_buf_init(&ctx->hdrs, MS_DKIM_MAX_SIGN_HDR);
	if ((ctx->sigs = ms_calloc(n, sizeof *ctx->sigs)) == NULL) {
		err = MAILSEC_ENOMEM;
		goto fail;
	}
	ctx->nsigs = n;
	for (i = 0; i < n; i++)
		if ((err = sig_setup(&opts[i], &ctx->sigs[i], diag)) !=
		    MAILSEC_OK)
			goto fail;
	/* The one moment these signatures are made: written and hashed
	 * (a t= taken twice may differ: the signature would not verify). */
	ctx->t = time(NULL);
	for (i = 0; i < n; i++)
		ctx->sigs[i].t = opts[i].timestamp != 0 ? opts[i].timestamp :
		    ctx->t;
	*out = ctx;
	return MAILSEC_OK;
fail:
	mailsec_dkim_sign_free(ctx);
	return err;
}

void
mailsec_dkim_sign_free(struct mailsec_dkim_sign *ctx)
{
	size_t i;

	if (ctx == NULL)
		return;
	for (i = 0; i < ctx->nsigs; i++) {
		free(ctx->sigs[i].strs);
		free(ctx->sigs[i].names);
		ms_buf_free(&ctx->sigs[i].hl);
	}
	free(ctx->sigs);
	for (i = 0; i < 2; i++)
		if (ctx->body_live[i])
			ms_dkim_body_cleanup(&ctx->body[i]);
	ms_buf_free(&ctx->hdrs);
	free(ctx->fields);
	free(ctx);
}

/* Does any signature's list name this field? */
static bool
wanted(const struct mailsec_dkim_sign *ctx, const char *name, size_t len)
{
	size_t i, j;

	for (i = 0; i < ctx->nsigs; i++)
		for (j = 0; j < ctx->sigs[i].nnames; j++)
			if (ms_ascii_eq(ctx->sigs[i].names[j].p,
			    ctx->sigs[i].names[j].len, name, len))
				return true;
	return false;
}

mailsec_err
mailsec_dkim_sign_header(struct mailsec_dkim_sign *ctx, const char *raw,
    size_t len)
{
	struct sfield *f, *nf;
	size_t c, nl;
	mailsec_err err;

	if (ctx == NULL || (raw == NULL && len > 0))
		return MAILSEC_EINVAL;
	if (ctx->state != S_HEADERS)
		return MAILSEC_ESTATE;
	for (c = 0; c < len && raw[c] != ':'; c++)
		;
	nl = c;
	while (nl > 0 && ms_iswsp((unsigned char)raw[nl - 1]))
		nl--;
	if (!wanted(ctx, raw, nl))
		return MAILSEC_OK;	/* not signed: not kept */
	if (ctx->nfields == MS_DKIM_MAX_SIGN_FIELDS)
		return MAILSEC_ELIMIT;
	if (ctx->nfields == ctx->capfields) {
		c = ctx->capfields ? ctx->capfields * 2 : 16;
		if ((nf = ms_reallocarray(ctx->fields, c, sizeof *nf)) == NULL)
			return MAILSEC_ENOMEM;
		ctx->fields = nf;
		ctx->capfields = c;
	}
	f = &ctx->fields[ctx->nfields];
	f->off = ctx->hdrs.len;
	f->len = len;
	f->namelen = nl;
	if ((err = ms_buf_append(&ctx->hdrs, raw, len)) != MAILSEC_OK)
		return err;
	ctx->nfields++;
	return MAILSEC_OK;
}

static const char *
field_raw(const struct mailsec_dkim_sign *ctx, size_t i)
{
	return ctx->hdrs.ptr + ctx->fields[i].off;
}

static size_t
count_fields(const struct mailsec_dkim_sign *ctx, const char *name,
    size_t nlen)
{
	size_t i, c = 0;

	for (i = 0; i < ctx->nfields; i++)
		if (ms_ascii_eq(field_raw(ctx, i), ctx->fields[i].namelen,
		    name, nlen))
			c++;
	return c;
}

/* Builds the h= list (colon-separated, lower case) of s. */
static mailsec_err
build_h(const struct mailsec_dkim_sign *ctx, struct ssig *s)
{
	size_t i, j, reps;
	mailsec_err err;

	for (i = 0; i < s->nnames; i++) {
		reps = s->oversign ? count_fields(ctx, s->names[i].p,
		    s->names[i].len) + 1 : 1;
		while (reps-- > 0) {
			if (s->hl.len > 0 &&
			    (err = ms_buf_appendc(&s->hl, ':')) != MAILSEC_OK)
				return err;
			for (j = 0; j < s->names[i].len; j++)
				if ((err = ms_buf_appendc(&s->hl, (char)
				    ms_tolower((unsigned char)
				    s->names[i].p[j]))) != MAILSEC_OK)
					return err;
		}
	}
	return MAILSEC_OK;
}

mailsec_err
mailsec_dkim_sign_eoh(struct mailsec_dkim_sign *ctx,
    struct mailsec_diag *diag)
{
	size_t i;
	mailsec_err err;

	if (ctx == NULL)
		return MAILSEC_EINVAL;
	if (ctx->state != S_HEADERS)
		return MAILSEC_ESTATE;
	if (count_fields(ctx, "from", 4) == 0)
		return ms_diag(diag, MAILSEC_EINVAL, 0, 0,
		    "the message has no From field to sign");
	for (i = 0; i < ctx->nsigs; i++) {
		struct ssig *s = &ctx->sigs[i];

		if ((err = build_h(ctx, s)) != MAILSEC_OK)
			return ms_diag(diag, err, 0, 0, "h= longer than %d "
			    "bytes", MS_DKIM_MAX_SIGN_HEADERS);
		if (!ctx->body_live[s->bc]) {
			if ((err = ms_dkim_body_init(&ctx->body[s->bc], s->bc,
			    EVP_sha256(), UINT64_MAX)) != MAILSEC_OK)
				return err;
			ctx->body_live[s->bc] = true;
		}
	}
	ctx->state = S_BODY;
	return MAILSEC_OK;
}

mailsec_err
mailsec_dkim_sign_body(struct mailsec_dkim_sign *ctx, const char *p,
    size_t len)
{
	size_t i;
	mailsec_err err;

	if (ctx == NULL || (p == NULL && len > 0))
		return MAILSEC_EINVAL;
	if (ctx->state != S_BODY)
		return MAILSEC_ESTATE;
	for (i = 0; i < 2; i++)
		if (ctx->body_live[i] && (err = ms_dkim_body_update(
		    &ctx->body[i], p, len)) != MAILSEC_OK)
			return err;
	return MAILSEC_OK;
}

/* Appends text to the header being built, folding before it when the
 * line would pass MS_DKIM_FOLD columns. */
static mailsec_err
fold_add(struct ms_buf *b, size_t *col, const char *p, size_t n, bool space)
{
	mailsec_err err;

	if (*col + n + (space ? 1 : 0) > MS_DKIM_FOLD && *col > 1) {
		if ((err = ms_buf_append(b, "\r\n\t", 3)) != MAILSEC_OK)
			return err;
		*col = 1;
	} else if (space) {
		if ((err = ms_buf_appendc(b, ' ')) != MAILSEC_OK)
			return err;
		(*col)++;
	}
	*col += n;
	return ms_buf_append(b, p, n);
}

static mailsec_err
fold_tag(struct ms_buf *b, size_t *col, const char *fmt, ...)
    MS_PRINTF(3, 4);

static mailsec_err
fold_tag(struct ms_buf *b, size_t *col, const char *fmt, ...)
{
	char tmp[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof tmp)
		return MAILSEC_ELIMIT;
	return fold_add(b, col, tmp, (size_t)n, true);
}

/* Appends a long value (h= names, base64) folded at safe points: after
 * ':' for h=, anywhere for base64. */
static mailsec_err
fold_long(struct ms_buf *b, size_t *col, const char *p, size_t n, bool h)
{
	size_t i = 0, k, room;
	mailsec_err err;

	while (i < n) {
		room = *col < MS_DKIM_FOLD ? MS_DKIM_FOLD - *col : 0;
		k = n - i;
		if (k > room) {
			k = room;
			if (h) {
				/* Break after a ':' within the room. */
				while (k > 0 && p[i + k - 1] != ':')
					k--;
			}
			if (k == 0) {
				if (*col > 1) {
					if ((err = ms_buf_append(b, "\r\n\t",
					    3)) != MAILSEC_OK)
						return err;
					*col = 1;
					continue;
				}
				/* A name longer than a line: write it. */
				k = 1;
				while (h && i + k < n && p[i + k - 1] != ':')
					k++;
			}
		}
		if ((err = ms_buf_append(b, p + i, k)) != MAILSEC_OK)
			return err;
		*col += k;
		i += k;
	}
	return MAILSEC_OK;
}

/* Header hash input: the fields h= names, bottom-up (5.4.2), then the
 * signature field without b=, without its CRLF. */
static mailsec_err
header_data(const struct mailsec_dkim_sign *ctx, const struct ssig *s,
    const char *sig, size_t siglen, struct ms_buf *out)
{
	const char *h = s->hl.ptr;
	size_t nf = ctx->nfields, hlen = s->hl.len, i = 0, start, j;
	bool *used;
	mailsec_err err = MAILSEC_OK;

	used = ms_calloc(nf + 1, sizeof *used);
	if (used == NULL)
		return MAILSEC_ENOMEM;
	while (i <= hlen) {
		start = i;
		while (i < hlen && h[i] != ':')
			i++;
		for (j = nf; j > 0; j--) {
			if (used[j - 1] || !ms_ascii_eq(field_raw(ctx, j - 1),
			    ctx->fields[j - 1].namelen, h + start, i - start))
				continue;
			used[j - 1] = true;
			if ((err = ms_dkim_canon_header(s->hc,
			    field_raw(ctx, j - 1), ctx->fields[j - 1].len,
			    out)) != MAILSEC_OK)
				goto done;
			break;
		}
		i++;
	}
	if ((err = ms_dkim_canon_header(s->hc, sig, siglen, out)) !=
	    MAILSEC_OK)
		goto done;
	out->len -= 2;
done:
	free(used);
	return err;
}

/* Makes the DKIM-Signature field of s and appends it to out. */
static mailsec_err
sign_one(const struct mailsec_dkim_sign *ctx, const struct ssig *s,
    struct ms_buf *out)
{
	const struct mailsec_dkim_sign_opts *o = &s->o;
	struct ms_buf hdr, hd, b64;
	unsigned char sig[1024];
	size_t siglen = sizeof sig, col;
	EVP_MD_CTX *mctx = NULL;
	time_t t = s->t;
	mailsec_err err;

	ms_buf_init(&hdr, 64 * 1024);
	ms_buf_init(&hd, 4 * 1024 * 1024);
	ms_buf_init(&b64, 4096);
	col = 20;
	if ((err = ms_buf_appendz(&hdr, "DKIM-Signature: v=1;")) != MAILSEC_OK ||
	    (err = fold_tag(&hdr, &col, "a=%s;",
	    mailsec_dkim_algorithm_name(s->alg))) != MAILSEC_OK ||
	    (err = fold_tag(&hdr, &col, "c=%s/%s;",
	    mailsec_dkim_canon_name(s->hc),
	    mailsec_dkim_canon_name(s->bc))) != MAILSEC_OK ||
	    (err = fold_tag(&hdr, &col, "d=%s;", o->domain)) != MAILSEC_OK ||
	    (err = fold_tag(&hdr, &col, "s=%s;", o->selector)) != MAILSEC_OK ||
	    (err = fold_tag(&hdr, &col, "t=%lld;", (long long)t)) !=
	    MAILSEC_OK)
		goto done;
	if (o->expire_after > 0 && (err = fold_tag(&hdr, &col, "x=%lld;",
	    (long long)t + o->expire_after)) != MAILSEC_OK)
		goto done;
	if (o->identity != NULL && (err = fold_tag(&hdr, &col, "i=%s;",
	    o->identity)) != MAILSEC_OK)
		goto done;
	if (o->body_length && (err = fold_tag(&hdr, &col, "l=%llu;",
	    (unsigned long long)ctx->body_len[s->bc])) != MAILSEC_OK)
		goto done;
	if ((err = fold_add(&hdr, &col, "h=", 2, true)) != MAILSEC_OK ||
	    (err = fold_long(&hdr, &col, s->hl.ptr, s->hl.len, true)) !=
	    MAILSEC_OK || (err = ms_buf_appendc(&hdr, ';')) != MAILSEC_OK)
		goto done;
	col++;
	if ((err = ms_b64_encode(ctx->dig[s->bc], ctx->diglen[s->bc],
	    &b64)) != MAILSEC_OK ||
	    (err = fold_add(&hdr, &col, "bh=", 3, true)) != MAILSEC_OK ||
	    (err = fold_long(&hdr, &col, b64.ptr, b64.len, false)) !=
	    MAILSEC_OK || (err = ms_buf_appendc(&hdr, ';')) != MAILSEC_OK)
		goto done;
	col++;
	ms_buf_free(&b64);
	ms_buf_init(&b64, 4096);
	if ((err = fold_add(&hdr, &col, "b=", 2, true)) != MAILSEC_OK)
		goto done;

	if ((err = header_data(ctx, s, hdr.ptr, hdr.len, &hd)) != MAILSEC_OK)
		goto done;
	if ((mctx = ms_dkim_key_sign_ctx(o->key)) == NULL) {
		err = MAILSEC_ENOMEM;
		goto done;
	}
	if (s->alg == MAILSEC_DKIM_ED25519_SHA256) {
		unsigned char hh[32];

		/* RFC 8463 3: Ed25519 over the SHA-256 of the headers. */
		SHA256((const unsigned char *)hd.ptr, hd.len, hh);
		if (EVP_DigestSign(mctx, sig, &siglen, hh, sizeof hh) != 1) {
			err = MAILSEC_ENOMEM;
			goto done;
		}
	} else if (EVP_DigestSign(mctx, sig, &siglen,
	    (const unsigned char *)hd.ptr, hd.len) != 1) {
		err = MAILSEC_ENOMEM;
		goto done;
	}
	if ((err = ms_b64_encode(sig, siglen, &b64)) != MAILSEC_OK ||
	    (err = fold_long(&hdr, &col, b64.ptr, b64.len, false)) !=
	    MAILSEC_OK || (err = ms_buf_append(&hdr, "\r\n", 2)) != MAILSEC_OK)
		goto done;
	err = ms_buf_append(out, hdr.ptr, hdr.len);
done:
	EVP_MD_CTX_free(mctx);
	ms_buf_free(&hdr);
	ms_buf_free(&hd);
	ms_buf_free(&b64);
	return err;
}

mailsec_err
mailsec_dkim_sign_eom(struct mailsec_dkim_sign *ctx, char **out,
    size_t *outlen, struct mailsec_diag *diag)
{
	struct ms_buf all;
	size_t i;
	mailsec_err err;

	if (ctx == NULL || out == NULL)
		return MAILSEC_EINVAL;
	if (ctx->state != S_BODY)
		return MAILSEC_ESTATE;
	ctx->state = S_DONE;
	for (i = 0; i < 2; i++) {
		if (!ctx->body_live[i])
			continue;
		if ((err = ms_dkim_body_final(&ctx->body[i], ctx->dig[i],
		    &ctx->diglen[i])) != MAILSEC_OK)
			return err;
		ctx->body_len[i] = ctx->body[i].total;
		ms_dkim_body_cleanup(&ctx->body[i]);
		ctx->body_live[i] = false;
	}
	ms_buf_init(&all, (size_t)MS_DKIM_MAX_SIGN_SIGS * 64 * 1024);
	for (i = 0; i < ctx->nsigs; i++)
		if ((err = sign_one(ctx, &ctx->sigs[i], &all)) != MAILSEC_OK) {
			ms_buf_free(&all);
			return ms_diag(diag, err, 0, 0, "signature %zu (d=%s "
			    "s=%s) could not be made", i,
			    ctx->sigs[i].o.domain, ctx->sigs[i].o.selector);
		}
	if ((*out = ms_buf_steal(&all, outlen)) == NULL)
		return MAILSEC_ENOMEM;
	return MAILSEC_OK;
}

mailsec_err
mailsec_dkim_sign_msg(const struct mailsec_dkim_sign_opts *o,
    const struct mailsec_msg *msg, char **out, size_t *outlen,
    struct mailsec_diag *diag)
{
	struct mailsec_dkim_sign *ctx = NULL;
	const struct mailsec_header *h;
	struct mailsec_str body;
	size_t i, n;
	mailsec_err err;

	if (o == NULL || msg == NULL || out == NULL)
		return MAILSEC_EINVAL;
	if ((err = mailsec_dkim_sign_new(o, 1, &ctx, diag)) != MAILSEC_OK)
		return err;
	n = mailsec_msg_field_count(msg);
	for (i = 0; i < n; i++) {
		h = mailsec_msg_field(msg, i);
		if ((err = mailsec_dkim_sign_header(ctx, h->raw.ptr,
		    h->raw.len)) != MAILSEC_OK)
			goto done;
	}
	body = mailsec_msg_body(msg);
	if ((err = mailsec_dkim_sign_eoh(ctx, diag)) != MAILSEC_OK ||
	    (err = mailsec_dkim_sign_body(ctx, body.ptr, body.len)) !=
	    MAILSEC_OK)
		goto done;
	err = mailsec_dkim_sign_eom(ctx, out, outlen, diag);
done:
	mailsec_dkim_sign_free(ctx);
	return err;
}
