/*
 * daemon/remote.c - remote delivery (daemon/remote.h): the MX hosts of a
 * destination (RFC 5321 5.1, RFC 7505 null MX), a connection to one of
 * their addresses with a timeout on every step (RFC 5321 4.5.3.2), the
 * TLS the destination's policy asks for (RFC 3207 STARTTLS, RFC 8314
 * implicit TLS to a smarthost, MTA-STS and DANE through tlspolicy.h), the
 * SMTP transaction (RFC 5321 3.3, RFC 2920 PIPELINING, RFC 1870 SIZE,
 * RFC 6152 8BITMIME, RFC 6531 SMTPUTF8, RFC 3461 DSN parameters, RFC 4954
 * AUTH), and the connections kept idle for the next message to the same
 * destination within a per-destination limit.
 *
 * The protocol itself (replies, EHLO keywords, command lines, the
 * dot-stuffer) is libmailsec's (mailsec/smtp_client.h); this file does
 * the I/O: blocking in the caller's thread, sockets non-blocking under
 * poll() so that every wait has a deadline. docs/delivery.md, "Remote
 * delivery", has the rules this file implements.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <mailsec/dns.h>
#include <mailsec/smtp_client.h>

#include "core/core.h"
#include "remote.h"
#include "tls.h"
#include "tlspolicy.h"

/* RFC 5321 5.1 allows a limit on the alternatives tried; it asks for at
 * least two addresses. */
#define REMOTE_MX_MAX		10	/* MX hosts considered per attempt */
#define REMOTE_ADDR_MAX		20	/* addresses tried per attempt */
#define REMOTE_HOST_ADDR_MAX	8	/* addresses kept per host and family */
#define REMOTE_SLOT_WAIT	30	/* s for a free connection slot */
#define REMOTE_PORT		25
#define REMOTE_RELAY_PORT	587
#define REMOTE_RELAY_TLS_PORT	465
/* RFC 5321 4.5.3.2: 5 min for a reply, 10 for the final dot. */
#define REMOTE_CONNECT_TIMEOUT	30
#define REMOTE_COMMAND_TIMEOUT	300
#define REMOTE_DATA_TIMEOUT	600
#define REMOTE_PER_DEST		4
/* The reply code of a null MX destination (RFC 7504, RFC 7505). */
#define REMOTE_NULL_MX_CODE	556
#define REMOTE_REUSE_IDLE	30
#define REMOTE_REUSE_MAX	100
/* A command line with every parameter (mailsec/smtp.h allowances). */
#define REMOTE_CMD_MAX		2048
/* Message bytes read and dot-stuffed per write. */
#define REMOTE_CHUNK		16384
/* The text of one reply as kept for a recipient. */
#define REMOTE_TEXT_MAX		400

/* ---- the context ------------------------------------------------------- */

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

/* A destination (a domain, or the smarthost): its open connections and
 * the threads waiting for one. Freed when nothing refers to it. */
struct remote_dest {
	struct remote_dest	*next;
	char			*key;
	unsigned		 nconn;		/* open or opening */
	unsigned		 nwait;		/* threads in slot_acquire */
	pthread_cond_t		 cv;
	struct remote_conn	*idle;
};

