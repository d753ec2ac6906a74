/*
 * lib/dkim/verify.c - DKIM verification (RFC 6376 section 6) as an
 * incremental state machine: header fields, then body chunks (hashed as
 * they arrive), then the end of the message; key lookups go out through
 * the resolver when the header block ends. RFC 8301 (no rsa-sha1, RSA
 * keys of 1024 bits or more) and RFC 8463 (ed25519-sha256).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dkim/dkim_int.h"

enum vstate { V_HEADERS, V_BODY, V_DONE };

struct vsig {
	struct mailsec_dkim_verify *ctx;
	struct mailsec_dkim_sig_info info;
	struct ms_dkim_sig sig;
	char why[200];
	bool hashing;		/* body hasher live */
	bool body_done, key_done;
	bool bh_ok;
	struct ms_dkim_body body;
	char bh_b64[64];
	EVP_PKEY *pkey;
	EVP_MD_CTX *vctx;	/* prepared verification (key cache) */
	struct ms_dkim_keyq keyq;	/* the key record lookup */
	struct ms_buf hdata;	/* canonicalized header data */
};

struct mailsec_dkim_verify {
	struct mailsec_resolver *r;
	struct mailsec_dkim_verify_opts o;
	enum vstate state;
	struct ms_dkim_fields fields;
	struct vsig **sigs;
	size_t nsigs;
};

static const char *const result_names[] = { "none", "pass", "fail",
    "neutral", "temperror", "permerror", "policy" };

const char *
mailsec_dkim_result_name(enum mailsec_dkim_result r)
{
	if ((size_t)r >= MS_ARRAY_LEN(result_names))
		return "none";
	return result_names[r];
}

static const char *const reason_names[] = { "ok", "syntax", "version",
    "missing-tag", "bad-tag", "algorithm", "rsa-sha1", "from-unsigned",
    "identity", "expired", "future", "limit", "key-temperror", "no-key",
    "key-syntax", "key-revoked", "key-mismatch", "key-strict",
    "key-too-short", "body-hash", "signature" };

const char *
mailsec_dkim_reason_name(enum mailsec_dkim_reason r)
{
	if ((size_t)r >= MS_ARRAY_LEN(reason_names))
		return "unknown";
	return reason_names[r];
}

const char *
mailsec_dkim_algorithm_name(enum mailsec_dkim_algorithm a)
{
	switch (a) {
	case MAILSEC_DKIM_RSA_SHA1:
		return "rsa-sha1";
	case MAILSEC_DKIM_RSA_SHA256:
		return "rsa-sha256";
	case MAILSEC_DKIM_ED25519_SHA256:
		return "ed25519-sha256";
	default:
		return "unknown";
	}
}

const char *
mailsec_dkim_canon_name(enum mailsec_dkim_canon c)
{
	return c == MAILSEC_DKIM_RELAXED ? "relaxed" : "simple";
}

mailsec_err
mailsec_dkim_verify_new(struct mailsec_resolver *r,
    const struct mailsec_dkim_verify_opts *opts,
    struct mailsec_dkim_verify **out)
{
	struct mailsec_dkim_verify *ctx;

	if (out == NULL || r == NULL)
		return MAILSEC_EINVAL;
	ctx = calloc(1, sizeof *ctx);
	if (ctx == NULL)
		return MAILSEC_ENOMEM;
	ctx->r = r;
	ms_dkim_fields_init(&ctx->fields, SIZE_MAX, SIZE_MAX);
	if (opts != NULL)
		ctx->o = *opts;
	if (ctx->o.max_signatures == 0)
		ctx->o.max_signatures = MS_DKIM_DEFAULT_MAX_SIGS;
	if (ctx->o.max_h_fields == 0)
		ctx->o.max_h_fields = MS_DKIM_DEFAULT_MAX_H;
	if (ctx->o.clock_skew == 0)
		ctx->o.clock_skew = 300;
	else if (ctx->o.clock_skew < 0)
		ctx->o.clock_skew = 0;
	if (ctx->o.now == 0)
		ctx->o.now = time(NULL);
	*out = ctx;
	return MAILSEC_OK;
}

