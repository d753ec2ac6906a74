/*
 * lib/dkim/sig.c - DKIM-Signature tag list (RFC 6376 3.5), every tag
 * validated; algorithm rules of RFC 8301 and RFC 8463. The same parser
 * reads an ARC-Message-Signature (RFC 8617 4.1.2): a DKIM signature
 * whose i= is the instance and which has no v=.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "dkim/dkim_int.h"

/* sub-domain *("." sub-domain) (RFC 6376 3.5 d=, RFC 5321 4.1.2).
 * Underscores are accepted inside labels: selectors and real-world d=
 * values use them; 8-bit bytes are U-labels (RFC 6376 3.5 allows them
 * via RFC 6532), kept as bytes. */
bool
ms_dkim_domain_ok(const char *p, size_t len)
{
	return ms_domain_ldh_ok(p, len, true);
}

static bool
parse_u64(struct mailsec_str v, size_t maxdigits, uint64_t *out)
{
	uint64_t n = 0;
	size_t i;

	if (v.len == 0 || v.len > maxdigits)
		return false;
	for (i = 0; i < v.len; i++) {
		if (!ms_isdigit((unsigned char)v.ptr[i]))
			return false;
		if (n > (UINT64_MAX - 9) / 10)
			return false;
		n = n * 10 + (uint64_t)(v.ptr[i] - '0');
	}
	*out = n;
	return true;
}

static bool
eq(struct mailsec_str s, const char *lit)
{
	return ms_ascii_eqz(s.ptr, s.len, lit);
}

static enum mailsec_dkim_reason fail(char *why, size_t whysz,
    enum mailsec_dkim_reason r, const char *fmt, ...) MS_PRINTF(4, 5);

static enum mailsec_dkim_reason
fail(char *why, size_t whysz, enum mailsec_dkim_reason r, const char *fmt,
    ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, whysz, fmt, ap);
	va_end(ap);
	return r;
}

/* printf arguments for "%.*s" of a value, cut at 60 bytes. */
#define SV(v) (int)((v).len > 60 ? 60 : (v).len), (v).ptr

/* Digits read for an AMS instance: 1*2DIGIT (RFC 8617 3.9); longer runs
 * are read so that they are refused as out of range. */
#define MS_DKIM_MAX_INSTANCE_DIGITS	9
/* RFC 8617 4.2.1: at most 50 ARC sets. */
#define MS_DKIM_MAX_INSTANCE		50

/* Is the value's domain part (after '@' in i=) d= or a subdomain of it? */
static bool
within(struct mailsec_str sub, struct mailsec_str dom)
{
	if (sub.len < dom.len)
		return false;
	if (!ms_ascii_eq(sub.ptr + sub.len - dom.len, dom.len, dom.ptr,
	    dom.len))
		return false;
	return sub.len == dom.len || sub.ptr[sub.len - dom.len - 1] == '.';
}

/* dkim-quoted-printable (RFC 6376 2.11): FWS dropped, "=XX" decoded. */
static bool
qp_decode(struct mailsec_str v, char *out, size_t outsz, size_t *outlen)
{
	size_t i, n = 0;
	int hi, lo;

	for (i = 0; i < v.len; i++) {
		unsigned char c = (unsigned char)v.ptr[i];

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			continue;
		if (c == '=') {
			if (i + 2 >= v.len)
				return false;
			hi = ms_hexval((unsigned char)v.ptr[i + 1]);
			lo = ms_hexval((unsigned char)v.ptr[i + 2]);
			if (hi < 0 || lo < 0)
				return false;
			c = (unsigned char)(hi << 4 | lo);
			i += 2;
		}
		if (n >= outsz - 1)
			return false;
		out[n++] = (char)c;
	}
	out[n] = '\0';
	*outlen = n;
	return true;
}

enum mailsec_dkim_reason
ms_dkim_sig_parse(const char *p, size_t len, enum ms_dkim_sig_mode mode,
    struct ms_dkim_sig *sig, char *why, size_t whysz)
{
	struct mailsec_diag diag;
	const struct ms_tag *t;
	struct mailsec_str v;
	uint64_t n;
	size_t i, k;
	char buf[MS_DKIM_MAX_SIG_B64];
	bool ams = mode == MS_DKIM_SIG_AMS, names_seal = false;