struct remote_ctx {
	struct remote_cfg	 cfg;		/* strings point to own copies */
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

static int64_t
now_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
abstime_ms(struct timespec *ts, int64_t ms)
{
	ts->tv_sec = (time_t)(ms / 1000);
	ts->tv_nsec = (long)(ms % 1000) * 1000000;
}

static int
cond_init_mono(pthread_cond_t *cv)
{
	pthread_condattr_t ca;
	int r;

	if (pthread_condattr_init(&ca) != 0)
		return -1;
	(void)pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	r = pthread_cond_init(cv, &ca);
	(void)pthread_condattr_destroy(&ca);
	return r == 0 ? 0 : -1;
}

/* snprintf where cutting is intended (texts for logs and DSNs, names
 * already bounded): no result to check. */
static void
sfmt(char *out, size_t outsz, const char *fmt, ...) MS_PRINTF(3, 4);

static void
sfmt(char *out, size_t outsz, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(out, outsz, fmt, ap);
	va_end(ap);
}

/* Copies a string for the context; *ok cleared on ENOMEM. */
static char *
dupz(const char *s, bool *ok)
{
	char *d;

	if (s == NULL)
		return NULL;
	if ((d = strdup(s)) == NULL)
		*ok = false;
	return d;
}

/* Replaces bytes that have no business in a log line or a DSN. */
static void
text_clean(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			*s = *s == '\n' ? ' ' : '?';
}

/* ---- connections: socket I/O with deadlines ---------------------------- */

static void
conn_errf(struct remote_conn *c, const char *fmt, ...) MS_PRINTF(2, 3);

static void
conn_errf(struct remote_conn *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(c->err, sizeof c->err, fmt, ap);
	va_end(ap);
}

/* The most useful OpenSSL error text, queue cleared. */
static void
ssl_errtext(char *out, size_t outsz)
{
	unsigned long e, last = 0;

	while ((e = ERR_get_error()) != 0)
		last = e;
	if (last != 0)
		ERR_error_string_n(last, out, outsz);
	else
		sfmt(out, outsz, "%s",
		    errno != 0 ? strerror(errno) : "connection closed");
}

/* Waits for ev on the socket until deadline (ms): 0, or -1 with c->err. */
static int
conn_wait(struct remote_conn *c, short ev, int64_t deadline)
{
	struct pollfd pfd;
	int64_t left;
	int r;

	for (;;) {
		left = deadline - now_ms();
		if (left <= 0) {
			conn_errf(c, "timed out");
			return -1;
		}
		pfd.fd = c->fd;
		pfd.events = ev;
		pfd.revents = 0;
		r = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
		if (r > 0)
			return 0;
		if (r == -1 && errno != EINTR) {
			conn_errf(c, "poll: %s", strerror(errno));
			return -1;
		}
	}
}

/* After SSL_ERROR_WANT_*: waits; -1 (c->err) for any other error. */
static int
conn_ssl_wait(struct remote_conn *c, int r, int64_t deadline,
    const char *what)
{
	char buf[200];
	int e = SSL_get_error(c->ssl, r);

	if (e == SSL_ERROR_WANT_READ)
		return conn_wait(c, POLLIN, deadline);
	if (e == SSL_ERROR_WANT_WRITE)
		return conn_wait(c, POLLOUT, deadline);
	if (e == SSL_ERROR_ZERO_RETURN) {
		conn_errf(c, "connection closed");
		return -1;
	}
	ssl_errtext(buf, sizeof buf);
	conn_errf(c, "%s: %s", what, buf);
	return -1;
}

static int
conn_write(struct remote_conn *c, const char *p, size_t len, unsigned tmo)
{
	int64_t deadline = now_ms() + (int64_t)tmo * 1000;
	ssize_t w;
	int r;

	while (len > 0) {
		if (c->ssl != NULL) {
			ERR_clear_error();
			r = SSL_write(c->ssl, p,
			    len > INT32_MAX ? INT32_MAX : (int)len);
			if (r > 0) {
				p += r;
				len -= (size_t)r;
			} else if (conn_ssl_wait(c, r, deadline, "write")
			    == -1)
				return -1;
			continue;
		}
		w = send(c->fd, p, len, MSG_NOSIGNAL);
		if (w >= 0) {
			p += w;
			len -= (size_t)w;
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			if (conn_wait(c, POLLOUT, deadline) == -1)
				return -1;
		} else if (errno != EINTR) {
			conn_errf(c, "write: %s", strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* Reads more bytes into the (empty) buffer. */
static int
conn_fill(struct remote_conn *c, int64_t deadline)
{
	ssize_t n;
	int r;

	c->rpos = c->rlen = 0;
	for (;;) {
		if (c->ssl != NULL) {
			ERR_clear_error();
			errno = 0;
			r = SSL_read(c->ssl, c->rbuf, (int)sizeof c->rbuf);
			if (r > 0) {
				c->rlen = (size_t)r;
				return 0;
			}
			if (conn_ssl_wait(c, r, deadline, "read") == -1)
				return -1;
			continue;
		}
		n = recv(c->fd, c->rbuf, sizeof c->rbuf, 0);
		if (n > 0) {
			c->rlen = (size_t)n;
			return 0;
		}
		if (n == 0) {
			conn_errf(c, "connection closed");
			return -1;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			if (conn_wait(c, POLLIN, deadline) == -1)
				return -1;
		} else if (errno != EINTR) {
			conn_errf(c, "read: %s", strerror(errno));
			return -1;
		}
	}
}

/* Reads one reply into c->reply: 0, or -1 (c->err). */
static int
conn_reply(struct remote_conn *c, unsigned tmo)
{
	int64_t deadline = now_ms() + (int64_t)tmo * 1000;
	struct mailsec_diag diag;
	mailsec_err err;
	size_t used;

	for (;;) {
		if (c->rpos < c->rlen) {
			memset(&diag, 0, sizeof diag);
			err = mailsec_smtp_creader_feed(&c->rd,
			    c->rbuf + c->rpos, c->rlen - c->rpos, &used,
			    &c->reply, &diag);
			c->rpos += used;
			if (err == MAILSEC_OK)
				return 0;
			if (err != MAILSEC_EAGAIN) {
				conn_errf(c, "malformed reply: %s",
				    diag.set ? diag.text :
				    mailsec_strerror(err));
				return -1;
			}
			c->rpos = c->rlen;
		}
		if (conn_fill(c, deadline) == -1)
			return -1;
	}
}

/* Writes a command and reads its reply. */
static int
conn_cmd(struct remote_conn *c, const char *line, size_t len, unsigned tmo)
{
	if (conn_write(c, line, len, tmo) == -1)
		return -1;
	return conn_reply(c, tmo);
}

static void
conn_close(struct remote_conn *c, bool quit)
{
	if (c == NULL)
		return;
	if (quit && c->fd != -1) {
		/* Best effort, short: the answer changes nothing. */
		if (conn_write(c, "QUIT\r\n", 6, 5) == 0)
			(void)conn_reply(c, 5);
	}
	if (c->ssl != NULL) {
		if (quit)
			(void)SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
	}
	if (c->fd != -1)
		(void)close(c->fd);
	free(c);
}

/* "host[ip]: 550 5.1.1 text" of the reply just read. */
static void
conn_reply_text(const struct remote_conn *c, char *out, size_t outsz)
{
	char text[REMOTE_TEXT_MAX];

	sfmt(text, sizeof text, "%s", c->reply.text);
	text_clean(text);
	sfmt(out, outsz, "%s[%s]: %d%s%s%s%s", c->host, c->ip,
	    c->reply.code, c->reply.enhanced[0] != '\0' ? " " : "",
	    c->reply.enhanced, text[0] != '\0' ? " " : "", text);
}

/* ---- the attempt -------------------------------------------------------- */

enum rstate { RS_PENDING = 0, RS_ACCEPTED, RS_FINAL };

/* One MX host (or the implicit MX, or the smarthost). */
struct remote_target {
	char		host[256];
	uint16_t	pref;
	uint32_t	rnd;		/* shuffles equal preferences */
};

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

static void
att_fail(struct attempt *a, bool temp, const char *enh, const char *fmt, ...)
    MS_PRINTF(4, 5);

/* Records why the pending recipients are not delivered (yet). */
static void
att_fail(struct attempt *a, bool temp, const char *enh, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(a->lasterr, sizeof a->lasterr, fmt, ap);
	va_end(ap);
	text_clean(a->lasterr);
	sfmt(a->lastenh, sizeof a->lastenh, "%s", enh);
	a->temp = temp;
}

static void
rcpt_set(struct remote_rcpt *r, enum remote_result result, int code,
    const char *enh, const char *mx, const char *text)
{
	r->result = result;
	r->code = code;
	sfmt(r->enhanced, sizeof r->enhanced, "%s", enh);
	sfmt(r->text, sizeof r->text, "%s", text);
	sfmt(r->mx, sizeof r->mx, "%s", mx);
}

/* A recipient's final answer from the server, from c->reply. */
static void
rcpt_reply(struct attempt *a, size_t i, const struct remote_conn *c)
{
	char text[512];
	enum remote_result res;

	switch (mailsec_smtp_reply_class(c->reply.code)) {
	case MAILSEC_SMTP_OK:
		res = REMOTE_OK;
		break;
	case MAILSEC_SMTP_PERM:
		res = REMOTE_PERM;
		break;
	default:
		res = REMOTE_TEMP;
		break;
	}
	conn_reply_text(c, text, sizeof text);
	rcpt_set(&a->rcpts[i], res, c->reply.code, c->reply.enhanced,
	    c->host, text);
	a->st[i] = RS_FINAL;
}

/* Every pending or accepted recipient gets a local final answer. */
static void
att_final_all(struct attempt *a, enum remote_result res, const char *enh,
    const char *mx, const char *text)
{
	size_t i;

	for (i = 0; i < a->n; i++) {
		if (a->st[i] == RS_FINAL)
			continue;
		rcpt_set(&a->rcpts[i], res, 0, enh, mx, text);
		a->st[i] = RS_FINAL;
	}
}

static bool
att_done(const struct attempt *a)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		if (a->st[i] != RS_FINAL)
			return false;
	return true;
}

/* Recipients accepted in a transaction that did not finish are pending
 * again (another host, or the next attempt). */
static void
att_unaccept(struct attempt *a)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		if (a->st[i] == RS_ACCEPTED)
			a->st[i] = RS_PENDING;
}

static void
att_report(struct attempt *a, const char *host, const char *ip,
    const struct hostpol *hp, bool ok, const char *type)
{
	if (a->rc->tls == NULL || a->relay)
		return;
	tlsp_report_result(a->rc->tls, a->domain,
	    a->have_pol ? &a->pol : NULL,
	    hp != NULL && hp->have_dane ? &hp->dane : NULL, host, ip, ok,
	    ok ? NULL : type);
}

/* ---- MX hosts and addresses -------------------------------------------- */

static int
target_cmp(const void *x, const void *y)
{
	const struct remote_target *a = x, *b = y;

	if (a->pref != b->pref)
		return a->pref < b->pref ? -1 : 1;
	if (a->rnd != b->rnd)
		return a->rnd < b->rnd ? -1 : 1;
	return 0;
}

/* An MX exchange that is an address literal: RFC 5321 5.1 wants a name. */
static bool
is_addr_literal(const char *s)
{
	struct in6_addr a6;
	struct in_addr a4;

	return s[0] == '[' || inet_pton(AF_INET, s, &a4) == 1 ||
	    inet_pton(AF_INET6, s, &a6) == 1;
}

enum mx_outcome { MX_HOSTS, MX_NULL, MX_FAIL };

/*
 * The hosts to try for a->domain, best first (RFC 5321 5.1): the MX
 * records by preference (equal ones shuffled), at most REMOTE_MX_MAX;
 * the domain itself when it has none (NODATA); MX_NULL for a null MX
 * (RFC 7505: the only MX record, exchange "."); MX_FAIL with a->lasterr
 * otherwise (a temporary DNS failure, NXDOMAIN, only unusable records).
 */
static enum mx_outcome
mx_hosts(struct attempt *a, struct remote_target *t, size_t *nt)
{
	struct mailsec_dns_result *res = NULL;
	const struct mailsec_dns_rr *rr;
	enum mx_outcome out = MX_FAIL;
	size_t i, nmx = 0, k = 0, cap;
	struct remote_target *all = NULL;
	uint32_t rnd;

	*nt = 0;
	if (mailsec_dns_lookup(a->res, a->domain, MAILSEC_DNS_MX, &res) !=
	    MAILSEC_OK) {
		att_fail(a, true, "4.4.3", "MX lookup for %s failed",
		    a->domain);
		goto done;
	}
	if (mailsec_dns_status_is_temporary(res->status)) {
		att_fail(a, true, "4.4.3", "MX lookup for %s: %s%s%s",
		    a->domain, mailsec_dns_status_name(res->status),
		    res->why[0] != '\0' ? ": " : "", res->why);
		goto done;
	}
	/* RFC 7672 2.2.1: DANE only for hosts from a secure MX answer (a
	 * secure denial for the implicit MX) */
	a->mx_secure = res->secure;
	if (res->status == MAILSEC_DNS_NXDOMAIN) {
		/* RFC 5321 5.1: "MUST be reported as an error". */
		att_fail(a, false, "5.1.2", "domain %s does not exist",
		    a->domain);
		goto done;
	}
	for (i = 0; i < res->count; i++)
		if (res->rrs[i].type == MAILSEC_DNS_MX)
			nmx++;
	if (nmx == 0) {
		/* The implicit MX: the domain itself, preference 0. */
		if (strlen(a->domain) >= sizeof t[0].host) {
			att_fail(a, false, "5.1.2", "domain name too long");
			goto done;
		}
		sfmt(t[0].host, sizeof t[0].host, "%s", a->domain);
		t[0].pref = 0;
		*nt = 1;
		out = MX_HOSTS;
		goto done;
	}
	if (nmx == 1) {
		for (i = 0; i < res->count; i++) {
			rr = &res->rrs[i];
			if (rr->type == MAILSEC_DNS_MX &&
			    rr->u.mx.exchange[0] == '\0') {
				out = MX_NULL;
				goto done;
			}
		}
	}
	cap = nmx;
	if ((all = ms_calloc(cap, sizeof *all)) == NULL) {
		a->local = MAILSEC_ENOMEM;
		att_fail(a, true, "4.3.0", "out of memory");
		goto done;
	}
	for (i = 0; i < res->count; i++) {
		rr = &res->rrs[i];
		if (rr->type != MAILSEC_DNS_MX)
			continue;
		/* A "." among other MX records, a literal, a name too
		 * long: not a host to try. */
		if (rr->u.mx.exchange[0] == '\0' ||
		    is_addr_literal(rr->u.mx.exchange) ||
		    strlen(rr->u.mx.exchange) >= sizeof all[k].host)
			continue;
		sfmt(all[k].host, sizeof all[k].host, "%s",
		    rr->u.mx.exchange);
		all[k].pref = rr->u.mx.preference;
		if (RAND_bytes((unsigned char *)&rnd, sizeof rnd) != 1)
			rnd = (uint32_t)k;
		all[k].rnd = rnd;
		k++;
	}
	if (k == 0) {
		att_fail(a, false, "5.4.4", "no usable MX host for %s",
		    a->domain);
		goto done;
	}
	qsort(all, k, sizeof *all, target_cmp);
	if (k > REMOTE_MX_MAX)
		k = REMOTE_MX_MAX;
	memcpy(t, all, k * sizeof *all);
	*nt = k;
	out = MX_HOSTS;
done:
	free(all);
	mailsec_dns_result_free(res);
	return out;
}

/*
 * The addresses of host: IPv4 first, then IPv6 (an IPv6 route that
 * silently drops would cost a connect timeout per host; RFC 5321 5.1
 * leaves the order between families to the client). Returns the count;
 * 0 with a->lasterr when there are none, a->temp set if a lookup failed
 * temporarily. *secure: there are addresses and every answer that gave
 * some was DNSSEC-secure (RFC 7672 2.2.2: DANE only then).
 */
static size_t
host_addrs(struct attempt *a, const char *host, struct remote_addr *out,
    size_t max, bool *secure)
{
	static const uint16_t types[2] = { MAILSEC_DNS_A, MAILSEC_DNS_AAAA };
	struct mailsec_dns_result *res;
	bool temp = false, sec = true;
	size_t n = 0, i, t, per, before;
	const struct mailsec_dns_rr *rr;
	char why[160] = "";

	*secure = false;
	/* A literal (the smarthost may be given as one). */
	if (inet_pton(AF_INET, host, &out[0].u.v4) == 1) {
		out[0].family = AF_INET;
		sfmt(out[0].ip, sizeof out[0].ip, "%s", host);
		return 1;
	}
	if (inet_pton(AF_INET6, host, &out[0].u.v6) == 1) {
		out[0].family = AF_INET6;
		sfmt(out[0].ip, sizeof out[0].ip, "%s", host);
		return 1;
	}
	for (t = 0; t < 2; t++) {
		res = NULL;
		if (mailsec_dns_lookup(a->res, host, types[t], &res) !=
		    MAILSEC_OK) {
			temp = true;
			continue;
		}
		if (mailsec_dns_status_is_temporary(res->status)) {
			temp = true;
			sfmt(why, sizeof why, "%s lookup: %s",
			    mailsec_dns_type_name(types[t]),
			    mailsec_dns_status_name(res->status));
		}
		per = 0;
		before = n;
		for (i = 0; i < res->count && n < max &&
		    per < REMOTE_HOST_ADDR_MAX; i++) {
			rr = &res->rrs[i];
			if (rr->type == MAILSEC_DNS_A) {
				out[n].family = AF_INET;
				memcpy(&out[n].u.v4, rr->u.a, 4);
				/* 0.0.0.0 is "this host", not a server. */
				if (out[n].u.v4.s_addr == 0)
					continue;
			} else if (rr->type == MAILSEC_DNS_AAAA) {
				out[n].family = AF_INET6;
				memcpy(&out[n].u.v6, rr->u.aaaa, 16);
				if (IN6_IS_ADDR_UNSPECIFIED(&out[n].u.v6))
					continue;
			} else
				continue;
			(void)inet_ntop(out[n].family, &out[n].u,
			    out[n].ip, sizeof out[n].ip);
			n++;
			per++;
		}
		if (n > before && !res->secure)
			sec = false;
		mailsec_dns_result_free(res);
	}
	*secure = n > 0 && sec;
	if (n == 0) {
		if (temp)
			att_fail(a, true, "4.4.3", "%s: %s", host,
			    why[0] != '\0' ? why : "address lookup failed");
		else if (!a->temp || a->lasterr[0] == '\0')
			att_fail(a, false, "5.4.4", "%s: no address", host);
	}
	return n;
}

/* ---- opening a session -------------------------------------------------- */

static int
conn_connect(struct attempt *a, struct remote_conn *c,
    const struct remote_addr *ad, uint16_t port)
{
	const struct remote_ctx *rc = a->rc;
	struct sockaddr_storage ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	socklen_t sl, el = sizeof(int);
	int64_t deadline;
	int e = 0;

	c->fd = socket(ad->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (c->fd == -1) {
		conn_errf(c, "socket: %s", strerror(errno));
		return -1;
	}
	memset(&ss, 0, sizeof ss);
	if (ad->family == AF_INET && rc->bind4s != NULL) {
		s4->sin_family = AF_INET;
		s4->sin_addr = rc->bind4;
		if (bind(c->fd, (struct sockaddr *)s4, sizeof *s4) == -1) {
			conn_errf(c, "bind %s: %s", rc->bind4s,
			    strerror(errno));
			return -1;
		}
	} else if (ad->family == AF_INET6 && rc->bind6s != NULL) {
		s6->sin6_family = AF_INET6;
		s6->sin6_addr = rc->bind6;
		if (bind(c->fd, (struct sockaddr *)s6, sizeof *s6) == -1) {
			conn_errf(c, "bind %s: %s", rc->bind6s,
			    strerror(errno));
			return -1;
		}
	}
	memset(&ss, 0, sizeof ss);
	if (ad->family == AF_INET) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		s4->sin_addr = ad->u.v4;
		sl = sizeof *s4;
	} else {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		s6->sin6_addr = ad->u.v6;
		sl = sizeof *s6;
	}
	if (connect(c->fd, (struct sockaddr *)&ss, sl) == 0)
		return 0;
	if (errno != EINPROGRESS && errno != EINTR) {
		conn_errf(c, "connect: %s", strerror(errno));
		return -1;
	}
	deadline = now_ms() + (int64_t)rc->cfg.connect_timeout * 1000;
	if (conn_wait(c, POLLOUT, deadline) == -1) {
		conn_errf(c, "connect: timed out");
		return -1;
	}
	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &el) == -1)
		e = errno;
	if (e != 0) {
		conn_errf(c, "connect: %s", strerror(e));
		return -1;
	}
	return 0;
}

enum sess_outcome {
	SESS_OK,
	SESS_FAIL,		/* a->lasterr; next address */
	SESS_TLS_RETRY		/* handshake failed, TLS optional: again in
				 * plaintext */
};

/* The TLS handshake on c (after STARTTLS, or at once for implicit TLS). */
static enum sess_outcome
sess_tls(struct attempt *a, struct remote_conn *c, struct hostpol *hp)
{
	struct remote_ctx *rc = a->rc;
	int64_t deadline = now_ms() +
	    (int64_t)rc->cfg.command_timeout * 1000;
	X509_VERIFY_PARAM *vp;
	const char *rtype = NULL, *how = "";
	char err[256], buf[200];
	struct in6_addr a6;
	struct in_addr a4;
	bool literal;
	long vr;
	int r;

	if ((c->ssl = SSL_new(rc->ssl_ctx)) == NULL ||
	    SSL_set_fd(c->ssl, c->fd) != 1) {
		ssl_errtext(buf, sizeof buf);
		att_fail(a, true, "4.7.5", "%s[%s]: TLS setup: %s", c->host,
		    c->ip, buf);
		return SESS_FAIL;
	}
	literal = inet_pton(AF_INET, c->host, &a4) == 1 ||
	    inet_pton(AF_INET6, c->host, &a6) == 1;
	if (hp->relay) {
		/* The smarthost: its certificate must chain to the trust
		 * anchors and name the host we were told to use. */
		SSL_set_verify(c->ssl, SSL_VERIFY_PEER, NULL);
		vp = SSL_get0_param(c->ssl);
		if (literal)
			r = X509_VERIFY_PARAM_set1_ip_asc(vp, c->host);
		else {
			r = SSL_set_tlsext_host_name(c->ssl, c->host) == 1 &&
			    SSL_set1_host(c->ssl, c->host) == 1;
			X509_VERIFY_PARAM_set_hostflags(vp,
			    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		}
		if (r != 1) {
			att_fail(a, true, "4.7.5", "%s[%s]: TLS setup failed",
			    c->host, c->ip);
			return SESS_FAIL;
		}
		how = " (verified)";
	} else if (rc->tls != NULL) {
		if (tlsp_ssl_prepare(rc->tls, c->ssl, c->host,
		    a->have_pol ? &a->pol : NULL,
		    hp->have_dane ? &hp->dane : NULL) != MAILSEC_OK) {
			att_fail(a, true, "4.7.5", "%s[%s]: TLS setup failed",
			    c->host, c->ip);
			return SESS_FAIL;
		}
	} else {
		/* Opportunistic (RFC 7435): encrypt, verify nothing. */
		SSL_set_verify(c->ssl, SSL_VERIFY_NONE, NULL);
		if (!literal)
			(void)SSL_set_tlsext_host_name(c->ssl, c->host);
	}
	for (;;) {
		ERR_clear_error();
		errno = 0;
		if ((r = SSL_connect(c->ssl)) == 1)
			break;
		if (SSL_get_error(c->ssl, r) == SSL_ERROR_SSL &&
		    (vr = SSL_get_verify_result(c->ssl)) != X509_V_OK) {
			sfmt(buf, sizeof buf,
			    "certificate verify failed: %s",
			    X509_verify_cert_error_string(vr));
			ERR_clear_error();
			conn_errf(c, "%s", buf);
			r = -1;
		} else
			r = conn_ssl_wait(c, r, deadline, "TLS handshake");
		if (r == -1) {
			att_fail(a, true, "4.7.5", "%s[%s]: TLS handshake: %s",
			    c->host, c->ip, c->err);
			att_report(a, c->host, c->ip, hp, false,
			    "validation-failure");
			return hp->required ? SESS_FAIL : SESS_TLS_RETRY;
		}
	}
	if (hp->relay) {
		if ((vr = SSL_get_verify_result(c->ssl)) != X509_V_OK) {
			att_fail(a, true, "4.7.5", "%s[%s]: certificate "
			    "verify failed: %s", c->host, c->ip,
			    X509_verify_cert_error_string(vr));
			return SESS_FAIL;
		}
		c->verified = true;
	} else if (rc->tls != NULL) {
		err[0] = '\0';
		if (tlsp_ssl_check(c->ssl, a->have_pol ? &a->pol : NULL,
		    hp->have_dane ? &hp->dane : NULL, &rtype, err,
		    sizeof err) != MAILSEC_OK) {
			att_report(a, c->host, c->ip, hp, false,
			    rtype != NULL ? rtype : "validation-failure");
			if (hp->required) {
				att_fail(a, true, "4.7.5", "%s[%s]: TLS policy "
				    "not met: %s", c->host, c->ip, err);
				return SESS_FAIL;
			}
			/* MTA-STS testing or none: reported, go on. */
		} else {
			att_report(a, c->host, c->ip, hp, true, NULL);
			if (hp->have_dane && hp->dane.usable) {
				c->verified = true;
				how = " (dane)";
			} else if (a->have_pol &&
			    a->pol.sts == TLSP_STS_ENFORCE) {
				c->verified = true;
				how = " (mta-sts)";
			}
		}
	}
	tls_describe(c->ssl, buf, sizeof buf);
	sfmt(c->tls, sizeof c->tls, "%s%s", buf, how);
	return SESS_OK;
}

/* EHLO, HELO when EHLO is refused and nothing needs an extension. */
static enum sess_outcome
sess_ehlo(struct attempt *a, struct remote_conn *c, const struct hostpol *hp,
    bool helo_ok)
{
	const struct remote_ctx *rc = a->rc;
	char line[REMOTE_CMD_MAX], text[512];
	int len;

	len = snprintf(line, sizeof line, "EHLO %s\r\n", rc->helo);
	if (len < 0 || (size_t)len >= sizeof line)
		return SESS_FAIL;
	if (conn_cmd(c, line, (size_t)len, rc->cfg.command_timeout) == -1) {
		att_fail(a, true, "4.4.2", "%s[%s]: EHLO: %s", c->host,
		    c->ip, c->err);
		return SESS_FAIL;
	}
	memset(&c->eh, 0, sizeof c->eh);
	if (c->reply.code / 100 == 2) {
		mailsec_smtp_ehlo_parse(&c->reply, &c->eh);
		return SESS_OK;
	}
	conn_reply_text(c, text, sizeof text);
	/* RFC 5321 3.2: an old server refuses EHLO with 5xx; HELO is
	 * fine unless TLS (or AUTH, which needs it) is required. */
	if (c->reply.code / 100 != 5 || hp->required || !helo_ok ||
	    c->reply.code == 554) {
		att_fail(a, true, "4.4.0", "%s (EHLO)", text);
		return SESS_FAIL;
	}
	len = snprintf(line, sizeof line, "HELO %s\r\n", rc->helo);
	if (len < 0 || (size_t)len >= sizeof line)
		return SESS_FAIL;
	if (conn_cmd(c, line, (size_t)len, rc->cfg.command_timeout) == -1) {
		att_fail(a, true, "4.4.2", "%s[%s]: HELO: %s", c->host,
		    c->ip, c->err);
		return SESS_FAIL;
	}
	if (c->reply.code / 100 != 2) {
		conn_reply_text(c, text, sizeof text);
		att_fail(a, true, "4.4.0", "%s (HELO)", text);
		return SESS_FAIL;
	}
	return SESS_OK;
}

/* RFC 4954 AUTH with the smarthost credentials: PLAIN (RFC 4616) or
 * LOGIN. Only ever on a verified TLS session. */
static enum sess_outcome
sess_auth(struct attempt *a, struct remote_conn *c)
{
	const struct remote_ctx *rc = a->rc;
	char line[1100], text[512];
	size_t len;
	int r;

	if (c->eh.auth_plain) {
		memcpy(line, "AUTH PLAIN ", 11);
		if (mailsec_smtp_auth_plain(rc->relay_user,
		    rc->relay_password != NULL ? rc->relay_password : "",
		    line + 11, sizeof line - 13, &len) != MAILSEC_OK)
			goto toolong;
		memcpy(line + 11 + len, "\r\n", 2);
		r = conn_cmd(c, line, 11 + len + 2, rc->cfg.command_timeout);
		OPENSSL_cleanse(line, sizeof line);
		if (r == -1)
			goto ioerr;
	} else if (c->eh.auth_login) {
		if (conn_cmd(c, "AUTH LOGIN\r\n", 12,
		    rc->cfg.command_timeout) == -1)
			goto ioerr;
		if (c->reply.code != 334)
			goto refused;
		if (mailsec_smtp_auth_login(rc->relay_user, line,
		    sizeof line - 2, &len) != MAILSEC_OK)
			goto toolong;
		memcpy(line + len, "\r\n", 2);
		if (conn_cmd(c, line, len + 2, rc->cfg.command_timeout) == -1)
			goto ioerr;
		if (c->reply.code != 334)
			goto refused;
		if (mailsec_smtp_auth_login(rc->relay_password != NULL ?
		    rc->relay_password : "", line, sizeof line - 2, &len) !=
		    MAILSEC_OK)
			goto toolong;
		memcpy(line + len, "\r\n", 2);
		r = conn_cmd(c, line, len + 2, rc->cfg.command_timeout);
		OPENSSL_cleanse(line, sizeof line);
		if (r == -1)
			goto ioerr;
	} else {
		att_fail(a, true, "4.7.0", "%s[%s]: no AUTH mechanism we can "
		    "use (PLAIN, LOGIN)", c->host, c->ip);
		return SESS_FAIL;
	}
	if (c->reply.code == 235)
		return SESS_OK;
refused:
	/* A refused login is a configuration problem here, not the
	 * message's: the mail waits (4.7.0) rather than bouncing. */
	conn_reply_text(c, text, sizeof text);
	att_fail(a, true, "4.7.0", "%s (AUTH)", text);
	return SESS_FAIL;
toolong:
	att_fail(a, true, "4.7.0", "%s[%s]: AUTH: credentials too long",
	    c->host, c->ip);
	return SESS_FAIL;
ioerr:
	att_fail(a, true, "4.4.2", "%s[%s]: AUTH: %s", c->host, c->ip,
	    c->err);
	return SESS_FAIL;
}

/*
 * Opens a session to one address of host: connect, implicit TLS,
 * greeting, EHLO, STARTTLS and EHLO again, AUTH. *out is the session
 * ready for MAIL, or NULL (a->lasterr says why).
 */
static enum sess_outcome
sess_open(struct attempt *a, const char *host, const struct remote_addr *ad,
    struct hostpol *hp, bool plain, struct remote_conn **out)
{
	struct remote_ctx *rc = a->rc;
	struct remote_conn *c;
	enum sess_outcome so = SESS_FAIL;
	char text[512];
	bool quit = false;

	*out = NULL;
	if ((c = calloc(1, sizeof *c)) == NULL) {
		a->local = MAILSEC_ENOMEM;
		att_fail(a, true, "4.3.0", "out of memory");
		return SESS_FAIL;
	}
	c->fd = -1;
	mailsec_smtp_creader_init(&c->rd);
	sfmt(c->host, sizeof c->host, "%s", host);
	sfmt(c->ip, sizeof c->ip, "%s", ad->ip);
	sfmt(c->tls, sizeof c->tls, "none");
	a->contacted = true;
	sfmt(a->info->mx, sizeof a->info->mx, "%s", host);
	sfmt(a->info->ip, sizeof a->info->ip, "%s", ad->ip);
	if (conn_connect(a, c, ad, a->port) == -1) {
		att_fail(a, true, "4.4.1", "%s[%s]: %s", host, ad->ip,
		    c->err);
		goto done;
	}
	if (hp->implicit && (so = sess_tls(a, c, hp)) != SESS_OK) {
		so = SESS_FAIL;
		goto done;
	}
	so = SESS_FAIL;
	if (conn_reply(c, rc->cfg.command_timeout) == -1) {
		att_fail(a, true, "4.4.2", "%s[%s]: greeting: %s", host,
		    ad->ip, c->err);
		goto done;
	}
	quit = true;
	if (c->reply.code / 100 != 2) {
		/* RFC 5321 3.1: 554 is "no service here"; another MX may
		 * serve (so the mail waits when all refuse). */
		conn_reply_text(c, text, sizeof text);
		att_fail(a, true, "4.4.0", "%s (greeting)", text);
		goto done;
	}
	if (sess_ehlo(a, c, hp, !hp->required) != SESS_OK)
		goto done;
	if (!hp->implicit && !plain && c->eh.starttls) {
		if (conn_cmd(c, "STARTTLS\r\n", 10, rc->cfg.command_timeout)
		    == -1) {
			att_fail(a, true, "4.4.2", "%s[%s]: STARTTLS: %s",
			    host, ad->ip, c->err);
			quit = false;
			goto done;
		}
		if (c->reply.code != 220) {
			conn_reply_text(c, text, sizeof text);
			att_fail(a, true, "4.7.5", "%s (STARTTLS)", text);
			att_report(a, host, ad->ip, hp, false,
			    "starttls-not-supported");
			if (hp->required)
				goto done;
		} else {
			quit = false;
			if ((so = sess_tls(a, c, hp)) != SESS_OK)
				goto done;
			so = SESS_FAIL;
			quit = true;
			/* RFC 3207 4.2: forget what was said in clear. */
			if (sess_ehlo(a, c, hp, false) != SESS_OK)
				goto done;
		}
	} else if (c->ssl == NULL) {
		if (hp->required) {
			att_fail(a, true, "4.7.4", "%s[%s]: TLS required but "
			    "not offered", host, ad->ip);
			att_report(a, host, ad->ip, hp, false,
			    "starttls-not-supported");
			goto done;
		}
		if (!plain)
			att_report(a, host, ad->ip, hp, false,
			    "starttls-not-supported");
	}
	if (c->ssl == NULL && hp->required)
		goto done;
	if (hp->relay && rc->relay_user != NULL) {
		if (c->ssl == NULL || !c->verified) {
			att_fail(a, true, "4.7.0", "%s[%s]: AUTH only over "
			    "verified TLS", host, ad->ip);
			goto done;
		}
		if (sess_auth(a, c) != SESS_OK)
			goto done;
	}
	so = SESS_OK;
done:
	if (so == SESS_OK) {
		*out = c;
		return SESS_OK;
	}
	conn_close(c, quit);
	return so;
}

/* ---- the transaction ---------------------------------------------------- */

static bool
has_8bit(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return true;
	return false;
}

/* Whether the message has bytes RFC 5321 text does not allow: 8-bit ones
 * (*eight), and for BINARYMIME also NUL, bare CR or LF, or a line over
 * 998 octets (*binary). -1 when read fails. */
static int
msg_scan(const struct remote_msg *msg, bool *eight, bool *binary)
{
	char buf[REMOTE_CHUNK];
	size_t got, i, line = 0;
	char prev = '\n';
	unsigned char ch;

	*eight = *binary = false;
	if (msg->rewind(msg->arg) != MAILSEC_OK)
		return -1;
	for (;;) {
		if (msg->read(msg->arg, buf, sizeof buf, &got) != MAILSEC_OK)
			return -1;
		if (got == 0)
			break;
		for (i = 0; i < got; i++) {
			ch = (unsigned char)buf[i];
			if (ch >= 0x80)
				*eight = true;
			if (ch == '\0' || (prev == '\r' && ch != '\n') ||
			    (ch == '\n' && prev != '\r'))
				*binary = true;
			line = ch == '\n' ? 0 : line + 1;
			if (line > 999)
				*binary = true;
			prev = (char)ch;
		}
	}
	if (prev == '\r')
		*binary = true;
	return msg->rewind(msg->arg) == MAILSEC_OK ? 0 : -1;
}

enum tx_outcome {
	TX_DONE,		/* the connection is usable for another one */
	TX_CLOSE		/* close it */
};

/* A connection-level failure during the transaction: recipients not
 * final go back to pending, with the failure as the last error. */
static enum tx_outcome
tx_lost(struct attempt *a, struct remote_conn *c, const char *what)
{
	char text[512];

	att_unaccept(a);
	if (c->reply.code == 421 && c->err[0] == '\0') {
		conn_reply_text(c, text, sizeof text);
		att_fail(a, true, "4.4.2", "%s", text);
	} else
		att_fail(a, true, "4.4.2", "%s[%s]: %s: %s", c->host, c->ip,
		    what, c->err);
	return TX_CLOSE;
}

/* Streams the message after 354: dot-stuffed, then ".". */
static int
tx_body(struct attempt *a, struct remote_conn *c)
{
	const struct remote_msg *msg = a->msg;
	struct mailsec_smtp_dotstuff ds;
	char *in = NULL, *out = NULL;
	size_t got, w;
	int rv = -1;

	if ((in = malloc(REMOTE_CHUNK)) == NULL ||
	    (out = malloc(mailsec_smtp_dotstuff_bound(REMOTE_CHUNK) + 8))
	    == NULL) {
		a->local = MAILSEC_ENOMEM;
		goto done;
	}
	if (msg->rewind(msg->arg) != MAILSEC_OK) {
		a->local = MAILSEC_EIO;
		goto done;
	}
	mailsec_smtp_dotstuff_init(&ds);
	for (;;) {
		if (msg->read(msg->arg, in, REMOTE_CHUNK, &got) !=
		    MAILSEC_OK) {
			a->local = MAILSEC_EIO;
			goto done;
		}
		if (got == 0)
			break;
		w = mailsec_smtp_dotstuff(&ds, in, got, out);
		if (conn_write(c, out, w, a->rc->cfg.command_timeout) == -1)
			goto done;
	}
	w = mailsec_smtp_dotstuff_finish(&ds, out);
	if (conn_write(c, out, w, a->rc->cfg.command_timeout) == -1)
		goto done;
	rv = 0;
done:
	free(in);
	free(out);
	return rv;
}

/* Whether the server can take the message (RFC 1870, 6152, 6531);
 * otherwise every recipient gets the permanent answer. *body is the
 * BODY= to declare. 0 go on, 1 answered, -1 read failure. */
static int
tx_check(struct attempt *a, struct remote_conn *c, const char **body)
{
	const struct remote_msg *msg = a->msg;
	struct mailsec_smtp_mailparams mp;
	bool eight, binary, bin;
	char text[512];

	*body = NULL;
	memset(&mp, 0, sizeof mp);
	mp.smtputf8 = msg->smtputf8;
	if (mailsec_smtp_needs(msg->mail_from, &mp, &c->eh) &
	    MAILSEC_SMTP_NEED_SMTPUTF8) {
		sfmt(text, sizeof text, "%s[%s]: the message needs "
		    "SMTPUTF8, which the server does not offer", c->host,
		    c->ip);
		att_final_all(a, REMOTE_PERM, "5.6.7", c->host, text);
		return 1;
	}
	if (c->eh.size && c->eh.size_max > 0 && msg->size > c->eh.size_max) {
		sfmt(text, sizeof text, "%s[%s]: message of %llu "
		    "bytes exceeds the server's limit of %llu", c->host, c->ip,
		    (unsigned long long)msg->size,
		    (unsigned long long)c->eh.size_max);
		att_final_all(a, REMOTE_PERM, "5.3.4", c->host, text);
		return 1;
	}
	if (msg->body == NULL || ms_ascii_eqz(msg->body, strlen(msg->body),
	    "7BIT"))
		return 0;
	bin = ms_ascii_eqz(msg->body, strlen(msg->body), "BINARYMIME");
	if (!bin && c->eh.eightbitmime) {
		*body = "8BITMIME";
		return 0;
	}
	/* We send with DATA only (no CHUNKING): BINARYMIME goes as
	 * 8BITMIME when its lines happen to be text. Without the
	 * extension, RFC 6152 3 leaves converting or returning the
	 * message; converting would break its signatures, so 8-bit
	 * content is returned (5.6.3) and 7-bit content declared as
	 * nothing. */
	if (msg_scan(msg, &eight, &binary) == -1) {
		a->local = MAILSEC_EIO;
		return -1;
	}
	if (!binary && (!eight || c->eh.eightbitmime)) {
		*body = eight ? "8BITMIME" : NULL;
		return 0;
	}
	sfmt(text, sizeof text, "%s[%s]: the message has %s "
	    "content and the server does not offer %s", c->host, c->ip,
	    binary ? "binary" : "8-bit", binary ? "BINARYMIME over DATA" :
	    "8BITMIME");
	att_final_all(a, REMOTE_PERM, "5.6.3", c->host, text);
	return 1;
}

/*
 * One transaction on c for the pending recipients: MAIL, RCPT each, DATA
 * (in one write when the server pipelines, RFC 2920 3.1), the message,
 * the final reply for every accepted recipient.
 */
static enum tx_outcome
tx_run(struct attempt *a, struct remote_conn *c)
{
	const struct remote_ctx *rc = a->rc;
	const struct remote_msg *msg = a->msg;
	struct mailsec_smtp_mailparams mp;
	struct ms_buf b;
	char line[REMOTE_CMD_MAX], text[512];
	size_t len, i, naccepted = 0, nsent = 0;
	size_t *idx = NULL;
	bool pipe = c->eh.pipelining, mail_ok, utf8;
	enum tx_outcome out = TX_CLOSE;
	const char *body, *what = "RSET";
	mailsec_err e;
	int r;

	ms_buf_init(&b, (size_t)64 * 1024 * 1024);
	c->err[0] = '\0';
	if ((r = tx_check(a, c, &body)) != 0)
		return r == 1 ? TX_DONE : TX_CLOSE;
	if ((idx = ms_calloc(a->n, sizeof *idx)) == NULL) {
		a->local = MAILSEC_ENOMEM;
		goto done;
	}
	memset(&mp, 0, sizeof mp);
	mp.size = msg->size;
	mp.body = body;
	mp.smtputf8 = msg->smtputf8;
	mp.ret = msg->ret;
	mp.envid = msg->envid;
	if ((e = mailsec_smtp_cmd_mail(line, sizeof line, &len,
	    msg->mail_from, &mp, &c->eh)) != MAILSEC_OK) {
		sfmt(text, sizeof text, "MAIL FROM:<%s> cannot be "
		    "sent: %s", msg->mail_from, mailsec_strerror(e));
		text_clean(text);
		att_final_all(a, REMOTE_PERM, "5.5.4", "", text);
		out = TX_DONE;
		goto done;
	}
	if (ms_buf_append(&b, line, len) != MAILSEC_OK)
		goto nomem;
	if (!pipe) {
		if (conn_cmd(c, b.ptr, b.len, rc->cfg.command_timeout) == -1) {
			what = "MAIL";
			goto lost;
		}
		b.len = 0;
	}
	for (i = 0; i < a->n; i++) {
		if (a->st[i] != RS_PENDING)
			continue;
		if (mailsec_smtp_cmd_rcpt(line, sizeof line, &len,
		    a->rcpts[i].addr, a->rcpts[i].notify, a->rcpts[i].orcpt,
		    &c->eh) != MAILSEC_OK) {
			utf8 = has_8bit(a->rcpts[i].addr) && !c->eh.smtputf8;
			sfmt(text, sizeof text, "%s[%s]: RCPT TO:<%s> "
			    "cannot be sent%s", c->host, c->ip,
			    a->rcpts[i].addr, utf8 ? ": the address needs "
			    "SMTPUTF8, which the server does not offer" : "");
			text_clean(text);
			rcpt_set(&a->rcpts[i], REMOTE_PERM, 0,
			    utf8 ? "5.6.7" : "5.1.3", c->host, text);
			a->st[i] = RS_FINAL;
			continue;
		}
		idx[nsent++] = i;
		if (pipe && ms_buf_append(&b, line, len) != MAILSEC_OK)
			goto nomem;
	}
	if (pipe) {
		if (nsent > 0 && ms_buf_append(&b, "DATA\r\n", 6) !=
		    MAILSEC_OK)
			goto nomem;
		if (conn_write(c, b.ptr, b.len, rc->cfg.command_timeout) ==
		    -1) {
			what = "MAIL";
			goto lost;
		}
		if (conn_reply(c, rc->cfg.command_timeout) == -1) {
			what = "MAIL";
			goto lost;
		}
	}
	/* c->reply: MAIL's. */
	if (c->reply.code == 421) {
		what = "MAIL";
		goto lost;
	}
	mail_ok = c->reply.code / 100 == 2;
	if (!mail_ok) {
		conn_reply_text(c, text, sizeof text);
		if (mailsec_smtp_reply_class(c->reply.code) ==
		    MAILSEC_SMTP_PERM) {
			/* The sender refused: no host will do better. */
			for (i = 0; i < nsent; i++)
				rcpt_reply(a, idx[i], c);
		} else
			att_fail(a, true, c->reply.enhanced[0] != '\0' ?
			    c->reply.enhanced : "4.0.0", "%s (MAIL)", text);
	}
	for (i = 0; i < nsent; i++) {
		if (pipe) {
			if (conn_reply(c, rc->cfg.command_timeout) == -1) {
				what = "RCPT";
				goto lost;
			}
		} else if (mail_ok) {
			if (mailsec_smtp_cmd_rcpt(line, sizeof line, &len,
			    a->rcpts[idx[i]].addr, a->rcpts[idx[i]].notify,
			    a->rcpts[idx[i]].orcpt, &c->eh) != MAILSEC_OK ||
			    conn_cmd(c, line, len, rc->cfg.command_timeout)
			    == -1) {
				what = "RCPT";
				goto lost;
			}
		} else
			break;
		if (c->reply.code == 421) {
			what = "RCPT";
			goto lost;
		}
		if (!mail_ok)
			continue;
		if (c->reply.code / 100 == 2) {
			a->st[idx[i]] = RS_ACCEPTED;
			naccepted++;
		} else
			rcpt_reply(a, idx[i], c);
	}
	if (nsent == 0 || (!pipe && (naccepted == 0 || !mail_ok))) {
		/* Nothing to send: leave the session clean for reuse. */
		if (conn_cmd(c, "RSET\r\n", 6, rc->cfg.command_timeout) == -1
		    || c->reply.code / 100 != 2)
			goto lost;
		out = TX_DONE;
		goto done;
	}
	if (!pipe && conn_cmd(c, "DATA\r\n", 6, rc->cfg.command_timeout) ==
	    -1) {
		what = "DATA";
		goto lost;
	}
	if (pipe && conn_reply(c, rc->cfg.command_timeout) == -1) {
		what = "DATA";
		goto lost;
	}
	if (c->reply.code == 421) {
		what = "DATA";
		goto lost;
	}
	if (c->reply.code != 354) {
		if (naccepted > 0 && mail_ok) {
			for (i = 0; i < nsent; i++)
				if (a->st[idx[i]] == RS_ACCEPTED)
					rcpt_reply(a, idx[i], c);
		}
		/* RFC 2920 3.1: DATA refused after no valid recipient. */
		if (conn_cmd(c, "RSET\r\n", 6, rc->cfg.command_timeout) == -1
		    || c->reply.code / 100 != 2)
			goto lost;
		out = TX_DONE;
		goto done;
	}
	if (naccepted == 0 || !mail_ok) {
		/* A server that opened DATA with no recipient: end it
		 * empty; whatever it says, nobody got anything. */
		if (conn_cmd(c, ".\r\n", 3, rc->cfg.data_timeout) == -1)
			goto lost;
		out = TX_CLOSE;
		goto done;
	}
	if (tx_body(a, c) == -1) {
		if (a->local != MAILSEC_OK)
			goto done;
		what = "DATA";
		goto lost;
	}
	c->nmsgs++;
	if (conn_reply(c, rc->cfg.data_timeout) == -1) {
		/* RFC 5321 6.1: the message may have arrived; no other
		 * host now, the next attempt (a duplicate at worst). */
		sfmt(text, sizeof text, "%s[%s]: no answer to the "
		    "end of data: %s", c->host, c->ip, c->err);
		text_clean(text);
		for (i = 0; i < nsent; i++) {
			if (a->st[idx[i]] != RS_ACCEPTED)
				continue;
			rcpt_set(&a->rcpts[idx[i]], REMOTE_TEMP, 0, "4.4.2",
			    c->host, text);
			a->st[idx[i]] = RS_FINAL;
		}
		goto done;
	}
	for (i = 0; i < nsent; i++)
		if (a->st[idx[i]] == RS_ACCEPTED)
			rcpt_reply(a, idx[i], c);
	out = c->reply.code == 421 ? TX_CLOSE : TX_DONE;
	goto done;
nomem:
	a->local = MAILSEC_ENOMEM;
	goto done;
lost:
	out = tx_lost(a, c, what);
done:
	ms_buf_free(&b);
	free(idx);
	return out;
}

/* ---- per-destination slots and the idle connections -------------------- */

static struct remote_dest *
dest_get(struct remote_ctx *rc, const char *key)
{
	struct remote_dest *d;

	for (d = rc->dests; d != NULL; d = d->next)
		if (strcmp(d->key, key) == 0)
			return d;
	if ((d = calloc(1, sizeof *d)) == NULL)
		return NULL;
	if ((d->key = strdup(key)) == NULL || cond_init_mono(&d->cv) == -1) {
		free(d->key);
		free(d);
		return NULL;
	}
	d->next = rc->dests;
	rc->dests = d;
	return d;
}

/* Drops d when nothing refers to it any more. Locked. */
static void
dest_gc(struct remote_ctx *rc, struct remote_dest *d)
{
	struct remote_dest **pp;

	if (d->nconn > 0 || d->nwait > 0 || d->idle != NULL)
		return;
	for (pp = &rc->dests; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == d) {
			*pp = d->next;
			break;
		}
	}
	(void)pthread_cond_destroy(&d->cv);
	free(d->key);
	free(d);
}

/*
 * A connection slot of destination key: an idle connection (*conn set) or
 * the right to open one. -1 when none frees within the wait, or memory.
 */
static int
slot_acquire(struct remote_ctx *rc, const char *key, struct remote_dest **dp,
    struct remote_conn **conn)
{
	struct remote_dest *d;
	struct timespec ts;
	int rv = -1;