static void
vsig_free(struct mailsec_dkim_verify *ctx, struct vsig *s)
{
	(void)ctx;
	ms_dkim_keyq_cancel(&s->keyq);
	if (s->hashing)
		ms_dkim_body_cleanup(&s->body);
	EVP_PKEY_free(s->pkey);
	EVP_MD_CTX_free(s->vctx);
	ms_buf_free(&s->hdata);
	free(s);
}

void
mailsec_dkim_verify_free(struct mailsec_dkim_verify *ctx)
{
	size_t i;

	if (ctx == NULL)
		return;
	for (i = 0; i < ctx->nsigs; i++)
		vsig_free(ctx, ctx->sigs[i]);
	free(ctx->sigs);
	ms_dkim_fields_free(&ctx->fields);
	free(ctx);
}

mailsec_err
mailsec_dkim_verify_header(struct mailsec_dkim_verify *ctx, const char *raw,
    size_t len)
{
	if (ctx == NULL || (raw == NULL && len > 0))
		return MAILSEC_EINVAL;
	if (ctx->state != V_HEADERS)
		return MAILSEC_ESTATE;
	return ms_dkim_fields_add(&ctx->fields, raw, len, NULL);
}

static void
set_result(struct vsig *s, enum mailsec_dkim_result res,
    enum mailsec_dkim_reason why, const char *fmt, ...) MS_PRINTF(4, 5);

static void
set_result(struct vsig *s, enum mailsec_dkim_result res,
    enum mailsec_dkim_reason why, const char *fmt, ...)
{
	va_list ap;

	if (s->info.result != MAILSEC_DKIM_NONE)
		return;
	s->info.result = res;
	s->info.reason = why;
	va_start(ap, fmt);
	vsnprintf(s->why, sizeof s->why, fmt, ap);
	va_end(ap);
	if (s->hashing) {
		ms_dkim_body_cleanup(&s->body);
		s->hashing = false;
	}
	ms_dkim_keyq_cancel(&s->keyq);
}

/*
 * Builds the header hash input (RFC 6376 5.4.2 and 3.7): the fields h=
 * names, each instance picked from the bottom up (a name listed again
 * picks the next one up; a name with no instance left contributes
 * nothing), then this signature field with b= emptied, without its CRLF.
 */
static mailsec_err
build_hdata(struct mailsec_dkim_verify *ctx, struct vsig *s, size_t fi)
{
	bool too_many;
	mailsec_err err;

	ms_buf_init(&s->hdata, MS_DKIM_MAX_HEADER_TRACE);
	err = ms_dkim_header_data(ctx->fields.f, ctx->fields.n, s->sig.h,
	    ctx->o.max_h_fields, s->info.header_canon, &ctx->fields.f[fi],
	    s->sig.b_start, s->sig.b_end, &s->hdata, &too_many);
	if (err != MAILSEC_OK && too_many) {
		set_result(s, MAILSEC_DKIM_PERMERROR, MAILSEC_DKIM_R_LIMIT,
		    "h= names more than %zu fields", ctx->o.max_h_fields);
		return MAILSEC_OK;
	}
	return err;
}

static ms_dkim_keyq_record_fn on_record;
static ms_dkim_keyq_fail_fn on_fail;