	memset(sig, 0, sizeof *sig);
	sig->t = sig->x = -1;
	diag.set = 0;
	if (ms_taglist_parse(p, len, &sig->tags, &diag) != MAILSEC_OK)
		return fail(why, whysz, MAILSEC_DKIM_R_SYNTAX, ams ?
		    "malformed tag list (%s at byte %zu)" :
		    "tag list: %s at byte %zu", diag.text, diag.offset);
	/* Unknown tags are ignored (3.2); known ones are all checked. */

	if (ams) {
		/* RFC 8617 4.1.2: i= is the instance; a v= is ignored. */
		if ((t = ms_taglist_get(&sig->tags, "i")) == NULL ||
		    !parse_u64(t->value, MS_DKIM_MAX_INSTANCE_DIGITS, &n) ||
		    n == 0 || n > MS_DKIM_MAX_INSTANCE)
			return fail(why, whysz, MAILSEC_DKIM_R_BAD_TAG,
			    "no valid i= tag");
		sig->instance = (unsigned)n;
	} else {
		if ((t = ms_taglist_get(&sig->tags, "v")) == NULL)
			return fail(why, whysz, MAILSEC_DKIM_R_VERSION,
			    "no v= tag");
		if (!(t->value.len == 1 && t->value.ptr[0] == '1'))
			return fail(why, whysz, MAILSEC_DKIM_R_VERSION,
			    "v=%.*s is not 1", SV(t->value));
	}

	if ((t = ms_taglist_get(&sig->tags, "d")) == NULL)
		return fail(why, whysz, MAILSEC_DKIM_R_MISSING_TAG,
		    "no d= tag");
	if (!ms_dkim_domain_ok(t->value.ptr, t->value.len))
		return fail(why, whysz, MAILSEC_DKIM_R_BAD_TAG,
		    "d=%.*s is not a domain name", SV(t->value));
	sig->domain = t->value;

	if ((t = ms_taglist_get(&sig->tags, "s")) == NULL)
		return fail(why, whysz, MAILSEC_DKIM_R_MISSING_TAG,
		    "no s= tag");
	if (!ms_dkim_domain_ok(t->value.ptr, t->value.len))
		return fail(why, whysz, MAILSEC_DKIM_R_BAD_TAG,
		    "s=%.*s is not a selector", SV(t->value));
	sig->selector = t->value;

	if ((t = ms_taglist_get(&sig->tags, "a")) == NULL)
		return fail(why, whysz, MAILSEC_DKIM_R_MISSING_TAG,
		    "no a= tag");
	sig->alg_text = t->value;
	if (eq(t->value, "rsa-sha256"))
		sig->alg = MAILSEC_DKIM_RSA_SHA256;
	else if (eq(t->value, "ed25519-sha256"))
		sig->alg = MAILSEC_DKIM_ED25519_SHA256;
	else if (eq(t->value, "rsa-sha1"))
		sig->alg = MAILSEC_DKIM_RSA_SHA1;
	else
		return fail(why, whysz, MAILSEC_DKIM_R_ALGORITHM,
		    "unknown algorithm a=%.*s", SV(t->value));

	if ((t = ms_taglist_get(&sig->tags, "bh")) == NULL)
		return fail(why, whysz, MAILSEC_DKIM_R_MISSING_TAG,
		    "no bh= tag");
	k = ms_tag_strip_fws(t->value, sig->bh_b64, sizeof sig->bh_b64 - 1);
	if (k == (size_t)-1)
		return fail(why, whysz, MAILSEC_DKIM_R_BAD_TAG,
		    "bh= too long");
	sig->bh_b64[k] = '\0';
	sig->bhlen = ms_b64_decode(t->value.ptr, t->value.len, sig->bh,
	    sizeof sig->bh);
	if (sig->bhlen == (size_t)-1 || sig->bhlen == 0)
		return fail(why, whysz, MAILSEC_DKIM_R_BAD_TAG,
		    "bh=%.*s is not base64", SV(t->value));

