/*
 * lib/dkim/key.c - DKIM keys: public key records (RFC 6376 3.6.1,
 * RFC 8463 3), private keys for signing (PEM or Ed25519 seeds), key
 * generation and the record that publishes a key.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "dkim/dkim_int.h"

struct mailsec_dkim_key {
	EVP_PKEY *pkey;
	enum mailsec_dkim_algorithm alg;
	EVP_MD_CTX *tmpl;	/* signing context set up once, copied per
				   signature: OpenSSL 3's per-call setup
				   costs as much as an Ed25519 signature */
};

/* RFC 8301 3.2: verifiers MUST NOT accept RSA keys under 1024 bits. */
#define MS_DKIM_MIN_RSA_BITS 1024

mailsec_err
ms_dkim_pubkey(enum mailsec_dkim_algorithm type, struct mailsec_str p,
    EVP_PKEY **out)
{
	unsigned char der[MS_DKIM_MAX_KEY_B64];
	const unsigned char *q;
	size_t n;
	EVP_PKEY *k = NULL;

	*out = NULL;
	n = ms_b64_decode(p.ptr, p.len, der, sizeof der);
	if (n == (size_t)-1 || n == 0)
		return MAILSEC_ESYNTAX;
	if (type == MAILSEC_DKIM_ED25519_SHA256) {
		/* RFC 8463 4.2: the raw 32-byte public key. */
		if (n != 32)
			return MAILSEC_ESYNTAX;
		k = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, der, n);
	} else {
		/* SubjectPublicKeyInfo (3.6.1); some publish a bare
		 * RSAPublicKey, which is unambiguous, so take it too. */
		q = der;
		k = d2i_PUBKEY(NULL, &q, (long)n);
		if (k == NULL || q != der + n) {
			EVP_PKEY_free(k);
			q = der;
			k = d2i_PublicKey(EVP_PKEY_RSA, NULL, &q, (long)n);
			if (k != NULL && q != der + n) {
				EVP_PKEY_free(k);
				k = NULL;
			}
		}
		if (k != NULL && EVP_PKEY_get_base_id(k) != EVP_PKEY_RSA) {
			EVP_PKEY_free(k);
			k = NULL;
		}
	}
	if (k == NULL)
		return MAILSEC_ESYNTAX;
	*out = k;
	return MAILSEC_OK;
}

/* Does the colon-separated list v contain item (case-insensitive)? */
static bool
list_has(struct mailsec_str v, const char *item)
{
	char buf[512];
	size_t i, start, n = ms_tag_strip_fws(v, buf, sizeof buf);

	if (n == (size_t)-1)
		return false;
	for (i = 0; i <= n; i++) {
		start = i;
		while (i < n && buf[i] != ':')
			i++;
		if (ms_ascii_eqz(buf + start, i - start, item))
			return true;
	}
	return false;
}

mailsec_err
ms_dkim_record_parse_key(const char *p, size_t len,
    struct mailsec_dkim_record *rec, EVP_PKEY *known, EVP_PKEY **pkey,
    struct mailsec_diag *diag)
{
	struct ms_taglist tl;
	const struct ms_tag *t;
	EVP_PKEY *k = NULL;
	mailsec_err err;

