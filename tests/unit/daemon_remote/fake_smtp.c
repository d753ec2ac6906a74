/*
 * tests/unit/daemon_remote/fake_smtp.c - the scripted SMTP server of the
 * remote delivery tests (fake_smtp.h). Blocking I/O in its own thread;
 * a reply starting with 421 closes the connection after it is sent.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "fake_smtp.h"

struct fconn {
	struct fake_smtp *f;
	int fd;
	SSL *ssl;
	char buf[16384];
	size_t len;
};

static void
rec_add(struct fake_smtp *f, const char *p, size_t n)
{
	(void)pthread_mutex_lock(&f->mu);
	if (n > FAKE_REC_MAX - f->reclen)
		n = FAKE_REC_MAX - f->reclen;
	memcpy(f->rec + f->reclen, p, n);
	f->reclen += n;
	(void)pthread_mutex_unlock(&f->mu);
}

static int
fc_send(struct fconn *c, const char *s)
{
	size_t len = strlen(s);
	ssize_t w;

	while (len > 0) {
		if (c->ssl != NULL)
			w = SSL_write(c->ssl, s, (int)len);
		else
			w = send(c->fd, s, len, MSG_NOSIGNAL);
		if (w <= 0)
			return -1;
		s += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Reads one line (CRLF included) into line and the recording; -1 at the
 * end. */
static int
fc_line(struct fconn *c, char *line, size_t linesz, size_t *linelen)
{
	char *nl;
	ssize_t r;
	size_t n;

	for (;;) {
		nl = memchr(c->buf, '\n', c->len);
		if (nl != NULL) {
			n = (size_t)(nl - c->buf) + 1;
			if (n >= linesz)
				return -1;
			memcpy(line, c->buf, n);
			line[n] = '\0';
			*linelen = n;
			memmove(c->buf, c->buf + n, c->len - n);
			c->len -= n;
			rec_add(c->f, line, n);
			return 0;
		}
		if (c->len == sizeof c->buf)
			return -1;
		if (c->ssl != NULL)
			r = SSL_read(c->ssl, c->buf + c->len,
			    (int)(sizeof c->buf - c->len));
		else
			r = recv(c->fd, c->buf + c->len,
			    sizeof c->buf - c->len, 0);
		if (r <= 0)
			return -1;
		c->len += (size_t)r;
	}
}

static bool
verb(const char *line, const char *v)
{
	return strncasecmp(line, v, strlen(v)) == 0;
}

static int
fc_tls(struct fconn *c)
{
	if (c->f->ssl_ctx == NULL || (c->ssl = SSL_new(c->f->ssl_ctx)) ==
	    NULL)
		return -1;
	(void)SSL_set_fd(c->ssl, c->fd);
	if (SSL_accept(c->ssl) != 1) {
		ERR_clear_error();
		return -1;
	}
	(void)pthread_mutex_lock(&c->f->mu);
	c->f->ntls++;
	(void)pthread_mutex_unlock(&c->f->mu);
	return 0;
}

#define OR(s, d) ((s) != NULL ? (s) : (d))

static void
fc_run(struct fconn *c)
{
	struct fake_smtp *f = c->f;
	char line[4096];
	const char *r;
	size_t n, nrcpt = 0;
	struct timespec ts;

	if (f->implicit_tls && fc_tls(c) == -1)
		return;
	if (f->greet_delay_ms > 0) {
		ts.tv_sec = f->greet_delay_ms / 1000;
		ts.tv_nsec = (long)(f->greet_delay_ms % 1000) * 1000000;
		(void)nanosleep(&ts, NULL);
	}
	r = OR(f->greeting, "220 fake ESMTP\r\n");
	if (fc_send(c, r) == -1 || strncmp(r, "421", 3) == 0)
		return;
	while (fc_line(c, line, sizeof line, &n) == 0) {
		if (verb(line, "EHLO "))
			r = OR(f->ehlo, "250 fake\r\n");
		else if (verb(line, "HELO "))
			r = OR(f->helo, "250 fake\r\n");
		else if (verb(line, "STARTTLS")) {
			r = OR(f->starttls, "220 2.0.0 ready\r\n");
			if (fc_send(c, r) == -1)
				return;
			if (strncmp(r, "220", 3) == 0) {
				c->len = 0;
				if (fc_tls(c) == -1)
					return;
			}
			continue;
		} else if (verb(line, "AUTH "))
			r = OR(f->auth, "235 2.7.0 ok\r\n");
		else if (verb(line, "MAIL FROM:")) {
			if (memmem(c->buf, c->len, "DATA\r\n", 6) != NULL)
				f->mail_batched = true;
			nrcpt = 0;
			r = OR(f->mail, "250 2.1.0 ok\r\n");
		} else if (verb(line, "RCPT TO:")) {
			r = nrcpt < FAKE_RCPT_MAX ? f->rcpt[nrcpt] : NULL;
			r = OR(r, "250 2.1.5 ok\r\n");
			nrcpt++;
		} else if (verb(line, "DATA")) {
			r = OR(f->data, "354 go ahead\r\n");
			if (fc_send(c, r) == -1 || strncmp(r, "421", 3) == 0)
				return;
			if (strncmp(r, "354", 3) != 0)
				continue;
			while (fc_line(c, line, sizeof line, &n) == 0)
				if (strcmp(line, ".\r\n") == 0)
					break;
			r = OR(f->dot, "250 2.0.0 queued\r\n");
		} else if (verb(line, "RSET"))
			r = "250 2.0.0 ok\r\n";
		else if (verb(line, "NOOP"))
			r = "250 2.0.0 ok\r\n";
		else if (verb(line, "QUIT")) {
			(void)fc_send(c, "221 2.0.0 bye\r\n");
			return;
		} else
			r = "500 5.5.1 what?\r\n";
		if (fc_send(c, r) == -1 || strncmp(r, "421", 3) == 0)
			return;
	}
}

