/*
 * daemon/control.c - the control socket (server on the daemon's event
 * loop, blocking client for the CLI). Protocol in control.h and
 * docs/queue.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "core/core.h"
#include "control.h"
#include "queue_int.h"	/* qf_texts_read() */

struct control_conn {
	struct control *c;
	struct bufferevent *bev;
	struct control_conn *next, **prevp;
};

struct control {
	struct event_base *base;
	struct evconnlistener *lis;
	struct queue *q;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct control_conn *conns;
};

static mailsec_err
socket_path(const char *state_dir, char *out, size_t outsz)
{
	int n = snprintf(out, outsz, "%s/control", state_dir);

	if (n < 0 || (size_t)n >= outsz)
		return MAILSEC_ELIMIT;
	return MAILSEC_OK;
}

static void
conn_free(struct control_conn *cc)
{
	if (cc->next != NULL)
		cc->next->prevp = cc->prevp;
	*cc->prevp = cc->next;
	bufferevent_free(cc->bev);
	free(cc);
}

static void
reply_error(struct evbuffer *out, mailsec_err err, const char *text)
{
	evbuffer_add_printf(out, "error %s %s\n", mailsec_errname(err), text);
}

/* "entry ID SIZE ACTIVE ENVLEN STATELEN\n" + the two blocks. */
static mailsec_err
put_entry(struct queue *q, const char *id, struct evbuffer *out)
{
	struct qf_texts t;
	mailsec_err err;

	if ((err = qf_texts_read(q, id, &t)) != MAILSEC_OK)
		return err;
	evbuffer_add_printf(out, "entry %s %llu %d %zu %zu\n", id,
	    (unsigned long long)t.size, t.active ? 1 : 0, t.envlen,
	    t.statelen);
	evbuffer_add(out, t.env, t.envlen);
	evbuffer_add(out, t.state, t.statelen);
	qf_texts_free(&t);
	return MAILSEC_OK;
}

static void
handle(struct control *c, const char *line, size_t len, struct evbuffer *out)
{
	char (*ids)[QUEUE_ID_LEN + 1] = NULL;
	struct queue_entry e;
	const char *arg = NULL;
	char id[QUEUE_ID_LEN + 1];
	char *hdr = NULL;
	size_t n, i, vlen = len, hdrlen = 0;
	mailsec_err err;

	for (i = 0; i < len; i++) {
		if (line[i] == ' ') {
			vlen = i;
			arg = line + i + 1;
			break;
		}
	}
	if (arg != NULL) {
		if (!queue_id_valid(arg, len - vlen - 1)) {
			reply_error(out, MAILSEC_EINVAL, "not a queue ID");
			return;
		}
		memcpy(id, arg, QUEUE_ID_LEN);
		id[QUEUE_ID_LEN] = '\0';
	}
	if (ms_ascii_eqz(line, vlen, "list") && arg == NULL) {
		if ((err = queue_ids(c->q, &ids, &n)) != MAILSEC_OK) {
			reply_error(out, err, "cannot read the queue");
			return;
		}
		for (i = 0; i < n; i++)
			(void)put_entry(c->q, ids[i], out);	/* gone: skip */
		free(ids);
		evbuffer_add_printf(out, "ok\n");
	} else if (ms_ascii_eqz(line, vlen, "show") && arg != NULL) {
		if ((err = queue_show(c->q, id, &e, &hdr, &hdrlen)) !=
		    MAILSEC_OK || (err = put_entry(c->q, id, out)) !=
		    MAILSEC_OK) {
			reply_error(out, err, err == MAILSEC_ENOTFOUND ?
			    "no such message" : "cannot read the message");
		} else {
			evbuffer_add_printf(out, "headers %zu\n", hdrlen);
			evbuffer_add(out, hdr, hdrlen);
			evbuffer_add_printf(out, "ok\n");
		}
		free(hdr);
		queue_entry_cleanup(&e);
	} else if (ms_ascii_eqz(line, vlen, "delete") && arg != NULL) {
		err = queue_delete(c->q, id);
		if (err == MAILSEC_OK)
			evbuffer_add_printf(out, "ok\n");
		else
			reply_error(out, err, err == MAILSEC_ENOTFOUND ?
			    "no such message" : err == MAILSEC_ESTATE ?
			    "being delivered, try again" : "cannot delete");
	} else if (ms_ascii_eqz(line, vlen, "flush") && arg == NULL) {
		queue_flush(c->q);
		evbuffer_add_printf(out, "ok\n");
	} else {
		reply_error(out, MAILSEC_ESYNTAX,
		    "expected list, show ID, delete ID or flush");
	}
}

