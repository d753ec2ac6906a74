/*
 * lib/arc/seal.c - ARC sealing (RFC 8617 5.1): a new ARC set on a
 * message we forward. Incremental like DKIM signing: header fields (the
 * ones the AMS signs and the ARC fields are kept), the end of the header
 * block, body chunks (hashed as they arrive), the end of the message,
 * which makes the three fields:
 *   ARC-Authentication-Results (4.1.1) from the caller's model,
 *   ARC-Message-Signature (4.1.2), a DKIM signature with i= the instance,
 *   ARC-Seal (4.1.3, 5.1.1) over the ARC sets 1..N+1, relaxed, with cv=
 *   the chain validation status (only over the new set when the chain
 *   failed, 5.1.2).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "arc/arc_int.h"

#define MS_ARC_FOLD		76	/* fold header lines before this */
#define MS_ARC_MAX_FIELD_OUT	(64 * 1024)	/* one field we write */
#define MS_ARC_MAX_HDATA_OUT	((size_t)4 * 1024 * 1024)

enum sstate { S_HEADERS, S_BODY, S_DONE };

struct mailsec_arc_seal {
	enum sstate state;
	unsigned flags;			/* MAILSEC_ARC_SEAL_* */
	struct ms_dkim_signer ams;	/* the AMS: a DKIM signature */
	struct ms_dkim_fields fields;	/* the ones the AMS signs, the ARC
					   fields */
	struct ms_dkim_body body;
	bool body_live;
	unsigned char dig[EVP_MAX_MD_SIZE];
	unsigned diglen;
};

mailsec_err
mailsec_arc_seal_new(const struct mailsec_arc_seal_opts *opts,
    struct mailsec_arc_seal **out, struct mailsec_diag *diag)
{
	struct mailsec_arc_seal *ctx;
	struct mailsec_dkim_sign_opts d;
	mailsec_err err;

	if (opts == NULL || out == NULL)
		return ms_diag(diag, MAILSEC_EINVAL, 0, 0,
		    "mailsec_arc_seal_new: no options");
	if ((ctx = calloc(1, sizeof *ctx)) == NULL)
		return MAILSEC_ENOMEM;
	ms_dkim_fields_init(&ctx->fields, MS_ARC_MAX_FIELDS, MS_ARC_MAX_HEADER);
	ctx->flags = opts->flags;
	memset(&d, 0, sizeof d);
	d.key = opts->key;
	d.domain = opts->domain;
	d.selector = opts->selector;
	d.algorithm = opts->algorithm;
	d.header_canon = opts->header_canon;
	d.body_canon = opts->body_canon;
	d.canon_set = opts->canon_set;
	d.headers = opts->headers;
	if ((err = ms_dkim_signer_init(&ctx->ams, &d, true, diag)) !=
	    MAILSEC_OK) {
		mailsec_arc_seal_free(ctx);
		return err;
	}
	/* The one moment of the seal: written and hashed. */
	ctx->ams.t = opts->timestamp != 0 ? opts->timestamp : time(NULL);
	*out = ctx;
	return MAILSEC_OK;
}

void
mailsec_arc_seal_free(struct mailsec_arc_seal *ctx)
{
	if (ctx == NULL)
		return;
	if (ctx->body_live)
		ms_dkim_body_cleanup(&ctx->body);
	ms_dkim_signer_cleanup(&ctx->ams);
	ms_dkim_fields_free(&ctx->fields);
	free(ctx);
}

mailsec_err
mailsec_arc_seal_header(struct mailsec_arc_seal *ctx, const char *raw,
    size_t len)
{
	struct ms_dkim_field f;

	if (ctx == NULL || (raw == NULL && len > 0))
		return MAILSEC_EINVAL;
	if (ctx->state != S_HEADERS)
		return MAILSEC_ESTATE;
	ms_dkim_field_set(&f, raw, len);
	if (f.colon == len)
		return MAILSEC_OK;	/* not a field: nothing to sign */
	if (ms_arc_kind(raw, f.namelen) < 0 &&
	    !ms_dkim_signer_wants(&ctx->ams, raw, f.namelen))
		return MAILSEC_OK;
	return ms_dkim_fields_add(&ctx->fields, raw, len, NULL);
}

