/*
 * daemon/remote.h - remote delivery: one delivery attempt of one message
 * to the recipients it has in one destination domain (MX lookup, the
 * connection, TLS as the destination's policy demands, the SMTP
 * transaction), with per-destination connection limits and reuse.
 *
 * Runs in the queue runner's delivery threads with blocking sockets and
 * a timeout on every read and write (RFC 5321 4.5.3.2). The context is
 * shared by those threads; a resolver is not, so every call takes the
 * calling thread's own. docs/delivery.md has the rules.
 */
#ifndef GW_REMOTE_H
#define GW_REMOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mailsec/err.h>

struct mailsec_resolver;
struct tlsp_ctx;
struct remote_ctx;

struct remote_cfg {
	const char *helo;		/* our host name in EHLO */
	uint16_t port;			/* destination port: 25 (tests use
					 * another) */
	unsigned connect_timeout;	/* s; 0: 30 */
	unsigned command_timeout;	/* s; 0: 300 (RFC 5321 4.5.3.2) */
	unsigned data_timeout;		/* s; 0: 600 (the final dot) */
	unsigned per_destination;	/* connections per destination; 0: 4 */
	unsigned reuse_idle;		/* s an idle connection is kept;
					 * 0: 30 */
	unsigned reuse_max;		/* messages per connection; 0: 100 */
	unsigned slot_wait;		/* s to wait for a free connection
					 * slot of the destination; 0: 30 */
	/* smarthost: when relay_host is set, all non-local mail goes
	 * there (relay_port 587 STARTTLS required, or 465 implicit TLS) */
	const char *relay_host;
	uint16_t relay_port;
	bool relay_implicit_tls;
	const char *relay_user;		/* AUTH, only after TLS */
	const char *relay_password;
	bool require_tls;		/* never plaintext, any destination */
	const char *bind4;		/* source addresses, NULL: any */
	const char *bind6;
	const char *ca_file;		/* trust anchors, NULL: the system's */
};

/*
 * The message to send. read() fills buf with the next bytes of the
 * message as it is to be sent (header fields to prepend, then the stored
 * message; CRLF lines) and sets *got (0 at the end); rewind() starts it
 * again (a second MX host, a reused connection).
 */
struct remote_msg {
	const char *mail_from;		/* "" for the null sender */
	uint64_t size;			/* bytes read() will give */
	const char *body;		/* "7BIT", "8BITMIME", "BINARYMIME" or
					 * NULL */
	bool smtputf8;
	const char *ret;		/* DSN RET=, or NULL */
	const char *envid;		/* DSN ENVID=, or NULL */
	mailsec_err (*read)(void *arg, char *buf, size_t sz, size_t *got);
	mailsec_err (*rewind)(void *arg);
	void *arg;
};

enum remote_result { REMOTE_OK = 0, REMOTE_TEMP, REMOTE_PERM };

/* One recipient: addr, notify, orcpt in; the rest out. */
struct remote_rcpt {
	const char *addr;
	const char *notify;		/* DSN NOTIFY=, or NULL */
	const char *orcpt;		/* DSN ORCPT=, or NULL */
	enum remote_result result;
	int code;			/* the SMTP reply code; 556 for a
					 * null MX (RFC 7504); 0: none (a
					 * local reason: connection failed,
					 * TLS policy) */
	char enhanced[16];		/* "5.1.1" or "" */
	char text[512];			/* "mx.example.org[192.0.2.1]: 550
					 * 5.1.1 no such user" or the local
					 * reason */
	char mx[256];			/* the host that answered, or "" */
};

/* What one attempt used: for the queue listing and the log. */
struct remote_info {
	char tls[128];			/* "TLSv1.3 TLS_AES_256_GCM_SHA384
					 * (dane)", or "none" */
	char mx[256];
	char ip[64];
};

/*
 * Creates the shared context (cfg copied). tls may be NULL: opportunistic
 * TLS only, no MTA-STS or DANE. Errors: MAILSEC_EINVAL (a bad relay
 * host or bind address), MAILSEC_ENOMEM.
 */
mailsec_err remote_new(struct remote_ctx **out, const struct remote_cfg *cfg,
    struct tlsp_ctx *tls);

/* Closes cached connections (QUIT) and frees rc; NULL is a no-op. */
void remote_free(struct remote_ctx *rc);

/*
 * Delivers msg to the n recipients (all in domain). A null MX (RFC 7505)
 * makes every recipient REMOTE_PERM, 556 "5.1.10"; no MX means the
 * implicit MX (the domain's own A/AAAA). MX hosts are tried in
 * preference order (equal preferences shuffled), each address in turn,
 * until every recipient has a final answer or the hosts are exhausted
 * (then REMOTE_TEMP with the last error). A destination whose TLS policy
 * (MTA-STS enforce, DANE, require_tls) cannot be met is REMOTE_TEMP, and
 * nothing is sent in clear. DANE (RFC 7672) applies to MX hosts whose MX
 * and address answers were DNSSEC-secure: a secure TLSA RRset makes TLS
 * mandatory, authenticated by the records when one is usable. Waits a
 * bounded time for a free connection slot of the destination, else
 * REMOTE_TEMP. Returns MAILSEC_OK when every rcpt has a result (whatever
 * it is); an error only for a local failure (ENOMEM; msg->read failing:
 * EIO), rcpts then all TEMP.
 */
mailsec_err remote_deliver(struct remote_ctx *rc, struct mailsec_resolver *res,
    const char *domain, const struct remote_msg *msg,
    struct remote_rcpt *rcpts, size_t n, struct remote_info *info);

#endif /* GW_REMOTE_H */
