/*
 * lib/dkim/sign.c - DKIM signing (RFC 6376 section 5): rsa-sha256 and
 * ed25519-sha256 (RFC 8463), relaxed/relaxed by default, a default header
 * list that over-signs (RFC 6376 8.15), the signing time fixed once.
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
#define MS_DKIM_FOLD 76

const char *
mailsec_dkim_default_headers(void)
{
	return default_headers;
}

static size_t
count_fields(const struct mailsec_msg *msg, const char *name, size_t nlen)
{
	size_t i, n = mailsec_msg_field_count(msg), c = 0;
	const struct mailsec_header *h;

	for (i = 0; i < n; i++) {
		h = mailsec_msg_field(msg, i);
		if (ms_ascii_eq(h->name.ptr, h->name.len, name, nlen))
			c++;
	}
	return c;
}

/* Builds the h= list (colon-separated, lower case) into out. */
static mailsec_err
build_h(const struct mailsec_dkim_sign_opts *o, const struct mailsec_msg *msg,
    struct ms_buf *out, struct mailsec_diag *diag)
{
	const char *list = o->headers != NULL ? o->headers : default_headers;
	size_t i = 0, start, len = strlen(list), k, reps;
	bool from = false;
	mailsec_err err;

	while (i <= len) {
		start = i;
		while (i < len && list[i] != ':')
			i++;
		/* Names from the caller may carry spaces: drop them. */
		while (start < i && ms_iswsp((unsigned char)list[start]))
			start++;
		k = i;
		while (k > start && ms_iswsp((unsigned char)list[k - 1]))
			k--;
		if (k == start) {
			if (o->headers != NULL)
				return ms_diag(diag, MAILSEC_EINVAL, start, 0,
				    "empty name in the header list");
			i++;
			continue;
		}
		for (reps = 0; reps < k - start; reps++) {
			unsigned char c = (unsigned char)list[start + reps];

			if (c <= 0x20 || c >= 0x7f)
				return ms_diag(diag, MAILSEC_EINVAL,
				    start + reps, 0,
				    "invalid byte in a header name");
		}
		if (ms_ascii_eq(list + start, k - start, "from", 4))
			from = true;
		reps = o->headers != NULL ? 1 :
		    count_fields(msg, list + start, k - start) + 1;
		while (reps-- > 0) {
			if (out->len > 0 &&
			    (err = ms_buf_appendc(out, ':')) != MAILSEC_OK)
				return err;
			for (size_t j = start; j < k; j++)
				if ((err = ms_buf_appendc(out, (char)
				    ms_tolower((unsigned char)list[j]))) !=
				    MAILSEC_OK)
					return err;
		}
		i++;
	}
	if (!from)
		return ms_diag(diag, MAILSEC_EINVAL, 0, 0,
		    "the header list must include From (RFC 6376 5.4)");
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
header_data(const struct mailsec_msg *msg, enum mailsec_dkim_canon c,
    const char *h, size_t hlen, const char *sig, size_t siglen,
    struct ms_buf *out)
{
	size_t nf = mailsec_msg_field_count(msg), i = 0, start, j;
	bool *used;
	const struct mailsec_header *f;
	mailsec_err err = MAILSEC_OK;

	used = ms_calloc(nf + 1, sizeof *used);
	if (used == NULL)
		return MAILSEC_ENOMEM;
	while (i <= hlen) {
		start = i;
		while (i < hlen && h[i] != ':')
			i++;
		for (j = nf; j > 0; j--) {
			f = mailsec_msg_field(msg, j - 1);
			if (used[j - 1] || !ms_ascii_eq(f->name.ptr,
			    f->name.len, h + start, i - start))
				continue;
			used[j - 1] = true;
			if ((err = ms_dkim_canon_header(c, f->raw.ptr,
			    f->raw.len, out)) != MAILSEC_OK)
				goto done;
			break;
		}
		i++;
	}
	if ((err = ms_dkim_canon_header(c, sig, siglen, out)) != MAILSEC_OK)
		goto done;
	out->len -= 2;
done:
	free(used);
	return err;
}

mailsec_err
mailsec_dkim_sign_msg(const struct mailsec_dkim_sign_opts *o,
    const struct mailsec_msg *msg, char **out, size_t *outlen,
    struct mailsec_diag *diag)
{
	struct ms_dkim_body body;
	struct ms_buf hl, hdr, hd, b64;
	enum mailsec_dkim_algorithm alg;
	enum mailsec_dkim_canon hc, bc;
	unsigned char dig[EVP_MAX_MD_SIZE], sig[1024];
	unsigned dlen;
	size_t siglen = sizeof sig, col;
	struct mailsec_str bodyv;
	EVP_MD_CTX *mctx = NULL;
	time_t t;
	bool body_live = false;
	mailsec_err err;