mailsec_err
mailsec_arc_seal_eoh(struct mailsec_arc_seal *ctx, struct mailsec_diag *diag)
{
	mailsec_err err;

	if (ctx == NULL)
		return MAILSEC_EINVAL;
	if (ctx->state != S_HEADERS)
		return MAILSEC_ESTATE;
	if ((err = ms_dkim_signer_build_h(&ctx->ams, &ctx->fields, diag)) !=
	    MAILSEC_OK)
		return err;
	if ((err = ms_dkim_body_init(&ctx->body, ctx->ams.bc, EVP_sha256(),
	    UINT64_MAX)) != MAILSEC_OK)
		return err;
	ctx->body_live = true;
	ctx->state = S_BODY;
	return MAILSEC_OK;
}

mailsec_err
mailsec_arc_seal_body(struct mailsec_arc_seal *ctx, const char *p,
    size_t len)
{
	if (ctx == NULL || (p == NULL && len > 0))
		return MAILSEC_EINVAL;
	if (ctx->state != S_BODY)
		return MAILSEC_ESTATE;
	return ms_dkim_body_update(&ctx->body, p, len);
}

/* ---- writing the fields ------------------------------------------------ */

/* A tag to write: name, value; long values break at ':' (h=) or
 * anywhere (base64) only when they cannot fit on a line of their own,
 * since relaxed canonicalization keeps a fold inside a value as a
 * space. */
struct tagv {
	const char *name;
	const char *val;
	size_t len;
	char brk;		/* ':' for h=, 'b' for base64, 0 never */
};

struct hdrw {
	struct ms_buf *b;
	size_t col;
	bool nofold;		/* one line (the suite's standard form) */
};

static mailsec_err
w_fold(struct hdrw *w)
{
	w->col = 1;
	return ms_buf_append(w->b, "\r\n\t", 3);
}

/* Writes one tag "name=value" after a space or a fold. */
static mailsec_err
w_tag(struct hdrw *w, const struct tagv *t, bool first)
{
	size_t nl = strlen(t->name), i = 0, k, room;
	mailsec_err err;

	if (!first) {
		if (!w->nofold && w->col + 1 + nl + 1 + t->len + 1 >
		    MS_ARC_FOLD && w->col > 1) {
			if ((err = w_fold(w)) != MAILSEC_OK)
				return err;
		} else {
			if ((err = ms_buf_appendc(w->b, ' ')) != MAILSEC_OK)
				return err;
			w->col++;
		}
	}
	if ((err = ms_buf_append(w->b, t->name, nl)) != MAILSEC_OK ||
	    (err = ms_buf_appendc(w->b, '=')) != MAILSEC_OK)
		return err;
	w->col += nl + 1;
	if (w->nofold || w->col + t->len + 1 <= MS_ARC_FOLD || t->brk == 0) {
		w->col += t->len;
		return ms_buf_append(w->b, t->val, t->len);
	}
	while (i < t->len) {
		room = w->col < MS_ARC_FOLD ? MS_ARC_FOLD - w->col : 0;
		k = t->len - i;
		if (k > room) {
			k = room;
			if (t->brk == ':')
				while (k > 0 && t->val[i + k - 1] != ':')
					k--;
			if (k == 0) {
				if (w->col > 1) {
					if ((err = w_fold(w)) != MAILSEC_OK)
						return err;
					continue;
				}
				/* a name longer than a line */
				k = 1;
				while (i + k < t->len &&
				    t->val[i + k - 1] != ':')
					k++;
			}
		}
		if ((err = ms_buf_append(w->b, t->val + i, k)) != MAILSEC_OK)
			return err;
		w->col += k;
		i += k;
	}
	return MAILSEC_OK;
}

static int
tag_cmp(const void *a, const void *b)
{
	return strcmp(((const struct tagv *)a)->name,
	    ((const struct tagv *)b)->name);
}

