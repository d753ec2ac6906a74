/*
 * lib/arc/verify.c - ARC chain validation (RFC 8617 5.2) as an
 * incremental state machine, the shape of DKIM verification: header
 * fields, then the end of the header block (the chain's structure is
 * checked, steps 1 to 3; key lookups and body hashers start), body
 * chunks, the end of the message; the verdict is reached when the last
 * key arrives: the newest AMS (step 4), the older ones for oldest-pass
 * (step 5), every AS from the newest down (step 6).
 *
 * Canonicalization, body hashing, base64, key records and the key cache
 * are DKIM's (lib/dkim, RFC 6376 with RFC 8301 and RFC 8463).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arc/arc_int.h"

/* Names in an AMS h= (the DKIM verifier's default cap). */
#define MS_ARC_MAX_H_NAMES	MS_DKIM_DEFAULT_MAX_H
/* Header hash input of one signature. */
#define MS_ARC_MAX_HDATA	((size_t)4 * 1024 * 1024)
#define MS_ARC_DEFAULT_SKEW	300

enum vstate { V_HEADERS, V_BODY, V_EOM };

/* One key record lookup, shared by the signatures naming it. */
struct akey {
	struct ms_dkim_keyq q;	/* q.name: selector._domainkey.domain */
	struct mailsec_arc_verify *ctx;
	bool found;		/* a record was parsed */
	char *text;		/* the record (rec's views point here) */
	struct mailsec_dkim_record rec;
	EVP_PKEY *pkey;
	char why[MS_ARC_WHY];	/* when !found: what happened */
};

/* One body hasher, shared by the AMSs with the same c= body part and l=. */
struct abody {
	enum mailsec_dkim_canon canon;
	bool has_l;
	uint64_t l;
	bool live;
	struct ms_dkim_body b;
	unsigned char dig[EVP_MAX_MD_SIZE];
	unsigned dlen;
	uint64_t total;		/* canonical length */
};

struct aset {
	struct ms_dkim_sig ams;		/* i= is the instance */
	enum mailsec_dkim_reason ams_r;	/* MAILSEC_DKIM_R_OK: parsed */
	bool ams_needed;
	struct ms_arc_seal_tags *seal;	/* NULL when unparsed */
	int ams_key, seal_key, body;	/* indexes, -1 none */
	struct ms_buf ams_hdata, seal_hdata;
	char ams_why[MS_ARC_WHY], seal_why[MS_ARC_WHY];
	enum mailsec_arc_reason seal_r;	/* why the seal failed */
	enum mailsec_arc_reason ams_fr;	/* why the AMS failed */
};

struct mailsec_arc_verify {
	struct mailsec_resolver *r;
	struct mailsec_arc_verify_opts o;
	enum vstate state;
	struct ms_dkim_fields fields;
	struct ms_arc_chain chain;
	struct aset *sets;		/* sets[k]: instance k + 1 */
	struct mailsec_arc_set_info *infos;
	size_t nsets;
	struct akey *keys;
	size_t nkeys;
	struct abody *bodies;
	size_t nbodies;
	bool final;
	struct mailsec_arc_outcome out;
	char why[2 * MS_ARC_WHY];
};

static const char *const result_names[] = { "none", "pass", "fail" };
static const char *const reason_names[] = { "ok", "no-chain", "limit",
    "instance", "chain-failed", "duplicate", "missing", "cv", "ams-tag",
    "seal-tag", "key", "ams", "seal" };
static const char *const check_names[] = { "unchecked", "pass", "fail" };

const char *
mailsec_arc_result_name(enum mailsec_arc_result r)
{
	if ((size_t)r >= MS_ARRAY_LEN(result_names))
		return "none";
	return result_names[r];
}

const char *
mailsec_arc_reason_name(enum mailsec_arc_reason r)
{
	if ((size_t)r >= MS_ARRAY_LEN(reason_names))
		return "unknown";
	return reason_names[r];
}