	memset(rec, 0, sizeof *rec);
	if (pkey != NULL)
		*pkey = NULL;
	if ((err = ms_taglist_parse(p, len, &tl, diag)) != MAILSEC_OK)
		return err;
	if ((t = ms_taglist_get(&tl, "v")) != NULL) {
		/* 3.6.1: if present it MUST be first and MUST be DKIM1. */
		if (t != &tl.tags[0] || !(t->value.len == 5 &&
		    memcmp(t->value.ptr, "DKIM1", 5) == 0))
			return ms_diag(diag, MAILSEC_ESYNTAX,
			    (size_t)(t->name.ptr - p), 0,
			    "v= must be the first tag and be DKIM1");
		rec->has_version = true;
	}
	rec->key_type = MAILSEC_DKIM_RSA_SHA256;
	rec->key_type_text.ptr = "rsa";
	rec->key_type_text.len = 3;
	if ((t = ms_taglist_get(&tl, "k")) != NULL) {
		rec->key_type_text = t->value;
		if (ms_ascii_eqz(t->value.ptr, t->value.len, "rsa"))
			rec->key_type = MAILSEC_DKIM_RSA_SHA256;
		else if (ms_ascii_eqz(t->value.ptr, t->value.len, "ed25519"))
			rec->key_type = MAILSEC_DKIM_ED25519_SHA256;
		else
			rec->key_type = MAILSEC_DKIM_ALG_UNKNOWN;
	}
	rec->sha256_allowed = true;
	if ((t = ms_taglist_get(&tl, "h")) != NULL) {
		rec->sha256_allowed = list_has(t->value, "sha256");
		rec->sha1_only = !rec->sha256_allowed &&
		    list_has(t->value, "sha1");
	}
	rec->email_service = true;
	if ((t = ms_taglist_get(&tl, "s")) != NULL)
		rec->email_service = list_has(t->value, "*") ||
		    list_has(t->value, "email");
	if ((t = ms_taglist_get(&tl, "t")) != NULL) {
		rec->testing = list_has(t->value, "y");
		rec->strict = list_has(t->value, "s");
	}
	if ((t = ms_taglist_get(&tl, "n")) != NULL)
		rec->notes = t->value;
	if ((t = ms_taglist_get(&tl, "p")) == NULL)
		return ms_diag(diag, MAILSEC_ESYNTAX, len, 0,
		    "key record has no p= tag");
	if (t->value.len == 0) {
		rec->revoked = true;
		return MAILSEC_OK;
	}
	if (rec->key_type == MAILSEC_DKIM_ALG_UNKNOWN)
		return MAILSEC_OK;	/* caller decides: unknown k= */
	if (known != NULL) {
		/* Decoded before (key cache): decoding is the costly part. */
		rec->key_bits = (unsigned)EVP_PKEY_get_bits(known);
		if (pkey != NULL && EVP_PKEY_up_ref(known) == 1)
			*pkey = known;
		return MAILSEC_OK;
	}
	if (ms_dkim_pubkey(rec->key_type, t->value, &k) != MAILSEC_OK)
		return ms_diag(diag, MAILSEC_ESYNTAX,
		    (size_t)(t->value.ptr - p), 0,
		    "p= is not a valid %s public key",
		    rec->key_type == MAILSEC_DKIM_ED25519_SHA256 ?
		    "ed25519" : "rsa");
	rec->key_bits = (unsigned)EVP_PKEY_get_bits(k);
	if (pkey != NULL)
		*pkey = k;
	else
		EVP_PKEY_free(k);
	return MAILSEC_OK;
}

mailsec_err
mailsec_dkim_record_parse(const char *p, size_t len,
    struct mailsec_dkim_record *rec, struct mailsec_diag *diag)
{
	if (rec == NULL || (p == NULL && len > 0))
		return MAILSEC_EINVAL;
	return ms_dkim_record_parse_key(p, len, rec, NULL, NULL, diag);
}

/* ---- private keys ------------------------------------------------------ */

static mailsec_err
key_wrap(EVP_PKEY *pk, struct mailsec_dkim_key **out,
    struct mailsec_diag *diag)
{
	struct mailsec_dkim_key *key;
	int id = EVP_PKEY_get_base_id(pk);

	if (id == EVP_PKEY_RSA) {
		if (EVP_PKEY_get_bits(pk) < MS_DKIM_MIN_RSA_BITS) {
			EVP_PKEY_free(pk);
			return ms_diag(diag, MAILSEC_EUNSUPPORTED, 0, 0,
			    "RSA keys under %d bits are not allowed "
			    "(RFC 8301 3.2)", MS_DKIM_MIN_RSA_BITS);
		}
	} else if (id != EVP_PKEY_ED25519) {
		EVP_PKEY_free(pk);
		return ms_diag(diag, MAILSEC_EUNSUPPORTED, 0, 0,
		    "only RSA and Ed25519 keys can sign DKIM");
	}
	key = calloc(1, sizeof *key);
	if (key == NULL) {
		EVP_PKEY_free(pk);
		return MAILSEC_ENOMEM;
	}
	key->pkey = pk;
	key->alg = id == EVP_PKEY_RSA ? MAILSEC_DKIM_RSA_SHA256 :
	    MAILSEC_DKIM_ED25519_SHA256;
	key->tmpl = EVP_MD_CTX_new();
	if (key->tmpl == NULL || EVP_DigestSignInit(key->tmpl, NULL,
	    id == EVP_PKEY_RSA ? EVP_sha256() : NULL, NULL, pk) != 1) {
		mailsec_dkim_key_free(key);
		return MAILSEC_ENOMEM;
	}
	*out = key;
	return MAILSEC_OK;
}

static bool
has_pem_marker(const char *p, size_t len)
{
	size_t i;

	for (i = 0; i + 10 <= len; i++)
		if (memcmp(p + i, "-----BEGIN", 10) == 0)
			return true;
	return false;
}

mailsec_err
mailsec_dkim_key_load(const char *p, size_t len,
    struct mailsec_dkim_key **out, struct mailsec_diag *diag)
{
	BIO *bio;
	EVP_PKEY *pk = NULL;
	unsigned char seed[48];
	size_t n;

