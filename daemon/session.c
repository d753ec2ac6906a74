/*
 * daemon/session.c - the SMTP server session (daemon/session.h).
 *
 * Shape (STYLE.md "The SMTP session"): one smtp_enter_io() that traces
 * every change of what the session is reading, one smtp_process() loop
 * over buffered input (pipelining: every complete command is taken, the
 * replies go out together when the loop returns; the loop stops while a
 * transaction waits for the pipeline or the queue and resumes on the
 * answer), per verb smtp_cmd_X(), one smtp_reply(), one smtp_free().
 * Frees never happen under smtp_process(): a session that must go is
 * marked dead and freed when the loop unwinds.
 *
 * RFC 5321 (SMTP), 2920 (PIPELINING), 3030 (CHUNKING), 3207 (STARTTLS),
 * 8314 (implicit TLS), 4954 (AUTH), 3461 (DSN), 6531 (SMTPUTF8), 3848
 * (Received "with" keywords).
 */
#define _GNU_SOURCE	/* memmem */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>

#include <mailsec/smtp.h>

#include "core/core.h"
#include "auth.h"
#include "forward.h"
#include "log.h"
#include "maildir.h"
#include "pipeline.h"
#include "queue.h"
#include "session.h"
#include "tls.h"

/* Longest address text: local part (quoted: doubled) "@" domain. */
#define ADDR_MAX \
	(2 * MAILSEC_SMTP_LOCAL_MAX + 3 + MAILSEC_SMTP_DOMAIN_MAX)
/* Contiguous input looked at for one command line. */
#define LINE_PULL_MAX	(MAILSEC_SMTP_AUTH_LINE_MAX + 2)
/* Room for one reply (a multi-line EHLO reply is the longest). */
#define REPLY_BUF_MAX	2048
/* Recipients listed in a log line (the count is always given). */
#define LOG_RCPTS_MAX	8

enum smtp_io {
	IO_NEW,			/* accepted, nothing sent yet */
	IO_GREET_WAIT,		/* greet pause: the client must not talk */
	IO_TLS,			/* TLS handshake */
	IO_CMD,			/* command lines */
	IO_SASL,		/* AUTH responses */
	IO_DATA,		/* DATA stream */
	IO_BDAT,		/* a BDAT chunk */
	IO_DRAIN,		/* a refused BDAT chunk */
	IO_CLOSING		/* flushing the last reply */
};

static const char *const io_names[] = {
	"new", "greet-wait", "tls", "cmd", "sasl", "data", "bdat", "drain",
	"closing"
};

struct tx_rcpt {
	char *addr;
	char *notify;		/* DSN NOTIFY= text, or NULL */
	char *orcpt;		/* "type;address", or NULL */
};

/* One mail transaction: MAIL to the queue's answer. */
struct smtp_tx {
	struct session *s;
	char *mail_from;		/* "" for <> */
	struct mailsec_smtp_params mp;	/* MAIL parameters */
	bool smtputf8;
	struct tx_rcpt *rcpt;
	size_t nrcpt, rcpt_cap;
	struct pl_msg *pl;
	struct queue_msg *qm;
	struct mailsec_smtp_data data;
	bool data_started;
	struct ms_buf hdr;		/* header block while it streams */
	bool hdr_done;
	struct mailsec_smtp_reply refuse;	/* our own refusal, code 0:
						   none */
	bool committing;		/* queue_commit() called */
	bool failed;			/* a BDAT chunk failed: RSET */
	char id[QUEUE_ID_LEN + 1];
	char *verdict_log;		/* the pipeline's key=value pairs */
	const char *action;
};

struct session {
	struct session *next, *prev;	/* worker list */
	struct server_worker *w;
	uint64_t id;
	enum gw_listener_kind kind;
	struct bufferevent *bev;
	SSL *ssl;
	enum smtp_io io;
	char ip[INET6_ADDRSTRLEN];
	uint32_t ip_slot;
	char helo[MAILSEC_SMTP_DOMAIN_MAX + 1];
	char tls_info[96];
	char *auth_user;
	struct mailsec_smtp_session sm;
	struct mailsec_smtp_lines ls;
	struct smtp_tx *tx;
	struct mailsec_smtp_sasl *sasl;
	struct auth_req *auth_req;
	struct mailsec_smtp_reply drain_reply;	/* for IO_DRAIN */
	uint64_t drain_left;
	bool bdat_last;			/* the open chunk is LAST */
	unsigned errors;
	unsigned auth_failures;
	size_t discarded;		/* sent in clear after STARTTLS */
	bool starttls;			/* start TLS after this command */
	bool blocked;			/* waiting for pipeline/queue/auth */
	bool in_process;
	bool dead;			/* free once the loop unwinds */
	const char *close_reason;
	struct event *ev_timer;		/* greet pause, linger */
	uint64_t messages;
};

static void smtp_process(struct session *s);
static void smtp_free(struct session *s, const char *reason);
static void smtp_close(struct session *s, const char *reason);
static void smtp_readcb(struct bufferevent *bev, void *arg);
static void smtp_writecb(struct bufferevent *bev, void *arg);
static void smtp_eventcb(struct bufferevent *bev, short what, void *arg);
static void tx_free(struct smtp_tx *tx);
static void smtp_message_end(struct session *s);
static void smtp_close_check(struct session *s);

/* ---- helpers ------------------------------------------------------------ */

static const struct gw_config *
scfg(const struct session *s)
{
	return s->w->cfg;
}

static void
set_timeout(struct session *s, unsigned secs)
{
	struct timeval tv = { .tv_sec = secs > 0 ? secs : 300 };

	bufferevent_set_timeouts(s->bev, &tv, &tv);
}

/* The ONLY way to change what the session reads (traces "a -> b"). */
static void
smtp_enter_io(struct session *s, enum smtp_io io)
{
	const struct gw_limits *lim = &scfg(s)->limits;

	if (s->io == IO_CLOSING)
		return;		/* closing is final */
	if (s->io != io)
		log_debug("%016llx smtp io %s -> %s",
		    (unsigned long long)s->id, io_names[s->io], io_names[io]);
	s->io = io;
	switch (io) {
	case IO_TLS:
		set_timeout(s, lim->timeout_tls);
		break;
	case IO_DATA:
	case IO_BDAT:
	case IO_DRAIN:
		set_timeout(s, lim->timeout_data);
		break;
	case IO_SASL:
		s->ls.max = MAILSEC_SMTP_AUTH_LINE_MAX;
		set_timeout(s, lim->timeout_command);
		break;
	case IO_CMD:
		s->ls.max = lim->line_length > 0 ? lim->line_length :
		    MAILSEC_SMTP_LINE_MAX_DEFAULT;
		set_timeout(s, lim->timeout_command);
		break;
	case IO_CLOSING:
		set_timeout(s, SESSION_LINGER_SECS);
		break;
	case IO_NEW:
	case IO_GREET_WAIT:
		break;
	}
}

static bool
enhanced(const struct session *s)
{
	return (s->sm.flags & MAILSEC_SMTP_S_EHLO) != 0;
}

static void
smtp_reply_r(struct session *s, const struct mailsec_smtp_reply *r)
{
	char buf[REPLY_BUF_MAX];
	size_t len = 0;

	if (s->dead || s->io == IO_CLOSING)
		return;
	if (mailsec_smtp_reply_write(buf, sizeof buf, &len, r, enhanced(s))
	    != MAILSEC_OK) {
		len = 0;
		(void)mailsec_smtp_reply_line(buf, sizeof buf, &len, 451,
		    "4.3.0", "Internal error", 14, true);
	}
	log_debug("%016llx smtp > %.*s", (unsigned long long)s->id,
	    len >= 2 ? (int)(len - 2) : 0, buf);
	(void)evbuffer_add(bufferevent_get_output(s->bev), buf, len);
	if (r->code >= 400 && ++s->errors >= scfg(s)->limits.errors &&
	    scfg(s)->limits.errors > 0 && r->code != 421) {
		struct mailsec_smtp_reply bye;

		mailsec_smtp_reply_set(&bye, 421, "4.7.0",
		    "%s Too many errors, closing", s->w->hostname);
		smtp_reply_r(s, &bye);
		smtp_close(s, "too many errors");
	}
}

static void
smtp_reply(struct session *s, unsigned code, const char *status,
    const char *fmt, ...) GW_PRINTF(4, 5);

static void
smtp_reply(struct session *s, unsigned code, const char *status,
    const char *fmt, ...)
{
	struct mailsec_smtp_reply r;
	char text[sizeof r.text];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	mailsec_smtp_reply_set(&r, code, status, "%s", text);
	smtp_reply_r(s, &r);
}