const char *
mailsec_arc_check_name(enum mailsec_arc_check c)
{
	if ((size_t)c >= MS_ARRAY_LEN(check_names))
		return "unchecked";
	return check_names[c];
}

mailsec_err
mailsec_arc_verify_new(struct mailsec_resolver *r,
    const struct mailsec_arc_verify_opts *opts,
    struct mailsec_arc_verify **out)
{
	struct mailsec_arc_verify *ctx;

	if (out == NULL || r == NULL)
		return MAILSEC_EINVAL;
	if ((ctx = calloc(1, sizeof *ctx)) == NULL)
		return MAILSEC_ENOMEM;
	ctx->r = r;
	ms_dkim_fields_init(&ctx->fields, MS_ARC_MAX_FIELDS, MS_ARC_MAX_HEADER);
	if (opts != NULL)
		ctx->o = *opts;
	if (ctx->o.clock_skew == 0)
		ctx->o.clock_skew = MS_ARC_DEFAULT_SKEW;
	else if (ctx->o.clock_skew < 0)
		ctx->o.clock_skew = 0;
	if (ctx->o.now == 0)
		ctx->o.now = time(NULL);
	ctx->out.result = MAILSEC_ARC_NONE;
	ctx->out.reason_text = ctx->why;
	ctx->out.oldest_pass = -1;
	*out = ctx;
	return MAILSEC_OK;
}

void
mailsec_arc_verify_free(struct mailsec_arc_verify *ctx)
{
	size_t i;

	if (ctx == NULL)
		return;
	for (i = 0; i < ctx->nkeys; i++) {
		ms_dkim_keyq_cancel(&ctx->keys[i].q);
		EVP_PKEY_free(ctx->keys[i].pkey);
		free(ctx->keys[i].text);
	}
	free(ctx->keys);
	for (i = 0; i < ctx->nbodies; i++)
		if (ctx->bodies[i].live)
			ms_dkim_body_cleanup(&ctx->bodies[i].b);
	free(ctx->bodies);
	for (i = 0; i < ctx->nsets; i++) {
		free(ctx->sets[i].seal);
		ms_buf_free(&ctx->sets[i].ams_hdata);
		ms_buf_free(&ctx->sets[i].seal_hdata);
	}
	free(ctx->sets);
	free(ctx->infos);
	ms_dkim_fields_free(&ctx->fields);
	free(ctx);
}

mailsec_err
mailsec_arc_verify_header(struct mailsec_arc_verify *ctx, const char *raw,
    size_t len)
{
	struct ms_dkim_field *f;
	mailsec_err err;

	if (ctx == NULL || (raw == NULL && len > 0))
		return MAILSEC_EINVAL;
	if (ctx->state != V_HEADERS)
		return MAILSEC_ESTATE;
	if ((err = ms_dkim_fields_add(&ctx->fields, raw, len, &f)) !=
	    MAILSEC_OK)
		return err;
	/* Not a field (the message parser never feeds one): no name any
	 * h= could select, an empty value. */
	if (f->colon == len)
		f->namelen = 0;
	return MAILSEC_OK;
}

static void
finish_fail(struct mailsec_arc_verify *ctx, enum mailsec_arc_reason r,
    unsigned inst, const char *fmt, ...) MS_PRINTF(4, 5);

/* The verdict is fail; the algorithm stops (5.2). */
static void
finish_fail(struct mailsec_arc_verify *ctx, enum mailsec_arc_reason r,
    unsigned inst, const char *fmt, ...)
{
	va_list ap;

	ctx->out.result = MAILSEC_ARC_FAIL;
	ctx->out.reason = r;
	ctx->out.fail_instance = inst;
	ctx->out.oldest_pass = -1;
	va_start(ap, fmt);
	vsnprintf(ctx->why, sizeof ctx->why, fmt, ap);
	va_end(ap);
	ctx->final = true;
}