	*conn = NULL;
	*dp = NULL;
	(void)pthread_mutex_lock(&rc->mu);
	if ((d = dest_get(rc, key)) == NULL)
		goto done;
	d->nwait++;
	abstime_ms(&ts, now_ms() + (int64_t)rc->cfg.slot_wait * 1000);
	for (;;) {
		if (d->idle != NULL) {
			*conn = d->idle;
			d->idle = (*conn)->next;
			(*conn)->next = NULL;
			rv = 0;
			break;
		}
		if (d->nconn < rc->cfg.per_destination) {
			d->nconn++;
			rv = 0;
			break;
		}
		if (rc->closing ||
		    pthread_cond_timedwait(&d->cv, &rc->mu, &ts) == ETIMEDOUT)
			if (d->idle == NULL &&
			    d->nconn >= rc->cfg.per_destination)
				break;
	}
	d->nwait--;
	if (rv == 0)
		*dp = d;
	else
		dest_gc(rc, d);
done:
	(void)pthread_mutex_unlock(&rc->mu);
	return rv;
}

/* Gives the slot back: c kept idle for the next message when keep, else
 * closed. */
static void
slot_release(struct remote_ctx *rc, struct remote_dest *d,
    struct remote_conn *c, bool keep)
{
	(void)pthread_mutex_lock(&rc->mu);
	if (c != NULL && keep && !rc->closing) {
		c->idle_since = now_ms();
		c->next = d->idle;
		d->idle = c;
		c = NULL;
		(void)pthread_cond_signal(&rc->reap_cv);
	} else
		d->nconn--;
	(void)pthread_cond_signal(&d->cv);
	dest_gc(rc, d);
	(void)pthread_mutex_unlock(&rc->mu);
	conn_close(c, true);
}

/* Closes idle connections past reuse_idle. */
static void *
reaper(void *arg)
{
	struct remote_ctx *rc = arg;
	struct remote_conn *dead = NULL, *c, **pp;
	struct remote_dest *d, *dn;
	struct timespec ts;
	int64_t now, next, idle = (int64_t)rc->cfg.reuse_idle * 1000;

	(void)pthread_mutex_lock(&rc->mu);
	while (!rc->closing) {
		now = now_ms();
		next = now + 3600 * 1000;
		for (d = rc->dests; d != NULL; d = dn) {
			dn = d->next;
			for (pp = &d->idle; (c = *pp) != NULL;) {
				if (c->idle_since + idle <= now) {
					*pp = c->next;
					c->next = dead;
					dead = c;
					d->nconn--;
					(void)pthread_cond_signal(&d->cv);
					continue;
				}
				if (c->idle_since + idle < next)
					next = c->idle_since + idle;
				pp = &c->next;
			}
			dest_gc(rc, d);
		}
		if (dead != NULL) {
			(void)pthread_mutex_unlock(&rc->mu);
			while ((c = dead) != NULL) {
				dead = c->next;
				conn_close(c, true);
			}
			(void)pthread_mutex_lock(&rc->mu);
			continue;
		}
		abstime_ms(&ts, next);
		(void)pthread_cond_timedwait(&rc->reap_cv, &rc->mu, &ts);
	}
	(void)pthread_mutex_unlock(&rc->mu);
	return NULL;
}

/* ---- the context -------------------------------------------------------- */

void
remote_free(struct remote_ctx *rc)
{
	struct remote_dest *d;
	struct remote_conn *c;

	if (rc == NULL)
		return;
	if (rc->reaper_on) {
		(void)pthread_mutex_lock(&rc->mu);
		rc->closing = true;
		(void)pthread_cond_broadcast(&rc->reap_cv);
		(void)pthread_mutex_unlock(&rc->mu);
		(void)pthread_join(rc->reaper, NULL);
	}
	/* No delivery runs now (the caller's contract): close the idle. */
	while ((d = rc->dests) != NULL) {
		rc->dests = d->next;
		while ((c = d->idle) != NULL) {
			d->idle = c->next;
			conn_close(c, true);
		}
		(void)pthread_cond_destroy(&d->cv);
		free(d->key);
		free(d);
	}
	(void)pthread_cond_destroy(&rc->reap_cv);
	(void)pthread_mutex_destroy(&rc->mu);
	SSL_CTX_free(rc->ssl_ctx);
	free(rc->helo);
	free(rc->relay_host);
	free(rc->relay_user);
	if (rc->relay_password != NULL) {
		OPENSSL_cleanse(rc->relay_password,
		    strlen(rc->relay_password));
		free(rc->relay_password);
	}
	free(rc->bind4s);
	free(rc->bind6s);
	free(rc->ca_file);
	free(rc);
}

static SSL_CTX *
client_ctx(const char *ca_file)
{
	SSL_CTX *ctx;

	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		return NULL;
	/* RFC 8996: nothing older than TLS 1.2. */
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1)
		goto fail;
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION |
	    SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_mode(ctx, SSL_MODE_AUTO_RETRY |
	    SSL_MODE_RELEASE_BUFFERS);
	if (ca_file != NULL) {
		if (SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1)
			goto fail;
	} else
		(void)SSL_CTX_set_default_verify_paths(ctx);
	/* tlsp_ssl_prepare() enables DANE per connection, which needs
	 * it on the context first. */
	if (tlsp_ssl_ctx_init(ctx) != MAILSEC_OK)
		goto fail;
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

mailsec_err
remote_new(struct remote_ctx **out, const struct remote_cfg *cfg,
    struct tlsp_ctx *tls)
{
	struct remote_ctx *rc;
	mailsec_err err = MAILSEC_ENOMEM;
	bool ok = true;