/* "local@domain" of a path, the local part quoted again when it was. */
static int
path_text(const struct mailsec_smtp_path *p, const char *dflt_domain,
    char *out, size_t outsz)
{
	size_t o = 0, i;

	if (p->null) {
		out[0] = '\0';
		return 0;
	}
	if (p->quoted) {
		if (outsz < 3)
			return -1;
		out[o++] = '"';
		for (i = 0; i < p->local_len; i++) {
			if (o + 3 >= outsz)
				return -1;
			if (p->local[i] == '"' || p->local[i] == '\\')
				out[o++] = '\\';
			out[o++] = p->local[i];
		}
		out[o++] = '"';
	} else {
		if (p->local_len + 1 >= outsz)
			return -1;
		memcpy(out, p->local, p->local_len);
		o = p->local_len;
	}
	if (p->domain_len > 0 || dflt_domain != NULL) {
		int n = snprintf(out + o, outsz - o, "@%s", p->domain_len > 0 ?
		    p->domain : dflt_domain);

		if (n < 0 || (size_t)n >= outsz - o)
			return -1;
	} else
		out[o] = '\0';
	return 0;
}

/* ---- transactions ------------------------------------------------------- */

static void
tx_free(struct smtp_tx *tx)
{
	size_t i;

	if (tx == NULL)
		return;
	if (tx->committing)
		queue_commit_cancel(tx->qm);
	else
		queue_msg_abort(tx->qm);
	pl_msg_free(tx->pl);
	for (i = 0; i < tx->nrcpt; i++) {
		free(tx->rcpt[i].addr);
		free(tx->rcpt[i].notify);
		free(tx->rcpt[i].orcpt);
	}
	free(tx->rcpt);
	free(tx->mail_from);
	free(tx->verdict_log);
	ms_buf_free(&tx->hdr);
	free(tx);
}

/* Drops what a refused chunk leaves: no data, no pipeline. */
static void
tx_fail(struct smtp_tx *tx)
{
	queue_msg_abort(tx->qm);
	tx->qm = NULL;
	pl_msg_free(tx->pl);
	tx->pl = NULL;
	ms_buf_free(&tx->hdr);
	tx->failed = true;
}

static void
tx_drop(struct session *s)
{
	tx_free(s->tx);
	s->tx = NULL;
}

/*
 * Appends the pipeline's key=value pairs to out, without the keys this
 * line already has (client, helo, mail_from, tls). Values may be quoted
 * and hold spaces.
 */
static void
verdict_fields(const char *v, char *out, size_t outsz)
{
	static const char *const dup[] = {
		"client=", "helo=", "mail_from=", "tls=", NULL
	};
	const char *p = v, *t;
	size_t o = 0, n, i;
	bool q, skip;

	out[0] = '\0';
	while (*p != '\0') {
		while (*p == ' ')
			p++;
		t = p;
		for (q = false; *p != '\0' && (q || *p != ' '); p++) {
			if (*p == '"')
				q = !q;
		}
		n = (size_t)(p - t);
		for (skip = false, i = 0; dup[i] != NULL && !skip; i++)
			skip = strncmp(t, dup[i], strlen(dup[i])) == 0;
		if (n == 0 || skip || o + n + 2 > outsz)
			continue;
		memcpy(out + o, t, n);
		o += n;
		out[o++] = ' ';
		out[o] = '\0';
	}
}

/* The one log line per message (docs/gateway.md, "The log line"). */
static void
log_message(struct session *s, const struct smtp_tx *tx, unsigned code,
    const char *result, const char *reason)
{
	char helo[LOG_ESC_SIZE(64)], from[LOG_ESC_SIZE(ADDR_MAX)];
	char rcpts[LOG_ESC_SIZE(512)], why[LOG_ESC_SIZE(200)];
	char user[LOG_ESC_SIZE(64)], list[512], vf[1024];
	size_t i, o = 0;

	list[0] = '\0';
	for (i = 0; i < tx->nrcpt && i < LOG_RCPTS_MAX; i++) {
		int n = snprintf(list + o, sizeof list - o, "%s%s",
		    i > 0 ? "," : "", tx->rcpt[i].addr);

		if (n < 0 || (size_t)n >= sizeof list - o)
			break;
		o += (size_t)n;
	}
	vf[0] = '\0';
	if (tx->verdict_log != NULL)
		verdict_fields(tx->verdict_log, vf, sizeof vf);
	log_info("msg id=%s session=%016llx client=%s helo=%s from=<%s> "
	    "nrcpt=%zu rcpts=%s size=%llu tls=%s auth=%s %sresult=%s "
	    "reply=%u%s%s",
	    tx->id[0] != '\0' ? tx->id : "-", (unsigned long long)s->id,
	    s->ip, log_escape(helo, sizeof helo, s->helo, strlen(s->helo)),
	    log_escape(from, sizeof from, tx->mail_from,
	    strlen(tx->mail_from)), tx->nrcpt,
	    log_escape(rcpts, sizeof rcpts, list, o),
	    (unsigned long long)tx->data.size,
	    s->tls_info[0] != '\0' ? "yes" : "no",
	    s->auth_user != NULL ? log_escape(user, sizeof user,
	    s->auth_user, strlen(s->auth_user)) : "-", vf, result, code,
	    reason != NULL && vf[0] == '\0' ? " reason=" : "",
	    reason != NULL && vf[0] == '\0' ? log_escape(why, sizeof why,
	    reason, strlen(reason)) : "");
}

/* Message bytes after the header block: pipeline and queue. */
static mailsec_err
tx_body(struct smtp_tx *tx, const char *p, size_t len)
{
	mailsec_err e;

	if (len == 0)
		return MAILSEC_OK;
	if ((e = pl_msg_body(tx->pl, p, len)) != MAILSEC_OK)
		return e;
	return queue_msg_write(tx->qm, p, len);
}

/*
 * An authenticated user may send only as the addresses the configuration
 * gives them: the envelope sender is checked at MAIL FROM, the author
 * (every address of every From field) here, before the pipeline signs
 * the message with the From domain's key. Sets tx->refuse and returns
 * false when the header does not pass.
 */
static bool
tx_author_allowed(struct smtp_tx *tx, const char *p, size_t len)
{
	struct session *s = tx->s;
	struct mailsec_msg *msg = NULL;
	struct mailsec_author *au = NULL;
	char addr[ADDR_MAX + 1];
	bool ok = false;
	size_t i;
	int n;

	if (mailsec_msg_parse(p, len, NULL, 0, &msg, NULL) != MAILSEC_OK ||
	    mailsec_msg_author(msg, &au) != MAILSEC_OK) {
		mailsec_smtp_reply_set(&tx->refuse, 550, "5.6.0",
		    "Message header not acceptable: malformed");
		goto out;
	}
	if (au->addrs->count == 0 || (au->status != MAILSEC_AUTHOR_OK &&
	    au->status != MAILSEC_AUTHOR_MULTIPLE_ADDRS)) {
		mailsec_smtp_reply_set(&tx->refuse, 550, "5.7.1",
		    "From header field not acceptable (%s)",
		    mailsec_author_status_name(au->status));
		goto out;
	}
	for (i = 0; i < au->addrs->count; i++) {
		const struct mailsec_addr *a = &au->addrs->addrs[i];

		n = snprintf(addr, sizeof addr, "%s@%s", a->local,
		    a->domain_norm != NULL ? a->domain_norm : a->domain);
		if (n < 0 || (size_t)n >= sizeof addr ||
		    !gw_config_sender_allowed(scfg(s), s->auth_user, addr,
		    (size_t)n)) {
			mailsec_smtp_reply_set(&tx->refuse, 550, "5.7.1",
			    "From: address not allowed for user %s",
			    s->auth_user);
			goto out;
		}
	}
	ok = true;
out:
	mailsec_author_free(au);
	mailsec_msg_free(msg);
	return ok;
}

/* The header block is complete: the pipeline strips forged fields. */
static mailsec_err
tx_header(struct smtp_tx *tx, const char *p, size_t len)
{
	struct mailsec_str keep;
	const char *reason = NULL;
	mailsec_err e;

	tx->hdr_done = true;
	if (tx->s->auth_user != NULL && !tx_author_allowed(tx, p, len))
		return MAILSEC_ESYNTAX;
	e = pl_msg_header(tx->pl, p, len, &keep, &reason);
	if (e == MAILSEC_ESYNTAX || e == MAILSEC_ELIMIT) {
		mailsec_smtp_reply_set(&tx->refuse, 550, "5.6.0",
		    "Message header not acceptable: %s",
		    reason != NULL ? reason : "malformed");
		return e;
	}
	if (e != MAILSEC_OK)
		return e;
	return queue_msg_write(tx->qm, keep.ptr, keep.len);
}

/* Where the header block ends in (p, len), searching from from. */
static size_t
header_end(const char *p, size_t len, size_t from)
{
	const char *q;

	if (len >= 2 && p[0] == '\r' && p[1] == '\n')
		return 2;
	if (len < 4)
		return 0;
	q = memmem(p + from, len - from, "\r\n\r\n", 4);
	return q != NULL ? (size_t)(q - p) + 4 : 0;
}