/*
 * Writes "Name: t1=v1; t2=v2; ...; b=\r\n" (b= empty; last in the RFC
 * form, with a fold after it so the signature spliced in later keeps the
 * lines short). Sorted: every tag in alphabetical order, on one line,
 * exactly one space after each ';' (the suite's standard form, whose
 * whitespace the seal's relaxed hash keeps). *b_at: offset in out just
 * after "b=".
 */
static mailsec_err
write_field(const char *fname, struct tagv *t, size_t n, bool sorted,
    struct ms_buf *out, size_t *b_at)
{
	struct hdrw w;
	size_t i;
	bool fold_next = false;
	mailsec_err err;

	if (sorted)
		qsort(t, n, sizeof *t, tag_cmp);
	w.b = out;
	w.nofold = sorted;
	if ((err = ms_buf_appendz(out, fname)) != MAILSEC_OK ||
	    (err = ms_buf_appendz(out, ": ")) != MAILSEC_OK)
		return err;
	w.col = strlen(fname) + 2;
	for (i = 0; i < n; i++) {
		if (i > 0 && (err = ms_buf_appendc(out, ';')) != MAILSEC_OK)
			return err;
		if (i > 0)
			w.col++;
		if (fold_next && (err = w_fold(&w)) != MAILSEC_OK)
			return err;
		if ((err = w_tag(&w, &t[i], i == 0 || fold_next)) !=
		    MAILSEC_OK)
			return err;
		fold_next = false;
		if (strcmp(t[i].name, "b") == 0) {
			*b_at = out->len;
			fold_next = !sorted;
		}
	}
	return ms_buf_append(out, "\r\n", 2);
}

/* Puts the signature's base64 at b_at of hdr, folded. */
static mailsec_err
splice_b(struct ms_buf *hdr, size_t b_at, const char *b64, size_t n,
    bool nofold, struct ms_buf *out)
{
	size_t col = 0, i = 0, k;
	mailsec_err err;

	if (nofold) {
		if ((err = ms_buf_append(out, hdr->ptr, b_at)) != MAILSEC_OK ||
		    (err = ms_buf_append(out, b64, n)) != MAILSEC_OK)
			return err;
		return ms_buf_append(out, hdr->ptr + b_at, hdr->len - b_at);
	}
	while (col < b_at && hdr->ptr[b_at - col - 1] != '\n')
		col++;
	if ((err = ms_buf_append(out, hdr->ptr, b_at)) != MAILSEC_OK)
		return err;
	while (i < n) {
		if (col >= MS_ARC_FOLD) {
			if ((err = ms_buf_append(out, "\r\n\t", 3)) !=
			    MAILSEC_OK)
				return err;
			col = 1;
		}
		k = MS_ARC_FOLD - col;
		if (k > n - i)
			k = n - i;
		if ((err = ms_buf_append(out, b64 + i, k)) != MAILSEC_OK)
			return err;
		col += k;
		i += k;
	}
	return ms_buf_append(out, hdr->ptr + b_at, hdr->len - b_at);
}

/*
 * Makes one signed field: writes it with b= empty, hashes what
 * data_fn adds for it (the header hash input), signs, splices b=.
 */
struct seal_job {
	struct mailsec_arc_seal *ctx;
	const struct ms_arc_chain *chain;
	bool whole_chain;		/* AS over sets 1..N too */
	const char *aar;		/* the new fields, raw with CRLF */
	size_t aarlen;
	const char *ams;
	size_t amslen;
};

/* The AS hash input (RFC 8617 5.1.1): the sets 1..N when the chain
 * passed, the new AAR and AMS, the AS sig itself without b=, relaxed. */