	*out = NULL;
	if (cfg->helo == NULL || cfg->helo[0] == '\0' ||
	    (cfg->relay_host != NULL && cfg->relay_host[0] == '\0'))
		return MAILSEC_EINVAL;
	if ((rc = calloc(1, sizeof *rc)) == NULL)
		return MAILSEC_ENOMEM;
	rc->cfg = *cfg;
	rc->tls = tls;
	if (pthread_mutex_init(&rc->mu, NULL) != 0) {
		free(rc);
		return MAILSEC_ENOMEM;
	}
	if (cond_init_mono(&rc->reap_cv) == -1) {
		(void)pthread_mutex_destroy(&rc->mu);
		free(rc);
		return MAILSEC_ENOMEM;
	}
	rc->helo = dupz(cfg->helo, &ok);
	rc->relay_host = dupz(cfg->relay_host, &ok);
	rc->relay_user = dupz(cfg->relay_user, &ok);
	rc->relay_password = dupz(cfg->relay_password, &ok);
	rc->bind4s = dupz(cfg->bind4, &ok);
	rc->bind6s = dupz(cfg->bind6, &ok);
	rc->ca_file = dupz(cfg->ca_file, &ok);
	if (!ok)
		goto fail;
	rc->cfg.helo = rc->helo;
	rc->cfg.relay_host = rc->relay_host;
	rc->cfg.relay_user = rc->relay_user;
	rc->cfg.relay_password = rc->relay_password;
	rc->cfg.bind4 = rc->bind4s;
	rc->cfg.bind6 = rc->bind6s;
	rc->cfg.ca_file = rc->ca_file;
	err = MAILSEC_EINVAL;
	if (rc->bind4s != NULL && inet_pton(AF_INET, rc->bind4s, &rc->bind4)
	    != 1)
		goto fail;
	if (rc->bind6s != NULL &&
	    inet_pton(AF_INET6, rc->bind6s, &rc->bind6) != 1)
		goto fail;
	if (rc->cfg.port == 0)
		rc->cfg.port = REMOTE_PORT;
	if (rc->cfg.relay_port == 0)
		rc->cfg.relay_port = rc->cfg.relay_implicit_tls ?
		    REMOTE_RELAY_TLS_PORT : REMOTE_RELAY_PORT;
	if (rc->cfg.connect_timeout == 0)
		rc->cfg.connect_timeout = REMOTE_CONNECT_TIMEOUT;
	if (rc->cfg.command_timeout == 0)
		rc->cfg.command_timeout = REMOTE_COMMAND_TIMEOUT;
	if (rc->cfg.data_timeout == 0)
		rc->cfg.data_timeout = REMOTE_DATA_TIMEOUT;
	if (rc->cfg.per_destination == 0)
		rc->cfg.per_destination = REMOTE_PER_DEST;
	if (rc->cfg.reuse_idle == 0)
		rc->cfg.reuse_idle = REMOTE_REUSE_IDLE;
	if (rc->cfg.reuse_max == 0)
		rc->cfg.reuse_max = REMOTE_REUSE_MAX;
	if (rc->cfg.slot_wait == 0)
		rc->cfg.slot_wait = REMOTE_SLOT_WAIT;
	/* A bad trust anchor file is the configuration's fault. */
	if ((rc->ssl_ctx = client_ctx(rc->ca_file)) == NULL) {
		ERR_clear_error();
		goto fail;
	}
	err = MAILSEC_ENOMEM;
	if (pthread_create(&rc->reaper, NULL, reaper, rc) != 0)
		goto fail;
	rc->reaper_on = true;
	*out = rc;
	return MAILSEC_OK;
fail:
	remote_free(rc);
	return err;
}

/* ---- delivery ------------------------------------------------------------ */

/* The TLS a session to host must have (before DANE): 0, or -1
 * (a->lasterr) when the host must not be used. */
static int
host_policy(struct attempt *a, const char *host, struct hostpol *hp)
{
	struct remote_ctx *rc = a->rc;

	memset(hp, 0, sizeof *hp);
	hp->required = rc->cfg.require_tls;
	if (a->relay) {
		hp->relay = true;
		hp->required = true;
		hp->implicit = rc->cfg.relay_implicit_tls;
		return 0;
	}
	if (rc->tls == NULL)
		return 0;
	if (a->have_pol && !tlsp_mx_allowed(&a->pol, host)) {
		att_report(a, host, NULL, NULL, false, "validation-failure");
		if (a->pol.sts == TLSP_STS_ENFORCE) {
			att_fail(a, true, "4.7.5", "%s: MX host not allowed by "
			    "the MTA-STS policy of %s", host, a->domain);
			return -1;
		}
	}
	if (a->have_pol && a->pol.sts == TLSP_STS_ENFORCE)
		hp->required = true;
	return 0;
}

/*
 * DANE for host (RFC 7672 2.2): its TLSA records, looked up only when
 * the MX answer and the host's address answers were DNSSEC-secure
 * (addr_secure). 0, or -1 (a->lasterr) when the host must not be used.
 */
static int
host_dane(struct attempt *a, const char *host, bool addr_secure,
    struct hostpol *hp)
{
	struct remote_ctx *rc = a->rc;

