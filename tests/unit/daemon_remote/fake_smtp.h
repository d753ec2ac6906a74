/*
 * tests/unit/daemon_remote/fake_smtp.h - a scripted SMTP server for the
 * remote delivery tests: a thread listening on a loopback address, one
 * connection at a time, replies from a table, every byte it received
 * recorded (after TLS: the plaintext).
 */
#ifndef FAKE_SMTP_H
#define FAKE_SMTP_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#define FAKE_RCPT_MAX	8
#define FAKE_REC_MAX	(256 * 1024)

struct fake_smtp {
	/* the script: each a whole reply with its CRLFs; NULL: default */
	const char *greeting;		/* "220 fake ESMTP" */
	const char *ehlo;		/* "250 fake" (no extensions) */
	const char *helo;		/* "250 fake" */
	const char *mail;		/* "250 2.1.0 ok" */
	const char *rcpt[FAKE_RCPT_MAX]; /* the i-th RCPT of a connection;
					 * "250 2.1.5 ok" */
	const char *data;		/* "354 go ahead" */
	const char *dot;		/* "250 2.0.0 queued" */
	const char *starttls;		/* "220 ready" (then TLS) */
	const char *auth;		/* "235 2.7.0 ok" */
	bool implicit_tls;		/* TLS from the first byte */
	SSL_CTX *ssl_ctx;		/* for STARTTLS / implicit TLS */
	unsigned greet_delay_ms;		/* before the greeting */

	/* filled in */
	char addr[64];
	uint16_t port;
	int lfd;
	pthread_t th;
	bool running;
	pthread_mutex_t mu;
	volatile bool stop;
	unsigned nconns;		/* connections accepted */
	unsigned ntls;			/* TLS handshakes completed */
	bool mail_batched;		/* DATA was already buffered when
					 * MAIL was read (PIPELINING) */
	char rec[FAKE_REC_MAX];		/* everything received */
	size_t reclen;
};

/* Starts f listening on addr (port: 0 = any; the chosen one in f->port).
 * Returns 0, or -1 (bind failed). */
int fake_smtp_start(struct fake_smtp *f, const char *addr, uint16_t port);
/* Stops the thread (after the current connection ends) and closes. */
void fake_smtp_stop(struct fake_smtp *f);
/* A copy of the recording, NUL-terminated (free it). */
char *fake_smtp_rec(struct fake_smtp *f);

/* A self-signed EC certificate for name: server context, and the PEM
 * certificate written to pem_path (a trust anchor for the client). */
SSL_CTX *fake_tls_ctx(const char *name, const char *pem_path);

#endif /* FAKE_SMTP_H */