static mailsec_err
start_sig(struct mailsec_dkim_verify *ctx, struct vsig *s, size_t fi)
{
	const struct ms_dkim_field *f = &ctx->fields.f[fi];
	enum mailsec_dkim_reason why;
	mailsec_err err;

	size_t vlen = f->len - f->colon - 1;

	/* The field's own CRLF is not part of the tag list. */
	if (vlen >= 2 && f->raw[f->len - 2] == '\r' &&
	    f->raw[f->len - 1] == '\n')
		vlen -= 2;
	why = ms_dkim_sig_parse(f->raw + f->colon + 1, vlen, MS_DKIM_SIG_DKIM,
	    &s->sig, s->why, sizeof s->why);
	s->info.domain = s->sig.domain;
	s->info.selector = s->sig.selector;
	s->info.identity = s->sig.identity;
	s->info.algorithm = s->sig.alg;
	s->info.algorithm_text = s->sig.alg_text;
	s->info.header_canon = s->sig.hcanon;
	s->info.body_canon = s->sig.bcanon;
	s->info.timestamp = s->sig.t;
	s->info.expiration = s->sig.x;
	s->info.has_length = s->sig.has_l;
	s->info.length = s->sig.l;
	s->info.body_hash_claimed = s->sig.bh_b64;
	s->info.b_prefix = s->sig.b_prefix;
	if (why != MAILSEC_DKIM_R_OK) {
		char tmp[200];

		memcpy(tmp, s->why, sizeof tmp);
		set_result(s, MAILSEC_DKIM_PERMERROR, why, "%s", tmp);
		return MAILSEC_OK;
	}
	if (s->sig.x >= 0 && s->sig.x + ctx->o.clock_skew < ctx->o.now) {
		set_result(s, MAILSEC_DKIM_NEUTRAL, MAILSEC_DKIM_R_EXPIRED,
		    "signature expired at x=%lld", (long long)s->sig.x);
		return MAILSEC_OK;
	}
	if (s->sig.t >= 0 && s->sig.t > ctx->o.now + ctx->o.clock_skew) {
		set_result(s, MAILSEC_DKIM_NEUTRAL, MAILSEC_DKIM_R_FUTURE,
		    "signature timestamp t=%lld is in the future",
		    (long long)s->sig.t);
		return MAILSEC_OK;
	}
	if ((err = build_hdata(ctx, s, fi)) != MAILSEC_OK)
		return err;
	if (s->info.result != MAILSEC_DKIM_NONE)
		return MAILSEC_OK;
	if (ctx->o.keep_trace) {
		s->info.canon_headers.ptr = s->hdata.ptr;
		s->info.canon_headers.len = s->hdata.len;
	}
	if ((err = ms_dkim_body_init(&s->body, s->sig.bcanon, EVP_sha256(),
	    s->sig.has_l ? s->sig.l : UINT64_MAX)) != MAILSEC_OK)
		return err;
	s->hashing = true;
	if (!ms_dkim_keyq_name(&s->keyq, s->sig.selector, s->sig.domain)) {
		set_result(s, MAILSEC_DKIM_PERMERROR, MAILSEC_DKIM_R_NO_KEY,
		    "key name too long");
		return MAILSEC_OK;
	}
	s->keyq.r = ctx->r;
	s->keyq.cache = ctx->o.key_cache;
	s->keyq.now = ctx->o.now;
	s->keyq.on_record = on_record;
	s->keyq.on_fail = on_fail;
	s->keyq.arg = s;
	return ms_dkim_keyq_start(&s->keyq);
}

