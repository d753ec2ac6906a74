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

/* Fields an AMS signs by default besides DKIM's: any DKIM-Signature
 * already present, as RFC 8617 4.1.2 asks. */
static const char ams_extra_headers[] = "dkim-signature";

/* Never in an AMS h= (RFC 8617 4.1.2). */
static const char *const ams_forbidden[] = { "arc-seal",
    "arc-message-signature", "arc-authentication-results",
    "authentication-results" };

#define MS_DKIM_MAX_SIGN_HEADERS 4096	/* bytes of h= built */
#define MS_DKIM_MAX_SIGN_SIGS	16	/* signatures per context */
#define MS_DKIM_MAX_SIGN_NAMES	256	/* names in one header list */
#define MS_DKIM_MAX_SIGN_FIELDS	1000	/* kept fields (RFC 5322 has no
					   limit; mailsec_msg's default) */
#define MS_DKIM_MAX_SIGN_HDR	((size_t)1024 * 1024)	/* kept bytes */
#define MS_DKIM_MAX_SIGN_HDATA	((size_t)4 * 1024 * 1024) /* hash input */
#define MS_DKIM_FOLD 76

const char *
mailsec_dkim_default_headers(void)
{
	return default_headers;
}

enum sstate { S_HEADERS, S_BODY, S_DONE };

struct mailsec_dkim_sign {
	enum sstate state;
	time_t t;		/* the signing time, taken once */
	struct ms_dkim_signer *sigs;
	size_t nsigs;
	struct ms_dkim_fields fields;	/* the ones some list names */
	/* One body hasher per canonicalization (index: the enum). */
	struct ms_dkim_body body[2];
	bool body_live[2];
	unsigned char dig[2][EVP_MAX_MD_SIZE];
	unsigned diglen[2];
	uint64_t body_len[2];
};

/* Splits a colon-separated list into names (WSP around each dropped).
 * strict: a caller's list (empty names refused). ams: names RFC 8617
 * 4.1.2 forbids are refused. */
static mailsec_err
parse_list(const char *list, bool strict, bool ams, struct ms_dkim_signer *s,
    struct mailsec_diag *diag)
{
	size_t i = 0, start, k, j, f, len = strlen(list), cap = 1;
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
		for (f = 0; ams && f < MS_ARRAY_LEN(ams_forbidden); f++)
			if (ms_ascii_eqz(list + start, k - start,
			    ams_forbidden[f]))
				return ms_diag(diag, MAILSEC_EINVAL, start, 0,
				    "the AMS must not sign %s (RFC 8617 "
				    "4.1.2)", ams_forbidden[f]);
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

mailsec_err
ms_dkim_signer_init(struct ms_dkim_signer *s,
    const struct mailsec_dkim_sign_opts *o, bool ams,
    struct mailsec_diag *diag)
{
	size_t dl, sl, il, hl;
	const char *list = default_headers;
	char *q;

	memset(s, 0, sizeof *s);
	ms_buf_init(&s->hl, MS_DKIM_MAX_SIGN_HEADERS);
	if (o->key == NULL || o->domain == NULL || o->selector == NULL)
		return ms_diag(diag, MAILSEC_EINVAL, 0, 0,
		    "%s needs a key, a domain and a selector", ams ?
		    "sealing" : "signing");
	dl = strlen(o->domain);
	sl = strlen(o->selector);
	il = o->identity != NULL ? strlen(o->identity) : 0;
	hl = o->headers != NULL ? strlen(o->headers) : ams ?
	    sizeof default_headers + sizeof ams_extra_headers - 1 : 0;
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
		s->o.headers = list = q;
	} else if (ams) {
		/* the default list, then ":dkim-signature" */
		memcpy(q, default_headers, sizeof default_headers - 1);
		q[sizeof default_headers - 1] = ':';
		memcpy(q + sizeof default_headers, ams_extra_headers,
		    sizeof ams_extra_headers);
		list = q;
	}
	s->oversign = o->headers == NULL;
	return parse_list(list, o->headers != NULL, ams, s, diag);
}

void
ms_dkim_signer_cleanup(struct ms_dkim_signer *s)
{
	free(s->strs);
	free(s->names);
	ms_buf_free(&s->hl);
	s->strs = NULL;
	s->names = NULL;
	s->nnames = 0;
}

bool
ms_dkim_signer_wants(const struct ms_dkim_signer *s, const char *name,
    size_t len)
{
	size_t i;

	for (i = 0; i < s->nnames; i++)
		if (ms_ascii_eq(s->names[i].p, s->names[i].len, name, len))
			return true;
	return false;
}