	ms_buf_init(&hl, MS_DKIM_MAX_SIGN_HEADERS);
	ms_buf_init(&hdr, 64 * 1024);
	ms_buf_init(&hd, 4 * 1024 * 1024);
	ms_buf_init(&b64, 4096);
	if (o == NULL || msg == NULL || out == NULL || o->key == NULL ||
	    o->domain == NULL || o->selector == NULL)
		return MAILSEC_EINVAL;
	if (!ms_dkim_domain_ok(o->domain, strlen(o->domain)))
		return ms_diag(diag, MAILSEC_EINVAL, 0, 0,
		    "'%s' is not a domain name", o->domain);
	if (!ms_dkim_domain_ok(o->selector, strlen(o->selector)))
		return ms_diag(diag, MAILSEC_EINVAL, 0, 0,
		    "'%s' is not a selector", o->selector);
	if (o->identity != NULL) {
		const char *at = strrchr(o->identity, '@');
		struct mailsec_str d = { o->domain, strlen(o->domain) };
		size_t dl;

		if (at == NULL || strchr(o->identity, ';') != NULL ||
		    (dl = strlen(at + 1)) < d.len ||
		    !ms_ascii_eq(at + 1 + dl - d.len, d.len, d.ptr, d.len) ||
		    (dl > d.len && at[dl - d.len] != '.'))
			return ms_diag(diag, MAILSEC_EINVAL, 0, 0,
			    "identity '%s' is not within d=%s", o->identity,
			    o->domain);
	}
	alg = o->algorithm ? o->algorithm : mailsec_dkim_key_algorithm(o->key);
	if (alg != mailsec_dkim_key_algorithm(o->key))
		return ms_diag(diag, MAILSEC_EINVAL, 0, 0,
		    "algorithm %s does not match the key (%s)",
		    mailsec_dkim_algorithm_name(alg),
		    mailsec_dkim_algorithm_name(
		    mailsec_dkim_key_algorithm(o->key)));
	if (mailsec_msg_find(msg, "From", 0) == (size_t)-1)
		return ms_diag(diag, MAILSEC_EINVAL, 0, 0,
		    "the message has no From field to sign");
	hc = o->canon_set ? o->header_canon : MAILSEC_DKIM_RELAXED;
	bc = o->canon_set ? o->body_canon : MAILSEC_DKIM_RELAXED;
	/* The one moment this signature is made: written and hashed. */
	t = o->timestamp != 0 ? o->timestamp : time(NULL);

	if ((err = build_h(o, msg, &hl, diag)) != MAILSEC_OK)
		goto done;
	if ((err = ms_dkim_body_init(&body, bc, EVP_sha256(), UINT64_MAX)) !=
	    MAILSEC_OK)
		goto done;
	body_live = true;
	bodyv = mailsec_msg_body(msg);
	if ((err = ms_dkim_body_update(&body, bodyv.ptr, bodyv.len)) !=
	    MAILSEC_OK || (err = ms_dkim_body_final(&body, dig, &dlen)) !=
	    MAILSEC_OK)
		goto done;

	col = 20;
	if ((err = ms_buf_appendz(&hdr, "DKIM-Signature: v=1;")) != MAILSEC_OK ||
	    (err = fold_tag(&hdr, &col, "a=%s;",
	    mailsec_dkim_algorithm_name(alg))) != MAILSEC_OK ||
	    (err = fold_tag(&hdr, &col, "c=%s/%s;", mailsec_dkim_canon_name(hc),
	    mailsec_dkim_canon_name(bc))) != MAILSEC_OK ||
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
	    (unsigned long long)body.total)) != MAILSEC_OK)
		goto done;
	if ((err = fold_add(&hdr, &col, "h=", 2, true)) != MAILSEC_OK ||
	    (err = fold_long(&hdr, &col, hl.ptr, hl.len, true)) !=
	    MAILSEC_OK || (err = ms_buf_appendc(&hdr, ';')) != MAILSEC_OK)
		goto done;
	col++;
	if ((err = ms_b64_encode(dig, dlen, &b64)) != MAILSEC_OK ||
	    (err = fold_add(&hdr, &col, "bh=", 3, true)) != MAILSEC_OK ||
	    (err = fold_long(&hdr, &col, b64.ptr, b64.len, false)) !=
	    MAILSEC_OK || (err = ms_buf_appendc(&hdr, ';')) != MAILSEC_OK)
		goto done;
	col++;
	ms_buf_free(&b64);
	ms_buf_init(&b64, 4096);
	if ((err = fold_add(&hdr, &col, "b=", 2, true)) != MAILSEC_OK)
		goto done;

	if ((err = header_data(msg, hc, hl.ptr, hl.len, hdr.ptr, hdr.len,
	    &hd)) != MAILSEC_OK)
		goto done;
	if ((mctx = ms_dkim_key_sign_ctx(o->key)) == NULL) {
		err = MAILSEC_ENOMEM;
		goto done;
	}
	if (alg == MAILSEC_DKIM_ED25519_SHA256) {
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
	*out = ms_buf_steal(&hdr, outlen);
	if (*out == NULL)
		err = MAILSEC_ENOMEM;
done:
	if (body_live)
		ms_dkim_body_cleanup(&body);
	EVP_MD_CTX_free(mctx);
	ms_buf_free(&hl);
	ms_buf_free(&hdr);
	ms_buf_free(&hd);
	ms_buf_free(&b64);
	return err;
}
