/*
 * lib/dkim/hdata.c - what DKIM signing and verification and both ARC
 * signatures share: the header fields a context keeps, the header hash
 * input (RFC 6376 5.4.2 and 3.7: fields selected from the bottom up,
 * canonicalized, then the signature field without b=), and signing and
 * checking that input (RFC 6376 3.3; RFC 8463 3 for Ed25519).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "dkim/dkim_int.h"

void
ms_dkim_field_set(struct ms_dkim_field *f, const char *raw, size_t len)
{
	size_t c;

	f->raw = raw;
	f->len = len;
	for (c = 0; c < len && raw[c] != ':'; c++)
		;
	f->colon = c;
	while (c > 0 && ms_iswsp((unsigned char)raw[c - 1]))
		c--;
	f->namelen = c;
}

void
ms_dkim_fields_init(struct ms_dkim_fields *fs, size_t max_n,
    size_t max_bytes)
{
	memset(fs, 0, sizeof *fs);
	fs->max_n = max_n;
	fs->max_bytes = max_bytes;
}

mailsec_err
ms_dkim_fields_add(struct ms_dkim_fields *fs, const char *raw, size_t len,
    struct ms_dkim_field **out)
{
	struct ms_dkim_field *nf;
	size_t c;
	char *copy;

	if (fs->n >= fs->max_n || len > fs->max_bytes - fs->bytes)
		return MAILSEC_ELIMIT;
	if (fs->n == fs->cap) {
		c = fs->cap ? fs->cap * 2 : 32;
		if ((nf = ms_reallocarray(fs->f, c, sizeof *nf)) == NULL)
			return MAILSEC_ENOMEM;
		fs->f = nf;
		fs->cap = c;
	}
	if ((copy = ms_memdupz(raw, len)) == NULL)
		return MAILSEC_ENOMEM;
	ms_dkim_field_set(&fs->f[fs->n], copy, len);
	if (out != NULL)
		*out = &fs->f[fs->n];
	fs->n++;
	fs->bytes += len;
	return MAILSEC_OK;
}

size_t
ms_dkim_fields_count(const struct ms_dkim_fields *fs, const char *name,
    size_t len)
{
	size_t i, c = 0;

	for (i = 0; i < fs->n; i++)
		if (ms_ascii_eq(fs->f[i].raw, fs->f[i].namelen, name, len))
			c++;
	return c;
}

void
ms_dkim_fields_free(struct ms_dkim_fields *fs)
{
	size_t i;

	for (i = 0; i < fs->n; i++)
		free((char *)(uintptr_t)fs->f[i].raw);
	free(fs->f);
	fs->f = NULL;
	fs->n = fs->cap = fs->bytes = 0;
}

mailsec_err
ms_dkim_canon_sig(enum mailsec_dkim_canon c, const struct ms_dkim_field *sig,
    size_t b_start, size_t b_end, struct ms_buf *out)
{
	struct ms_buf tmp;
	size_t vo = sig->colon + 1;
	mailsec_err err;

	if (vo > sig->len || b_start > b_end || b_end > sig->len - vo)
		return MAILSEC_EINVAL;
	ms_buf_init(&tmp, sig->len + 2);
	if ((err = ms_buf_append(&tmp, sig->raw, vo + b_start)) !=
	    MAILSEC_OK || (err = ms_buf_append(&tmp, sig->raw + vo + b_end,
	    sig->len - vo - b_end)) != MAILSEC_OK)
		return err;
	while (tmp.len > 0 && (tmp.ptr[tmp.len - 1] == '\n' ||
	    tmp.ptr[tmp.len - 1] == '\r'))
		tmp.len--;
	err = ms_dkim_canon_header(c, tmp.ptr, tmp.len, out);
	ms_buf_free(&tmp);
	if (err != MAILSEC_OK)
		return err;
	/* no CRLF after the signature field itself */
	out->len -= 2;
	out->ptr[out->len] = '\0';
	return MAILSEC_OK;
}