/* The key record lookup for (selector, domain), shared; -1 on ENOMEM or
 * a name too long (then why says so). */
static int
key_slot(struct mailsec_arc_verify *ctx, struct mailsec_str sel,
    struct mailsec_str dom, char *why, size_t whysz)
{
	struct ms_dkim_keyq q;
	struct akey *nk;
	size_t i;

	if (!ms_dkim_keyq_name(&q, sel, dom)) {
		ms_arc_why(why, whysz, "key name too long");
		return -1;
	}
	for (i = 0; i < ctx->nkeys; i++)
		if (ms_ascii_eqz(q.name, strlen(q.name), ctx->keys[i].q.name))
			return (int)i;
	nk = ms_reallocarray(ctx->keys, ctx->nkeys + 1, sizeof *nk);
	if (nk == NULL) {
		ms_arc_why(why, whysz, "out of memory");
		return -1;
	}
	ctx->keys = nk;
	memset(&nk[ctx->nkeys], 0, sizeof *nk);
	nk[ctx->nkeys].ctx = ctx;
	memcpy(nk[ctx->nkeys].q.name, q.name, sizeof q.name);
	return (int)ctx->nkeys++;
}

/* The body hasher for (canon, l=), shared; -1 on ENOMEM. */
static int
body_slot(struct mailsec_arc_verify *ctx, const struct ms_dkim_sig *sig)
{
	struct abody *nb;
	size_t i;

	for (i = 0; i < ctx->nbodies; i++)
		if (ctx->bodies[i].canon == sig->bcanon &&
		    ctx->bodies[i].has_l == sig->has_l &&
		    (!sig->has_l || ctx->bodies[i].l == sig->l))
			return (int)i;
	nb = ms_reallocarray(ctx->bodies, ctx->nbodies + 1, sizeof *nb);
	if (nb == NULL)
		return -1;
	ctx->bodies = nb;
	nb += ctx->nbodies;
	memset(nb, 0, offsetof(struct abody, b));
	nb->canon = sig->bcanon;
	nb->has_l = sig->has_l;
	nb->l = sig->l;
	if (ms_dkim_body_init(&nb->b, sig->bcanon, EVP_sha256(),
	    sig->has_l ? sig->l : UINT64_MAX) != MAILSEC_OK)
		return -1;
	nb->live = true;
	return (int)ctx->nbodies++;
}

/* Builds the AS hash input of set j (1-based): the sets 1..j, each
 * AAR, AMS, AS, relaxed (RFC 8617 5.1.1), AS(j) without b= and CRLF. */
static mailsec_err
seal_data(struct mailsec_arc_verify *ctx, unsigned j, struct ms_buf *out)
{
	const struct ms_dkim_field *f;
	unsigned m;
	int k;
	mailsec_err err;

	for (m = 1; m <= j; m++)
		for (k = 0; k < MS_ARC_NKIND; k++) {
			f = &ctx->fields.f[ctx->chain.idx[m][k]];
			if (m == j && k == MS_ARC_AS)
				return ms_dkim_canon_sig(MAILSEC_DKIM_RELAXED,
				    f, ctx->sets[j - 1].seal->b_start,
				    ctx->sets[j - 1].seal->b_end, out);
			if ((err = ms_dkim_canon_header(MAILSEC_DKIM_RELAXED,
			    f->raw, f->len, out)) != MAILSEC_OK)
				return err;
		}
	return MAILSEC_OK;
}

static ms_dkim_keyq_record_fn on_record;
static ms_dkim_keyq_fail_fn on_fail;
static void try_finish(struct mailsec_arc_verify *ctx);