mailsec_err
mailsec_dkim_verify_eoh(struct mailsec_dkim_verify *ctx)
{
	struct vsig *s, **ns;
	size_t i;
	mailsec_err err;

	if (ctx == NULL)
		return MAILSEC_EINVAL;
	if (ctx->state != V_HEADERS)
		return MAILSEC_ESTATE;
	ctx->state = V_BODY;
	for (i = 0; i < ctx->fields.n; i++) {
		const struct ms_dkim_field *f = &ctx->fields.f[i];

		if (!ms_ascii_eqz(f->raw, f->namelen, "DKIM-Signature"))
			continue;
		ns = ms_reallocarray(ctx->sigs, ctx->nsigs + 1, sizeof *ns);
		if (ns == NULL)
			return MAILSEC_ENOMEM;
		ctx->sigs = ns;
		s = calloc(1, sizeof *s);
		if (s == NULL)
			return MAILSEC_ENOMEM;
		s->ctx = ctx;
		s->info.field_index = i;
		s->info.timestamp = s->info.expiration = -1;
		s->info.body_hash_claimed = "";
		s->info.b_prefix = "";
		s->info.body_hash_computed = s->bh_b64;
		s->info.reason_text = s->why;
		ctx->sigs[ctx->nsigs++] = s;
		if (ctx->nsigs > ctx->o.max_signatures) {
			set_result(s, MAILSEC_DKIM_PERMERROR,
			    MAILSEC_DKIM_R_LIMIT, "more than %zu signatures; "
			    "not evaluated", ctx->o.max_signatures);
			continue;
		}
		if ((err = start_sig(ctx, s, i)) != MAILSEC_OK)
			return err;
	}
	return MAILSEC_OK;
}

mailsec_err
mailsec_dkim_verify_body(struct mailsec_dkim_verify *ctx, const char *p,
    size_t len)
{
	size_t i;
	mailsec_err err;

	if (ctx == NULL || (p == NULL && len > 0))
		return MAILSEC_EINVAL;
	if (ctx->state != V_BODY)
		return MAILSEC_ESTATE;
	for (i = 0; i < ctx->nsigs; i++)
		if (ctx->sigs[i]->hashing &&
		    (err = ms_dkim_body_update(&ctx->sigs[i]->body, p, len)) !=
		    MAILSEC_OK)
			return err;
	return MAILSEC_OK;
}

/* Both halves in: compare the body hash, then check the signature. */
static void
finish(struct vsig *s)
{
	EVP_MD_CTX *prepared;
	bool ok;

	if (s->info.result != MAILSEC_DKIM_NONE || !s->body_done ||
	    !s->key_done)
		return;
	if (!s->bh_ok) {
		set_result(s, MAILSEC_DKIM_FAIL, MAILSEC_DKIM_R_BODY_HASH,
		    "body hash did not verify%s", s->sig.has_l ?
		    " (over the l= bytes)" : "");
		return;
	}
	/* A context prepared by the key cache, or a new one. */
	prepared = s->vctx;
	s->vctx = NULL;
	if (ms_dkim_sig_check(s->sig.alg, s->pkey, prepared, s->sig.b,
	    s->sig.blen, s->hdata.ptr, s->hdata.len, &ok) != MAILSEC_OK) {
		set_result(s, MAILSEC_DKIM_TEMPERROR, MAILSEC_DKIM_R_SIGNATURE,
		    "out of memory");
		return;
	}
	if (ok) {
		s->info.result = MAILSEC_DKIM_PASS;
		s->info.reason = MAILSEC_DKIM_R_OK;
		snprintf(s->why, sizeof s->why, "%s", s->info.key_testing ?
		    "signature verified (key in testing mode, t=y)" :
		    "signature verified");
	} else {
		set_result(s, MAILSEC_DKIM_FAIL, MAILSEC_DKIM_R_SIGNATURE,
		    "signature did not verify");
	}
}