/* The decoder's sink: unstuffed message bytes. */
static mailsec_err
tx_sink(void *arg, const char *p, size_t len)
{
	struct smtp_tx *tx = arg;
	size_t old, end;
	mailsec_err e;

	if (tx->hdr_done)
		return tx_body(tx, p, len);
	old = tx->hdr.len;
	if (ms_buf_append(&tx->hdr, p, len) != MAILSEC_OK) {
		mailsec_smtp_reply_set(&tx->refuse, 552, "5.3.4",
		    "Message header too large");
		return MAILSEC_ELIMIT;
	}
	end = header_end(tx->hdr.ptr, tx->hdr.len, old >= 3 ? old - 3 : 0);
	if (end == 0)
		return MAILSEC_OK;
	e = tx_header(tx, tx->hdr.ptr, end);
	if (e == MAILSEC_OK)
		e = tx_body(tx, tx->hdr.ptr + end, tx->hdr.len - end);
	ms_buf_free(&tx->hdr);
	return e;
}

static mailsec_err
tx_data_start(struct session *s, enum mailsec_smtp_data_mode mode)
{
	struct smtp_tx *tx = s->tx;
	struct mailsec_smtp_data_opts o = {
		.mode = mode,
		.size_max = scfg(s)->limits.message_size,
		.sink = tx_sink,
		.sink_arg = tx,
	};
	mailsec_err e;

	if ((e = queue_msg_new(s->w->q, &tx->qm)) != MAILSEC_OK)
		return e;
	(void)snprintf(tx->id, sizeof tx->id, "%s", queue_msg_id(tx->qm));
	mailsec_smtp_data_init(&tx->data, &o);
	ms_buf_init(&tx->hdr, SESSION_HEADER_MAX);
	tx->data_started = true;
	return MAILSEC_OK;
}

/* ---- the end of a message: pipeline verdict, envelope, commit ----------- */

static void
smtp_resume(struct session *s)
{
	s->blocked = false;
	if (s->dead || s->io == IO_CLOSING)
		return;
	smtp_enter_io(s, IO_CMD);
	bufferevent_enable(s->bev, EV_READ);
	if (!s->in_process)
		smtp_process(s);
}

static void
tx_commit_done(void *arg, mailsec_err err, const char *id)
{
	struct session *s = arg;
	struct smtp_tx *tx = s->tx;

	tx->committing = false;
	tx->qm = NULL;		/* the queue freed it */
	if (err == MAILSEC_OK) {
		smtp_reply(s, 250, "2.0.0", "Ok: queued as %s", id);
		log_message(s, tx, 250, "queued", NULL);
		s->messages++;
	} else {
		smtp_reply(s, 451, "4.3.0", "Error: queue write failed, "
		    "try again later");
		log_message(s, tx, 451, "tempfail", mailsec_strerror(err));
	}
	tx_drop(s);
	smtp_resume(s);
}

static const char *
received_with(const struct session *s, const struct smtp_tx *tx)
{
	static const char *const kw[2][2][2] = {
		/* [utf8][tls][auth] */
		{ { "ESMTP", "ESMTPA" }, { "ESMTPS", "ESMTPSA" } },
		{ { "UTF8SMTP", "UTF8SMTPA" }, { "UTF8SMTPS", "UTF8SMTPSA" } }
	};

	if (!(s->sm.flags & MAILSEC_SMTP_S_EHLO))
		return "SMTP";
	return kw[tx->smtputf8][s->tls_info[0] != '\0'][s->auth_user != NULL];
}