/* Parses the AMS and AS of set j and prepares their checks. */
static mailsec_err
prepare_set(struct mailsec_arc_verify *ctx, unsigned j)
{
	struct aset *s = &ctx->sets[j - 1];
	struct mailsec_arc_set_info *in = &ctx->infos[j - 1];
	const struct ms_dkim_field *f;
	struct mailsec_str v;
	mailsec_err err;

	/* AS */
	f = &ctx->fields.f[ctx->chain.idx[j][MS_ARC_AS]];
	v = ms_arc_field_value(f);
	if ((s->seal = malloc(sizeof *s->seal)) == NULL)
		return MAILSEC_ENOMEM;
	if (!ms_arc_seal_parse(v.ptr, v.len, s->seal, s->seal_why,
	    sizeof s->seal_why)) {
		free(s->seal);
		s->seal = NULL;
		s->seal_r = MAILSEC_ARC_R_SEAL_TAG;
	} else {
		in->seal_domain = s->seal->domain;
		in->seal_selector = s->seal->selector;
		in->cv = s->seal->cv;
		ms_buf_init(&s->seal_hdata, MS_ARC_MAX_HDATA);
		if ((err = seal_data(ctx, j, &s->seal_hdata)) != MAILSEC_OK)
			return err;
		s->seal_key = key_slot(ctx, s->seal->selector,
		    s->seal->domain, s->seal_why, sizeof s->seal_why);
		if (s->seal_key < 0) {
			s->seal_r = MAILSEC_ARC_R_KEY;
			free(s->seal);
			s->seal = NULL;
		}
	}

	/* AMS (the older ones only for oldest-pass, step 5) */
	s->ams_needed = j == ctx->chain.n || !ctx->o.skip_oldest_pass;
	f = &ctx->fields.f[ctx->chain.idx[j][MS_ARC_AMS]];
	v = ms_arc_field_value(f);
	s->ams_r = ms_dkim_sig_parse(v.ptr, v.len, MS_DKIM_SIG_AMS, &s->ams,
	    s->ams_why, sizeof s->ams_why);
	if (s->ams_r != MAILSEC_DKIM_R_OK) {
		s->ams_fr = MAILSEC_ARC_R_AMS_TAG;
		return MAILSEC_OK;
	}
	in->ams_domain = s->ams.domain;
	in->ams_selector = s->ams.selector;
	if (!s->ams_needed)
		return MAILSEC_OK;
	if (s->ams.x >= 0 &&
	    s->ams.x + ctx->o.clock_skew < ctx->o.now) {
		s->ams_r = MAILSEC_DKIM_R_EXPIRED;
		s->ams_fr = MAILSEC_ARC_R_AMS;
		ms_arc_why(s->ams_why, sizeof s->ams_why,
		    "signature expired at x=%lld", (long long)s->ams.x);
		return MAILSEC_OK;
	}
	ms_buf_init(&s->ams_hdata, MS_ARC_MAX_HDATA);
	err = ms_dkim_header_data(ctx->fields.f, ctx->fields.n, s->ams.h,
	    MS_ARC_MAX_H_NAMES, s->ams.hcanon, f, s->ams.b_start,
	    s->ams.b_end, &s->ams_hdata, NULL);
	if (err == MAILSEC_ELIMIT) {
		s->ams_r = MAILSEC_DKIM_R_LIMIT;
		s->ams_fr = MAILSEC_ARC_R_AMS_TAG;
		ms_arc_why(s->ams_why, sizeof s->ams_why, "h= names too many "
		    "fields");
		return MAILSEC_OK;
	}
	if (err != MAILSEC_OK)
		return err;
	s->ams_key = key_slot(ctx, s->ams.selector, s->ams.domain,
	    s->ams_why, sizeof s->ams_why);
	if (s->ams_key < 0) {
		s->ams_r = MAILSEC_DKIM_R_NO_KEY;
		s->ams_fr = MAILSEC_ARC_R_KEY;
		return MAILSEC_OK;
	}
	if ((s->body = body_slot(ctx, &s->ams)) < 0)
		return MAILSEC_ENOMEM;
	return MAILSEC_OK;
}

