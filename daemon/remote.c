/*
 * daemon/remote.c - remote delivery (daemon/remote.h): the MX hosts of a
 * destination (RFC 5321 5.1, RFC 7505 null MX) and their addresses,
 * the TLS policy of each host (MTA-STS and DANE through tlspolicy.h),
 * the SMTP transaction (RFC 5321 3.3, RFC 2920 PIPELINING, RFC 1870 SIZE,
 * RFC 6152 8BITMIME, RFC 6531 SMTPUTF8, RFC 3461 DSN parameters, RFC 4954
 * AUTH), and the connections kept idle for the next message to the same
 * destination within a per-destination limit.
 *
 * One connection (the socket, TLS, the session up to MAIL) is
 * remote_conn.c; both run blocking in the caller's thread
 * (remote_int.h). The protocol itself (replies, EHLO keywords, command
 * lines, the dot-stuffer) is libmailsec's (mailsec/smtp_client.h).
 * docs/delivery.md, "Remote delivery", has the rules.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include <mailsec/dns.h>
#include <mailsec/smtp_client.h>

#include "core/core.h"
#include "remote.h"
#include "remote_int.h"
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
/* Message bytes read and dot-stuffed per write. */
#define REMOTE_CHUNK		16384
/* The text of one reply as kept for a recipient. */
#define REMOTE_TEXT_MAX		400

/* ---- the context ------------------------------------------------------- */

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

/* ---- the attempt -------------------------------------------------------- */

/* One MX host (or the implicit MX, or the smarthost). */
struct remote_target {
	char		host[256];
	uint16_t	pref;
	uint32_t	rnd;		/* shuffles equal preferences */
};

void
remote_att_fail(struct attempt *a, bool temp, const char *enh,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(a->lasterr, sizeof a->lasterr, fmt, ap);
	va_end(ap);
	remote_text_clean(a->lasterr);
	remote_sfmt(a->lastenh, sizeof a->lastenh, "%s", enh);
	a->temp = temp;
}