/* The Received field (RFC 5321 4.4), after the pipeline's fields. */
static mailsec_err
make_prepend(struct session *s, struct smtp_tx *tx,
    const struct pl_verdict *v, struct ms_buf *b)
{
	char date[64], helo[sizeof s->helo];
	struct tm tm;
	time_t now = time(NULL);
	size_t i;
	mailsec_err e;

	/* Quarantine to a Maildir is the envelope's "quarantine" key
	 * (tx_envelope()); the header mode's field is in v->prepend. */
	if (v->prepend_len > 0 &&
	    (e = ms_buf_append(b, v->prepend, v->prepend_len)) != MAILSEC_OK)
		return e;
	localtime_r(&now, &tm);
	if (strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S %z", &tm) == 0)
		date[0] = '\0';
	/* the HELO argument passed the parser: keep printable ASCII */
	for (i = 0; s->helo[i] != '\0'; i++)
		helo[i] = (s->helo[i] > 0x20 && s->helo[i] < 0x7f) ?
		    s->helo[i] : '?';
	helo[i] = '\0';
	e = ms_buf_printf(b, "Received: from %s (%s [%s])\r\n\tby %s "
	    "(mailsec) with %s id %s", helo[0] != '\0' ? helo : "unknown",
	    helo[0] != '\0' ? helo : "unknown", s->ip, s->w->hostname,
	    received_with(s, tx), tx->id);
	if (e == MAILSEC_OK && s->tls_info[0] != '\0')
		e = ms_buf_printf(b, "\r\n\t(%s)", s->tls_info);
	if (e == MAILSEC_OK && tx->nrcpt == 1)
		e = ms_buf_printf(b, "\r\n\tfor <%s>", tx->rcpt[0].addr);
	if (e == MAILSEC_OK)
		e = ms_buf_printf(b, ";\r\n\t%s\r\n", date);
	return e;
}

static const char *
body_name(enum mailsec_smtp_body b)
{
	switch (b) {
	case MAILSEC_SMTP_BODY_7BIT:
		return "7BIT";
	case MAILSEC_SMTP_BODY_8BITMIME:
		return "8BITMIME";
	case MAILSEC_SMTP_BODY_BINARYMIME:
		return "BINARYMIME";
	case MAILSEC_SMTP_BODY_NONE:
	default:
		return NULL;
	}
}

/* quarantine: the reason when the message goes to the quarantine
 * Maildir, else NULL. */
static mailsec_err
tx_envelope(struct session *s, struct smtp_tx *tx, const char *hdr,
    size_t hdrlen, const char *quarantine)
{
	struct queue_rcpt *r;
	struct queue_env env = { 0 };
	size_t i;
	mailsec_err e;

	if ((r = ms_calloc(tx->nrcpt, sizeof *r)) == NULL)
		return MAILSEC_ENOMEM;
	for (i = 0; i < tx->nrcpt; i++) {
		r[i].addr = tx->rcpt[i].addr;
		r[i].notify = tx->rcpt[i].notify;
		r[i].orcpt = tx->rcpt[i].orcpt;
	}
	env.mail_from = tx->mail_from;
	env.size = (tx->mp.present & MAILSEC_SMTP_P_SIZE) ? tx->mp.size : 0;
	env.body = body_name(tx->mp.body);
	env.smtputf8 = tx->smtputf8;
	env.ret = tx->mp.ret == MAILSEC_SMTP_RET_FULL ? "FULL" :
	    tx->mp.ret == MAILSEC_SMTP_RET_HDRS ? "HDRS" : NULL;
	env.envid = (tx->mp.present & MAILSEC_SMTP_P_ENVID) ? tx->mp.envid :
	    NULL;
	env.client_ip = s->ip;
	env.helo = s->helo[0] != '\0' ? s->helo : NULL;
	env.tls = s->tls_info[0] != '\0' ? s->tls_info : NULL;
	env.auth_user = s->auth_user;
	env.quarantine = quarantine;
	env.headers = hdr;
	env.headers_len = hdrlen;
	env.rcpt = r;
	env.nrcpt = tx->nrcpt;
	e = queue_msg_envelope(tx->qm, &env);
	free(r);
	return e;
}

static void
tx_verdict(void *arg, struct pl_msg *m, const struct pl_verdict *v)
{
	struct session *s = arg;
	struct smtp_tx *tx = s->tx;
	struct ms_buf pre;
	const char *quar = NULL;
	mailsec_err e;

	tx->action = pl_action_name(v->action);
	if (v->log != NULL)
		tx->verdict_log = strdup(v->log);
	if (v->action == PL_REJECT || v->action == PL_TEMPFAIL) {
		bool rej = v->action == PL_REJECT;
		unsigned code = v->reply_code >= (rej ? 500 : 400) &&
		    v->reply_code < (rej ? 600 : 500) ?
		    (unsigned)v->reply_code : rej ? 550 : 451;

		smtp_reply(s, code, v->reply_enhanced != NULL ?
		    v->reply_enhanced : rej ? "5.7.1" : "4.7.0", "%s",
		    v->reply_text != NULL ? v->reply_text :
		    "Message refused by policy");
		log_message(s, tx, code, rej ? "rejected" : "tempfail",
		    v->reply_text);
		tx_drop(s);
		smtp_resume(s);
		return;
	}
	if (v->action == PL_QUARANTINE && v->quarantine_maildir)
		quar = v->reply_text != NULL && v->reply_text[0] != '\0' ?
		    v->reply_text : "policy";
	ms_buf_init(&pre, QUEUE_ENV_MAX / 2);
	e = make_prepend(s, tx, v, &pre);
	if (e == MAILSEC_OK)
		e = tx_envelope(s, tx, pre.ptr != NULL ? pre.ptr : "",
		    pre.len, quar);
	ms_buf_free(&pre);
	tx->pl = NULL;
	pl_msg_free(m);
	if (e != MAILSEC_OK) {
		smtp_reply(s, 451, "4.3.0", "Error: cannot queue the message");
		log_message(s, tx, 451, "tempfail", mailsec_strerror(e));
		tx_drop(s);
		smtp_resume(s);
		return;
	}
	tx->committing = true;
	queue_commit(s->w->q, tx->qm, tx_commit_done, s);
}

/* DATA's end marker or the LAST chunk was taken. */
static void
smtp_message_end(struct session *s)
{
	struct smtp_tx *tx = s->tx;
	struct mailsec_smtp_reply r;
	mailsec_err e;

	mailsec_smtp_session_end_message(&s->sm);
	if (tx->refuse.code != 0) {
		r = tx->refuse;
	} else if (!mailsec_smtp_data_verdict(&tx->data, &r)) {
		/* r is set */
	} else {
		r.code = 0;
		if (!tx->hdr_done) {
			/* no empty line: the whole message is header */
			e = tx_header(tx, tx->hdr.ptr != NULL ? tx->hdr.ptr :
			    "", tx->hdr.len);
			ms_buf_free(&tx->hdr);
			if (e != MAILSEC_OK && tx->refuse.code == 0)
				mailsec_smtp_reply_set(&tx->refuse, 451,
				    "4.3.0", "Error: cannot store the "
				    "message");
			if (e != MAILSEC_OK)
				r = tx->refuse;
		}
	}
	if (r.code != 0) {
		smtp_reply_r(s, &r);
		log_message(s, tx, r.code, r.code >= 500 ? "rejected" :
		    "tempfail", r.text);
		tx_drop(s);
		smtp_enter_io(s, IO_CMD);
		return;
	}
	s->blocked = true;
	bufferevent_disable(s->bev, EV_READ);
	if ((e = pl_msg_end(tx->pl, tx_verdict, s)) != MAILSEC_OK) {
		smtp_reply(s, 451, "4.3.0", "Error: policy check failed");
		log_message(s, tx, 451, "tempfail", mailsec_strerror(e));
		tx_drop(s);
		smtp_resume(s);
	}
}

/* ---- commands ----------------------------------------------------------- */

static void
smtp_cmd_helo(struct session *s, const struct mailsec_smtp_cmd *cmd)
{
	char buf[REPLY_BUF_MAX];
	size_t len = 0, n = cmd->arg.len;
	struct mailsec_smtp_caps caps;

	tx_drop(s);
	if (n >= sizeof s->helo)
		n = sizeof s->helo - 1;
	memcpy(s->helo, cmd->arg.ptr, n);
	s->helo[n] = '\0';
	mailsec_smtp_session_accept(&s->sm, cmd);
	if (cmd->verb == MAILSEC_SMTP_HELO) {
		smtp_reply(s, 250, NULL, "%s", s->w->hostname);
		return;
	}
	caps.flags = mailsec_smtp_session_caps(&s->sm);
	caps.size_max = scfg(s)->limits.message_size;
	if (mailsec_smtp_ehlo_reply(buf, sizeof buf, &len, s->w->hostname,
	    "Hello", &caps) != MAILSEC_OK) {
		smtp_reply(s, 451, "4.3.0", "Internal error");
		return;
	}
	(void)evbuffer_add(bufferevent_get_output(s->bev), buf, len);
}

static void
smtp_cmd_mail(struct session *s, const struct mailsec_smtp_cmd *cmd)
{
	struct pl_client c = { 0 };
	char addr[ADDR_MAX + 1];
	struct smtp_tx *tx;
	mailsec_err e;

	if (path_text(&cmd->path, NULL, addr, sizeof addr) == -1) {
		smtp_reply(s, 553, "5.1.7", "Sender address too long");
		return;
	}
	if (s->auth_user != NULL && (cmd->path.null ||
	    !gw_config_sender_allowed(scfg(s), s->auth_user, addr,
	    strlen(addr)))) {
		smtp_reply(s, 553, "5.7.1", "Sender address <%s> not allowed "
		    "for user %s", addr, s->auth_user);
		return;
	}
	if ((tx = calloc(1, sizeof *tx)) == NULL ||
	    (tx->mail_from = strdup(addr)) == NULL) {
		free(tx);
		smtp_reply(s, 451, "4.3.0", "Error: out of memory");
		return;
	}
	tx->s = s;
	tx->mp = cmd->params;
	tx->smtputf8 = (cmd->params.present & MAILSEC_SMTP_P_SMTPUTF8) != 0;
	s->tx = tx;
	c.ip = s->ip;
	c.helo = s->helo;
	c.auth_user = s->auth_user;
	c.tls = s->tls_info[0] != '\0';
	if ((e = pl_msg_new(s->w->pl, &c, &tx->pl)) != MAILSEC_OK ||
	    (e = pl_msg_mail_from(tx->pl, addr)) != MAILSEC_OK) {
		log_warnx("%016llx pipeline: %s", (unsigned long long)s->id,
		    mailsec_strerror(e));
		tx_drop(s);
		smtp_reply(s, 451, "4.3.0", "Error: policy check unavailable");
		return;
	}
	mailsec_smtp_session_accept(&s->sm, cmd);
	smtp_reply(s, 250, "2.1.0", "Ok");
}

static char *
notify_text(unsigned n)
{
	char buf[64];

	if (n & MAILSEC_SMTP_NOTIFY_NEVER)
		return strdup("NEVER");
	(void)snprintf(buf, sizeof buf, "%s%s%s",
	    (n & MAILSEC_SMTP_NOTIFY_SUCCESS) ? "SUCCESS," : "",
	    (n & MAILSEC_SMTP_NOTIFY_FAILURE) ? "FAILURE," : "",
	    (n & MAILSEC_SMTP_NOTIFY_DELAY) ? "DELAY," : "");
	if (buf[0] != '\0')
		buf[strlen(buf) - 1] = '\0';
	return strdup(buf);
}

/*
 * RCPT TO a forwarding alias (daemon/forward.h): accepted as local mail,
 * and the envelope gets the alias's targets instead, never expanded
 * again, each with the client's NOTIFY and an ORCPT naming the alias
 * (the client's own ORCPT when it sent one; RFC 3461 4.2). A target
 * already in the envelope is not added twice. The pipeline is told, so
 * that it ARC-seals the message (arc.seal).
 */
static void
smtp_rcpt_forward(struct session *s, const struct mailsec_smtp_cmd *cmd,
    const struct gw_forward_alias *fa, const char *addr)
{
	char esc[LOG_ESC_SIZE(ADDR_MAX)];
	struct smtp_tx *tx = s->tx;
	struct tx_rcpt *r;
	char *given = NULL;
	size_t i, j, n0 = tx->nrcpt, need = tx->nrcpt + fa->to.n, cap;
	bool notify = (cmd->params.present & MAILSEC_SMTP_P_NOTIFY) != 0;
	bool dup;
	mailsec_err e = MAILSEC_OK;

	if (need > QUEUE_RCPT_MAX) {
		smtp_reply(s, 452, "4.5.3", "Too many recipients");
		return;
	}
	if (need > tx->rcpt_cap) {
		for (cap = tx->rcpt_cap > 0 ? tx->rcpt_cap : 4; cap < need;
		    cap *= 2)
			;
		if ((r = ms_reallocarray(tx->rcpt, cap, sizeof *r)) == NULL) {
			smtp_reply(s, 452, "4.3.0", "Error: out of memory");
			return;
		}
		tx->rcpt = r;
		tx->rcpt_cap = cap;
	}
	if (cmd->params.present & MAILSEC_SMTP_P_ORCPT) {
		size_t n = cmd->params.orcpt_type_len + 1 +
		    cmd->params.orcpt_len;

		if ((given = malloc(n + 1)) == NULL)
			e = MAILSEC_ENOMEM;
		else
			(void)snprintf(given, n + 1, "%s;%s",
			    cmd->params.orcpt_type, cmd->params.orcpt);
	}
	for (i = 0; i < fa->to.n && e == MAILSEC_OK; i++) {
		for (dup = false, j = 0; j < tx->nrcpt && !dup; j++)
			dup = strcmp(tx->rcpt[j].addr, fa->to.v[i]) == 0;
		if (dup)
			continue;
		r = &tx->rcpt[tx->nrcpt++];
		memset(r, 0, sizeof *r);
		r->addr = strdup(fa->to.v[i]);
		if (notify)
			r->notify = notify_text(cmd->params.notify);
		e = fwd_orcpt(given, addr, &r->orcpt);
		if (r->addr == NULL || (notify && r->notify == NULL))
			e = MAILSEC_ENOMEM;
	}
	free(given);
	if (e != MAILSEC_OK) {
		for (j = n0; j < tx->nrcpt; j++) {
			free(tx->rcpt[j].addr);
			free(tx->rcpt[j].notify);
			free(tx->rcpt[j].orcpt);
		}
		tx->nrcpt = n0;
		smtp_reply(s, 452, "4.3.0", "Error: out of memory");
		return;
	}
	(void)pl_msg_forwarded(tx->pl);
	log_info("%016llx smtp forward rcpt=<%s> targets=%zu added=%zu",
	    (unsigned long long)s->id, log_escape(esc, sizeof esc, addr,
	    strlen(addr)), fa->to.n, tx->nrcpt - n0);
	mailsec_smtp_session_accept(&s->sm, cmd);
	smtp_reply(s, 250, "2.1.5", "Ok");
}

static void
smtp_cmd_rcpt(struct session *s, const struct mailsec_smtp_cmd *cmd)
{
	const struct gw_config *cfg = scfg(s);
	const struct mailsec_smtp_path *p = &cmd->path;
	struct smtp_tx *tx = s->tx;
	struct tx_rcpt *r;
	char addr[ADDR_MAX + 1], user[MAILDIR_USER_MAX + 1];
	const struct gw_forward_alias *fa;
	enum gw_rcpt_verdict v;

	if (p->postmaster)
		v = gw_config_recipient(cfg, auth_db_passwd(s->w->auth),
		    p->local, p->local_len, NULL, 0);
	else if (p->host == MAILSEC_SMTP_HOST_DOMAIN)
		v = gw_config_recipient(cfg, auth_db_passwd(s->w->auth),
		    p->local, p->local_len, p->domain, p->domain_len);
	else
		v = GW_RCPT_NOT_LOCAL;	/* address literals: never ours */
	if (path_text(p, p->postmaster && cfg->local.domains.n > 0 ?
	    cfg->local.domains.v[0] : NULL, addr, sizeof addr) == -1) {
		smtp_reply(s, 553, "5.1.3", "Recipient address too long");
		return;
	}
	/* a forwarding alias is local mail that goes on (forward { }) */
	if (p->host == MAILSEC_SMTP_HOST_DOMAIN && (fa = fwd_lookup(cfg,
	    p->local, p->local_len, p->domain, p->domain_len)) != NULL) {
		smtp_rcpt_forward(s, cmd, fa, addr);
		return;
	}
	/* a mailbox the delivery runner could not file is refused now */
	if (v == GW_RCPT_OK && !p->postmaster && (p->quoted ||
	    maildir_user(p->local, p->local_len, user) != MAILSEC_OK))
		v = GW_RCPT_BAD_MAILBOX;
	switch (v) {
	case GW_RCPT_OK:
		break;
	case GW_RCPT_NOT_LOCAL:
		if (s->auth_user != NULL)
			break;	/* submission: queued for relaying */
		smtp_reply(s, 554, "5.7.1", "<%s>: Relay access denied", addr);
		return;
	case GW_RCPT_NO_SUCH_USER:
		smtp_reply(s, 550, "5.1.1", "<%s>: Recipient address rejected: "
		    "User unknown", addr);
		return;
	case GW_RCPT_BAD_MAILBOX:
	default:
		smtp_reply(s, 550, "5.1.1", "<%s>: Recipient address rejected: "
		    "no such mailbox", addr);
		return;
	}
	if (tx->nrcpt == tx->rcpt_cap) {
		size_t cap = tx->rcpt_cap > 0 ? tx->rcpt_cap * 2 : 4;

		if ((r = ms_reallocarray(tx->rcpt, cap, sizeof *r)) == NULL) {
			smtp_reply(s, 452, "4.3.0", "Error: out of memory");
			return;
		}
		tx->rcpt = r;
		tx->rcpt_cap = cap;
	}
	r = &tx->rcpt[tx->nrcpt];
	memset(r, 0, sizeof *r);
	r->addr = strdup(addr);
	if (cmd->params.present & MAILSEC_SMTP_P_NOTIFY)
		r->notify = notify_text(cmd->params.notify);
	if (cmd->params.present & MAILSEC_SMTP_P_ORCPT) {
		size_t n = cmd->params.orcpt_type_len + 1 +
		    cmd->params.orcpt_len;

		if ((r->orcpt = malloc(n + 1)) != NULL)
			(void)snprintf(r->orcpt, n + 1, "%s;%s",
			    cmd->params.orcpt_type, cmd->params.orcpt);
	}
	if (r->addr == NULL ||
	    ((cmd->params.present & MAILSEC_SMTP_P_NOTIFY) &&
	    r->notify == NULL) ||
	    ((cmd->params.present & MAILSEC_SMTP_P_ORCPT) &&
	    r->orcpt == NULL)) {
		free(r->addr);
		free(r->notify);
		free(r->orcpt);
		smtp_reply(s, 452, "4.3.0", "Error: out of memory");
		return;
	}
	tx->nrcpt++;
	mailsec_smtp_session_accept(&s->sm, cmd);
	smtp_reply(s, 250, "2.1.5", "Ok");
}

static void
smtp_cmd_data(struct session *s, const struct mailsec_smtp_cmd *cmd)
{
	if (s->tx->failed) {
		smtp_reply(s, 554, "5.5.1", "Previous BDAT failed; send RSET");
		return;
	}
	if (tx_data_start(s, MAILSEC_SMTP_MODE_DATA) != MAILSEC_OK) {
		smtp_reply(s, 451, "4.3.0", "Error: cannot queue now");
		return;
	}
	smtp_reply(s, 354, NULL, "End data with <CR><LF>.<CR><LF>");
	mailsec_smtp_session_accept(&s->sm, cmd);
	smtp_enter_io(s, IO_DATA);
}

/* A BDAT chunk's bytes were all taken. */
static void
smtp_bdat_chunk_end(struct session *s)
{
	struct smtp_tx *tx = s->tx;
	struct mailsec_smtp_cmd cmd;
	struct mailsec_smtp_reply r;

	if (tx->refuse.code != 0 || !mailsec_smtp_data_verdict(&tx->data, &r)) {
		if (tx->refuse.code != 0)
			r = tx->refuse;
		smtp_reply_r(s, &r);
		log_message(s, tx, r.code, "rejected", r.text);
		smtp_enter_io(s, IO_CMD);
		if (s->bdat_last) {
			tx_drop(s);
			mailsec_smtp_session_end_message(&s->sm);
			return;
		}
		/* RFC 3030 2: the transaction stays, refused, until RSET */
		tx_fail(tx);
		s->sm.flags |= MAILSEC_SMTP_S_BDAT_FAILED;
		return;
	}
	memset(&cmd, 0, sizeof cmd);
	cmd.verb = MAILSEC_SMTP_BDAT;
	cmd.bdat_last = s->bdat_last;
	if (!s->bdat_last) {
		mailsec_smtp_session_accept(&s->sm, &cmd);
		smtp_reply(s, 250, "2.0.0", "%llu octets received",
		    (unsigned long long)tx->data.wire);
		smtp_enter_io(s, IO_CMD);
		return;
	}
	mailsec_smtp_session_accept(&s->sm, &cmd);
	smtp_enter_io(s, IO_CMD);
	smtp_message_end(s);
}

/* A refused BDAT: its size octets are read and dropped, then r. */
static void
smtp_drain(struct session *s, const struct mailsec_smtp_reply *r,
    uint64_t size)
{
	if (size == 0) {
		smtp_reply_r(s, r);
		return;
	}
	s->drain_reply = *r;
	s->drain_left = size;
	smtp_enter_io(s, IO_DRAIN);
}

static void
smtp_cmd_bdat(struct session *s, const struct mailsec_smtp_cmd *cmd)
{
	struct smtp_tx *tx = s->tx;
	enum mailsec_smtp_data_mode mode = MAILSEC_SMTP_MODE_BDAT;

	struct mailsec_smtp_reply r;

	if (tx->failed) {
		mailsec_smtp_reply_set(&r, 554, "5.5.1",
		    "Previous BDAT failed; send RSET");
		smtp_drain(s, &r, cmd->bdat_size);
		return;
	}
	if (!tx->data_started && tx_data_start(s, mode) != MAILSEC_OK) {
		mailsec_smtp_reply_set(&r, 451, "4.3.0",
		    "Error: cannot queue now");
		tx_fail(tx);
		s->sm.flags |= MAILSEC_SMTP_S_BDAT_FAILED;
		smtp_drain(s, &r, cmd->bdat_size);
		return;
	}
	if (mailsec_smtp_bdat_chunk(&tx->data, cmd->bdat_size,
	    cmd->bdat_last) != MAILSEC_OK) {
		mailsec_smtp_reply_set(&r, 503, "5.5.1",
		    "Bad sequence of commands");
		smtp_drain(s, &r, cmd->bdat_size);
		return;
	}
	s->bdat_last = cmd->bdat_last;
	smtp_enter_io(s, IO_BDAT);
	if (tx->data.chunk_left == 0)
		smtp_bdat_chunk_end(s);
}

static void
smtp_auth_done(void *arg, bool ok)
{
	struct session *s = arg;
	struct mailsec_smtp_cmd cmd;
	const struct mailsec_smtp_sasl_creds *c = &s->sasl->creds;
	bool authz_ok;

	s->auth_req = NULL;
	authz_ok = c->authzid_len == 0 || (c->authzid_len == c->authcid_len &&
	    memcmp(c->authzid, c->authcid, c->authcid_len) == 0);
	if (ok && authz_ok && (s->auth_user = strdup(c->authcid)) != NULL) {
		memset(&cmd, 0, sizeof cmd);
		cmd.verb = MAILSEC_SMTP_AUTH;
		mailsec_smtp_session_accept(&s->sm, &cmd);
		smtp_reply(s, 235, "2.7.0", "Authentication successful");
		log_info("%016llx smtp auth ok client=%s user=%s",
		    (unsigned long long)s->id, s->ip, s->auth_user);
	} else {
		char u[LOG_ESC_SIZE(64)];

		auth_throttle_fail(&s->w->shm->auth, s->ip);
		s->auth_failures++;
		log_notice("%016llx smtp auth failed client=%s user=%s",
		    (unsigned long long)s->id, s->ip,
		    log_escape(u, sizeof u, c->authcid,
		    c->authcid_len < 64 ? c->authcid_len : 64));
		smtp_reply(s, 535, "5.7.8", "Authentication credentials "
		    "invalid");
		if (scfg(s)->limits.auth_failures > 0 &&
		    s->auth_failures >= scfg(s)->limits.auth_failures) {
			smtp_reply(s, 421, "4.7.0", "%s Too many "
			    "authentication failures", s->w->hostname);
			smtp_close(s, "auth failures");
		}
	}
	mailsec_smtp_sasl_clear(s->sasl);
	free(s->sasl);
	s->sasl = NULL;
	smtp_resume(s);
}

/* A SASL exchange moved on: send the challenge, refuse, or verify. */
static void
smtp_sasl_status(struct session *s, enum mailsec_smtp_sasl_status st,
    const char *challenge, const struct mailsec_smtp_reply *r)
{
	struct mailsec_smtp_sasl_creds *c = &s->sasl->creds;
	mailsec_err e;

	switch (st) {
	case MAILSEC_SMTP_SASL_CONTINUE:
		smtp_reply(s, 334, NULL, "%s", challenge);
		smtp_enter_io(s, IO_SASL);
		return;
	case MAILSEC_SMTP_SASL_DONE:
		smtp_enter_io(s, IO_CMD);
		s->blocked = true;
		bufferevent_disable(s->bev, EV_READ);
		e = auth_check_start(s->w->base, s->w->auth, c->authcid,
		    c->authcid_len, c->passwd, c->passwd_len, smtp_auth_done,
		    s, &s->auth_req);
		if (e != MAILSEC_OK) {
			smtp_reply(s, 454, "4.7.0", "Temporary authentication "
			    "failure");
			mailsec_smtp_sasl_clear(s->sasl);
			free(s->sasl);
			s->sasl = NULL;
			smtp_resume(s);
		}
		return;
	case MAILSEC_SMTP_SASL_FAILED:
	case MAILSEC_SMTP_SASL_CANCELLED:
	default:
		smtp_reply_r(s, r);
		mailsec_smtp_sasl_clear(s->sasl);
		free(s->sasl);
		s->sasl = NULL;
		smtp_enter_io(s, IO_CMD);
		return;
	}
}

static void
smtp_cmd_auth(struct session *s, const struct mailsec_smtp_cmd *cmd)
{
	struct mailsec_smtp_reply r;
	enum mailsec_smtp_sasl_status st;
	const char *challenge = NULL;

	if (auth_throttled(&s->w->shm->auth, s->ip,
	    scfg(s)->auth.throttle)) {
		smtp_reply(s, 454, "4.7.0", "Too many authentication "
		    "failures from %s, try again later", s->ip);
		return;
	}
	if ((s->sasl = calloc(1, sizeof *s->sasl)) == NULL) {
		smtp_reply(s, 454, "4.7.0", "Temporary authentication "
		    "failure");
		return;
	}
	st = mailsec_smtp_sasl_start(s->sasl, cmd->auth_mech,
	    cmd->auth_ir.ptr, cmd->auth_ir.len, cmd->auth_has_ir, &challenge,
	    &r);
	smtp_sasl_status(s, st, challenge, &r);
}

static void
smtp_cmd_starttls(struct session *s, const struct mailsec_smtp_cmd *cmd)
{
	(void)cmd;
	if (s->w->tls == NULL) {
		smtp_reply(s, 454, "4.7.0", "TLS not available");
		return;
	}
	tx_drop(s);
	smtp_reply(s, 220, "2.0.0", "Ready to start TLS");
	s->starttls = true;
}

/* One command line (OK from the splitter). after: bytes behind it. */
static void
smtp_command(struct session *s, const char *line, size_t len, size_t after)
{
	struct mailsec_smtp_parse_opts o;
	struct mailsec_smtp_cmd cmd;
	struct mailsec_smtp_reply r;
	mailsec_err e;

	log_debug("%016llx smtp < %.*s", (unsigned long long)s->id,
	    (int)(len > 200 ? 200 : len), line);
	mailsec_smtp_session_parse_opts(&s->sm, &o);
	e = mailsec_smtp_cmd_parse(line, len, &o, &cmd, NULL);
	if (e != MAILSEC_OK || cmd.verb == MAILSEC_SMTP_UNKNOWN) {
		smtp_reply_r(s, &cmd.reply);
		if (cmd.verb == MAILSEC_SMTP_BDAT) {
			/* its size is unknown: the chunk cannot be skipped */
			smtp_reply(s, 421, "4.5.0", "%s Closing: cannot find "
			    "the end of the BDAT chunk", s->w->hostname);
			smtp_close(s, "bad BDAT");
		}
		return;
	}
	if (s->w->draining && s->tx == NULL && cmd.verb != MAILSEC_SMTP_QUIT) {
		smtp_reply(s, 421, "4.3.2", "%s Service shutting down",
		    s->w->hostname);
		smtp_close(s, "shutdown");
		return;
	}
	if (mailsec_smtp_session_sync_error(&s->sm, &cmd, after))
		log_debug("%016llx smtp pipelining: %zu bytes after %s",
		    (unsigned long long)s->id, after,
		    mailsec_smtp_verb_name(cmd.verb));
	if (!mailsec_smtp_session_check(&s->sm, &cmd, &r)) {
		if (cmd.verb == MAILSEC_SMTP_BDAT)
			/* RFC 3030 2: the chunk's bytes are still read */
			smtp_drain(s, &r, cmd.bdat_size);
		else
			smtp_reply_r(s, &r);
		return;
	}
	if (s->tx == NULL && (cmd.verb == MAILSEC_SMTP_RCPT ||
	    cmd.verb == MAILSEC_SMTP_DATA || cmd.verb == MAILSEC_SMTP_BDAT)) {
		mailsec_smtp_reply_set(&r, 503, "5.5.1", "Need MAIL first");
		if (cmd.verb == MAILSEC_SMTP_BDAT)
			smtp_drain(s, &r, cmd.bdat_size);
		else
			smtp_reply_r(s, &r);
		return;
	}
	switch (cmd.verb) {
	case MAILSEC_SMTP_HELO:
	case MAILSEC_SMTP_EHLO:
		smtp_cmd_helo(s, &cmd);
		break;
	case MAILSEC_SMTP_MAIL:
		smtp_cmd_mail(s, &cmd);
		break;
	case MAILSEC_SMTP_RCPT:
		smtp_cmd_rcpt(s, &cmd);
		break;
	case MAILSEC_SMTP_DATA:
		smtp_cmd_data(s, &cmd);
		break;
	case MAILSEC_SMTP_BDAT:
		smtp_cmd_bdat(s, &cmd);
		break;
	case MAILSEC_SMTP_RSET:
		tx_drop(s);
		mailsec_smtp_session_accept(&s->sm, &cmd);
		smtp_reply(s, 250, "2.0.0", "Ok");
		break;
	case MAILSEC_SMTP_NOOP:
		mailsec_smtp_session_accept(&s->sm, &cmd);
		smtp_reply(s, 250, "2.0.0", "Ok");
		break;
	case MAILSEC_SMTP_QUIT:
		mailsec_smtp_session_accept(&s->sm, &cmd);
		smtp_reply(s, 221, "2.0.0", "Bye");
		smtp_close(s, "quit");
		break;
	case MAILSEC_SMTP_VRFY:
		smtp_reply(s, 252, "2.5.2", "Cannot VRFY user, but will "
		    "accept message and attempt delivery");
		break;
	case MAILSEC_SMTP_EXPN:
		smtp_reply(s, 502, "5.5.1", "EXPN not available");
		break;
	case MAILSEC_SMTP_HELP:
		smtp_reply(s, 214, "2.0.0", "See RFC 5321");
		break;
	case MAILSEC_SMTP_STARTTLS:
		smtp_cmd_starttls(s, &cmd);
		break;
	case MAILSEC_SMTP_AUTH:
		smtp_cmd_auth(s, &cmd);
		break;
	case MAILSEC_SMTP_UNKNOWN:
	case MAILSEC_SMTP_VERB_COUNT:
	default:
		smtp_reply(s, 500, "5.5.2", "Command unrecognized");
		break;
	}
}

/* ---- TLS ---------------------------------------------------------------- */

/* TLS over the session's bufferevent (STARTTLS: filter) or, for
 * implicit TLS, on the socket fd itself. */
static mailsec_err
smtp_tls_start(struct session *s, bool filter, int fd)
{
	struct bufferevent *bev;

	if ((s->ssl = SSL_new(s->w->tls)) == NULL)
		return MAILSEC_ENOMEM;
	if (filter)
		bev = bufferevent_openssl_filter_new(s->w->base, s->bev,
		    s->ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	else
		bev = bufferevent_openssl_socket_new(s->w->base, fd, s->ssl,
		    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		SSL_free(s->ssl);
		s->ssl = NULL;
		return MAILSEC_ENOMEM;
	}
	s->bev = bev;
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	bufferevent_setcb(bev, smtp_readcb, smtp_writecb, smtp_eventcb, s);
	bufferevent_setwatermark(bev, EV_READ, 0, SESSION_INPUT_MAX);
	smtp_enter_io(s, IO_TLS);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
	return MAILSEC_OK;
}

static void
smtp_greeting(struct session *s)
{
	smtp_enter_io(s, IO_CMD);
	smtp_reply(s, 220, NULL, "%s ESMTP mailsec", s->w->hostname);
}

static void
smtp_tls_ready(struct session *s)
{
	tls_describe(s->ssl, s->tls_info, sizeof s->tls_info);
	log_debug("%016llx smtp tls %s", (unsigned long long)s->id,
	    s->tls_info);
	if (!s->starttls) {
		/* implicit TLS (RFC 8314 3.3): the greeting comes now */
		smtp_greeting(s);
		return;
	}
	if (mailsec_smtp_session_starttls(&s->sm, s->discarded))
		log_notice("%016llx smtp starttls: discarded %zu bytes sent "
		    "in clear after STARTTLS client=%s",
		    (unsigned long long)s->id, s->discarded, s->ip);
	s->helo[0] = '\0';
	s->starttls = false;
	smtp_enter_io(s, IO_CMD);
}

/* ---- the input loop ----------------------------------------------------- */

/* Feeds DATA/BDAT bytes; true when the message or chunk is complete. */
static bool
smtp_feed(struct session *s, struct evbuffer *in)
{
	struct smtp_tx *tx = s->tx;
	struct evbuffer_iovec v[16];
	size_t total = 0, c;
	int n, i;

	n = evbuffer_peek(in, -1, NULL, v, 16);
	if (n > 16)
		n = 16;
	for (i = 0; i < n; i++) {
		if (mailsec_smtp_data_feed(&tx->data, v[i].iov_base,
		    v[i].iov_len, &c) != MAILSEC_OK)
			break;
		total += c;
		if (c < v[i].iov_len || tx->data.done ||
		    (s->io == IO_BDAT && tx->data.chunk_left == 0))
			break;
	}
	evbuffer_drain(in, total);
	if (s->io == IO_DATA)
		return tx->data.done;
	return tx->data.chunk_left == 0;
}

static void
smtp_process(struct session *s)
{
	struct evbuffer *in;
	struct mailsec_smtp_reply r;
	struct mailsec_str line;
	enum mailsec_smtp_line_status st;
	enum mailsec_smtp_sasl_status ss;
	const char *challenge;
	size_t len, n, consumed;
	const char *p;

	s->in_process = true;
	while (!s->dead && !s->blocked && s->io != IO_CLOSING &&
	    s->io != IO_TLS) {
		in = bufferevent_get_input(s->bev);
		if ((len = evbuffer_get_length(in)) == 0)
			break;
		switch (s->io) {
		case IO_GREET_WAIT:
			log_notice("%016llx smtp early talker client=%s",
			    (unsigned long long)s->id, s->ip);
			smtp_reply(s, 554, "5.5.0", "Protocol violation: "
			    "talked before the greeting");
			smtp_close(s, "early talker");
			break;
		case IO_DATA:
		case IO_BDAT:
			if (smtp_feed(s, in)) {
				if (s->io == IO_DATA) {
					smtp_enter_io(s, IO_CMD);
					smtp_message_end(s);
				} else
					smtp_bdat_chunk_end(s);
			}
			break;
		case IO_DRAIN:
			n = len < s->drain_left ? len : (size_t)s->drain_left;
			evbuffer_drain(in, n);
			s->drain_left -= n;
			if (s->drain_left == 0) {
				smtp_enter_io(s, IO_CMD);
				smtp_reply_r(s, &s->drain_reply);
			}
			break;
		case IO_CMD:
		case IO_SASL:
			n = len < LINE_PULL_MAX ? len : LINE_PULL_MAX;
			p = (const char *)evbuffer_pullup(in, (ssize_t)n);
			st = mailsec_smtp_line_next(&s->ls, p, n, &consumed,
			    &line);
			if (st == MAILSEC_SMTP_LINE_NEED_MORE) {
				evbuffer_drain(in, consumed);
				if (consumed == 0)
					goto out;
				break;
			}
			if (st != MAILSEC_SMTP_LINE_OK) {
				evbuffer_drain(in, consumed);
				if (mailsec_smtp_line_reply(st, &r))
					smtp_reply_r(s, &r);
				if (s->io == IO_SASL) {
					mailsec_smtp_sasl_clear(s->sasl);
					free(s->sasl);
					s->sasl = NULL;
					smtp_enter_io(s, IO_CMD);
				}
				break;
			}
			if (s->io == IO_SASL) {
				ss = mailsec_smtp_sasl_step(s->sasl, line.ptr,
				    line.len, &challenge, &r);
				evbuffer_drain(in, consumed);
				smtp_sasl_status(s, ss, challenge, &r);
				break;
			}
			smtp_command(s, line.ptr, line.len, len - consumed);
			if (s->starttls && !s->dead) {
				/* CVE-2011-0411: what followed came in clear */
				s->discarded = evbuffer_get_length(in) -
				    consumed;
				evbuffer_drain(in, evbuffer_get_length(in));
				if (smtp_tls_start(s, true, -1) !=
				    MAILSEC_OK) {
					smtp_close(s, "tls setup failed");
					s->dead = true;
				}
			} else
				evbuffer_drain(in, consumed);
			break;
		case IO_TLS:
		case IO_CLOSING:
		default:
			goto out;
		}
	}
out:
	s->in_process = false;
	if (s->dead)
		smtp_free(s, s->close_reason != NULL ? s->close_reason :
		    "closed");
}

/* ---- bufferevent callbacks ---------------------------------------------- */

static void
smtp_readcb(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;

	(void)bev;
	if (s->io == IO_CLOSING) {
		evbuffer_drain(bufferevent_get_input(s->bev),
		    evbuffer_get_length(bufferevent_get_input(s->bev)));
		return;
	}
	smtp_process(s);
}

/* Output not yet on the socket: a STARTTLS filter holds TLS records in
 * the bufferevent under it. */
static size_t
output_pending(const struct session *s)
{
	struct bufferevent *under = bufferevent_get_underlying(s->bev);
	size_t n = evbuffer_get_length(bufferevent_get_output(s->bev));

	if (under != NULL)
		n += evbuffer_get_length(bufferevent_get_output(under));
	return n;
}

static void
smtp_linger(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;
	struct timeval tv = { .tv_sec = 0, .tv_usec = 20000 };

	(void)fd;
	(void)what;
	if (output_pending(s) == 0)
		smtp_free(s, s->close_reason);
	else
		(void)evtimer_add(s->ev_timer, &tv);
}

/* Closing: free once the last reply reached the socket. */
static void
smtp_close_check(struct session *s)
{
	struct timeval tv = { .tv_sec = 0, .tv_usec = 20000 };

	if (evbuffer_get_length(bufferevent_get_output(s->bev)) > 0)
		return;		/* the write callback comes back */
	if (output_pending(s) == 0) {
		if (s->in_process)
			s->dead = true;
		else
			smtp_free(s, s->close_reason);
		return;
	}
	if (s->ev_timer != NULL)
		event_free(s->ev_timer);
	if ((s->ev_timer = evtimer_new(s->w->base, smtp_linger, s)) == NULL ||
	    evtimer_add(s->ev_timer, &tv) == -1) {
		if (s->in_process)
			s->dead = true;
		else
			smtp_free(s, s->close_reason);
	}
}

static void
smtp_writecb(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;

	(void)bev;
	if (s->io == IO_CLOSING)
		smtp_close_check(s);
}

static void
smtp_eventcb(struct bufferevent *bev, short what, void *arg)
{
	struct session *s = arg;
	unsigned long e;
	char buf[256];

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		smtp_tls_ready(s);
		smtp_process(s);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		if (s->io == IO_CLOSING || s->io == IO_TLS ||
		    !(what & BEV_EVENT_READING)) {
			smtp_free(s, "timeout");
			return;
		}
		log_info("%016llx smtp timeout client=%s io=%s",
		    (unsigned long long)s->id, s->ip, io_names[s->io]);
		smtp_reply(s, 421, "4.4.2", "%s Error: timeout exceeded",
		    s->w->hostname);
		smtp_close(s, "timeout");
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		if ((e = bufferevent_get_openssl_error(s->bev)) != 0) {
			ERR_error_string_n(e, buf, sizeof buf);
			log_info("%016llx smtp tls error client=%s: %s",
			    (unsigned long long)s->id, s->ip, buf);
		}
		smtp_free(s, "error");
		return;
	}
	if (what & BEV_EVENT_EOF)
		smtp_free(s, "eof");
}

/* ---- life cycle --------------------------------------------------------- */

static void
smtp_close(struct session *s, const char *reason)
{
	if (s->io == IO_CLOSING || s->dead)
		return;
	s->close_reason = reason;
	smtp_enter_io(s, IO_CLOSING);
	bufferevent_disable(s->bev, EV_READ);
	bufferevent_enable(s->bev, EV_WRITE);
	smtp_close_check(s);
}

static void
smtp_free(struct session *s, const char *reason)
{
	struct server_worker *w = s->w;

	if (s->in_process) {
		s->dead = true;
		if (s->close_reason == NULL)
			s->close_reason = reason;
		return;
	}
	log_debug("%016llx smtp disconnected client=%s reason=%s messages=%llu",
	    (unsigned long long)s->id, s->ip, reason != NULL ? reason : "-",
	    (unsigned long long)s->messages);
	tx_drop(s);
	if (s->auth_req != NULL)
		auth_check_cancel(s->auth_req);
	if (s->sasl != NULL) {
		mailsec_smtp_sasl_clear(s->sasl);
		free(s->sasl);
	}
	if (s->ev_timer != NULL)
		event_free(s->ev_timer);
	if (s->bev != NULL)
		bufferevent_free(s->bev);	/* frees the SSL too */
	free(s->auth_user);
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		w->sessions = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	w->nsessions--;
	atomic_fetch_sub(&w->shm->conns, 1);
	atomic_fetch_sub(&w->shm->ip_conns[s->ip_slot], 1);
	free(s);
	if (w->draining && w->nsessions == 0)
		event_base_loopexit(w->base, NULL);
}

static void
smtp_greet_timer(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;

	(void)fd;
	(void)what;
	if (s->io == IO_GREET_WAIT)
		smtp_greeting(s);
}

/* Refuses a connection over a limit: one line, best effort, close. */
static void
refuse_conn(int fd, const char *text)
{
	(void)!send(fd, text, strlen(text), MSG_NOSIGNAL | MSG_DONTWAIT);
	close(fd);
}

static void
sockaddr_text(const struct sockaddr *sa, char *out, size_t outsz)
{
	const void *a = NULL;

	if (sa->sa_family == AF_INET)
		a = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
	else if (sa->sa_family == AF_INET6)
		a = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
	if (a == NULL || inet_ntop(sa->sa_family, a, out, (socklen_t)outsz)
	    == NULL)
		(void)snprintf(out, outsz, "unknown");
	/* IPv4-mapped IPv6: the IPv4 text (SPF and logs want it) */
	if (strncmp(out, "::ffff:", 7) == 0 && strchr(out + 7, '.') != NULL)
		memmove(out, out + 7, strlen(out + 7) + 1);
}

void
session_accept(struct server_worker *w, enum gw_listener_kind kind, int fd,
    const struct sockaddr *sa, socklen_t salen)
{
	const struct gw_config *cfg = w->cfg;
	const struct gw_listener *l = &cfg->listen[kind];
	struct session *s;
	char ip[INET6_ADDRSTRLEN];
	uint32_t slot;
	unsigned caps, flags = 0, total, per_ip;

	(void)salen;
	sockaddr_text(sa, ip, sizeof ip);
	slot = auth_hash(ip) % SERVER_IP_SLOTS;
	total = atomic_fetch_add(&w->shm->conns, 1);
	per_ip = atomic_fetch_add(&w->shm->ip_conns[slot], 1);
	if ((cfg->limits.connections > 0 &&
	    total >= cfg->limits.connections) ||
	    (cfg->limits.connections_per_ip > 0 &&
	    per_ip >= cfg->limits.connections_per_ip) || w->draining) {
		atomic_fetch_sub(&w->shm->conns, 1);
		atomic_fetch_sub(&w->shm->ip_conns[slot], 1);
		log_notice("smtp refused client=%s reason=%s", ip,
		    w->draining ? "shutdown" : "connection limit");
		refuse_conn(fd, w->draining ? "421 4.3.2 Service shutting "
		    "down\r\n" : "421 4.7.0 Too many connections, try again "
		    "later\r\n");
		return;
	}
	if ((s = calloc(1, sizeof *s)) == NULL) {
		atomic_fetch_sub(&w->shm->conns, 1);
		atomic_fetch_sub(&w->shm->ip_conns[slot], 1);
		refuse_conn(fd, "421 4.3.0 Out of memory\r\n");
		return;
	}
	s->w = w;
	s->id = ((uint64_t)getpid() << 40) | (++w->next_id & 0xffffffffffULL);
	s->kind = kind;
	s->ip_slot = slot;
	memcpy(s->ip, ip, sizeof s->ip);
	s->next = w->sessions;
	if (s->next != NULL)
		s->next->prev = s;
	w->sessions = s;
	w->nsessions++;

	caps = MAILSEC_SMTP_CAP_PIPELINING | MAILSEC_SMTP_CAP_8BITMIME |
	    MAILSEC_SMTP_CAP_SMTPUTF8 | MAILSEC_SMTP_CAP_SIZE |
	    MAILSEC_SMTP_CAP_ENHANCED | MAILSEC_SMTP_CAP_CHUNKING |
	    MAILSEC_SMTP_CAP_DSN;
	if (l->starttls && !l->implicit_tls && w->tls != NULL)
		caps |= MAILSEC_SMTP_CAP_STARTTLS;
	if (l->auth)
		caps |= MAILSEC_SMTP_CAP_AUTH;
	if (l->implicit_tls)
		flags |= MAILSEC_SMTP_S_TLS;
	if (l->auth) {
		flags |= MAILSEC_SMTP_S_AUTH_REQUIRED;
		if (!l->implicit_tls)
			flags |= MAILSEC_SMTP_S_TLS_REQUIRED;
	}
	mailsec_smtp_session_init(&s->sm, caps, flags,
	    cfg->limits.message_size, cfg->limits.recipients);
	mailsec_smtp_lines_init(&s->ls, cfg->limits.line_length, 0);

	log_debug("%016llx smtp connected client=%s listener=%s",
	    (unsigned long long)s->id, s->ip, kind == GW_LISTEN_MX ? "mx" :
	    kind == GW_LISTEN_SUBMISSION ? "submission" : "submissions");
	if (l->implicit_tls) {
		if (w->tls == NULL ||
		    smtp_tls_start(s, false, fd) != MAILSEC_OK) {
			close(fd);
			smtp_free(s, "tls setup failed");
		}
		return;
	}
	s->bev = bufferevent_socket_new(w->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (s->bev == NULL) {
		close(fd);
		smtp_free(s, "out of memory");
		return;
	}
	bufferevent_setcb(s->bev, smtp_readcb, smtp_writecb, smtp_eventcb, s);
	bufferevent_setwatermark(s->bev, EV_READ, 0, SESSION_INPUT_MAX);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
	if (w->opts->greet_pause_ms > 0) {
		struct timeval tv = {
			.tv_sec = w->opts->greet_pause_ms / 1000,
			.tv_usec = (w->opts->greet_pause_ms % 1000) * 1000
		};

		s->io = IO_GREET_WAIT;
		set_timeout(s, cfg->limits.timeout_command);
		if ((s->ev_timer = evtimer_new(w->base, smtp_greet_timer, s))
		    != NULL && evtimer_add(s->ev_timer, &tv) == 0)
			return;
	}
	smtp_greeting(s);
}

void
session_drain_all(struct server_worker *w)
{
	struct session *s, *next;

	for (s = w->sessions; s != NULL; s = next) {
		next = s->next;
		if (s->io == IO_TLS && !s->starttls) {
			smtp_free(s, "shutdown");
			continue;
		}
		if (s->tx == NULL && !s->blocked && (s->io == IO_CMD ||
		    s->io == IO_GREET_WAIT)) {
			smtp_reply(s, 421, "4.3.2", "%s Service shutting down",
			    w->hostname);
			smtp_close(s, "shutdown");
		}
	}
}

void
session_close_all(struct server_worker *w)
{
	while (w->sessions != NULL) {
		w->sessions->in_process = false;
		smtp_free(w->sessions, "shutdown deadline");
	}
}