/* A record arrived (DNS or cache): parse it once for every user. */
static bool
on_record(void *arg, const char *text, size_t len, EVP_PKEY *known,
    EVP_MD_CTX *vctx, EVP_PKEY **cache)
{
	struct akey *k = arg;
	struct mailsec_diag diag;

	EVP_MD_CTX_free(vctx);
	diag.set = 0;
	if ((k->text = ms_memdupz(text, len)) == NULL)
		ms_arc_why(k->why, sizeof k->why, "out of memory");
	else if (ms_dkim_record_parse_key(k->text, len, &k->rec, known,
	    &k->pkey, &diag) != MAILSEC_OK)
		ms_arc_why(k->why, sizeof k->why, "key record at %s: %s",
		    k->q.name, diag.set ? diag.text : "invalid");
	else
		k->found = true;
	*cache = k->pkey;
	try_finish(k->ctx);
	return k->found;
}

/* No key record: every failure is permanent for ARC (RFC 8617 5.2.1). */
static void
on_fail(void *arg, bool temporary, const char *text)
{
	struct akey *k = arg;

	if (temporary)
		ms_arc_why(k->why, sizeof k->why, "key lookup for %s failed "
		    "(%s), permanent for ARC (RFC 8617 5.2.1)", k->q.name,
		    text);
	else
		ms_arc_why(k->why, sizeof k->why, "%s", text);
	try_finish(k->ctx);
}

static mailsec_err
start_keys(struct mailsec_arc_verify *ctx)
{
	struct akey *k;
	size_t i;
	mailsec_err err;

	for (i = 0; i < ctx->nkeys; i++) {
		k = &ctx->keys[i];
		k->q.r = ctx->r;
		k->q.cache = ctx->o.key_cache;
		k->q.now = ctx->o.now;
		k->q.on_record = on_record;
		k->q.on_fail = on_fail;
		k->q.arg = k;
		if ((err = ms_dkim_keyq_start(&k->q)) != MAILSEC_OK)
			return err;
	}
	return MAILSEC_OK;
}

mailsec_err
mailsec_arc_verify_eoh(struct mailsec_arc_verify *ctx)
{
	struct ms_arc_chain *c;
	unsigned j;
	mailsec_err err;

	if (ctx == NULL)
		return MAILSEC_EINVAL;
	if (ctx->state != V_HEADERS)
		return MAILSEC_ESTATE;
	ctx->state = V_BODY;
	c = &ctx->chain;
	ms_arc_chain_build(ctx->fields.f, ctx->fields.n, c);
	if (c->reason == MAILSEC_ARC_R_NO_CHAIN) {
		ctx->out.result = MAILSEC_ARC_NONE;
		ctx->out.reason = MAILSEC_ARC_R_NO_CHAIN;
		ms_arc_why(ctx->why, sizeof ctx->why, "%s", c->why);
		ctx->final = true;
		return MAILSEC_OK;
	}
	ctx->out.instances = c->n;
	if (c->n > 0) {
		ctx->sets = ms_calloc(c->n, sizeof *ctx->sets);
		ctx->infos = ms_calloc(c->n, sizeof *ctx->infos);
		if (ctx->sets == NULL || ctx->infos == NULL)
			return MAILSEC_ENOMEM;
		ctx->nsets = c->n;
		ctx->out.sets = ctx->infos;
		ctx->out.nsets = c->n;
	}
	for (j = 1; j <= c->n; j++) {
		struct mailsec_arc_set_info *in = &ctx->infos[j - 1];
		struct aset *s = &ctx->sets[j - 1];

		s->ams_key = s->seal_key = s->body = -1;
		in->instance = j;
		in->aar_index = c->idx[j][MS_ARC_AAR];
		in->ams_index = c->idx[j][MS_ARC_AMS];
		in->seal_index = c->idx[j][MS_ARC_AS];
		in->cv = c->cv_ok[j] ? c->cv[j] : MAILSEC_ARC_NONE;
		in->ams_text = s->ams_why;
		in->seal_text = s->seal_why;
		if (in->aar_index != MS_ARC_NOFIELD) {
			in->aar = ms_arc_field_value(
			    &ctx->fields.f[in->aar_index]);
			while (in->aar.len > 0 &&
			    ms_iswsp((unsigned char)in->aar.ptr[0])) {
				in->aar.ptr++;
				in->aar.len--;
			}
		}
	}
	if (c->reason != MAILSEC_ARC_R_OK) {
		finish_fail(ctx, c->reason, c->bad_instance, "%s", c->why);
		return MAILSEC_OK;
	}
	for (j = 1; j <= c->n; j++)
		if ((err = prepare_set(ctx, j)) != MAILSEC_OK)
			return err;
	return start_keys(ctx);
}