static mailsec_err
as_data(const struct seal_job *j, const struct ms_dkim_field *sig,
    size_t b_in, struct ms_buf *out)
{
	unsigned m;
	int k;
	mailsec_err err;

	if (j->whole_chain)
		for (m = 1; m <= j->chain->n; m++)
			for (k = 0; k < MS_ARC_NKIND; k++) {
				const struct ms_dkim_field *f =
				    &j->ctx->fields.f[j->chain->idx[m][k]];

				if ((err = ms_dkim_canon_header(
				    MAILSEC_DKIM_RELAXED, f->raw, f->len,
				    out)) != MAILSEC_OK)
					return err;
			}
	if ((err = ms_dkim_canon_header(MAILSEC_DKIM_RELAXED, j->aar,
	    j->aarlen, out)) != MAILSEC_OK ||
	    (err = ms_dkim_canon_header(MAILSEC_DKIM_RELAXED, j->ams,
	    j->amslen, out)) != MAILSEC_OK)
		return err;
	return ms_dkim_canon_sig(MAILSEC_DKIM_RELAXED, sig, b_in, b_in, out);
}

static mailsec_err
make_field(const struct seal_job *j, bool seal, const char *fname,
    struct tagv *t, size_t n, struct ms_buf *out)
{
	const struct ms_dkim_signer *ams = &j->ctx->ams;
	struct ms_dkim_field sf;
	struct ms_buf hdr, data, b64;
	size_t b_at = 0;
	bool sorted = (j->ctx->flags & MAILSEC_ARC_SEAL_SORTED) != 0;
	mailsec_err err;

	ms_buf_init(&hdr, MS_ARC_MAX_FIELD_OUT);
	ms_buf_init(&data, MS_ARC_MAX_HDATA_OUT);
	ms_buf_init(&b64, 4096);
	if ((err = write_field(fname, t, n, sorted, &hdr, &b_at)) !=
	    MAILSEC_OK)
		goto done;
	ms_dkim_field_set(&sf, hdr.ptr, hdr.len);
	if (seal) {
		if ((err = as_data(j, &sf, b_at - sf.colon - 1, &data)) ==
		    MAILSEC_OK)
			err = ms_dkim_sign_data(ams->o.key, ams->alg, data.ptr,
			    data.len, &b64);
	} else {
		err = ms_dkim_signer_sign(ams, &j->ctx->fields, &sf,
		    b_at - sf.colon - 1, &b64);
	}
	if (err == MAILSEC_OK)
		err = splice_b(&hdr, b_at, b64.ptr, b64.len, sorted, out);
done:
	ms_buf_free(&hdr);
	ms_buf_free(&data);
	ms_buf_free(&b64);
	return err;
}

/* The AAR field from the caller's model, with our instance. */
static mailsec_err
make_aar(const struct mailsec_authres *aar, unsigned inst, struct ms_buf *out,
    struct mailsec_diag *diag)
{
	struct mailsec_authres m;
	struct mailsec_authres_gen gen = MAILSEC_AUTHRES_GEN_DEFAULTS;
	char *text = NULL;
	size_t len;
	mailsec_err err;

	m = *aar;		/* shallow: the generator only reads */
	m.instance = inst;
	gen.first_col = strlen("ARC-Authentication-Results: ");
	if ((err = mailsec_authres_generate(&m, &gen, &text, &len, diag)) !=
	    MAILSEC_OK)
		return err;
	if ((err = ms_buf_appendz(out, "ARC-Authentication-Results: ")) ==
	    MAILSEC_OK && (err = ms_buf_append(out, text, len)) ==
	    MAILSEC_OK)
		err = ms_buf_append(out, "\r\n", 2);
	free(text);
	return err;
}