static void on_event(struct bufferevent *bev, short what, void *arg);

static void
on_write(struct bufferevent *bev, void *arg)
{
	(void)bev;
	conn_free(arg);		/* the answer is out: close */
}

static void
on_read(struct bufferevent *bev, void *arg)
{
	struct control_conn *cc = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer *out = bufferevent_get_output(bev);
	size_t len;
	char *line;

	line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF);
	if (line == NULL) {
		if (evbuffer_get_length(in) <= CONTROL_LINE_MAX)
			return;
		reply_error(out, MAILSEC_ELIMIT, "request line too long");
	} else {
		if (len > CONTROL_LINE_MAX)
			reply_error(out, MAILSEC_ELIMIT,
			    "request line too long");
		else
			handle(cc->c, line, len, out);
		free(line);
	}
	bufferevent_disable(bev, EV_READ);
	bufferevent_setcb(bev, NULL, on_write, on_event, cc);
	bufferevent_enable(bev, EV_WRITE);
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	(void)what;
	conn_free(arg);		/* EOF, error or timeout */
}

static void
on_accept(struct evconnlistener *lis, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct control *c = arg;
	struct control_conn *cc;
	struct timeval tv = { CONTROL_TIMEOUT_SECS, 0 };

	(void)lis;
	(void)sa;
	(void)salen;
	if ((cc = ms_calloc(1, sizeof *cc)) == NULL) {
		close(fd);
		return;
	}
	cc->c = c;
	cc->bev = bufferevent_socket_new(c->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (cc->bev == NULL) {
		close(fd);
		free(cc);
		return;
	}
	cc->next = c->conns;
	if (c->conns != NULL)
		c->conns->prevp = &cc->next;
	cc->prevp = &c->conns;
	c->conns = cc;
	bufferevent_setcb(cc->bev, on_read, NULL, on_event, cc);
	bufferevent_set_timeouts(cc->bev, &tv, &tv);
	bufferevent_enable(cc->bev, EV_READ);
}

mailsec_err
control_listen(struct control **out, struct event_base *base,
    const char *state_dir, struct queue *q, struct mailsec_diag *diag)
{
	struct sockaddr_un sun;
	struct control *c;
	struct stat st;
	int fd = -1;
	const char *step = "socket";
	mailsec_err err;

	*out = NULL;
	if ((c = ms_calloc(1, sizeof *c)) == NULL)
		return MAILSEC_ENOMEM;
	c->base = base;
	c->q = q;
	if (socket_path(state_dir, c->path, sizeof c->path) != MAILSEC_OK) {
		free(c);
		return ms_diag(diag, MAILSEC_ELIMIT, 0, 0,
		    "%s/control: path too long for a unix socket", state_dir);
	}
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, c->path, strlen(c->path) + 1);
	/* A socket left by a daemon that died is replaced; anything else
	 * at that path is not ours to remove. */
	if (lstat(c->path, &st) == 0 && S_ISSOCK(st.st_mode))
		(void)unlink(c->path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	step = "bind";
	if (bind(fd, (struct sockaddr *)&sun, sizeof sun) != 0)
		goto fail;
	step = "chmod";
	if (chmod(c->path, 0600) != 0)
		goto fail;
	step = "listen";
	c->lis = evconnlistener_new(base, on_accept, c,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 16, fd);
	if (c->lis == NULL)
		goto fail;
	*out = c;
	return MAILSEC_OK;
fail:
	err = ms_diag(diag, MAILSEC_EIO, 0, 0, "%s: %s: %s", c->path, step,
	    strerror(errno));
	if (fd >= 0)
		close(fd);
	free(c);
	return err;
}

void
control_close(struct control *c)
{
	if (c == NULL)
		return;
	while (c->conns != NULL)
		conn_free(c->conns);
	if (c->lis != NULL)
		evconnlistener_free(c->lis);
	(void)unlink(c->path);
	free(c);
}

/* ---- client ------------------------------------------------------------- */

mailsec_err
control_request(const char *state_dir, const char *req, char **resp,
    size_t *resplen, struct mailsec_diag *diag)
{
	struct sockaddr_un sun;
	struct ms_buf b;
	struct pollfd pfd;
	char path[sizeof sun.sun_path], chunk[65536];
	size_t reqlen = strlen(req);
	ssize_t r;
	int fd = -1, pr;
	mailsec_err err;

	*resp = NULL;
	*resplen = 0;
	ms_buf_init(&b, CONTROL_RESP_MAX);
	if (reqlen == 0 || reqlen > CONTROL_LINE_MAX ||
	    memchr(req, '\n', reqlen) != NULL)
		return MAILSEC_EINVAL;
	if (socket_path(state_dir, path, sizeof path) != MAILSEC_OK)
		return ms_diag(diag, MAILSEC_ELIMIT, 0, 0,
		    "%s/control: path too long", state_dir);
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return ms_diag(diag, MAILSEC_EIO, 0, 0, "socket: %s",
		    strerror(errno));
	if (connect(fd, (struct sockaddr *)&sun, sizeof sun) != 0) {
		err = (errno == ENOENT || errno == ECONNREFUSED) ?
		    MAILSEC_ENOTFOUND : MAILSEC_EIO;
		err = ms_diag(diag, err, 0, 0, "%s: %s", path,
		    strerror(errno));
		goto out;
	}
	if (write(fd, req, reqlen) != (ssize_t)reqlen ||
	    write(fd, "\n", 1) != 1) {
		err = ms_diag(diag, MAILSEC_EIO, 0, 0, "%s: write: %s", path,
		    strerror(errno));
		goto out;
	}
	for (;;) {
		pfd.fd = fd;
		pfd.events = POLLIN;
		pr = poll(&pfd, 1, CONTROL_TIMEOUT_SECS * 1000);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr == 0) {
			err = ms_diag(diag, MAILSEC_ETIMEOUT, 0, 0,
			    "%s: no answer", path);
			goto out;
		}
		r = read(fd, chunk, sizeof chunk);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err = ms_diag(diag, MAILSEC_EIO, 0, 0, "%s: read: %s",
			    path, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		if ((err = ms_buf_append(&b, chunk, (size_t)r)) != MAILSEC_OK)
			goto out;
	}
	if ((*resp = ms_buf_steal(&b, resplen)) == NULL)
		err = MAILSEC_ENOMEM;
	else
		err = MAILSEC_OK;
out:
	ms_buf_free(&b);
	close(fd);
	return err;
}

static bool
take_num(const char **p, const char *end, uint64_t *v)
{
	const char *s = *p;
	uint64_t n = 0;

	if (s >= end || !ms_isdigit((unsigned char)*s))
		return false;
	while (s < end && ms_isdigit((unsigned char)*s)) {
		if (n > (UINT64_MAX - 9) / 10)
			return false;
		n = n * 10 + (uint64_t)(*s - '0');
		s++;
	}
	if (s < end && *s == ' ')
		s++;
	*p = s;
	*v = n;
	return true;
}

static mailsec_err
err_by_name(const char *p, size_t len)
{
	if (ms_ascii_eqz(p, len, "ENOTFOUND"))
		return MAILSEC_ENOTFOUND;
	if (ms_ascii_eqz(p, len, "ESTATE"))
		return MAILSEC_ESTATE;
	if (ms_ascii_eqz(p, len, "EINVAL") || ms_ascii_eqz(p, len, "ESYNTAX"))
		return MAILSEC_EINVAL;
	return MAILSEC_EIO;
}

mailsec_err
control_parse(const char *resp, size_t len, struct queue_entry **entries,
    size_t *n, char **hdr, size_t *hdrlen, struct mailsec_diag *diag)
{
	const char *p = resp, *end = resp + len, *nl, *q, *sp;
	struct queue_entry *e = NULL, *ne;
	size_t cnt = 0, cap = 0;
	uint64_t size, active, envlen, statelen, hl;
	char id[QUEUE_ID_LEN + 1];
	mailsec_err err;

	*entries = NULL;
	*n = 0;
	if (hdr != NULL) {
		*hdr = NULL;
		*hdrlen = 0;
	}
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			break;
		if (nl - p == 2 && memcmp(p, "ok", 2) == 0) {
			*entries = e;
			*n = cnt;
			return MAILSEC_OK;
		}
		if (nl - p > 6 && memcmp(p, "error ", 6) == 0) {
			q = p + 6;
			sp = memchr(q, ' ', (size_t)(nl - q));
			if (sp == NULL)
				sp = nl;
			err = ms_diag(diag, err_by_name(q, (size_t)(sp - q)),
			    0, 0, "%.*s", (int)(nl - sp > 0 ? nl - sp - 1 : 0),
			    sp < nl ? sp + 1 : sp);
			goto fail;
		}
		if (nl - p > 6 && memcmp(p, "entry ", 6) == 0) {
			q = p + 6;
			if (nl - q < QUEUE_ID_LEN + 1 ||
			    !queue_id_valid(q, QUEUE_ID_LEN) ||
			    q[QUEUE_ID_LEN] != ' ')
				goto bad;
			memcpy(id, q, QUEUE_ID_LEN);
			id[QUEUE_ID_LEN] = '\0';
			q += QUEUE_ID_LEN + 1;
			if (!take_num(&q, nl, &size) ||
			    !take_num(&q, nl, &active) ||
			    !take_num(&q, nl, &envlen) ||
			    !take_num(&q, nl, &statelen) || q != nl)
				goto bad;
			p = nl + 1;
			if (envlen > (uint64_t)(end - p) ||
			    statelen > (uint64_t)(end - p) - envlen)
				goto bad;
			if (cnt == cap) {
				cap = cap ? cap * 2 : 16;
				ne = ms_reallocarray(e, cap, sizeof *e);
				if (ne == NULL) {
					err = MAILSEC_ENOMEM;
					goto fail;
				}
				e = ne;
			}
			err = queue_entry_parse(&e[cnt], id, size, p,
			    (size_t)envlen, p + envlen, (size_t)statelen,
			    diag);
			if (err != MAILSEC_OK)
				goto fail;
			e[cnt++].active = active != 0;
			p += envlen + statelen;
			continue;
		}
		if (nl - p > 8 && memcmp(p, "headers ", 8) == 0) {
			q = p + 8;
			if (!take_num(&q, nl, &hl) || q != nl)
				goto bad;
			p = nl + 1;
			if (hl > (uint64_t)(end - p))
				goto bad;
			if (hdr != NULL) {
				free(*hdr);
				if ((*hdr = ms_memdupz(p, (size_t)hl)) ==
				    NULL) {
					err = MAILSEC_ENOMEM;
					goto fail;
				}
				*hdrlen = (size_t)hl;
			}
			p += hl;
			continue;
		}
		goto bad;
	}
bad:
	err = ms_diag(diag, MAILSEC_ESYNTAX, (size_t)(p - resp), 0,
	    "malformed control answer");
fail:
	queue_entries_free(e, cnt);
	if (hdr != NULL) {
		free(*hdr);
		*hdr = NULL;
		*hdrlen = 0;
	}
	return err;
}