	if (a->relay || rc->tls == NULL || !a->mx_secure || !addr_secure)
		return 0;
	if (tlsp_dane_lookup(rc->tls, a->res, host, a->port, &hp->dane) !=
	    MAILSEC_OK) {
		att_fail(a, true, "4.7.5", "%s: TLSA lookup failed", host);
		return -1;
	}
	hp->have_dane = true;
	if (hp->dane.bogus) {
		/* RFC 7672 2.2.3: a bogus answer, no delivery to it. */
		att_report(a, host, NULL, hp, false, "dnssec-invalid");
		att_fail(a, true, "4.7.5", "%s: TLSA records failed DNSSEC "
		    "validation", host);
		return -1;
	}
	/* A secure TLSA RRset: TLS, authenticated when a record is
	 * usable, but never plaintext (RFC 7672 2.2). */
	if (hp->dane.secure)
		hp->required = true;
	return 0;
}

static void
host_policy_free(struct hostpol *hp)
{
	if (hp->have_dane)
		tlsp_dane_free(&hp->dane);
	hp->have_dane = false;
}

/* Tries the hosts in order until every recipient has an answer. *keep is
 * the last session, still usable, or NULL. */
static void
deliver_hosts(struct attempt *a, const struct remote_target *t, size_t nt,
    struct remote_conn **keep)
{
	struct remote_addr addrs[2 * REMOTE_HOST_ADDR_MAX];
	struct remote_conn *c;
	struct hostpol hp;
	enum sess_outcome so;
	enum tx_outcome tx;
	size_t h, i, na, tried = 0;
	bool addr_secure;