mailsec_err
mailsec_arc_seal_eom(struct mailsec_arc_seal *ctx,
    enum mailsec_arc_result chain, const struct mailsec_authres *aar,
    char **out, size_t *outlen, struct mailsec_diag *diag)
{
	struct ms_arc_chain *c = NULL;
	struct ms_buf aarb, amsb, asb, all;
	struct seal_job job;
	struct tagv t[10];
	char inst[4], ts[24], bh[128], cbuf[32];
	unsigned instance;
	size_t n, bhlen;
	mailsec_err err;

	if (ctx == NULL || out == NULL || aar == NULL)
		return MAILSEC_EINVAL;
	*out = NULL;
	if (outlen != NULL)
		*outlen = 0;
	if (ctx->state != S_BODY)
		return MAILSEC_ESTATE;
	ctx->state = S_DONE;
	ms_buf_init(&aarb, MS_ARC_MAX_FIELD_OUT);
	ms_buf_init(&amsb, MS_ARC_MAX_FIELD_OUT);
	ms_buf_init(&asb, MS_ARC_MAX_FIELD_OUT);
	ms_buf_init(&all, 3 * MS_ARC_MAX_FIELD_OUT);
	err = ms_dkim_body_final(&ctx->body, ctx->dig, &ctx->diglen);
	ms_dkim_body_cleanup(&ctx->body);
	ctx->body_live = false;
	if (err != MAILSEC_OK)
		goto done;

	/* The chain on the message (5.1 steps 2 and 3). */
	err = MAILSEC_ENOMEM;
	if ((c = malloc(sizeof *c)) == NULL)
		goto done;
	ms_arc_chain_build(ctx->fields.f, ctx->fields.n, c);
	err = MAILSEC_OK;
	if (c->any && c->n > 0 && c->cv_ok[c->n] &&
	    c->cv[c->n] == MAILSEC_ARC_FAIL &&
	    c->idx[c->n][MS_ARC_AS] != MS_ARC_NOFIELD)
		goto done;	/* cv=fail already: nothing to add */
	if (chain == MAILSEC_ARC_PASS && c->reason != MAILSEC_ARC_R_OK) {
		err = ms_diag(diag, MAILSEC_EINVAL, 0, 0, "chain status pass, "
		    "but the ARC sets are not well formed: %s", c->why);
		goto done;
	}
	if (chain == MAILSEC_ARC_NONE && c->any) {
		err = ms_diag(diag, MAILSEC_EINVAL, 0, 0, "chain status none, "
		    "but the message has ARC header fields");
		goto done;
	}
	if ((unsigned)chain > MAILSEC_ARC_FAIL) {
		err = ms_diag(diag, MAILSEC_EINVAL, 0, 0, "unknown chain "
		    "status");
		goto done;
	}
	instance = c->maxseen + 1;
	if (instance > MAILSEC_ARC_MAX_INSTANCE) {
		err = ms_diag(diag, MAILSEC_ELIMIT, 0, 0, "the message has "
		    "%u ARC sets already: no room for another (RFC 8617 "
		    "4.2.1)", c->maxseen);
		goto done;
	}
	snprintf(inst, sizeof inst, "%u", instance);
	snprintf(ts, sizeof ts, "%lld", (long long)ctx->ams.t);

	/* A. AAR */
	if ((err = make_aar(aar, instance, &aarb, diag)) != MAILSEC_OK)
		goto done;

	memset(&job, 0, sizeof job);
	job.ctx = ctx;
	job.chain = c;
	job.whole_chain = chain == MAILSEC_ARC_PASS;
	job.aar = aarb.ptr;
	job.aarlen = aarb.len;

	/* B. AMS */
	{
		struct ms_buf tmp;

		ms_buf_init(&tmp, sizeof bh - 1);
		if ((err = ms_b64_encode(ctx->dig, ctx->diglen, &tmp)) !=
		    MAILSEC_OK)
			goto done;
		memcpy(bh, tmp.ptr, tmp.len + 1);
		bhlen = tmp.len;
		ms_buf_free(&tmp);
	}
	n = 0;
	t[n++] = (struct tagv){ "i", inst, strlen(inst), 0 };
	t[n++] = (struct tagv){ "a", mailsec_dkim_algorithm_name(ctx->ams.alg),
	    strlen(mailsec_dkim_algorithm_name(ctx->ams.alg)), 0 };
	{
		snprintf(cbuf, sizeof cbuf, "%s/%s",
		    mailsec_dkim_canon_name(ctx->ams.hc),
		    mailsec_dkim_canon_name(ctx->ams.bc));
		t[n++] = (struct tagv){ "c", cbuf, strlen(cbuf), 0 };
		t[n++] = (struct tagv){ "d", ctx->ams.o.domain,
		    strlen(ctx->ams.o.domain), 0 };
		t[n++] = (struct tagv){ "s", ctx->ams.o.selector,
		    strlen(ctx->ams.o.selector), 0 };
		t[n++] = (struct tagv){ "t", ts, strlen(ts), 0 };
		t[n++] = (struct tagv){ "h", ctx->ams.hl.ptr, ctx->ams.hl.len,
		    ':' };
		t[n++] = (struct tagv){ "bh", bh, bhlen, 'b' };
		t[n++] = (struct tagv){ "b", "", 0, 'b' };
		if ((err = make_field(&job, false, "ARC-Message-Signature", t,
		    n, &amsb)) != MAILSEC_OK)
			goto done;
	}
	job.ams = amsb.ptr;
	job.amslen = amsb.len;

	/* C. AS */
	n = 0;
	t[n++] = (struct tagv){ "i", inst, strlen(inst), 0 };
	t[n++] = (struct tagv){ "a", mailsec_dkim_algorithm_name(ctx->ams.alg),
	    strlen(mailsec_dkim_algorithm_name(ctx->ams.alg)), 0 };
	t[n++] = (struct tagv){ "cv", mailsec_arc_result_name(chain),
	    strlen(mailsec_arc_result_name(chain)), 0 };
	t[n++] = (struct tagv){ "d", ctx->ams.o.domain,
	    strlen(ctx->ams.o.domain), 0 };
	t[n++] = (struct tagv){ "s", ctx->ams.o.selector,
	    strlen(ctx->ams.o.selector), 0 };
	t[n++] = (struct tagv){ "t", ts, strlen(ts), 0 };
	t[n++] = (struct tagv){ "b", "", 0, 'b' };
	if ((err = make_field(&job, true, "ARC-Seal", t, n, &asb)) !=
	    MAILSEC_OK)
		goto done;

	if ((err = ms_buf_append(&all, asb.ptr, asb.len)) != MAILSEC_OK ||
	    (err = ms_buf_append(&all, amsb.ptr, amsb.len)) != MAILSEC_OK ||
	    (err = ms_buf_append(&all, aarb.ptr, aarb.len)) != MAILSEC_OK)
		goto done;
	if ((*out = ms_buf_steal(&all, outlen)) == NULL)
		err = MAILSEC_ENOMEM;
done:
	free(c);
	ms_buf_free(&aarb);
	ms_buf_free(&amsb);
	ms_buf_free(&asb);
	ms_buf_free(&all);
	return err;
}