mailsec_err
mailsec_dkim_verify_eom(struct mailsec_dkim_verify *ctx)
{
	struct ms_buf b64;
	struct vsig *s;
	unsigned char dig[EVP_MAX_MD_SIZE];
	unsigned dlen;
	size_t i;
	mailsec_err err;

	if (ctx == NULL)
		return MAILSEC_EINVAL;
	if (ctx->state != V_BODY)
		return MAILSEC_ESTATE;
	ctx->state = V_DONE;
	for (i = 0; i < ctx->nsigs; i++) {
		s = ctx->sigs[i];
		if (!s->hashing)
			continue;
		if ((err = ms_dkim_body_final(&s->body, dig, &dlen)) !=
		    MAILSEC_OK)
			return err;
		s->info.body_canon_len = s->body.total;
		ms_dkim_body_cleanup(&s->body);
		s->hashing = false;
		ms_buf_init(&b64, sizeof s->bh_b64 - 1);
		if ((err = ms_b64_encode(dig, dlen, &b64)) != MAILSEC_OK)
			return err;
		memcpy(s->bh_b64, b64.ptr, b64.len + 1);
		ms_buf_free(&b64);
		s->bh_ok = dlen == s->sig.bhlen &&
		    CRYPTO_memcmp(dig, s->sig.bh, dlen) == 0;
		s->body_done = true;
		if (s->sig.has_l && s->sig.l > s->info.body_canon_len)
			set_result(s, MAILSEC_DKIM_PERMERROR,
			    MAILSEC_DKIM_R_BAD_TAG, "l=%llu is more than the "
			    "body's %llu canonical bytes",
			    (unsigned long long)s->sig.l,
			    (unsigned long long)s->info.body_canon_len);
		finish(s);
	}
	return MAILSEC_OK;
}

/*
 * A key record arrived (from DNS or the cache): check it against the
 * signature (RFC 6376 6.1.2, RFC 8301, RFC 8463). known: its key decoded
 * before. Returns true when the record itself was usable (cacheable).
 */
static bool
on_record(void *arg, const char *text, size_t len, EVP_PKEY *known,
    EVP_MD_CTX *vctx, EVP_PKEY **cache)
{
	struct vsig *s = arg;
	const char *qname = s->keyq.name;
	struct mailsec_dkim_record rec;
	struct mailsec_diag diag;

	s->vctx = vctx;		/* prepared by the key cache, or NULL */
	diag.set = 0;
	if (ms_dkim_record_parse_key(text, len, &rec, known, &s->pkey,
	    &diag) != MAILSEC_OK) {
		set_result(s, MAILSEC_DKIM_PERMERROR, MAILSEC_DKIM_R_KEY_SYNTAX,
		    "key record at %s: %s", qname,
		    diag.set ? diag.text : "invalid");
		return false;
	}
	s->info.key_testing = rec.testing;
	s->info.key_bits = rec.key_bits;
	if (rec.revoked) {
		set_result(s, MAILSEC_DKIM_PERMERROR,
		    MAILSEC_DKIM_R_KEY_REVOKED, "key revoked (empty p=)");
	} else if (rec.key_type == MAILSEC_DKIM_ALG_UNKNOWN) {
		set_result(s, MAILSEC_DKIM_PERMERROR,
		    MAILSEC_DKIM_R_KEY_MISMATCH, "unknown key type k=%.*s",
		    (int)(rec.key_type_text.len > 40 ? 40 :
		    rec.key_type_text.len), rec.key_type_text.ptr);
	} else if (rec.key_type != s->sig.alg) {
		set_result(s, MAILSEC_DKIM_PERMERROR,
		    MAILSEC_DKIM_R_KEY_MISMATCH, "key type k=%.*s does not "
		    "match a=%s", (int)(rec.key_type_text.len > 40 ? 40 :
		    rec.key_type_text.len), rec.key_type_text.ptr,
		    mailsec_dkim_algorithm_name(s->sig.alg));
	} else if (!rec.sha256_allowed) {
		set_result(s, MAILSEC_DKIM_PERMERROR,
		    MAILSEC_DKIM_R_KEY_MISMATCH,
		    "key record h= does not allow sha256");
	} else if (!rec.email_service) {
		set_result(s, MAILSEC_DKIM_PERMERROR,
		    MAILSEC_DKIM_R_KEY_MISMATCH,
		    "key record s= does not include email");
	} else if (rec.key_type == MAILSEC_DKIM_RSA_SHA256 &&
	    rec.key_bits < 1024) {
		set_result(s, MAILSEC_DKIM_PERMERROR, MAILSEC_DKIM_R_KEY_SHORT,
		    "RSA key of %u bits is under 1024 (RFC 8301 3.2)",
		    rec.key_bits);
	} else if (rec.strict && s->sig.identity.len > 0) {
		const char *at = memchr(s->sig.identity.ptr, '@',
		    s->sig.identity.len);
		size_t off = (size_t)(at - s->sig.identity.ptr) + 1;

		while ((at = memchr(s->sig.identity.ptr + off, '@',
		    s->sig.identity.len - off)) != NULL)
			off = (size_t)(at - s->sig.identity.ptr) + 1;
		if (!ms_ascii_eq(s->sig.identity.ptr + off,
		    s->sig.identity.len - off, s->sig.domain.ptr,
		    s->sig.domain.len))
			set_result(s, MAILSEC_DKIM_PERMERROR,
			    MAILSEC_DKIM_R_KEY_STRICT, "key has t=s and i= "
			    "is in a subdomain of d=");
	}
	s->key_done = true;
	finish(s);
	*cache = s->pkey;
	return true;
}