	if ((t = ms_taglist_get(&sig->tags, "b")) == NULL)
		return fail(why, whysz, MAILSEC_DKIM_R_MISSING_TAG,
		    "no b= tag");
	sig->b_start = t->raw_start;
	sig->b_end = t->raw_end;
	for (i = 0, k = 0; i < t->value.len &&
	    k < MAILSEC_DKIM_B_PREFIX_MAX; i++)
		if (!ms_iswsp(t->value.ptr[i]) && t->value.ptr[i] != '\r' &&
		    t->value.ptr[i] != '\n')
			sig->b_prefix[k++] = t->value.ptr[i];
	sig->b_prefix[k] = '\0';
	sig->blen = ms_b64_decode(t->value.ptr, t->value.len, sig->b,
	    sizeof sig->b);
	if (sig->blen == (size_t)-1 || sig->blen == 0)
		return fail(why, whysz, MAILSEC_DKIM_R_BAD_TAG,
		    "b= is empty or not base64");

	if ((t = ms_taglist_get(&sig->tags, "h")) == NULL)
		return fail(why, whysz, MAILSEC_DKIM_R_MISSING_TAG,
		    "no h= tag");
	sig->h = t->value;
	{
		/* hdr-name *( [FWS] ":" [FWS] hdr-name ); From required. */
		size_t start;
		bool from = false;

		i = 0;
		k = ms_tag_strip_fws(t->value, buf, sizeof buf);
		if (k == (size_t)-1)
			return fail(why, whysz, MAILSEC_DKIM_R_BAD_TAG,
			    "h= too long");
		while (i <= k) {
			start = i;
			while (i < k && buf[i] != ':')
				i++;
			if (i == start)
				return fail(why, whysz, MAILSEC_DKIM_R_BAD_TAG,
				    "empty field name in h=%.*s", SV(t->value));
			if (ms_ascii_eq(buf + start, i - start, "from", 4))
				from = true;
			/* RFC 8617 4.1.2: ARC fields MUST NOT be signed by
			 * the AMS. An AMS over an ARC-Seal is refused (the
			 * seal it covered cannot be told apart from a later
			 * one); AAR and AMS names are tolerated, as the draft
			 * versions of the protocol required signing the
			 * AAR. */
			if (ms_ascii_eqz(buf + start, i - start, "arc-seal"))
				names_seal = true;
			i++;
		}
		if (!from)
			return fail(why, whysz, MAILSEC_DKIM_R_FROM_UNSIGNED,
			    "h=%.*s does not include From", SV(t->value));
	}

	sig->hcanon = sig->bcanon = MAILSEC_DKIM_SIMPLE;
	if ((t = ms_taglist_get(&sig->tags, "c")) != NULL) {
		struct mailsec_str hc = t->value, bc = { NULL, 0 };
		const char *slash = memchr(t->value.ptr, '/', t->value.len);

		if (slash != NULL) {
			hc.len = (size_t)(slash - t->value.ptr);
			bc.ptr = slash + 1;
			bc.len = t->value.len - hc.len - 1;
		}
		if (eq(hc, "simple"))
			sig->hcanon = MAILSEC_DKIM_SIMPLE;
		else if (eq(hc, "relaxed"))
			sig->hcanon = MAILSEC_DKIM_RELAXED;
		else
			return fail(why, whysz, MAILSEC_DKIM_R_BAD_TAG,
			    "unknown canonicalization c=%.*s", SV(t->value));
		if (bc.ptr == NULL || eq(bc, "simple"))
			sig->bcanon = MAILSEC_DKIM_SIMPLE;
		else if (eq(bc, "relaxed"))
			sig->bcanon = MAILSEC_DKIM_RELAXED;
		else
			return fail(why, whysz, MAILSEC_DKIM_R_BAD_TAG,
			    "unknown canonicalization c=%.*s", SV(t->value));
	}