	if (out == NULL || p == NULL || len > INT32_MAX)
		return MAILSEC_EINVAL;
	if (has_pem_marker(p, len)) {
		bio = BIO_new_mem_buf(p, (int)len);
		if (bio == NULL)
			return MAILSEC_ENOMEM;
		pk = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
		BIO_free(bio);
		if (pk == NULL)
			return ms_diag(diag, MAILSEC_ESYNTAX, 0, 0,
			    "not a readable PEM private key (encrypted "
			    "keys are not supported)");
		return key_wrap(pk, out, diag);
	}
	/* An Ed25519 seed in base64 (RFC 8463 A.1, dkimpy). */
	n = ms_b64_decode(p, len, seed, sizeof seed);
	if (n != 32)
		return ms_diag(diag, MAILSEC_ESYNTAX, 0, 0,
		    "neither PEM nor a base64 Ed25519 seed");
	pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, n);
	if (pk == NULL)
		return MAILSEC_ENOMEM;
	return key_wrap(pk, out, diag);
}

mailsec_err
mailsec_dkim_key_generate(enum mailsec_dkim_algorithm alg, unsigned bits,
    struct mailsec_dkim_key **out)
{
	EVP_PKEY *pk;

	if (out == NULL)
		return MAILSEC_EINVAL;
	if (alg == MAILSEC_DKIM_RSA_SHA256) {
		if (bits == 0)
			bits = 2048;
		if (bits < MS_DKIM_MIN_RSA_BITS || bits > 8192)
			return MAILSEC_EINVAL;
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
	} else if (alg == MAILSEC_DKIM_ED25519_SHA256) {
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	} else {
		return MAILSEC_EINVAL;
	}
	if (pk == NULL)
		return MAILSEC_ENOMEM;
	return key_wrap(pk, out, NULL);
}

void
mailsec_dkim_key_free(struct mailsec_dkim_key *key)
{
	if (key == NULL)
		return;
	EVP_MD_CTX_free(key->tmpl);
	EVP_PKEY_free(key->pkey);
	free(key);
}

enum mailsec_dkim_algorithm
mailsec_dkim_key_algorithm(const struct mailsec_dkim_key *key)
{
	return key->alg;
}

unsigned
mailsec_dkim_key_bits(const struct mailsec_dkim_key *key)
{
	return (unsigned)EVP_PKEY_get_bits(key->pkey);
}

EVP_PKEY *ms_dkim_key_pkey(const struct mailsec_dkim_key *key);

EVP_MD_CTX *
ms_dkim_key_sign_ctx(const struct mailsec_dkim_key *key)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();

	if (c != NULL && EVP_MD_CTX_copy_ex(c, key->tmpl) != 1) {
		EVP_MD_CTX_free(c);
		c = NULL;
	}
	return c;
}

EVP_PKEY *
ms_dkim_key_pkey(const struct mailsec_dkim_key *key)
{
	return key->pkey;
}

mailsec_err
mailsec_dkim_key_pem(const struct mailsec_dkim_key *key, char **out,
    size_t *len)
{
	BIO *bio;
	char *data;
	long n;
	mailsec_err err = MAILSEC_ENOMEM;

	if (key == NULL || out == NULL)
		return MAILSEC_EINVAL;
	bio = BIO_new(BIO_s_mem());
	if (bio == NULL)
		return MAILSEC_ENOMEM;
	if (PEM_write_bio_PrivateKey(bio, key->pkey, NULL, NULL, 0, NULL,
	    NULL) != 1)
		goto done;
	n = BIO_get_mem_data(bio, &data);
	if (n < 0 || (*out = ms_memdupz(data, (size_t)n)) == NULL)
		goto done;
	if (len != NULL)
		*len = (size_t)n;
	err = MAILSEC_OK;
done:
	BIO_free(bio);
	return err;
}

mailsec_err
mailsec_dkim_key_record(const struct mailsec_dkim_key *key, char **out,
    size_t *len)
{
	struct ms_buf b;
	unsigned char raw[32], *der = NULL;
	size_t rawlen = sizeof raw;
	int n;
	mailsec_err err;

	if (key == NULL || out == NULL)
		return MAILSEC_EINVAL;
	ms_buf_init(&b, 8192);
	if (key->alg == MAILSEC_DKIM_ED25519_SHA256) {
		if (EVP_PKEY_get_raw_public_key(key->pkey, raw, &rawlen) != 1)
			return MAILSEC_ENOMEM;
		if ((err = ms_buf_appendz(&b, "v=DKIM1; k=ed25519; p=")) !=
		    MAILSEC_OK || (err = ms_b64_encode(raw, rawlen, &b)) !=
		    MAILSEC_OK)
			return err;
	} else {
		n = i2d_PUBKEY(key->pkey, &der);
		if (n <= 0)
			return MAILSEC_ENOMEM;
		err = ms_buf_appendz(&b, "v=DKIM1; k=rsa; p=");
		if (err == MAILSEC_OK)
			err = ms_b64_encode(der, (size_t)n, &b);
		OPENSSL_free(der);
		if (err != MAILSEC_OK)
			return err;
	}
	*out = ms_buf_steal(&b, len);
	return *out == NULL ? MAILSEC_ENOMEM : MAILSEC_OK;
}