mailsec_err
mailsec_arc_verify_body(struct mailsec_arc_verify *ctx, const char *p,
    size_t len)
{
	size_t i;
	mailsec_err err;

	if (ctx == NULL || (p == NULL && len > 0))
		return MAILSEC_EINVAL;
	if (ctx->state != V_BODY)
		return MAILSEC_ESTATE;
	for (i = 0; i < ctx->nbodies; i++)
		if (ctx->bodies[i].live && (err = ms_dkim_body_update(
		    &ctx->bodies[i].b, p, len)) != MAILSEC_OK)
			return err;
	return MAILSEC_OK;
}

mailsec_err
mailsec_arc_verify_eom(struct mailsec_arc_verify *ctx)
{
	struct abody *b;
	size_t i;
	mailsec_err err;

	if (ctx == NULL)
		return MAILSEC_EINVAL;
	if (ctx->state != V_BODY)
		return MAILSEC_ESTATE;
	ctx->state = V_EOM;
	for (i = 0; i < ctx->nbodies; i++) {
		b = &ctx->bodies[i];
		if (!b->live)
			continue;
		err = ms_dkim_body_final(&b->b, b->dig, &b->dlen);
		b->total = b->b.total;
		ms_dkim_body_cleanup(&b->b);
		b->live = false;
		if (err != MAILSEC_OK)
			return err;
	}
	try_finish(ctx);
	return MAILSEC_OK;
}

/* Can key k check a signature made with alg? (RFC 6376 6.1.2, RFC 8301,
 * RFC 8463.) Fills why when not. */
static bool
key_usable(const struct akey *k, enum mailsec_dkim_algorithm alg, char *why,
    size_t whysz)
{
	const struct mailsec_dkim_record *rec = &k->rec;

	if (!k->found) {
		ms_arc_why(why, whysz, "%s", k->why);
		return false;
	}
	if (rec->revoked) {
		ms_arc_why(why, whysz, "key at %s revoked (empty p=)",
		    k->q.name);
		return false;
	}
	if (rec->key_type == MAILSEC_DKIM_ALG_UNKNOWN ||
	    rec->key_type != alg) {
		ms_arc_why(why, whysz, "key at %s: k=%.*s does not match a=%s",
		    k->q.name, (int)(rec->key_type_text.len > 40 ? 40 :
		    rec->key_type_text.len), rec->key_type_text.ptr,
		    mailsec_dkim_algorithm_name(alg));
		return false;
	}
	if (!rec->sha256_allowed) {
		ms_arc_why(why, whysz, "key at %s: h= does not allow sha256",
		    k->q.name);
		return false;
	}
	if (!rec->email_service) {
		ms_arc_why(why, whysz, "key at %s: s= does not include email",
		    k->q.name);
		return false;
	}
	if (rec->key_type == MAILSEC_DKIM_RSA_SHA256 && rec->key_bits < 1024) {
		ms_arc_why(why, whysz, "key at %s: RSA key of %u bits is under "
		    "1024 (RFC 8301 3.2)", k->q.name, rec->key_bits);
		return false;
	}
	if (k->pkey == NULL) {
		ms_arc_why(why, whysz, "key at %s: no usable key", k->q.name);
		return false;
	}
	return true;
}

