/*
 * daemon/tls.c - the TLS server context and the generated self-signed
 * certificate (daemon/tls.h). RFC 3207, RFC 8314; TLS 1.2 minimum
 * (RFC 8996 deprecates 1.0 and 1.1).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "tls.h"

static void
tls_errf(char *err, size_t errlen, const char *what, const char *path)
{
	unsigned long e = ERR_get_error();
	char buf[256];

	if (errlen == 0)
		return;
	if (e != 0)
		ERR_error_string_n(e, buf, sizeof buf);
	else
		(void)snprintf(buf, sizeof buf, "%s", strerror(errno));
	(void)snprintf(err, errlen, "%s%s%s: %s", path != NULL ? path : "",
	    path != NULL ? ": " : "", what, buf);
	ERR_clear_error();
}

/* mkdir -p of the directory part of path, mode 0700. */
static int
mkdir_for(const char *path)
{
	char dir[4096];
	size_t i;

	if ((size_t)snprintf(dir, sizeof dir, "%s", path) >= sizeof dir)
		return -1;
	for (i = 1; dir[i] != '\0'; i++) {
		if (dir[i] != '/')
			continue;
		dir[i] = '\0';
		if (mkdir(dir, 0700) == -1 && errno != EEXIST)
			return -1;
		dir[i] = '/';
	}
	return 0;
}

/* Writes a PEM object through a temporary file, fsync, rename. */
static int
write_pem(const char *path, mode_t mode, EVP_PKEY *key, X509 *crt)
{
	char tmp[4096];
	FILE *f = NULL;
	int fd = -1, ok = 0;

	if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp%ld", path,
	    (long)getpid()) >= sizeof tmp)
		return -1;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode))
	    == -1)
		return -1;
	if ((f = fdopen(fd, "w")) == NULL)
		goto done;
	fd = -1;
	if (key != NULL)
		ok = PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
	else
		ok = PEM_write_X509(f, crt);
	if (ok && (fflush(f) != 0 || fsync(fileno(f)) != 0))
		ok = 0;
	if (fclose(f) != 0)
		ok = 0;
	f = NULL;
	if (ok && rename(tmp, path) != 0)
		ok = 0;
done:
	if (fd != -1)
		close(fd);
	if (!ok)
		(void)unlink(tmp);
	return ok ? 0 : -1;
}

mailsec_err
tls_generate(const struct gw_config *cfg, const char *host, int *made,
    char *err, size_t errlen)
{
	EVP_PKEY *key = NULL;
	X509 *crt = NULL;
	X509_NAME *name;
	X509_EXTENSION *ext = NULL;
	X509V3_CTX v3;
	unsigned char serial[16];
	BIGNUM *bn = NULL;
	char san[600];
	mailsec_err e = MAILSEC_EIO;

	*made = 0;
	if (!cfg->tls.generate || cfg->tls.cert == NULL ||
	    cfg->tls.key == NULL)
		return MAILSEC_OK;
	if (access(cfg->tls.cert, F_OK) == 0 &&
	    access(cfg->tls.key, F_OK) == 0)
		return MAILSEC_OK;
	if (mkdir_for(cfg->tls.cert) == -1 || mkdir_for(cfg->tls.key) == -1) {
		tls_errf(err, errlen, "cannot create the directory",
		    cfg->tls.cert);
		return MAILSEC_EIO;
	}
	if ((key = EVP_EC_gen("P-256")) == NULL || (crt = X509_new()) == NULL) {
		tls_errf(err, errlen, "cannot generate a key", NULL);
		e = MAILSEC_ENOMEM;
		goto done;
	}
	if (RAND_bytes(serial, sizeof serial) != 1)
		goto fail;
	serial[0] &= 0x7f;
	if ((bn = BN_bin2bn(serial, sizeof serial, NULL)) == NULL ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(crt)) == NULL)
		goto fail;
	if (X509_set_version(crt, 2) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(crt), -3600) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(crt),
	    (long)TLS_GEN_DAYS * 86400) == NULL ||
	    X509_set_pubkey(crt, key) != 1)
		goto fail;
	name = X509_get_subject_name(crt);
	if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)host, -1, -1, 0) != 1 ||
	    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
	    (const unsigned char *)"mailsec self-signed", -1, -1, 0) != 1 ||
	    X509_set_issuer_name(crt, name) != 1)
		goto fail;
	if ((size_t)snprintf(san, sizeof san, "DNS:%s%s", host,
	    strcmp(host, "localhost") != 0 ? ",DNS:localhost" : "") >=
	    sizeof san)
		goto fail;
	X509V3_set_ctx(&v3, crt, crt, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name,
	    san)) == NULL || X509_add_ext(crt, ext, -1) != 1)
		goto fail;
	if (X509_sign(crt, key, EVP_sha256()) == 0)
		goto fail;
	if (write_pem(cfg->tls.key, 0600, key, NULL) == -1) {
		tls_errf(err, errlen, "cannot write the key", cfg->tls.key);
		goto done;
	}
	if (write_pem(cfg->tls.cert, 0644, NULL, crt) == -1) {
		tls_errf(err, errlen, "cannot write the certificate",
		    cfg->tls.cert);
		goto done;
	}
	*made = 1;
	e = MAILSEC_OK;
	goto done;