/* No key record (or none for now). */
static void
on_fail(void *arg, bool temporary, const char *text)
{
	struct vsig *s = arg;

	if (temporary)
		set_result(s, MAILSEC_DKIM_TEMPERROR, MAILSEC_DKIM_R_KEY_TEMP,
		    "key lookup failed temporarily: %s", text);
	else
		set_result(s, MAILSEC_DKIM_PERMERROR, MAILSEC_DKIM_R_NO_KEY,
		    "%s", text);
}

bool
mailsec_dkim_verify_done(const struct mailsec_dkim_verify *ctx)
{
	size_t i;

	if (ctx == NULL || ctx->state != V_DONE)
		return false;
	for (i = 0; i < ctx->nsigs; i++)
		if (ctx->sigs[i]->info.result == MAILSEC_DKIM_NONE)
			return false;
	return true;
}

size_t
mailsec_dkim_verify_count(const struct mailsec_dkim_verify *ctx)
{
	return ctx == NULL ? 0 : ctx->nsigs;
}

const struct mailsec_dkim_sig_info *
mailsec_dkim_verify_sig(const struct mailsec_dkim_verify *ctx, size_t i)
{
	if (ctx == NULL || i >= ctx->nsigs)
		return NULL;
	return &ctx->sigs[i]->info;
}

mailsec_err
mailsec_dkim_verify_msg(struct mailsec_resolver *r,
    const struct mailsec_dkim_verify_opts *opts,
    const struct mailsec_msg *msg, struct mailsec_dkim_verify **out)
{
	struct mailsec_dkim_verify *ctx = NULL;
	const struct mailsec_header *h;
	struct mailsec_str body;
	size_t i, n;
	mailsec_err err;

	if (msg == NULL || out == NULL)
		return MAILSEC_EINVAL;
	if ((err = mailsec_dkim_verify_new(r, opts, &ctx)) != MAILSEC_OK)
		return err;
	n = mailsec_msg_field_count(msg);
	for (i = 0; i < n; i++) {
		h = mailsec_msg_field(msg, i);
		if ((err = mailsec_dkim_verify_header(ctx, h->raw.ptr,
		    h->raw.len)) != MAILSEC_OK)
			goto fail;
	}
	body = mailsec_msg_body(msg);
	if ((err = mailsec_dkim_verify_eoh(ctx)) != MAILSEC_OK ||
	    (err = mailsec_dkim_verify_body(ctx, body.ptr, body.len)) !=
	    MAILSEC_OK || (err = mailsec_dkim_verify_eom(ctx)) != MAILSEC_OK)
		goto fail;
	while (!mailsec_dkim_verify_done(ctx))
		if ((err = ms_dkim_keyq_wait(r)) != MAILSEC_OK)
			goto fail;
	*out = ctx;
	return MAILSEC_OK;
fail:
	mailsec_dkim_verify_free(ctx);
	return err;
}