/* Checks a signature over its header hash input; out of memory is a
 * failure. */
static bool
sig_ok(enum mailsec_dkim_algorithm alg, EVP_PKEY *pkey,
    const unsigned char *b, size_t blen, const struct ms_buf *data)
{
	bool ok;

	return pkey != NULL && ms_dkim_sig_check(alg, pkey, NULL, b, blen,
	    data->ptr, data->len, &ok) == MAILSEC_OK && ok;
}

/* Verifies the AMS of set j once (step 4 or 5). */
static enum mailsec_arc_check
check_ams(struct mailsec_arc_verify *ctx, unsigned j)
{
	struct aset *s = &ctx->sets[j - 1];
	struct mailsec_arc_set_info *in = &ctx->infos[j - 1];
	const struct abody *b;
	const struct akey *k;

	if (in->ams != MAILSEC_ARC_UNCHECKED)
		return in->ams;
	in->ams = MAILSEC_ARC_CHECK_FAIL;
	if (s->ams_r != MAILSEC_DKIM_R_OK)
		return in->ams;		/* ams_why says why */
	k = &ctx->keys[s->ams_key];
	if (!key_usable(k, s->ams.alg, s->ams_why, sizeof s->ams_why)) {
		s->ams_fr = MAILSEC_ARC_R_KEY;
		return in->ams;
	}
	b = &ctx->bodies[s->body];
	if (s->ams.has_l && s->ams.l > b->total) {
		s->ams_fr = MAILSEC_ARC_R_AMS_TAG;
		ms_arc_why(s->ams_why, sizeof s->ams_why, "l=%llu is more than "
		    "the body's %llu canonical bytes",
		    (unsigned long long)s->ams.l,
		    (unsigned long long)b->total);
		return in->ams;
	}
	s->ams_fr = MAILSEC_ARC_R_AMS;
	if (b->dlen != s->ams.bhlen ||
	    CRYPTO_memcmp(b->dig, s->ams.bh, b->dlen) != 0) {
		ms_arc_why(s->ams_why, sizeof s->ams_why, "body hash did not "
		    "verify");
		return in->ams;
	}
	if (!sig_ok(s->ams.alg, k->pkey, s->ams.b, s->ams.blen,
	    &s->ams_hdata)) {
		ms_arc_why(s->ams_why, sizeof s->ams_why, "signature did not "
		    "verify");
		return in->ams;
	}
	ms_arc_why(s->ams_why, sizeof s->ams_why, "signature verified");
	in->ams = MAILSEC_ARC_CHECK_PASS;
	return in->ams;
}

/* Verifies the AS of set j (step 6). */
static enum mailsec_arc_check
check_seal(struct mailsec_arc_verify *ctx, unsigned j)
{
	struct aset *s = &ctx->sets[j - 1];
	struct mailsec_arc_set_info *in = &ctx->infos[j - 1];
	const struct akey *k;

	in->seal = MAILSEC_ARC_CHECK_FAIL;
	if (s->seal == NULL)
		return in->seal;	/* seal_r, seal_why say why */
	k = &ctx->keys[s->seal_key];
	if (!key_usable(k, s->seal->alg, s->seal_why, sizeof s->seal_why)) {
		s->seal_r = MAILSEC_ARC_R_KEY;
		return in->seal;
	}
	if (!sig_ok(s->seal->alg, k->pkey, s->seal->b, s->seal->blen,
	    &s->seal_hdata)) {
		s->seal_r = MAILSEC_ARC_R_SEAL;
		ms_arc_why(s->seal_why, sizeof s->seal_why, "signature did not "
		    "verify");
		return in->seal;
	}
	ms_arc_why(s->seal_why, sizeof s->seal_why, "signature verified");
	in->seal = MAILSEC_ARC_CHECK_PASS;
	return in->seal;
}