mailsec_err
ms_dkim_signer_build_h(struct ms_dkim_signer *s,
    const struct ms_dkim_fields *fs, struct mailsec_diag *diag)
{
	size_t i, j, reps;
	mailsec_err err;

	if (ms_dkim_fields_count(fs, "from", 4) == 0)
		return ms_diag(diag, MAILSEC_EINVAL, 0, 0,
		    "the message has no From field to sign");
	for (i = 0; i < s->nnames; i++) {
		reps = s->oversign ? ms_dkim_fields_count(fs, s->names[i].p,
		    s->names[i].len) + 1 : 1;
		while (reps-- > 0) {
			if (s->hl.len > 0 &&
			    (err = ms_buf_appendc(&s->hl, ':')) != MAILSEC_OK)
				goto toolong;
			for (j = 0; j < s->names[i].len; j++)
				if ((err = ms_buf_appendc(&s->hl, (char)
				    ms_tolower((unsigned char)
				    s->names[i].p[j]))) != MAILSEC_OK)
					goto toolong;
		}
	}
	return MAILSEC_OK;
toolong:
	return ms_diag(diag, err, 0, 0, "h= longer than %d bytes",
	    MS_DKIM_MAX_SIGN_HEADERS);
}

mailsec_err
ms_dkim_signer_sign(const struct ms_dkim_signer *s,
    const struct ms_dkim_fields *fs, const struct ms_dkim_field *sig,
    size_t b_at, struct ms_buf *b64)
{
	struct ms_buf hd;
	struct mailsec_str h;
	mailsec_err err;

	h.ptr = s->hl.ptr;
	h.len = s->hl.len;
	ms_buf_init(&hd, MS_DKIM_MAX_SIGN_HDATA);
	if ((err = ms_dkim_header_data(fs->f, fs->n, h, SIZE_MAX, s->hc, sig,
	    b_at, b_at, &hd, NULL)) == MAILSEC_OK)
		err = ms_dkim_sign_data(s->o.key, s->alg, hd.ptr, hd.len, b64);
	ms_buf_free(&hd);
	return err;
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
	ms_dkim_fields_init(&ctx->fields, MS_DKIM_MAX_SIGN_FIELDS,
	    MS_DKIM_MAX_SIGN_HDR);
	if ((ctx->sigs = ms_calloc(n, sizeof *ctx->sigs)) == NULL) {
		err = MAILSEC_ENOMEM;
		goto fail;
	}
	ctx->nsigs = n;
	for (i = 0; i < n; i++)
		if ((err = ms_dkim_signer_init(&ctx->sigs[i], &opts[i], false,
		    diag)) != MAILSEC_OK)
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
	for (i = 0; i < ctx->nsigs; i++)
		ms_dkim_signer_cleanup(&ctx->sigs[i]);
	free(ctx->sigs);
	for (i = 0; i < 2; i++)
		if (ctx->body_live[i])
			ms_dkim_body_cleanup(&ctx->body[i]);
	ms_dkim_fields_free(&ctx->fields);
	free(ctx);
}

mailsec_err
mailsec_dkim_sign_header(struct mailsec_dkim_sign *ctx, const char *raw,
    size_t len)
{
	struct ms_dkim_field f;
	size_t i;

	if (ctx == NULL || (raw == NULL && len > 0))
		return MAILSEC_EINVAL;
	if (ctx->state != S_HEADERS)
		return MAILSEC_ESTATE;
	ms_dkim_field_set(&f, raw, len);
	for (i = 0; i < ctx->nsigs; i++)
		if (ms_dkim_signer_wants(&ctx->sigs[i], raw, f.namelen))
			return ms_dkim_fields_add(&ctx->fields, raw, len,
			    NULL);
	return MAILSEC_OK;	/* not signed: not kept */
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
	for (i = 0; i < ctx->nsigs; i++) {
		struct ms_dkim_signer *s = &ctx->sigs[i];

		if ((err = ms_dkim_signer_build_h(s, &ctx->fields, diag)) !=
		    MAILSEC_OK)
			return err;
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

/* Makes the DKIM-Signature field of s and appends it to out. */
static mailsec_err
sign_one(const struct mailsec_dkim_sign *ctx, const struct ms_dkim_signer *s,
    struct ms_buf *out)
{
	const struct mailsec_dkim_sign_opts *o = &s->o;
	struct ms_dkim_field sf;
	struct ms_buf hdr, b64;
	size_t col;
	time_t t = s->t;
	mailsec_err err;

	ms_buf_init(&hdr, 64 * 1024);
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

	ms_dkim_field_set(&sf, hdr.ptr, hdr.len);
	if ((err = ms_dkim_signer_sign(s, &ctx->fields, &sf,
	    hdr.len - sf.colon - 1, &b64)) != MAILSEC_OK ||
	    (err = fold_long(&hdr, &col, b64.ptr, b64.len, false)) !=
	    MAILSEC_OK || (err = ms_buf_append(&hdr, "\r\n", 2)) != MAILSEC_OK)
		goto done;
	err = ms_buf_append(out, hdr.ptr, hdr.len);
done:
	ms_buf_free(&hdr);
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