static void *
fake_thread(void *arg)
{
	struct fake_smtp *f = arg;
	struct pollfd pfd;
	struct fconn *c;
	int fd;

	while (!f->stop) {
		pfd.fd = f->lfd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 20) <= 0)
			continue;
		if ((fd = accept(f->lfd, NULL, NULL)) == -1)
			continue;
		(void)pthread_mutex_lock(&f->mu);
		f->nconns++;
		(void)pthread_mutex_unlock(&f->mu);
		if ((c = calloc(1, sizeof *c)) == NULL) {
			(void)close(fd);
			continue;
		}
		c->f = f;
		c->fd = fd;
		fc_run(c);
		if (c->ssl != NULL) {
			(void)SSL_shutdown(c->ssl);
			SSL_free(c->ssl);
		}
		(void)close(fd);
		free(c);
	}
	return NULL;
}

int
fake_smtp_start(struct fake_smtp *f, const char *addr, uint16_t port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t sl = sizeof ss;
	int one = 1, af = strchr(addr, ':') != NULL ? AF_INET6 : AF_INET, ok;

	(void)snprintf(f->addr, sizeof f->addr, "%s", addr);
	f->lfd = socket(af, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (f->lfd == -1)
		return -1;
	(void)setsockopt(f->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	memset(&ss, 0, sizeof ss);
	if (af == AF_INET) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		ok = inet_pton(AF_INET, addr, &sin->sin_addr);
		sl = sizeof *sin;
	} else {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		ok = inet_pton(AF_INET6, addr, &sin6->sin6_addr);
		sl = sizeof *sin6;
	}
	if (ok != 1 || bind(f->lfd, (struct sockaddr *)&ss, sl) == -1 ||
	    listen(f->lfd, 16) == -1 ||
	    getsockname(f->lfd, (struct sockaddr *)&ss, &sl) == -1) {
		(void)close(f->lfd);
		return -1;
	}
	f->port = ntohs(af == AF_INET ? sin->sin_port : sin6->sin6_port);
	(void)pthread_mutex_init(&f->mu, NULL);
	f->stop = false;
	if (pthread_create(&f->th, NULL, fake_thread, f) != 0) {
		(void)close(f->lfd);
		return -1;
	}
	f->running = true;
	return 0;
}

void
fake_smtp_stop(struct fake_smtp *f)
{
	if (!f->running)
		return;
	f->stop = true;
	(void)pthread_join(f->th, NULL);
	(void)close(f->lfd);
	(void)pthread_mutex_destroy(&f->mu);
	f->running = false;
}

char *
fake_smtp_rec(struct fake_smtp *f)
{
	char *s;

	(void)pthread_mutex_lock(&f->mu);
	if ((s = malloc(f->reclen + 1)) != NULL) {
		memcpy(s, f->rec, f->reclen);
		s[f->reclen] = '\0';
	}
	(void)pthread_mutex_unlock(&f->mu);
	return s;
}

SSL_CTX *
fake_tls_ctx(const char *name, const char *pem_path)
{
	EVP_PKEY *key = NULL;
	X509 *crt = NULL;
	X509_NAME *nm;
	X509_EXTENSION *ext = NULL;
	X509V3_CTX v3;
	SSL_CTX *ctx = NULL;
	char san[300];
	FILE *fp;

	if ((key = EVP_EC_gen("P-256")) == NULL || (crt = X509_new()) ==
	    NULL)
		goto fail;
	(void)X509_set_version(crt, 2);
	(void)ASN1_INTEGER_set(X509_get_serialNumber(crt), 1);
	(void)X509_gmtime_adj(X509_getm_notBefore(crt), -3600);
	(void)X509_gmtime_adj(X509_getm_notAfter(crt), 86400);
	(void)X509_set_pubkey(crt, key);
	nm = X509_get_subject_name(crt);
	(void)X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC,
	    (const unsigned char *)name, -1, -1, 0);
	(void)X509_set_issuer_name(crt, nm);
	X509V3_set_ctx(&v3, crt, crt, NULL, NULL, 0);
	(void)snprintf(san, sizeof san, "DNS:%s", name);
	if ((ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name,
	    san)) == NULL || X509_add_ext(crt, ext, -1) != 1)
		goto fail;
	X509_EXTENSION_free(ext);
	ext = NULL;
	if ((ext = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints,
	    "critical,CA:TRUE")) == NULL || X509_add_ext(crt, ext, -1) != 1)
		goto fail;
	X509_EXTENSION_free(ext);
	ext = NULL;
	if (X509_sign(crt, key, EVP_sha256()) == 0)
		goto fail;
	if (pem_path != NULL) {
		if ((fp = fopen(pem_path, "w")) == NULL)
			goto fail;
		(void)PEM_write_X509(fp, crt);
		(void)fclose(fp);
	}
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL ||
	    SSL_CTX_use_certificate(ctx, crt) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, key) != 1) {
		SSL_CTX_free(ctx);
		ctx = NULL;
	}
fail:
	X509_EXTENSION_free(ext);
	X509_free(crt);
	EVP_PKEY_free(key);
	return ctx;
}