	if (!ams && (t = ms_taglist_get(&sig->tags, "i")) != NULL) {
		const char *at = NULL;
		struct mailsec_str id;

		/* i= is dkim-quoted-printable: "=XX" stands for a byte. */
		if (!qp_decode(t->value, sig->ident, sizeof sig->ident, &k))
			return fail(why, whysz, MAILSEC_DKIM_R_BAD_TAG,
			    "i=%.*s: bad quoted-printable", SV(t->value));
		id.ptr = sig->ident;
		id.len = k;
		for (i = id.len; i > 0; i--)
			if (id.ptr[i - 1] == '@') {
				at = id.ptr + i - 1;
				break;
			}
		if (at == NULL)
			return fail(why, whysz, MAILSEC_DKIM_R_BAD_TAG,
			    "i=%.*s has no '@'", SV(t->value));
		v.ptr = at + 1;
		v.len = id.len - (size_t)(v.ptr - id.ptr);
		if (!ms_dkim_domain_ok(v.ptr, v.len))
			return fail(why, whysz, MAILSEC_DKIM_R_BAD_TAG,
			    "i=%.*s: bad domain", SV(t->value));
		if (!within(v, sig->domain))
			return fail(why, whysz, MAILSEC_DKIM_R_IDENTITY,
			    "i=%.*s is not within d=", SV(t->value));
		sig->identity = id;
	}

	if ((t = ms_taglist_get(&sig->tags, "l")) != NULL) {
		if (!parse_u64(t->value, 76, &sig->l))
			return fail(why, whysz, MAILSEC_DKIM_R_BAD_TAG,
			    "l=%.*s is not a length", SV(t->value));
		sig->has_l = true;
	}
	if ((t = ms_taglist_get(&sig->tags, "q")) != NULL) {
		/* Colon-separated methods; dns/txt must be among them. */
		bool dns = false;
		size_t start;

		k = ms_tag_strip_fws(t->value, buf, sizeof buf);
		if (k == (size_t)-1)
			return fail(why, whysz, MAILSEC_DKIM_R_BAD_TAG,
			    "q= too long");
		for (i = 0; i <= k; i++) {
			start = i;
			while (i < k && buf[i] != ':')
				i++;
			if (ms_ascii_eq(buf + start, i - start, "dns/txt", 7)
			    || ms_ascii_eq(buf + start, i - start, "dns", 3))
				dns = true;
		}
		if (!dns)
			return fail(why, whysz, MAILSEC_DKIM_R_BAD_TAG,
			    "q=%.*s: no supported query method", SV(t->value));
	}
	if ((t = ms_taglist_get(&sig->tags, "t")) != NULL) {
		if (!parse_u64(t->value, 12, &n))
			return fail(why, whysz, MAILSEC_DKIM_R_BAD_TAG,
			    "t=%.*s is not a timestamp", SV(t->value));
		sig->t = (int64_t)n;
	}
	if ((t = ms_taglist_get(&sig->tags, "x")) != NULL) {
		if (!parse_u64(t->value, 12, &n))
			return fail(why, whysz, MAILSEC_DKIM_R_BAD_TAG,
			    "x=%.*s is not a timestamp", SV(t->value));
		sig->x = (int64_t)n;
		if (sig->t >= 0 && sig->x <= sig->t)
			return fail(why, whysz, MAILSEC_DKIM_R_BAD_TAG,
			    "x=%.*s is not after t=", SV(t->value));
	}
	/* z= (copied header fields) is diagnostic only; the tokenizer has
	 * checked its characters. */
	if (sig->alg == MAILSEC_DKIM_RSA_SHA1)
		return fail(why, whysz, MAILSEC_DKIM_R_SHA1,
		    "rsa-sha1 is not acceptable (RFC 8301 3.1)");
	if (ams && names_seal)
		return fail(why, whysz, MAILSEC_DKIM_R_BAD_TAG,
		    "h= names ARC-Seal (RFC 8617 4.1.2)");
	return MAILSEC_DKIM_R_OK;
}
