/*
 * daemon/remote_int.h - the inside of remote delivery, shared by
 * remote.c (MX routing, the attempt and its transaction, connection
 * reuse and per-destination limits, the context) and remote_conn.c (a
 * connection: timed socket I/O, TLS, opening an SMTP session up to
 * MAIL).
 */
#ifndef GW_REMOTE_INT_H
#define GW_REMOTE_INT_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include <mailsec/smtp_client.h>

#include "core/core.h"
#include "remote.h"
#include "tlspolicy.h"

/* A command line with every parameter (mailsec/smtp.h allowances). */
#define REMOTE_CMD_MAX		2048
/* The text of one reply as kept for a recipient. */
#define REMOTE_TEXT_MAX		400

/* One SMTP connection: the socket, TLS, what the server offered, the read
 * buffer of the reply reader. */
struct remote_conn {
	struct remote_conn	*next;		/* in the idle list */
	int			 fd;
	SSL			*ssl;
	bool			 verified;	/* TLS verified (policy) */
	char			 host[256];
	char			 ip[64];
	char			 tls[128];
	char			 err[256];	/* the last I/O failure */
	struct mailsec_smtp_ehlo eh;
	unsigned		 nmsgs;		/* transactions sent */
	int64_t			 idle_since;	/* ms, monotonic */
	struct mailsec_smtp_creader rd;
	struct mailsec_smtp_creply reply;
	size_t			 rpos, rlen;
	char			 rbuf[4096];
};

struct remote_dest;

struct remote_ctx {
	struct remote_cfg	 cfg;		/* strings: our own copies */
	char			*helo, *relay_host, *relay_user;
	char			*relay_password, *bind4s, *bind6s, *ca_file;
	struct in_addr		 bind4;
	struct in6_addr		 bind6;
	struct tlsp_ctx		*tls;
	SSL_CTX			*ssl_ctx;
	pthread_mutex_t		 mu;
	pthread_cond_t		 reap_cv;	/* wakes the reaper */
	pthread_t		 reaper;
	bool			 reaper_on;
	bool			 closing;
	struct remote_dest	*dests;
};

/* ---- the attempt -------------------------------------------------------- */

enum rstate { RS_PENDING = 0, RS_ACCEPTED, RS_FINAL };

struct remote_addr {
	int		family;
	union {
		struct in_addr	v4;
		struct in6_addr	v6;
	} u;
	char		ip[INET6_ADDRSTRLEN];
};

/* The TLS a session to one host must have. */
struct hostpol {
	bool		required;	/* never plaintext */
	bool		relay;		/* verify: trust anchors + name */
	bool		implicit;	/* TLS from the first byte */
	bool		have_dane;	/* dane was looked up */
	struct tlsp_dane dane;
};

/* One remote_deliver() call. */
struct attempt {
	struct remote_ctx	*rc;
	struct mailsec_resolver	*res;
	const char		*domain;
	const struct remote_msg	*msg;
	struct remote_rcpt	*rcpts;
	unsigned char		*st;		/* enum rstate per rcpt */
	size_t			 n;
	struct remote_info	*info;
	bool			 relay;
	uint16_t		 port;
	bool			 have_pol;
	struct tlsp_domain	 pol;
	bool			 mx_secure;	/* the MX answer (or its
						 * denial) was DNSSEC-secure */
	mailsec_err		 local;		/* a local failure (EIO) */
	/* the failure the pending recipients get when hosts run out */
	char			 lasterr[512];
	char			 lastenh[16];
	bool			 temp;		/* lasterr is temporary */
	bool			 contacted;	/* a host was tried */
};

enum sess_outcome {
	SESS_OK,
	SESS_FAIL,		/* a->lasterr; next address */
	SESS_TLS_RETRY		/* handshake failed, TLS optional: again in
				 * plaintext */
};

/* ---- remote_conn.c ------------------------------------------------------ */

/* The monotonic clock, ms. */
int64_t remote_now_ms(void);
/* snprintf where cutting is intended (texts for logs and DSNs, names
 * already bounded): no result to check. */
void remote_sfmt(char *out, size_t outsz, const char *fmt, ...)
    MS_PRINTF(3, 4);
/* Replaces bytes that have no business in a log line or a DSN. */
void remote_text_clean(char *s);

/* Writes (p, len) within tmo seconds: 0, or -1 (c->err). */
int remote_conn_write(struct remote_conn *c, const char *p, size_t len,
    unsigned tmo);
/* Reads one reply into c->reply: 0, or -1 (c->err). */
int remote_conn_reply(struct remote_conn *c, unsigned tmo);
/* Writes a command and reads its reply. */
int remote_conn_cmd(struct remote_conn *c, const char *line, size_t len,
    unsigned tmo);
/* Closes c (QUIT first when quit) and frees it; NULL is a no-op. */
void remote_conn_close(struct remote_conn *c, bool quit);
/* "host[ip]: 550 5.1.1 text" of the reply just read. */
void remote_conn_reply_text(const struct remote_conn *c, char *out,
    size_t outsz);
/*
 * Opens a session to one address of host: connect, implicit TLS,
 * greeting, EHLO, STARTTLS and EHLO again, AUTH. *out is the session
 * ready for MAIL, or NULL (a->lasterr says why).
 */
enum sess_outcome remote_sess_open(struct attempt *a, const char *host,
    const struct remote_addr *ad, struct hostpol *hp, bool plain,
    struct remote_conn **out);
/* The delivery threads' client SSL_CTX (trust anchors from ca_file,
 * NULL: the system's; DANE enabled), or NULL. */
SSL_CTX *remote_ssl_ctx_new(const char *ca_file);

/* ---- remote.c ----------------------------------------------------------- */

/* Records why the pending recipients are not delivered (yet). */
void remote_att_fail(struct attempt *a, bool temp, const char *enh,
    const char *fmt, ...) MS_PRINTF(4, 5);
/* TLS-RPT: one session's outcome (not for the smarthost); ip NULL when
 * no connection was made. */
void remote_att_report(struct attempt *a, const char *host, const char *ip,
    const struct hostpol *hp, bool ok, const char *type);

#endif /* GW_REMOTE_INT_H */