static void
rcpt_set(struct remote_rcpt *r, enum remote_result result, int code,
    const char *enh, const char *mx, const char *text)
{
	r->result = result;
	r->code = code;
	remote_sfmt(r->enhanced, sizeof r->enhanced, "%s", enh);
	remote_sfmt(r->text, sizeof r->text, "%s", text);
	remote_sfmt(r->mx, sizeof r->mx, "%s", mx);
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
	remote_conn_reply_text(c, text, sizeof text);
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

void
remote_att_report(struct attempt *a, const char *host, const char *ip,
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
		remote_att_fail(a, true, "4.4.3", "MX lookup for %s failed",
		    a->domain);
		goto done;
	}
	if (mailsec_dns_status_is_temporary(res->status)) {
		remote_att_fail(a, true, "4.4.3", "MX lookup for %s: %s%s%s",
		    a->domain, mailsec_dns_status_name(res->status),
		    res->why[0] != '\0' ? ": " : "", res->why);
		goto done;
	}
	/* RFC 7672 2.2.1: DANE only for hosts from a secure MX answer (a
	 * secure denial for the implicit MX) */
	a->mx_secure = res->secure;
	if (res->status == MAILSEC_DNS_NXDOMAIN) {
		/* RFC 5321 5.1: "MUST be reported as an error". */
		remote_att_fail(a, false, "5.1.2", "domain %s does not exist",
		    a->domain);
		goto done;
	}
	for (i = 0; i < res->count; i++)
		if (res->rrs[i].type == MAILSEC_DNS_MX)
			nmx++;
	if (nmx == 0) {
		/* The implicit MX: the domain itself, preference 0. */
		if (strlen(a->domain) >= sizeof t[0].host) {
			remote_att_fail(a, false, "5.1.2",
			    "domain name too long");
			goto done;
		}
		remote_sfmt(t[0].host, sizeof t[0].host, "%s", a->domain);
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
		remote_att_fail(a, true, "4.3.0", "out of memory");
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
		remote_sfmt(all[k].host, sizeof all[k].host, "%s",
		    rr->u.mx.exchange);
		all[k].pref = rr->u.mx.preference;
		if (RAND_bytes((unsigned char *)&rnd, sizeof rnd) != 1)
			rnd = (uint32_t)k;
		all[k].rnd = rnd;
		k++;
	}
	if (k == 0) {
		remote_att_fail(a, false, "5.4.4", "no usable MX host for %s",
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
		remote_sfmt(out[0].ip, sizeof out[0].ip, "%s", host);
		return 1;
	}
	if (inet_pton(AF_INET6, host, &out[0].u.v6) == 1) {
		out[0].family = AF_INET6;
		remote_sfmt(out[0].ip, sizeof out[0].ip, "%s", host);
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
			remote_sfmt(why, sizeof why, "%s lookup: %s",
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
			remote_att_fail(a, true, "4.4.3", "%s: %s", host,
			    why[0] != '\0' ? why : "address lookup failed");
		else if (!a->temp || a->lasterr[0] == '\0')
			remote_att_fail(a, false, "5.4.4", "%s: no address",
			    host);
	}
	return n;
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
		remote_conn_reply_text(c, text, sizeof text);
		remote_att_fail(a, true, "4.4.2", "%s", text);
	} else
		remote_att_fail(a, true, "4.4.2", "%s[%s]: %s: %s", c->host,
		    c->ip, what, c->err);
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
		if (remote_conn_write(c, out, w, a->rc->cfg.command_timeout) ==
		    -1)
			goto done;
	}
	w = mailsec_smtp_dotstuff_finish(&ds, out);
	if (remote_conn_write(c, out, w, a->rc->cfg.command_timeout) == -1)
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
		remote_sfmt(text, sizeof text, "%s[%s]: the message needs "
		    "SMTPUTF8, which the server does not offer", c->host,
		    c->ip);
		att_final_all(a, REMOTE_PERM, "5.6.7", c->host, text);
		return 1;
	}
	if (c->eh.size && c->eh.size_max > 0 && msg->size > c->eh.size_max) {
		remote_sfmt(text, sizeof text, "%s[%s]: message of %llu "
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
	remote_sfmt(text, sizeof text, "%s[%s]: the message has %s "
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
		remote_sfmt(text, sizeof text, "MAIL FROM:<%s> cannot be "
		    "sent: %s", msg->mail_from, mailsec_strerror(e));
		remote_text_clean(text);
		att_final_all(a, REMOTE_PERM, "5.5.4", "", text);
		out = TX_DONE;
		goto done;
	}
	if (ms_buf_append(&b, line, len) != MAILSEC_OK)
		goto nomem;
	if (!pipe) {
		if (remote_conn_cmd(c, b.ptr, b.len, rc->cfg.command_timeout) ==
		    -1) {
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
			remote_sfmt(text, sizeof text, "%s[%s]: RCPT TO:<%s> "
			    "cannot be sent%s", c->host, c->ip,
			    a->rcpts[i].addr, utf8 ? ": the address needs "
			    "SMTPUTF8, which the server does not offer" : "");
			remote_text_clean(text);
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
		if (remote_conn_write(c, b.ptr, b.len, rc->cfg.command_timeout)
		    == -1) {
			what = "MAIL";
			goto lost;
		}
		if (remote_conn_reply(c, rc->cfg.command_timeout) == -1) {
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
		remote_conn_reply_text(c, text, sizeof text);
		if (mailsec_smtp_reply_class(c->reply.code) ==
		    MAILSEC_SMTP_PERM) {
			/* The sender refused: no host will do better. */
			for (i = 0; i < nsent; i++)
				rcpt_reply(a, idx[i], c);
		} else
			remote_att_fail(a, true, c->reply.enhanced[0] != '\0' ?
			    c->reply.enhanced : "4.0.0", "%s (MAIL)", text);
	}
	for (i = 0; i < nsent; i++) {
		if (pipe) {
			if (remote_conn_reply(c, rc->cfg.command_timeout) ==
			    -1) {
				what = "RCPT";
				goto lost;
			}
		} else if (mail_ok) {
			if (mailsec_smtp_cmd_rcpt(line, sizeof line, &len,
			    a->rcpts[idx[i]].addr, a->rcpts[idx[i]].notify,
			    a->rcpts[idx[i]].orcpt, &c->eh) != MAILSEC_OK ||
			    remote_conn_cmd(c, line, len,
			    rc->cfg.command_timeout) == -1) {
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
		if (remote_conn_cmd(c, "RSET\r\n", 6, rc->cfg.command_timeout)
		    == -1 || c->reply.code / 100 != 2)
			goto lost;
		out = TX_DONE;
		goto done;
	}
	if (!pipe && remote_conn_cmd(c, "DATA\r\n", 6, rc->cfg.command_timeout)
	    == -1) {
		what = "DATA";
		goto lost;
	}
	if (pipe && remote_conn_reply(c, rc->cfg.command_timeout) == -1) {
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
		if (remote_conn_cmd(c, "RSET\r\n", 6, rc->cfg.command_timeout)
		    == -1 || c->reply.code / 100 != 2)
			goto lost;
		out = TX_DONE;
		goto done;
	}
	if (naccepted == 0 || !mail_ok) {
		/* A server that opened DATA with no recipient: end it
		 * empty; whatever it says, nobody got anything. */
		if (remote_conn_cmd(c, ".\r\n", 3, rc->cfg.data_timeout) == -1)
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
	if (remote_conn_reply(c, rc->cfg.data_timeout) == -1) {
		/* RFC 5321 6.1: the message may have arrived; no other
		 * host now, the next attempt (a duplicate at worst). */
		remote_sfmt(text, sizeof text, "%s[%s]: no answer to the "
		    "end of data: %s", c->host, c->ip, c->err);
		remote_text_clean(text);
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
	abstime_ms(&ts, remote_now_ms() + (int64_t)rc->cfg.slot_wait * 1000);
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
		c->idle_since = remote_now_ms();
		c->next = d->idle;
		d->idle = c;
		c = NULL;
		(void)pthread_cond_signal(&rc->reap_cv);
	} else
		d->nconn--;
	(void)pthread_cond_signal(&d->cv);
	dest_gc(rc, d);
	(void)pthread_mutex_unlock(&rc->mu);
	remote_conn_close(c, true);
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
		now = remote_now_ms();
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
				remote_conn_close(c, true);
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
			remote_conn_close(c, true);
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
	if ((rc->ssl_ctx = remote_ssl_ctx_new(rc->ca_file)) == NULL) {
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
		remote_att_report(a, host, NULL, NULL, false,
		    "validation-failure");
		if (a->pol.sts == TLSP_STS_ENFORCE) {
			remote_att_fail(a, true, "4.7.5", "%s: MX host not "
			    "allowed by the MTA-STS policy of %s", host,
			    a->domain);
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
		remote_att_fail(a, true, "4.7.5", "%s: TLSA lookup failed",
		    host);
		return -1;
	}
	hp->have_dane = true;
	if (hp->dane.bogus) {
		/* RFC 7672 2.2.3: a bogus answer, no delivery to it. */
		remote_att_report(a, host, NULL, hp, false, "dnssec-invalid");
		remote_att_fail(a, true, "4.7.5", "%s: TLSA records failed "
		    "DNSSEC validation", host);
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
			so = remote_sess_open(a, t[h].host, &addrs[i], &hp,
			    false, &c);
			if (so == SESS_TLS_RETRY)
				so = remote_sess_open(a, t[h].host, &addrs[i],
				    &hp, true, &c);
			if (so != SESS_OK || c == NULL) {
				if (a->local != MAILSEC_OK)
					break;
				continue;
			}
			remote_sfmt(a->info->tls, sizeof a->info->tls,
			    "%s", c->tls);
			tx = tx_run(a, c);
			if (tx == TX_DONE && att_done(a) &&
			    a->local == MAILSEC_OK) {
				*keep = c;
				host_policy_free(&hp);
				return;
			}
			remote_conn_close(c, tx == TX_DONE);
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
	remote_sfmt(info->tls, sizeof info->tls, "none");
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
		remote_sfmt(key, sizeof key, "[relay]");
	else {
		for (i = 0; domain[i] != '\0' && i < sizeof key - 1; i++)
			key[i] = (char)ms_tolower((unsigned char)domain[i]);
		key[i] = '\0';
	}
	if (slot_acquire(rc, key, &d, &c) == -1) {
		remote_sfmt(text, sizeof text, "too many connections to %s",
		    relay ? rc->relay_host : domain);
		att_final_all(&a, REMOTE_TEMP, "4.4.5", "", text);
		goto done;
	}
	if (c != NULL) {
		/* A session left open by the last message: RSET, then the
		 * transaction; a session that died while idle is just
		 * closed and a new one opened. */
		remote_sfmt(info->mx, sizeof info->mx, "%s", c->host);
		remote_sfmt(info->ip, sizeof info->ip, "%s", c->ip);
		remote_sfmt(info->tls, sizeof info->tls, "%s", c->tls);
		c->err[0] = '\0';
		if (remote_conn_cmd(c, "RSET\r\n", 6, rc->cfg.command_timeout)
		    == 0 && c->reply.code / 100 == 2) {
			a.contacted = true;
			tx = tx_run(&a, c);
			if (tx == TX_DONE && att_done(&a) &&
			    a.local == MAILSEC_OK)
				goto finish;
			remote_conn_close(c, tx == TX_DONE);
		} else
			remote_conn_close(c, false);
		c = NULL;
		if (att_done(&a) || a.local != MAILSEC_OK)
			goto finish;
	}
	if (relay) {
		remote_sfmt(t[0].host, sizeof t[0].host, "%s",
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
			remote_sfmt(text, sizeof text, "%s: 556 5.1.10 "
			    "domain does not accept mail (null MX, RFC 7505)",
			    domain);
			remote_text_clean(text);
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
				remote_att_fail(&a, true, "4.7.5", "MTA-STS "
				    "policy of %s: %s", domain, err);
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
				remote_sfmt(rcpts[i].text,
				    sizeof rcpts[i].text, "%s",
				    mailsec_strerror(a.local));
		}
		return a.local;
	}
	return MAILSEC_OK;
}