mailsec_err
mailsec_arc_seal_msg(const struct mailsec_arc_seal_opts *opts,
    const struct mailsec_msg *msg, enum mailsec_arc_result chain,
    const struct mailsec_authres *aar, char **out, size_t *len,
    struct mailsec_diag *diag)
{
	struct mailsec_arc_seal *ctx = NULL;
	const struct mailsec_header *h;
	struct mailsec_str body;
	size_t i, n;
	mailsec_err err;

	if (opts == NULL || msg == NULL || out == NULL)
		return MAILSEC_EINVAL;
	if ((err = mailsec_arc_seal_new(opts, &ctx, diag)) != MAILSEC_OK)
		return err;
	n = mailsec_msg_field_count(msg);
	for (i = 0; i < n; i++) {
		h = mailsec_msg_field(msg, i);
		if ((err = mailsec_arc_seal_header(ctx, h->raw.ptr,
		    h->raw.len)) != MAILSEC_OK)
			goto done;
	}
	body = mailsec_msg_body(msg);
	if ((err = mailsec_arc_seal_eoh(ctx, diag)) != MAILSEC_OK ||
	    (err = mailsec_arc_seal_body(ctx, body.ptr, body.len)) !=
	    MAILSEC_OK)
		goto done;
	err = mailsec_arc_seal_eom(ctx, chain, aar, out, len, diag);
done:
	mailsec_arc_seal_free(ctx);
	return err;
}