fail:
	tls_errf(err, errlen, "cannot make the certificate", NULL);
done:
	X509_EXTENSION_free(ext);
	BN_free(bn);
	X509_free(crt);
	EVP_PKEY_free(key);
	return e;
}

mailsec_err
tls_ctx_new(const struct gw_config *cfg, SSL_CTX **out, char *err,
    size_t errlen)
{
	SSL_CTX *ctx;
	int minv;

	*out = NULL;
	if (cfg->tls.cert == NULL || cfg->tls.key == NULL) {
		(void)snprintf(err, errlen, "tls: no certificate configured "
		    "(set tls.cert and tls.key)");
		return MAILSEC_EINVAL;
	}
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		tls_errf(err, errlen, "SSL_CTX_new", NULL);
		return MAILSEC_ENOMEM;
	}
	minv = cfg->tls.min_version == GW_TLS_1_3 ? TLS1_3_VERSION :
	    TLS1_2_VERSION;
	(void)SSL_CTX_set_min_proto_version(ctx, minv);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	if (cfg->tls.ciphers != NULL &&
	    SSL_CTX_set_cipher_list(ctx, cfg->tls.ciphers) != 1) {
		tls_errf(err, errlen, "tls.ciphers refused", NULL);
		goto fail;
	}
	if (cfg->tls.ciphersuites != NULL &&
	    SSL_CTX_set_ciphersuites(ctx, cfg->tls.ciphersuites) != 1) {
		tls_errf(err, errlen, "tls.ciphersuites refused", NULL);
		goto fail;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, cfg->tls.cert) != 1) {
		tls_errf(err, errlen, "cannot load the certificate chain",
		    cfg->tls.cert);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, cfg->tls.key, SSL_FILETYPE_PEM)
	    != 1) {
		tls_errf(err, errlen, "cannot load the private key",
		    cfg->tls.key);
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		tls_errf(err, errlen, "the key does not match the certificate",
		    cfg->tls.key);
		goto fail;
	}
	*out = ctx;
	return MAILSEC_OK;
fail:
	SSL_CTX_free(ctx);
	return MAILSEC_EINVAL;
}

void
tls_describe(const SSL *ssl, char *out, size_t outsz)
{
	if (outsz == 0)
		return;
	if (ssl == NULL) {
		out[0] = '\0';
		return;
	}
	(void)snprintf(out, outsz, "%s %s", SSL_get_version(ssl),
	    SSL_get_cipher_name(ssl));
}
