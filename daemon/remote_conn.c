/*
 * daemon/remote_conn.c - one connection of remote delivery
 * (remote_int.h): the socket to one address with a timeout on every step
 * (RFC 5321 4.5.3.2), the TLS the destination's policy asks for (RFC
 * 3207 STARTTLS, RFC 8314 implicit TLS to a smarthost, MTA-STS and DANE
 * through tlspolicy.h), and the SMTP session up to MAIL: greeting, EHLO
 * (HELO for an old server), STARTTLS, RFC 4954 AUTH to a smarthost.
 *
 * The protocol itself (replies, EHLO keywords, command lines) is
 * libmailsec's (mailsec/smtp_client.h); this file does the I/O: blocking
 * in the caller's thread, sockets non-blocking under poll() so that
 * every wait has a deadline. remote.c uses these sessions;
 * docs/delivery.md, "Remote delivery", has the rules.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <mailsec/smtp_client.h>

#include "core/core.h"
#include "remote_int.h"
#include "tls.h"
#include "tlspolicy.h"

/* ---- helpers ------------------------------------------------------------ */

int64_t
remote_now_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
remote_sfmt(char *out, size_t outsz, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(out, outsz, fmt, ap);
	va_end(ap);
}

void
remote_text_clean(char *s)
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
		remote_sfmt(out, outsz, "%s",
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
		left = deadline - remote_now_ms();
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

int
remote_conn_write(struct remote_conn *c, const char *p, size_t len,
    unsigned tmo)
{
	int64_t deadline = remote_now_ms() + (int64_t)tmo * 1000;
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

int
remote_conn_reply(struct remote_conn *c, unsigned tmo)
{
	int64_t deadline = remote_now_ms() + (int64_t)tmo * 1000;
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

int
remote_conn_cmd(struct remote_conn *c, const char *line, size_t len,
    unsigned tmo)
{
	if (remote_conn_write(c, line, len, tmo) == -1)
		return -1;
	return remote_conn_reply(c, tmo);
}

void
remote_conn_close(struct remote_conn *c, bool quit)
{
	if (c == NULL)
		return;
	if (quit && c->fd != -1) {
		/* Best effort, short: the answer changes nothing. */
		if (remote_conn_write(c, "QUIT\r\n", 6, 5) == 0)
			(void)remote_conn_reply(c, 5);
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

void
remote_conn_reply_text(const struct remote_conn *c, char *out, size_t outsz)
{
	char text[REMOTE_TEXT_MAX];

	remote_sfmt(text, sizeof text, "%s", c->reply.text);
	remote_text_clean(text);
	remote_sfmt(out, outsz, "%s[%s]: %d%s%s%s%s", c->host, c->ip,
	    c->reply.code, c->reply.enhanced[0] != '\0' ? " " : "",
	    c->reply.enhanced, text[0] != '\0' ? " " : "", text);
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
	deadline = remote_now_ms() + (int64_t)rc->cfg.connect_timeout * 1000;
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

/* The TLS handshake on c (after STARTTLS, or at once for implicit TLS). */
static enum sess_outcome
sess_tls(struct attempt *a, struct remote_conn *c, struct hostpol *hp)
{
	struct remote_ctx *rc = a->rc;
	int64_t deadline = remote_now_ms() +
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
		remote_att_fail(a, true, "4.7.5", "%s[%s]: TLS setup: %s",
		    c->host, c->ip, buf);
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
			remote_att_fail(a, true, "4.7.5",
			    "%s[%s]: TLS setup failed", c->host, c->ip);
			return SESS_FAIL;
		}
		how = " (verified)";
	} else if (rc->tls != NULL) {
		if (tlsp_ssl_prepare(rc->tls, c->ssl, c->host,
		    a->have_pol ? &a->pol : NULL,
		    hp->have_dane ? &hp->dane : NULL) != MAILSEC_OK) {
			remote_att_fail(a, true, "4.7.5",
			    "%s[%s]: TLS setup failed", c->host, c->ip);
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
			remote_sfmt(buf, sizeof buf,
			    "certificate verify failed: %s",
			    X509_verify_cert_error_string(vr));
			ERR_clear_error();
			conn_errf(c, "%s", buf);
			r = -1;
		} else
			r = conn_ssl_wait(c, r, deadline, "TLS handshake");
		if (r == -1) {
			remote_att_fail(a, true, "4.7.5",
			    "%s[%s]: TLS handshake: %s", c->host, c->ip,
			    c->err);
			remote_att_report(a, c->host, c->ip, hp, false,
			    "validation-failure");
			return hp->required ? SESS_FAIL : SESS_TLS_RETRY;
		}
	}
	if (hp->relay) {
		if ((vr = SSL_get_verify_result(c->ssl)) != X509_V_OK) {
			remote_att_fail(a, true, "4.7.5", "%s[%s]: certificate "
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
			remote_att_report(a, c->host, c->ip, hp, false,
			    rtype != NULL ? rtype : "validation-failure");
			if (hp->required) {
				remote_att_fail(a, true, "4.7.5", "%s[%s]: "
				    "TLS policy not met: %s", c->host, c->ip,
				    err);
				return SESS_FAIL;
			}
			/* MTA-STS testing or none: reported, go on. */
		} else {
			remote_att_report(a, c->host, c->ip, hp, true, NULL);
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
	remote_sfmt(c->tls, sizeof c->tls, "%s%s", buf, how);
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
	if (remote_conn_cmd(c, line, (size_t)len, rc->cfg.command_timeout) ==
	    -1) {
		remote_att_fail(a, true, "4.4.2", "%s[%s]: EHLO: %s", c->host,
		    c->ip, c->err);
		return SESS_FAIL;
	}
	memset(&c->eh, 0, sizeof c->eh);
	if (c->reply.code / 100 == 2) {
		mailsec_smtp_ehlo_parse(&c->reply, &c->eh);
		return SESS_OK;
	}
	remote_conn_reply_text(c, text, sizeof text);
	/* RFC 5321 3.2: an old server refuses EHLO with 5xx; HELO is
	 * fine unless TLS (or AUTH, which needs it) is required. */
	if (c->reply.code / 100 != 5 || hp->required || !helo_ok ||
	    c->reply.code == 554) {
		remote_att_fail(a, true, "4.4.0", "%s (EHLO)", text);
		return SESS_FAIL;
	}
	len = snprintf(line, sizeof line, "HELO %s\r\n", rc->helo);
	if (len < 0 || (size_t)len >= sizeof line)
		return SESS_FAIL;
	if (remote_conn_cmd(c, line, (size_t)len, rc->cfg.command_timeout) ==
	    -1) {
		remote_att_fail(a, true, "4.4.2", "%s[%s]: HELO: %s", c->host,
		    c->ip, c->err);
		return SESS_FAIL;
	}
	if (c->reply.code / 100 != 2) {
		remote_conn_reply_text(c, text, sizeof text);
		remote_att_fail(a, true, "4.4.0", "%s (HELO)", text);
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
		r = remote_conn_cmd(c, line, 11 + len + 2,
		    rc->cfg.command_timeout);
		OPENSSL_cleanse(line, sizeof line);
		if (r == -1)
			goto ioerr;
	} else if (c->eh.auth_login) {
		if (remote_conn_cmd(c, "AUTH LOGIN\r\n", 12,
		    rc->cfg.command_timeout) == -1)
			goto ioerr;
		if (c->reply.code != 334)
			goto refused;
		if (mailsec_smtp_auth_login(rc->relay_user, line,
		    sizeof line - 2, &len) != MAILSEC_OK)
			goto toolong;
		memcpy(line + len, "\r\n", 2);
		if (remote_conn_cmd(c, line, len + 2, rc->cfg.command_timeout)
		    == -1)
			goto ioerr;
		if (c->reply.code != 334)
			goto refused;
		if (mailsec_smtp_auth_login(rc->relay_password != NULL ?
		    rc->relay_password : "", line, sizeof line - 2, &len) !=
		    MAILSEC_OK)
			goto toolong;
		memcpy(line + len, "\r\n", 2);
		r = remote_conn_cmd(c, line, len + 2, rc->cfg.command_timeout);
		OPENSSL_cleanse(line, sizeof line);
		if (r == -1)
			goto ioerr;
	} else {
		remote_att_fail(a, true, "4.7.0", "%s[%s]: no AUTH "
		    "mechanism we can use (PLAIN, LOGIN)", c->host, c->ip);
		return SESS_FAIL;
	}
	if (c->reply.code == 235)
		return SESS_OK;
refused:
	/* A refused login is a configuration problem here, not the
	 * message's: the mail waits (4.7.0) rather than bouncing. */
	remote_conn_reply_text(c, text, sizeof text);
	remote_att_fail(a, true, "4.7.0", "%s (AUTH)", text);
	return SESS_FAIL;
toolong:
	remote_att_fail(a, true, "4.7.0", "%s[%s]: AUTH: credentials too long",
	    c->host, c->ip);
	return SESS_FAIL;
ioerr:
	remote_att_fail(a, true, "4.4.2", "%s[%s]: AUTH: %s", c->host, c->ip,
	    c->err);
	return SESS_FAIL;
}

enum sess_outcome
remote_sess_open(struct attempt *a, const char *host,
    const struct remote_addr *ad, struct hostpol *hp, bool plain,
    struct remote_conn **out)
{
	struct remote_ctx *rc = a->rc;
	struct remote_conn *c;
	enum sess_outcome so = SESS_FAIL;
	char text[512];
	bool quit = false;

	*out = NULL;
	if ((c = calloc(1, sizeof *c)) == NULL) {
		a->local = MAILSEC_ENOMEM;
		remote_att_fail(a, true, "4.3.0", "out of memory");
		return SESS_FAIL;
	}
	c->fd = -1;
	mailsec_smtp_creader_init(&c->rd);
	remote_sfmt(c->host, sizeof c->host, "%s", host);
	remote_sfmt(c->ip, sizeof c->ip, "%s", ad->ip);
	remote_sfmt(c->tls, sizeof c->tls, "none");
	a->contacted = true;
	remote_sfmt(a->info->mx, sizeof a->info->mx, "%s", host);
	remote_sfmt(a->info->ip, sizeof a->info->ip, "%s", ad->ip);
	if (conn_connect(a, c, ad, a->port) == -1) {
		remote_att_fail(a, true, "4.4.1", "%s[%s]: %s", host, ad->ip,
		    c->err);
		goto done;
	}
	if (hp->implicit && (so = sess_tls(a, c, hp)) != SESS_OK) {
		so = SESS_FAIL;
		goto done;
	}
	so = SESS_FAIL;
	if (remote_conn_reply(c, rc->cfg.command_timeout) == -1) {
		remote_att_fail(a, true, "4.4.2", "%s[%s]: greeting: %s", host,
		    ad->ip, c->err);
		goto done;
	}
	quit = true;
	if (c->reply.code / 100 != 2) {
		/* RFC 5321 3.1: 554 is "no service here"; another MX may
		 * serve (so the mail waits when all refuse). */
		remote_conn_reply_text(c, text, sizeof text);
		remote_att_fail(a, true, "4.4.0", "%s (greeting)", text);
		goto done;
	}
	if (sess_ehlo(a, c, hp, !hp->required) != SESS_OK)
		goto done;
	if (!hp->implicit && !plain && c->eh.starttls) {
		if (remote_conn_cmd(c, "STARTTLS\r\n", 10,
		    rc->cfg.command_timeout) == -1) {
			remote_att_fail(a, true, "4.4.2",
			    "%s[%s]: STARTTLS: %s", host, ad->ip, c->err);
			quit = false;
			goto done;
		}
		if (c->reply.code != 220) {
			remote_conn_reply_text(c, text, sizeof text);
			remote_att_fail(a, true, "4.7.5", "%s (STARTTLS)",
			    text);
			remote_att_report(a, host, ad->ip, hp, false,
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
			remote_att_fail(a, true, "4.7.4", "%s[%s]: TLS "
			    "required but not offered", host, ad->ip);
			remote_att_report(a, host, ad->ip, hp, false,
			    "starttls-not-supported");
			goto done;
		}
		if (!plain)
			remote_att_report(a, host, ad->ip, hp, false,
			    "starttls-not-supported");
	}
	if (c->ssl == NULL && hp->required)
		goto done;
	if (hp->relay && rc->relay_user != NULL) {
		if (c->ssl == NULL || !c->verified) {
			remote_att_fail(a, true, "4.7.0", "%s[%s]: AUTH "
			    "only over verified TLS", host, ad->ip);
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
	remote_conn_close(c, quit);
	return so;
}

/* ---- the client context ------------------------------------------------ */

SSL_CTX *
remote_ssl_ctx_new(const char *ca_file)
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