mailsec_err
ms_dkim_header_data(const struct ms_dkim_field *f, size_t n,
    struct mailsec_str h, size_t max_names, enum mailsec_dkim_canon c,
    const struct ms_dkim_field *sig, size_t b_start, size_t b_end,
    struct ms_buf *out, bool *too_many)
{
	char names[MS_DKIM_MAX_H_TEXT];
	bool *used, many = false;
	size_t k, i, start, j, nh = 0;
	mailsec_err err = MAILSEC_OK;

	if (too_many == NULL)
		too_many = &many;
	*too_many = false;
	if ((k = ms_tag_strip_fws(h, names, sizeof names)) == (size_t)-1) {
		*too_many = true;
		return MAILSEC_ELIMIT;
	}
	if ((used = ms_calloc(n + 1, sizeof *used)) == NULL)
		return MAILSEC_ENOMEM;
	for (i = 0; i <= k; i++) {
		start = i;
		while (i < k && names[i] != ':')
			i++;
		if (i == start)
			continue;
		if (++nh > max_names) {
			*too_many = true;
			err = MAILSEC_ELIMIT;
			goto done;
		}
		for (j = n; j > 0; j--) {
			if (used[j - 1] || !ms_ascii_eq(f[j - 1].raw,
			    f[j - 1].namelen, names + start, i - start))
				continue;
			used[j - 1] = true;
			if ((err = ms_dkim_canon_header(c, f[j - 1].raw,
			    f[j - 1].len, out)) != MAILSEC_OK)
				goto done;
			break;
		}
	}
	err = ms_dkim_canon_sig(c, sig, b_start, b_end, out);
done:
	free(used);
	return err;
}

mailsec_err
ms_dkim_sign_data(const struct mailsec_dkim_key *key,
    enum mailsec_dkim_algorithm alg, const char *data, size_t len,
    struct ms_buf *b64)
{
	unsigned char sig[1024], hh[32];
	size_t siglen = sizeof sig;
	EVP_MD_CTX *mctx;
	int ok;

	if ((mctx = ms_dkim_key_sign_ctx(key)) == NULL)
		return MAILSEC_ENOMEM;
	if (alg == MAILSEC_DKIM_ED25519_SHA256) {
		SHA256((const unsigned char *)data, len, hh);
		ok = EVP_DigestSign(mctx, sig, &siglen, hh, sizeof hh);
	} else {
		ok = EVP_DigestSign(mctx, sig, &siglen,
		    (const unsigned char *)data, len);
	}
	EVP_MD_CTX_free(mctx);
	if (ok != 1)
		return MAILSEC_ENOMEM;
	return ms_b64_encode(sig, siglen, b64);
}

mailsec_err
ms_dkim_sig_check(enum mailsec_dkim_algorithm alg, EVP_PKEY *pkey,
    EVP_MD_CTX *prepared, const unsigned char *sig, size_t blen,
    const char *data, size_t dlen, bool *ok)
{
	EVP_MD_CTX *mctx = prepared;
	unsigned char dig[32];

	*ok = false;
	if (mctx == NULL && (mctx = EVP_MD_CTX_new()) == NULL)
		return MAILSEC_ENOMEM;
	if (alg == MAILSEC_DKIM_ED25519_SHA256) {
		/* RFC 8463 3: Ed25519 over the SHA-256 of the headers. */
		*ok = EVP_Digest(data, dlen, dig, NULL, EVP_sha256(), NULL) ==
		    1 && (prepared != NULL || EVP_DigestVerifyInit(mctx, NULL,
		    NULL, NULL, pkey) == 1) && EVP_DigestVerify(mctx, sig, blen,
		    dig, sizeof dig) == 1;
	} else {
		*ok = (prepared != NULL || EVP_DigestVerifyInit(mctx, NULL,
		    EVP_sha256(), NULL, pkey) == 1) && EVP_DigestVerify(mctx,
		    sig, blen, (const unsigned char *)data, dlen) == 1;
	}
	EVP_MD_CTX_free(mctx);
	return MAILSEC_OK;
}