	*keep = NULL;
	for (h = 0; h < nt && tried < REMOTE_ADDR_MAX; h++) {
		if (host_policy(a, t[h].host, &hp) == -1) {
			host_policy_free(&hp);
			continue;
		}
		na = host_addrs(a, t[h].host, addrs, MS_ARRAY_LEN(addrs),
		    &addr_secure);
		if (na > 0 && host_dane(a, t[h].host, addr_secure, &hp) ==
		    -1) {
			host_policy_free(&hp);
			continue;
		}
		for (i = 0; i < na && tried < REMOTE_ADDR_MAX; i++) {
			tried++;
			so = sess_open(a, t[h].host, &addrs[i], &hp, false, &c);
			if (so == SESS_TLS_RETRY)
				so = sess_open(a, t[h].host, &addrs[i], &hp,
				    true, &c);
			if (so != SESS_OK || c == NULL) {
				if (a->local != MAILSEC_OK)
					break;
				continue;
			}
			sfmt(a->info->tls, sizeof a->info->tls,
			    "%s", c->tls);
			tx = tx_run(a, c);
			if (tx == TX_DONE && att_done(a) &&
			    a->local == MAILSEC_OK) {
				*keep = c;
				host_policy_free(&hp);
				return;
			}
			conn_close(c, tx == TX_DONE);
			if (att_done(a) || a->local != MAILSEC_OK)
				break;
		}
		host_policy_free(&hp);
		if (att_done(a) || a->local != MAILSEC_OK)
			return;
	}
}

mailsec_err
remote_deliver(struct remote_ctx *rc, struct mailsec_resolver *res,
    const char *domain, const struct remote_msg *msg,
    struct remote_rcpt *rcpts, size_t n, struct remote_info *info)
{
	struct remote_target t[REMOTE_MX_MAX];
	struct remote_info dummy;
	struct remote_dest *d = NULL;
	struct remote_conn *c = NULL, *keep = NULL;
	enum tx_outcome tx;
	struct attempt a;
	char key[300], text[512], err[256];
	size_t i, nt = 0;
	bool relay = rc->relay_host != NULL;