/* Every input in: RFC 8617 5.2 steps 4 to 7. */
static void
try_finish(struct mailsec_arc_verify *ctx)
{
	unsigned n = ctx->chain.n, j;
	size_t i;
	struct aset *s;

	if (ctx->final || ctx->state != V_EOM)
		return;
	for (i = 0; i < ctx->nkeys; i++)
		if (ctx->keys[i].q.pending)
			return;
	/* step 4 */
	if (check_ams(ctx, n) != MAILSEC_ARC_CHECK_PASS) {
		s = &ctx->sets[n - 1];
		finish_fail(ctx, s->ams_fr != MAILSEC_ARC_R_OK ? s->ams_fr :
		    MAILSEC_ARC_R_AMS, n, "AMS(%u): %s", n, s->ams_why);
		return;
	}
	/* step 5 (optional): the oldest AMS still verifying */
	ctx->out.oldest_pass = -1;
	if (!ctx->o.skip_oldest_pass) {
		ctx->out.oldest_pass = 0;
		for (j = n - 1; j >= 1; j--)
			if (check_ams(ctx, j) != MAILSEC_ARC_CHECK_PASS) {
				ctx->out.oldest_pass = (int)j + 1;
				break;
			}
	}
	/* step 6 */
	for (j = n; j >= 1; j--)
		if (check_seal(ctx, j) != MAILSEC_ARC_CHECK_PASS) {
			s = &ctx->sets[j - 1];
			finish_fail(ctx, s->seal_r != MAILSEC_ARC_R_OK ?
			    s->seal_r : MAILSEC_ARC_R_SEAL, j, "AS(%u): %s",
			    j, s->seal_why);
			return;
		}
	/* step 7 */
	ctx->out.result = MAILSEC_ARC_PASS;
	ctx->out.reason = MAILSEC_ARC_R_OK;
	ctx->out.fail_instance = 0;
	ms_arc_why(ctx->why, sizeof ctx->why, "%u ARC set%s verified", n,
	    n == 1 ? "" : "s");
	ctx->final = true;
}

bool
mailsec_arc_verify_done(const struct mailsec_arc_verify *ctx)
{
	return ctx != NULL && ctx->final && ctx->state == V_EOM;
}

const struct mailsec_arc_outcome *
mailsec_arc_verify_outcome(const struct mailsec_arc_verify *ctx)
{
	return ctx == NULL ? NULL : &ctx->out;
}

mailsec_err
mailsec_arc_verify_msg(struct mailsec_resolver *r,
    const struct mailsec_arc_verify_opts *opts,
    const struct mailsec_msg *msg, struct mailsec_arc_verify **out)
{
	struct mailsec_arc_verify *ctx = NULL;
	const struct mailsec_header *h;
	struct mailsec_str body;
	size_t i, n;
	mailsec_err err;

	if (msg == NULL || out == NULL)
		return MAILSEC_EINVAL;
	if ((err = mailsec_arc_verify_new(r, opts, &ctx)) != MAILSEC_OK)
		return err;
	n = mailsec_msg_field_count(msg);
	for (i = 0; i < n; i++) {
		h = mailsec_msg_field(msg, i);
		if ((err = mailsec_arc_verify_header(ctx, h->raw.ptr,
		    h->raw.len)) != MAILSEC_OK)
			goto fail;
	}
	body = mailsec_msg_body(msg);
	if ((err = mailsec_arc_verify_eoh(ctx)) != MAILSEC_OK ||
	    (err = mailsec_arc_verify_body(ctx, body.ptr, body.len)) !=
	    MAILSEC_OK || (err = mailsec_arc_verify_eom(ctx)) != MAILSEC_OK)
		goto fail;
	while (!mailsec_arc_verify_done(ctx))
		if ((err = ms_dkim_keyq_wait(r)) != MAILSEC_OK)
			goto fail;
	*out = ctx;
	return MAILSEC_OK;
fail:
	mailsec_arc_verify_free(ctx);
	return err;
}