	if (info == NULL)
		info = &dummy;
	memset(info, 0, sizeof *info);
	sfmt(info->tls, sizeof info->tls, "none");
	memset(&a, 0, sizeof a);
	a.rc = rc;
	a.res = res;
	a.domain = domain;
	a.msg = msg;
	a.rcpts = rcpts;
	a.n = n;
	a.info = info;
	a.relay = relay;
	a.port = relay ? rc->cfg.relay_port : rc->cfg.port;
	for (i = 0; i < n; i++)
		rcpt_set(&rcpts[i], REMOTE_TEMP, 0, "", "", "");
	if (n == 0)
		return MAILSEC_OK;
	if ((a.st = calloc(n, 1)) == NULL) {
		att_final_all(&a, REMOTE_TEMP, "4.3.0", "", "out of memory");
		return MAILSEC_ENOMEM;
	}
	/* The destination: the domain (case-folded), or the smarthost. */
	if (relay)
		sfmt(key, sizeof key, "[relay]");
	else {
		for (i = 0; domain[i] != '\0' && i < sizeof key - 1; i++)
			key[i] = (char)ms_tolower((unsigned char)domain[i]);
		key[i] = '\0';
	}
	if (slot_acquire(rc, key, &d, &c) == -1) {
		sfmt(text, sizeof text, "too many connections to %s",
		    relay ? rc->relay_host : domain);
		att_final_all(&a, REMOTE_TEMP, "4.4.5", "", text);
		goto done;
	}
	if (c != NULL) {
		/* A session left open by the last message: RSET, then the
		 * transaction; a session that died while idle is just
		 * closed and a new one opened. */
		sfmt(info->mx, sizeof info->mx, "%s", c->host);
		sfmt(info->ip, sizeof info->ip, "%s", c->ip);
		sfmt(info->tls, sizeof info->tls, "%s", c->tls);
		c->err[0] = '\0';
		if (conn_cmd(c, "RSET\r\n", 6, rc->cfg.command_timeout) == 0 &&
		    c->reply.code / 100 == 2) {
			a.contacted = true;
			tx = tx_run(&a, c);
			if (tx == TX_DONE && att_done(&a) &&
			    a.local == MAILSEC_OK)
				goto finish;
			conn_close(c, tx == TX_DONE);
		} else
			conn_close(c, false);
		c = NULL;
		if (att_done(&a) || a.local != MAILSEC_OK)
			goto finish;
	}
	if (relay) {
		sfmt(t[0].host, sizeof t[0].host, "%s",
		    rc->relay_host);
		t[0].pref = 0;
		nt = 1;
	} else {
		switch (mx_hosts(&a, t, &nt)) {
		case MX_NULL:
			/* RFC 7504: 556 is what a client reports on
			 * finding that a domain accepts no mail; RFC 7505
			 * pairs it with X.1.10 ("Recipient address has
			 * null MX"). No host answered: code set here. */
			sfmt(text, sizeof text, "%s: 556 5.1.10 domain does "
			    "not accept mail (null MX, RFC 7505)", domain);
			text_clean(text);
			att_final_all(&a, REMOTE_PERM, "5.1.10", "", text);
			for (i = 0; i < n; i++)
				rcpts[i].code = REMOTE_NULL_MX_CODE;
			goto finish;
		case MX_FAIL:
			goto finish;
		case MX_HOSTS:
			break;
		}
		if (rc->tls != NULL) {
			err[0] = '\0';
			if (tlsp_domain_policy(rc->tls, res, domain, &a.pol,
			    err, sizeof err) != MAILSEC_OK) {
				/* RFC 8461 5.1: a known policy that cannot
				 * be had now; the mail waits. */
				att_fail(&a, true, "4.7.5", "MTA-STS policy of "
				    "%s: %s", domain, err);
				goto finish;
			}
			a.have_pol = true;
		}
	}
	deliver_hosts(&a, t, nt, &keep);
	c = keep;
finish:
	/* What no host answered gets the last failure. */
	for (i = 0; i < n; i++) {
		if (a.st[i] == RS_FINAL)
			continue;
		rcpt_set(&rcpts[i], a.temp || a.contacted || a.relay ||
		    a.lasterr[0] == '\0' ? REMOTE_TEMP : REMOTE_PERM, 0,
		    a.lastenh[0] != '\0' ? a.lastenh : "4.4.0", "",
		    a.lasterr[0] != '\0' ? a.lasterr : "no host to try");
		if (rcpts[i].result == REMOTE_TEMP && rcpts[i].enhanced[0] ==
		    '5')
			rcpts[i].enhanced[0] = '4';
		a.st[i] = RS_FINAL;
	}
	if (c != NULL && c->nmsgs >= rc->cfg.reuse_max) {
		slot_release(rc, d, c, false);
		c = NULL;
		d = NULL;
	}
	if (d != NULL)
		slot_release(rc, d, c, c != NULL);
done:
	if (a.have_pol)
		tlsp_domain_free(&a.pol);
	free(a.st);
	if (a.local != MAILSEC_OK) {
		for (i = 0; i < n; i++) {
			if (rcpts[i].result == REMOTE_OK)
				continue;
			rcpts[i].result = REMOTE_TEMP;
			if (rcpts[i].text[0] == '\0')
				sfmt(rcpts[i].text,
				    sizeof rcpts[i].text, "%s",
				    mailsec_strerror(a.local));
		}
		return a.local;
	}
	return MAILSEC_OK;
}
