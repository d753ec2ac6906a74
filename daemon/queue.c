/*
 * daemon/queue.c - the durable spool: queue IDs, streaming a message
 * into queue/tmp/, group commit into queue/incoming/, crash recovery and
 * the inspection operations. The local delivery runner is in
 * queue_run.c; what both share is in queue_int.h.
 *
 * docs/queue.md has the file format and, step by step, why a message
 * acknowledged with "250" survives a crash at any point and is
 * delivered exactly once.
 */
#define _GNU_SOURCE	/* syncfs, renameat2 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "core/core.h"
#include "queue.h"
#include "queue_int.h"

/* A message is kept in memory up to QF_WBUF bytes: small messages reach
 * the disk only in the commit thread, so the event loop never waits on
 * the file system for them. Bigger ones stream to their file in
 * QF_WBUF pieces as they arrive. */
#define QF_WBUF 65536
#define QF_ID_EPOCH 1577836800	/* 2020-01-01T00:00:00Z */

static const char qf_b32[] = "0123456789abcdefghijklmnopqrstuv";

/* ---- small helpers ------------------------------------------------------ */

int
qf_write_all(int fd, const void *p, size_t len)
{
	const char *c = p;
	ssize_t w;

	while (len > 0) {
		w = write(fd, c, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		c += w;
		len -= (size_t)w;
	}
	return 0;
}

int
qf_pread_all(int fd, void *p, size_t len, off_t off)
{
	char *c = p;
	ssize_t r;

	while (len > 0) {
		r = pread(fd, c, len, off);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0) {
			errno = EIO;
			return -1;
		}
		c += r;
		len -= (size_t)r;
		off += r;
	}
	return 0;
}

int64_t
qf_now(void)
{
	return (int64_t)time(NULL);
}

static bool
parse_u64(const char *p, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (len == 0 || len > 20)
		return false;
	for (i = 0; i < len; i++) {
		if (!ms_isdigit((unsigned char)p[i]))
			return false;
		if (v > (UINT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	*out = v;
	return true;
}

static bool
parse_hex64(const char *p, uint64_t *out)
{
	uint64_t v = 0;
	int i, c;

	for (i = 0; i < 16; i++) {
		c = (unsigned char)p[i];
		if (ms_isdigit(c))
			v = v << 4 | (uint64_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v << 4 | (uint64_t)(c - 'a' + 10);
		else
			return false;
	}
	*out = v;
	return true;
}

/* ---- queue IDs ---------------------------------------------------------- */

static pthread_mutex_t id_mu = PTHREAD_MUTEX_INITIALIZER;
static uint64_t id_last_us;	/* last timestamp handed out, in µs */

void
queue_id_new(char *id)
{
	struct timespec ts;
	uint64_t us, secs, v_hi, v_lo, pid;
	unsigned char rnd = 0;
	int i;

	clock_gettime(CLOCK_REALTIME, &ts);
	us = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
	/* Strictly increasing within a process: the counter. A clock that
	 * steps back does not repeat an ID of this process. */
	pthread_mutex_lock(&id_mu);
	if (us <= id_last_us)
		us = id_last_us + 1;
	id_last_us = us;
	pthread_mutex_unlock(&id_mu);
	secs = us / 1000000u;
	secs = secs > QF_ID_EPOCH ? secs - QF_ID_EPOCH : 0;
	if (RAND_bytes(&rnd, 1) != 1)
		rnd = (unsigned char)(ts.tv_nsec & 0xff);
	pid = (uint64_t)getpid() & 0x3fffff;
	/* 80 bits: secs(34) usec(20) pid(22) random(4), big-endian, as
	 * two halves of 40 bits (8 characters each). */
	v_hi = (secs & 0x3ffffffffULL) << 6 | (us % 1000000u) >> 14;
	v_lo = ((us % 1000000u) & 0x3fff) << 26 | pid << 4 | (rnd & 15u);
	for (i = 7; i >= 0; i--) {
		id[i] = qf_b32[v_hi & 31];
		v_hi >>= 5;
		id[8 + i] = qf_b32[v_lo & 31];
		v_lo >>= 5;
	}
	id[QUEUE_ID_LEN] = '\0';
}

bool
queue_id_valid(const char *p, size_t len)
{
	size_t i;

	if (len != QUEUE_ID_LEN)
		return false;
	for (i = 0; i < len; i++)
		if (!ms_isdigit((unsigned char)p[i]) &&
		    !(p[i] >= 'a' && p[i] <= 'v'))
			return false;
	return true;
}

/* ---- envelope encoding -------------------------------------------------- */

/* Bytes kept as they are in a value: everything but controls, space,
 * '%' and DEL (UTF-8 passes through). */
static bool
env_plain(unsigned char c)
{
	return c > 0x20 && c != '%' && c != 0x7f;
}

mailsec_err
qf_env_put(struct ms_buf *b, const char *key, const char *v, size_t len)
{
	static const char hx[] = "0123456789ABCDEF";
	mailsec_err err;
	size_t i, run;
	unsigned char c;
	char esc[3];

	if ((err = ms_buf_appendz(b, key)) != MAILSEC_OK ||
	    (err = ms_buf_appendc(b, ' ')) != MAILSEC_OK)
		return err;
	for (i = 0; i < len; i += run) {
		for (run = 0; i + run < len &&
		    env_plain((unsigned char)v[i + run]); run++)
			;
		if (run > 0) {
			if ((err = ms_buf_append(b, v + i, run)) != MAILSEC_OK)
				return err;
			continue;
		}
		c = (unsigned char)v[i];
		esc[0] = '%';
		esc[1] = hx[c >> 4];
		esc[2] = hx[c & 15];
		if ((err = ms_buf_append(b, esc, 3)) != MAILSEC_OK)
			return err;
		run = 1;
	}
	return ms_buf_appendc(b, '\n');
}

mailsec_err
qf_env_putz(struct ms_buf *b, const char *key, const char *v)
{
	if (v == NULL)
		return MAILSEC_OK;
	return qf_env_put(b, key, v, strlen(v));
}

/* Decodes %XX in place; returns the new length or -1 (bad escape). */
static long
env_decode(char *p, size_t len)
{
	size_t i, o = 0;
	int h, l;

	for (i = 0; i < len; i++) {
		if (p[i] != '%') {
			p[o++] = p[i];
			continue;
		}
		if (len - i < 3)
			return -1;
		h = ms_hexval((unsigned char)p[i + 1]);
		l = ms_hexval((unsigned char)p[i + 2]);
		if (h < 0 || l < 0)
			return -1;
		p[o++] = (char)(h << 4 | l);
		i += 2;
	}
	p[o] = '\0';
	return (long)o;
}

/*
 * The envelope's fields after "received" and before the recipients, in
 * the order they are written (docs/queue.md): one table for the encoder
 * and the parser. An absent field (NULL, 0, false, no headers) is not
 * written.
 */
enum env_kind {
	EF_STR,		/* a const char * of struct queue_env, at off */
	EF_SIZE,	/* size: decimal */
	EF_SMTPUTF8,	/* smtputf8: "1" */
	EF_HEADERS	/* headers, headers_len */
};

#define EF_S(k, f) { k, EF_STR, offsetof(struct queue_env, f) }

static const struct env_field {
	const char *key;
	enum env_kind kind;
	size_t off;
} env_fields[] = {
	EF_S("mail-from", mail_from),
	{ "size", EF_SIZE, 0 },
	EF_S("body", body),
	{ "smtputf8", EF_SMTPUTF8, 0 },
	EF_S("ret", ret),
	EF_S("envid", envid),
	EF_S("client-ip", client_ip),
	EF_S("helo", helo),
	EF_S("tls", tls),
	EF_S("auth-user", auth_user),
	EF_S("quarantine", quarantine),
	{ "headers", EF_HEADERS, 0 },
};

#undef EF_S

static const struct env_field *
env_field(const char *key, size_t keylen)
{
	size_t i;

	for (i = 0; i < MS_ARRAY_LEN(env_fields); i++)
		if (ms_ascii_eqz(key, keylen, env_fields[i].key))
			return &env_fields[i];
	return NULL;
}

static mailsec_err
env_field_put(struct ms_buf *b, const struct env_field *f,
    const struct queue_env *env)
{
	const char *const *v;
	char num[32];

	switch (f->kind) {
	case EF_SIZE:
		if (env->size == 0)
			return MAILSEC_OK;
		snprintf(num, sizeof num, "%llu",
		    (unsigned long long)env->size);
		return qf_env_putz(b, f->key, num);
	case EF_SMTPUTF8:
		return env->smtputf8 ? qf_env_putz(b, f->key, "1") : MAILSEC_OK;
	case EF_HEADERS:
		if (env->headers == NULL || env->headers_len == 0)
			return MAILSEC_OK;
		return qf_env_put(b, f->key, env->headers, env->headers_len);
	case EF_STR:
	default:
		v = (const char *const *)(const void *)((const char *)env +
		    f->off);
		return qf_env_putz(b, f->key, *v);
	}
}

static mailsec_err
env_encode(const struct queue_env *env, int64_t received, struct ms_buf *b)
{
	mailsec_err err = MAILSEC_OK;
	char num[32];
	size_t i;

	ms_buf_init(b, QUEUE_ENV_MAX);
	snprintf(num, sizeof num, "%lld", (long long)received);
	if ((err = qf_env_putz(b, "received", num)) != MAILSEC_OK)
		return err;
	for (i = 0; i < MS_ARRAY_LEN(env_fields); i++)
		if ((err = env_field_put(b, &env_fields[i], env)) !=
		    MAILSEC_OK)
			return err;
	for (i = 0; i < env->nrcpt; i++) {
		if ((err = qf_env_putz(b, "rcpt", env->rcpt[i].addr)) !=
		    MAILSEC_OK ||
		    (err = qf_env_putz(b, "notify", env->rcpt[i].notify)) !=
		    MAILSEC_OK ||
		    (err = qf_env_putz(b, "orcpt", env->rcpt[i].orcpt)) !=
		    MAILSEC_OK)
			return err;
	}
	return MAILSEC_OK;
}

void
queue_entry_cleanup(struct queue_entry *e)
{
	if (e == NULL)
		return;
	free(e->env_text);
	free(e->state_text);
	free(e->rcpts);
	memset(e, 0, sizeof *e);
}

void
queue_entries_free(struct queue_entry *e, size_t n)
{
	size_t i;

	if (e == NULL)
		return;
	for (i = 0; i < n; i++)
		queue_entry_cleanup(&e[i]);
	free(e);
}

const char *
queue_rcpt_status_name(enum queue_rcpt_status s)
{
	switch (s) {
	case QUEUE_RCPT_DONE:
		return "done";
	case QUEUE_RCPT_DEFERRED:
		return "deferred";
	case QUEUE_RCPT_FAILED:
		return "failed";
	case QUEUE_RCPT_PENDING:
	default:
		return "pending";
	}
}

/* Splits text into lines "key value" (value decoded in place, NUL-
 * terminated); calls fn for each. */
typedef mailsec_err line_fn(void *ctx, const char *key, size_t keylen,
    char *val, size_t vallen, size_t line);

static mailsec_err
each_line(char *text, size_t len, line_fn *fn, void *ctx,
    struct mailsec_diag *diag)
{
	char *p = text, *end = text + len, *nl, *sp;
	size_t line = 0;
	long vlen;
	mailsec_err err;

	while (p < end) {
		line++;
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			return ms_diag(diag, MAILSEC_ESYNTAX,
			    (size_t)(p - text), line, "line not terminated");
		sp = memchr(p, ' ', (size_t)(nl - p));
		if (sp == NULL || sp == p)
			return ms_diag(diag, MAILSEC_ESYNTAX,
			    (size_t)(p - text), line, "expected 'key value'");
		*nl = '\0';
		vlen = env_decode(sp + 1, (size_t)(nl - sp - 1));
		if (vlen < 0)
			return ms_diag(diag, MAILSEC_ESYNTAX,
			    (size_t)(p - text), line, "bad %% escape");
		err = fn(ctx, p, (size_t)(sp - p), sp + 1, (size_t)vlen, line);
		if (err != MAILSEC_OK)
			return ms_diag(diag, err, (size_t)(p - text), line,
			    "bad value for '%.*s'", (int)(sp - p), p);
		p = nl + 1;
	}
	return MAILSEC_OK;
}

struct parse_ctx {
	struct queue_entry *e;
	size_t nrcpt;
	bool count_only;
	bool have_received;
};

#define KEY(k) ms_ascii_eq(key, keylen, k, sizeof(k) - 1)

static mailsec_err
env_line(void *ctx, const char *key, size_t keylen, char *val, size_t vallen,
    size_t line)
{
	struct parse_ctx *c = ctx;
	struct queue_env *env = &c->e->env;
	const struct env_field *f;
	struct queue_rcpt *r;
	uint64_t n;

	(void)line;
	if (c->count_only) {
		if (KEY("rcpt"))
			c->nrcpt++;
		return MAILSEC_OK;
	}
	r = c->nrcpt > 0 ? &c->e->rcpts[c->nrcpt - 1] : NULL;
	if (KEY("rcpt")) {
		r = &c->e->rcpts[c->nrcpt++];
		r->addr = val;
	} else if (KEY("notify") || KEY("orcpt")) {
		if (r == NULL)
			return MAILSEC_ESYNTAX;
		if (KEY("notify"))
			r->notify = val;
		else
			r->orcpt = val;
	} else if (KEY("received")) {
		if (!parse_u64(val, vallen, &n) || n > INT64_MAX)
			return MAILSEC_ESYNTAX;
		env->received = (int64_t)n;
		c->have_received = true;
	} else if ((f = env_field(key, keylen)) != NULL) {
		switch (f->kind) {
		case EF_SIZE:
			if (!parse_u64(val, vallen, &env->size))
				return MAILSEC_ESYNTAX;
			break;
		case EF_SMTPUTF8:
			env->smtputf8 = vallen == 1 && val[0] == '1';
			break;
		case EF_HEADERS:
			env->headers = val;
			env->headers_len = vallen;
			break;
		case EF_STR:
			*(const char **)(void *)((char *)env + f->off) = val;
			break;
		}
	}
	/* Unknown keys: a later version's; ignored (docs/queue.md). */
	return MAILSEC_OK;
}

/* Splits the next space-separated token off [*p, end): NUL-terminated in
 * place; NULL when none is left. */
static char *
next_token(char **p, char *end)
{
	char *t = *p, *sp;

	if (t >= end)
		return NULL;
	sp = memchr(t, ' ', (size_t)(end - t));
	if (sp == NULL) {
		*p = end;
		return t;
	}
	*sp = '\0';
	*p = sp + 1;
	return t;
}

/*
 * "rinfo IDX ATTEMPTS DSN CODE STATUS MX" (STATUS and MX "-" when
 * absent) or "rtls IDX TEXT" (the rest of the line): docs/queue.md.
 */
static mailsec_err
rcpt_info_line(struct parse_ctx *c, bool tls, char *val, size_t vallen)
{
	struct queue_rcpt *r;
	char *p = val, *end = val + vallen, *t[5];
	uint64_t idx, n, code;
	size_t i;

	if ((t[0] = next_token(&p, end)) == NULL ||
	    !parse_u64(t[0], strlen(t[0]), &idx) || idx >= c->nrcpt)
		return MAILSEC_ESYNTAX;
	r = &c->e->rcpts[idx];
	if (tls) {
		if (p >= end)
			return MAILSEC_ESYNTAX;
		r->tls = p;
		return MAILSEC_OK;
	}
	for (i = 0; i < 5; i++)
		if ((t[i] = next_token(&p, end)) == NULL)
			return MAILSEC_ESYNTAX;
	if (!parse_u64(t[0], strlen(t[0]), &n) || n > UINT32_MAX ||
	    !parse_u64(t[2], strlen(t[2]), &code) || code > 999 ||
	    strlen(t[1]) != 1 || (t[1][0] != '0' && t[1][0] != '1'))
		return MAILSEC_ESYNTAX;
	r->attempts = (unsigned)n;
	r->dsn_done = t[1][0] == '1';
	r->code = (int)code;
	r->status_code = strcmp(t[3], "-") != 0 ? t[3] : NULL;
	r->mx = strcmp(t[4], "-") != 0 ? t[4] : NULL;
	return MAILSEC_OK;
}

static mailsec_err
state_line(void *ctx, const char *key, size_t keylen, char *val,
    size_t vallen, size_t line)
{
	struct parse_ctx *c = ctx;
	struct queue_entry *e = c->e;
	char *sp, *st, *reason = NULL;
	uint64_t n, idx;
	size_t stlen;
	enum queue_rcpt_status s;

	(void)line;
	if (KEY("attempts")) {
		if (!parse_u64(val, vallen, &n) || n > UINT32_MAX)
			return MAILSEC_ESYNTAX;
		e->attempts = (unsigned)n;
	} else if (KEY("next")) {
		if (!parse_u64(val, vallen, &n) || n > INT64_MAX)
			return MAILSEC_ESYNTAX;
		e->next_attempt = (int64_t)n;
	} else if (KEY("last")) {
		if (!parse_u64(val, vallen, &n) || n > INT64_MAX)
			return MAILSEC_ESYNTAX;
		e->last_attempt = (int64_t)n;
	} else if (KEY("delay-dsn")) {
		e->delay_dsn = vallen == 1 && val[0] == '1';
	} else if (KEY("rinfo") || KEY("rtls")) {
		return rcpt_info_line(c, KEY("rtls"), val, vallen);
	} else if (KEY("rcpt")) {
		/* "rcpt IDX STATUS[ REASON]", decoded already: the reason is
		 * the rest of the line. */
		sp = memchr(val, ' ', vallen);
		if (sp == NULL || !parse_u64(val, (size_t)(sp - val), &idx) ||
		    idx >= c->nrcpt)
			return MAILSEC_ESYNTAX;
		st = sp + 1;
		sp = memchr(st, ' ', vallen - (size_t)(st - val));
		stlen = sp != NULL ? (size_t)(sp - st) :
		    vallen - (size_t)(st - val);
		if (sp != NULL) {
			*sp = '\0';
			reason = sp + 1;
		}
		if (ms_ascii_eqz(st, stlen, "done"))
			s = QUEUE_RCPT_DONE;
		else if (ms_ascii_eqz(st, stlen, "deferred"))
			s = QUEUE_RCPT_DEFERRED;
		else if (ms_ascii_eqz(st, stlen, "failed"))
			s = QUEUE_RCPT_FAILED;
		else if (ms_ascii_eqz(st, stlen, "pending"))
			s = QUEUE_RCPT_PENDING;
		else
			return MAILSEC_ESYNTAX;
		e->rcpts[idx].status = s;
		e->rcpts[idx].reason = reason;
	}
	return MAILSEC_OK;
}

mailsec_err
queue_entry_parse(struct queue_entry *out, const char *id, uint64_t size,
    const char *env, size_t envlen, const char *state, size_t statelen,
    struct mailsec_diag *diag)
{
	struct parse_ctx c = { 0 };
	mailsec_err err;

	memset(out, 0, sizeof *out);
	if (!queue_id_valid(id, strlen(id)))
		return ms_diag(diag, MAILSEC_EINVAL, 0, 0, "bad queue ID");
	memcpy(out->id, id, QUEUE_ID_LEN + 1);
	out->size = size;
	c.e = out;
	if ((out->env_text = ms_memdupz(env, envlen)) == NULL)
		goto nomem;
	/* Count first (the decoding is in place: on a copy). */
	c.count_only = true;
	{
		char *tmp = ms_memdupz(env, envlen);

		if (tmp == NULL)
			goto nomem;
		err = each_line(tmp, envlen, env_line, &c, diag);
		free(tmp);
		if (err != MAILSEC_OK)
			goto fail;
	}
	if (c.nrcpt == 0 || c.nrcpt > QUEUE_RCPT_MAX) {
		err = ms_diag(diag, MAILSEC_ESYNTAX, 0, 0,
		    "envelope has %zu recipients", c.nrcpt);
		goto fail;
	}
	if ((out->rcpts = ms_calloc(c.nrcpt, sizeof *out->rcpts)) == NULL)
		goto nomem;
	c.count_only = false;
	c.nrcpt = 0;
	if ((err = each_line(out->env_text, envlen, env_line, &c, diag)) !=
	    MAILSEC_OK)
		goto fail;
	if (out->env.mail_from == NULL || !c.have_received) {
		err = ms_diag(diag, MAILSEC_ESYNTAX, 0, 0,
		    "envelope lacks mail-from or received");
		goto fail;
	}
	out->env.rcpt = out->rcpts;
	out->env.nrcpt = c.nrcpt;
	if (state != NULL && statelen > 0) {
		if (statelen < sizeof(QF_STATE_MAGIC) - 1 ||
		    memcmp(state, QF_STATE_MAGIC,
		    sizeof(QF_STATE_MAGIC) - 1) != 0) {
			err = ms_diag(diag, MAILSEC_ESYNTAX, 0, 1,
			    "state file: bad first line");
			goto fail;
		}
		state += sizeof(QF_STATE_MAGIC) - 1;
		statelen -= sizeof(QF_STATE_MAGIC) - 1;
		if ((out->state_text = ms_memdupz(state, statelen)) == NULL)
			goto nomem;
		if ((err = each_line(out->state_text, statelen, state_line,
		    &c, diag)) != MAILSEC_OK)
			goto fail;
	}
	return MAILSEC_OK;
nomem:
	err = MAILSEC_ENOMEM;
fail:
	queue_entry_cleanup(out);
	return err;
}

/* ---- reading queue files ------------------------------------------------ */

enum qf_check
qf_trailer(int fd, struct qf_info *in)
{
	char magic[QF_MAGIC_LEN], t[QF_TRAILER_LEN];
	struct stat st;
	uint64_t total;
	size_t i;
	int h, l;

	if (fstat(fd, &st) != 0)
		return QF_IOERR;
	in->file_size = st.st_size;
	if ((uint64_t)st.st_size < QF_MAGIC_LEN + QF_TRAILER_LEN)
		return QF_TORN;
	if (qf_pread_all(fd, magic, sizeof magic, 0) != 0)
		return QF_IOERR;
	if (memcmp(magic, QF_MAGIC, QF_MAGIC_LEN) != 0)
		return QF_TORN;
	if (qf_pread_all(fd, t, sizeof t, st.st_size - QF_TRAILER_LEN) != 0)
		return QF_IOERR;
	if (memcmp(t, "trailer ", 8) != 0 || t[24] != ' ' ||
	    memcmp(t + 41, " sha256 ", 8) != 0 || t[QF_TRAILER_LEN - 1] != '\n')
		return QF_TORN;
	if (!parse_hex64(t + 8, &in->msg_len) ||
	    !parse_hex64(t + 25, &in->env_len))
		return QF_TORN;
	for (i = 0; i < 32; i++) {
		h = ms_hexval((unsigned char)t[49 + 2 * i]);
		l = ms_hexval((unsigned char)t[49 + 2 * i + 1]);
		if (h < 0 || l < 0)
			return QF_TORN;
		in->sha[i] = (unsigned char)(h << 4 | l);
	}
	if (in->msg_len > (uint64_t)st.st_size ||
	    in->env_len > (uint64_t)st.st_size || in->env_len > QUEUE_ENV_MAX)
		return QF_TORN;
	total = QF_MAGIC_LEN + in->msg_len + in->env_len + QF_TRAILER_LEN;
	if (total != (uint64_t)st.st_size)
		return QF_TORN;
	return QF_OK;
}

/* Hashes everything before the trailer and compares. */
static enum qf_check
qf_verify(int fd, const struct qf_info *in)
{
	unsigned char buf[65536], md[32];
	EVP_MD_CTX *ctx;
	uint64_t left = (uint64_t)in->file_size - QF_TRAILER_LEN;
	off_t off = 0;
	size_t want;
	unsigned int mdlen = 0;
	enum qf_check rc = QF_IOERR;

	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		goto out;
	while (left > 0) {
		want = left < sizeof buf ? (size_t)left : sizeof buf;
		if (qf_pread_all(fd, buf, want, off) != 0)
			goto out;
		if (EVP_DigestUpdate(ctx, buf, want) != 1)
			goto out;
		off += (off_t)want;
		left -= want;
	}
	if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != 32)
		goto out;
	rc = memcmp(md, in->sha, 32) == 0 ? QF_OK : QF_CORRUPT;
out:
	EVP_MD_CTX_free(ctx);
	return rc;
}

mailsec_err
qf_read_env(int fd, const struct qf_info *in, char **env)
{
	char *p;

	if ((p = malloc((size_t)in->env_len + 1)) == NULL)
		return MAILSEC_ENOMEM;
	if (qf_pread_all(fd, p, (size_t)in->env_len,
	    (off_t)(QF_MAGIC_LEN + in->msg_len)) != 0) {
		free(p);
		return MAILSEC_EIO;
	}
	p[in->env_len] = '\0';
	*env = p;
	return MAILSEC_OK;
}

mailsec_err
qf_read_state(struct queue *q, const char *id, char **out, size_t *len)
{
	struct stat st;
	char *p = NULL;
	int fd;
	mailsec_err err = MAILSEC_EIO;

	*out = NULL;
	*len = 0;
	fd = openat(q->statefd, id, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno != ENOENT)
			return MAILSEC_EIO;
		if ((*out = ms_memdupz("", 0)) == NULL)
			return MAILSEC_ENOMEM;
		return MAILSEC_OK;
	}
	if (fstat(fd, &st) != 0)
		goto out;
	err = MAILSEC_ELIMIT;
	if ((uint64_t)st.st_size > QF_STATE_MAX)
		goto out;
	err = MAILSEC_ENOMEM;
	if ((p = malloc((size_t)st.st_size + 1)) == NULL)
		goto out;
	err = MAILSEC_EIO;
	if (qf_pread_all(fd, p, (size_t)st.st_size, 0) != 0)
		goto out;
	p[st.st_size] = '\0';
	*out = p;
	*len = (size_t)st.st_size;
	p = NULL;
	err = MAILSEC_OK;
out:
	free(p);
	close(fd);
	return err;
}

mailsec_err
qf_open(struct queue *q, const char *id, int *fd)
{
	if (!queue_id_valid(id, strlen(id)))
		return MAILSEC_EINVAL;
	*fd = openat(q->incfd, id, O_RDONLY | O_CLOEXEC);
	if (*fd < 0)
		return errno == ENOENT ? MAILSEC_ENOTFOUND : MAILSEC_EIO;
	return MAILSEC_OK;
}

void
qf_texts_free(struct qf_texts *t)
{
	free(t->env);
	free(t->state);
	memset(t, 0, sizeof *t);
}

mailsec_err
qf_texts_read(struct queue *q, const char *id, struct qf_texts *t)
{
	struct qf_info in;
	int fd;
	mailsec_err err;

	memset(t, 0, sizeof *t);
	if ((err = qf_open(q, id, &fd)) != MAILSEC_OK)
		return err;
	err = MAILSEC_ESYNTAX;
	if (qf_trailer(fd, &in) != QF_OK)
		goto out;
	if ((err = qf_read_env(fd, &in, &t->env)) != MAILSEC_OK)
		goto out;
	t->envlen = (size_t)in.env_len;
	t->size = in.msg_len;
	/* A runner delivers under an exclusive lock. */
	if (flock(fd, LOCK_SH | LOCK_NB) != 0)
		t->active = errno == EWOULDBLOCK;
	err = qf_read_state(q, id, &t->state, &t->statelen);
out:
	if (err != MAILSEC_OK)
		qf_texts_free(t);
	close(fd);
	return err;
}

mailsec_err
queue_entry_texts(struct queue *q, const char *id, char **env,
    size_t *envlen, char **state, size_t *statelen, uint64_t *size,
    bool *active)
{
	struct qf_texts t;
	mailsec_err err;

	*env = *state = NULL;
	if ((err = qf_texts_read(q, id, &t)) != MAILSEC_OK)
		return err;
	*env = t.env;
	*envlen = t.envlen;
	*state = t.state;
	*statelen = t.statelen;
	*size = t.size;
	*active = t.active;
	return MAILSEC_OK;
}

static mailsec_err
load_entry(struct queue *q, const char *id, struct queue_entry *e)
{
	struct qf_texts t;
	mailsec_err err;

	if ((err = qf_texts_read(q, id, &t)) != MAILSEC_OK)
		return err;
	err = queue_entry_parse(e, id, t.size, t.env, t.envlen, t.state,
	    t.statelen, NULL);
	if (err == MAILSEC_OK)
		e->active = t.active;
	qf_texts_free(&t);
	return err;
}

static int
id_cmp(const void *a, const void *b)
{
	return memcmp(a, b, QUEUE_ID_LEN);
}

/* A directory stream over dirfd from its first entry; dirfd stays open
 * and usable for the *at() calls (closedir() closes only the copy). */
static DIR *
dir_stream(int dirfd)
{
	DIR *d;
	int fd;

	if ((fd = dup(dirfd)) < 0)
		return NULL;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return NULL;
	}
	rewinddir(d);
	return d;
}

mailsec_err
qf_scan_ids(int dirfd, char (**out)[QUEUE_ID_LEN + 1], size_t *n)
{
	char (*ids)[QUEUE_ID_LEN + 1] = NULL, (*nids)[QUEUE_ID_LEN + 1];
	size_t cnt = 0, cap = 0;
	struct dirent *de;
	DIR *d;

	*out = NULL;
	*n = 0;
	if ((d = dir_stream(dirfd)) == NULL)
		return MAILSEC_EIO;
	while ((de = readdir(d)) != NULL) {
		if (!queue_id_valid(de->d_name, strlen(de->d_name)))
			continue;
		if (cnt == cap) {
			cap = cap ? cap * 2 : 64;
			nids = ms_reallocarray(ids, cap, sizeof *ids);
			if (nids == NULL) {
				free(ids);
				closedir(d);
				return MAILSEC_ENOMEM;
			}
			ids = nids;
		}
		memcpy(ids[cnt++], de->d_name, QUEUE_ID_LEN + 1);
	}
	closedir(d);
	if (cnt > 0)
		qsort(ids, cnt, sizeof *ids, id_cmp);
	*out = ids;
	*n = cnt;
	return MAILSEC_OK;
}

mailsec_err
queue_ids(struct queue *q, char (**ids)[QUEUE_ID_LEN + 1], size_t *n)
{
	return qf_scan_ids(q->incfd, ids, n);
}

mailsec_err
queue_list(struct queue *q, struct queue_entry **out, size_t *n)
{
	char (*ids)[QUEUE_ID_LEN + 1] = NULL;
	struct queue_entry *e = NULL;
	size_t nids, i, cnt = 0;
	mailsec_err err;

	*out = NULL;
	*n = 0;
	if ((err = qf_scan_ids(q->incfd, &ids, &nids)) != MAILSEC_OK)
		return err;
	if (nids > 0 && (e = ms_calloc(nids, sizeof *e)) == NULL) {
		free(ids);
		return MAILSEC_ENOMEM;
	}
	for (i = 0; i < nids; i++) {
		err = load_entry(q, ids[i], &e[cnt]);
		if (err == MAILSEC_ENOMEM) {
			free(ids);
			queue_entries_free(e, cnt);
			return err;
		}
		if (err == MAILSEC_OK)
			cnt++;
	}
	free(ids);
	*out = e;
	*n = cnt;
	return MAILSEC_OK;
}

mailsec_err
queue_show(struct queue *q, const char *id, struct queue_entry *out,
    char **hdr, size_t *hdrlen)
{
	struct qf_info in;
	size_t want, i;
	char *p = NULL;
	int fd = -1;
	mailsec_err err;

	*hdr = NULL;
	*hdrlen = 0;
	memset(out, 0, sizeof *out);
	if (!queue_id_valid(id, strlen(id)))
		return MAILSEC_EINVAL;
	if ((err = load_entry(q, id, out)) != MAILSEC_OK)
		return err;
	fd = openat(q->incfd, id, O_RDONLY | O_CLOEXEC);
	err = MAILSEC_ENOTFOUND;
	if (fd < 0 || qf_trailer(fd, &in) != QF_OK)
		goto fail;
	want = in.msg_len < QUEUE_SHOW_HEADER_MAX ? (size_t)in.msg_len :
	    QUEUE_SHOW_HEADER_MAX;
	err = MAILSEC_ENOMEM;
	if ((p = malloc(want + 1)) == NULL)
		goto fail;
	err = MAILSEC_EIO;
	if (qf_pread_all(fd, p, want, QF_MAGIC_LEN) != 0)
		goto fail;
	/* The header section ends at the first empty line. */
	if ((want >= 1 && p[0] == '\n') ||
	    (want >= 2 && p[0] == '\r' && p[1] == '\n'))
		want = 0;
	for (i = 0; i < want; i++) {
		if (p[i] != '\n')
			continue;
		if (i + 1 < want && p[i + 1] == '\n') {
			want = i + 1;
			break;
		}
		if (i + 2 < want && p[i + 1] == '\r' && p[i + 2] == '\n') {
			want = i + 1;
			break;
		}
	}
	p[want] = '\0';
	*hdr = p;
	*hdrlen = want;
	close(fd);
	return MAILSEC_OK;
fail:
	free(p);
	if (fd >= 0)
		close(fd);
	queue_entry_cleanup(out);
	return err;
}

mailsec_err
queue_delete(struct queue *q, const char *id)
{
	int fd;
	mailsec_err err;

	if ((err = qf_open(q, id, &fd)) != MAILSEC_OK)
		return err;
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		err = errno == EWOULDBLOCK ? MAILSEC_ESTATE : MAILSEC_EIO;
		goto out;
	}
	if (unlinkat(q->incfd, id, 0) != 0) {
		err = errno == ENOENT ? MAILSEC_ENOTFOUND : MAILSEC_EIO;
		goto out;
	}
	if (unlinkat(q->statefd, id, 0) != 0 && errno != ENOENT)
		err = MAILSEC_EIO;
	if (fsync(q->incfd) != 0)
		err = MAILSEC_EIO;
out:
	close(fd);
	return err;
}

/* ---- open / close ------------------------------------------------------- */

void
qf_thread_stop(struct queue *q, bool *flag, pthread_cond_t *cv,
    pthread_t thr)
{
	pthread_mutex_lock(&q->mu);
	*flag = true;
	pthread_cond_broadcast(cv);
	pthread_mutex_unlock(&q->mu);
	pthread_join(thr, NULL);
}

int
qf_open_dir(int parent, const char *name)
{
	if (mkdirat(parent, name, 0700) != 0 && errno != EEXIST)
		return -1;
	return openat(parent, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

static void on_commits_done(evutil_socket_t fd, short what, void *arg);
static void *commit_main(void *arg);

mailsec_err
queue_open(struct queue **out, const char *state_dir,
    struct event_base *base, struct mailsec_diag *diag)
{
	struct queue *q;
	int sfd = -1;
	const char *what = state_dir;
	mailsec_err err = MAILSEC_EIO;
	size_t i;
	static const struct {
		const char *what;	/* "queue/" and the name */
		size_t off;		/* of its int fd in struct queue */
	} sub[] = {
		{ "queue/tmp", offsetof(struct queue, tmpfd) },
		{ "queue/incoming", offsetof(struct queue, incfd) },
		{ "queue/state", offsetof(struct queue, statefd) },
		{ "queue/corrupt", offsetof(struct queue, corruptfd) },
	};
	int *fd;

	*out = NULL;
	if ((q = ms_calloc(1, sizeof *q)) == NULL)
		return MAILSEC_ENOMEM;
	q->qfd = q->tmpfd = q->incfd = q->statefd = q->corruptfd = -1;
	q->lockfd = q->efd = -1;
	q->pending_tail = &q->pending;
	q->done_tail = &q->done;
	pthread_mutex_init(&q->mu, NULL);
	pthread_mutex_init(&q->deliver_mu, NULL);
	pthread_cond_init(&q->commit_cv, NULL);
	pthread_cond_init(&q->run_cv, NULL);
	pthread_cond_init(&q->work_cv, NULL);
	if ((q->state_dir = ms_memdupz(state_dir, strlen(state_dir))) ==
	    NULL) {
		err = MAILSEC_ENOMEM;
		goto fail;
	}
	if (mkdir(state_dir, 0700) != 0 && errno != EEXIST)
		goto fail;
	if ((sfd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		goto fail;
	what = "queue";
	if ((q->qfd = qf_open_dir(sfd, "queue")) < 0)
		goto fail;
	for (i = 0; i < MS_ARRAY_LEN(sub); i++) {
		what = sub[i].what;
		fd = (int *)(void *)((char *)q + sub[i].off);
		if ((*fd = qf_open_dir(q->qfd, what + sizeof "queue/" - 1)) < 0)
			goto fail;
	}
	/* The directories' own entries must survive a crash too. */
	what = "queue (fsync)";
	if (fsync(q->qfd) != 0 || fsync(sfd) != 0)
		goto fail;
	what = "queue/lock";
	q->lockfd = openat(q->qfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (q->lockfd < 0)
		goto fail;
	if (base != NULL) {
		if (flock(q->lockfd, LOCK_SH) != 0)
			goto fail;
		what = "eventfd";
		q->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (q->efd < 0)
			goto fail;
		q->base = base;
		q->ev = event_new(base, q->efd, EV_READ | EV_PERSIST,
		    on_commits_done, q);
		if (q->ev == NULL || event_add(q->ev, NULL) != 0) {
			what = "event";
			goto fail;
		}
		what = "commit thread";
		if (pthread_create(&q->commit_thr, NULL, commit_main, q) != 0)
			goto fail;
		q->commit_started = true;
	}
	close(sfd);
	*out = q;
	return MAILSEC_OK;
fail:
	err = ms_diag(diag, err, 0, 0, "%s/%s: %s", state_dir, what,
	    strerror(errno));
	if (sfd >= 0)
		close(sfd);
	queue_close(q);
	return err;
}

void
queue_close(struct queue *q)
{
	size_t i;

	if (q == NULL)
		return;
	qrun_stop(q);
	if (q->commit_started) {
		qf_thread_stop(q, &q->stopping, &q->commit_cv, q->commit_thr);
		/* Every pending commit is over: report them. */
		on_commits_done(q->efd, EV_READ, q);
	}
	if (q->ev != NULL)
		event_free(q->ev);
	{
		const int fds[] = { q->efd, q->lockfd, q->qfd, q->tmpfd,
		    q->incfd, q->statefd, q->corruptfd };

		for (i = 0; i < MS_ARRAY_LEN(fds); i++)
			if (fds[i] >= 0)
				close(fds[i]);
	}
	free(q->state_dir);
	pthread_mutex_destroy(&q->mu);
	pthread_mutex_destroy(&q->deliver_mu);
	pthread_cond_destroy(&q->commit_cv);
	pthread_cond_destroy(&q->run_cv);
	pthread_cond_destroy(&q->work_cv);
	free(q);
}

/* ---- recovery ----------------------------------------------------------- */

/* Removes every file in dirfd (tmp/: nothing there was acknowledged). */
static mailsec_err
clear_dir(int dirfd, size_t *count)
{
	struct dirent *de;
	DIR *d;

	if ((d = dir_stream(dirfd)) == NULL)
		return MAILSEC_EIO;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (unlinkat(dirfd, de->d_name, 0) == 0)
			(*count)++;
	}
	closedir(d);
	return MAILSEC_OK;
}

mailsec_err
queue_recover(struct queue *q, struct queue_recover_stats *st)
{
	char (*ids)[QUEUE_ID_LEN + 1] = NULL;
	struct queue_entry e;
	struct qf_info in;
	enum qf_check c;
	size_t n, i;
	char *env;
	int fd;
	mailsec_err err;

	memset(st, 0, sizeof *st);
	if (flock(q->lockfd, LOCK_EX | LOCK_NB) != 0)
		return errno == EWOULDBLOCK ? MAILSEC_ESTATE : MAILSEC_EIO;
	if ((err = clear_dir(q->tmpfd, &st->tmp_removed)) != MAILSEC_OK)
		goto out;
	if ((err = qf_scan_ids(q->incfd, &ids, &n)) != MAILSEC_OK)
		goto out;
	for (i = 0; i < n; i++) {
		fd = openat(q->incfd, ids[i], O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		c = qf_trailer(fd, &in);
		if (c == QF_OK)
			c = qf_verify(fd, &in);
		if (c == QF_OK) {
			/* A good checksum over an envelope we cannot read
			 * is a bug or a future version: keep it aside. */
			env = NULL;
			if (qf_read_env(fd, &in, &env) != MAILSEC_OK ||
			    queue_entry_parse(&e, ids[i], in.msg_len, env,
			    (size_t)in.env_len, NULL, 0, NULL) != MAILSEC_OK)
				c = QF_CORRUPT;
			else
				queue_entry_cleanup(&e);
			free(env);
		}
		close(fd);
		switch (c) {
		case QF_OK:
			st->recovered++;
			break;
		case QF_TORN:
			if (unlinkat(q->incfd, ids[i], 0) == 0)
				st->torn_removed++;
			break;
		case QF_CORRUPT:
			if (renameat(q->incfd, ids[i], q->corruptfd,
			    ids[i]) == 0)
				st->corrupt_moved++;
			break;
		case QF_IOERR:
			break;	/* left alone; looked at next time */
		}
	}
	free(ids);
	ids = NULL;
	/* State files whose message is gone: the message was finished. */
	if ((err = qf_scan_ids(q->statefd, &ids, &n)) != MAILSEC_OK)
		goto out;
	for (i = 0; i < n; i++) {
		if (faccessat(q->incfd, ids[i], F_OK, 0) == 0 ||
		    errno != ENOENT)
			continue;
		if (unlinkat(q->statefd, ids[i], 0) == 0)
			st->state_removed++;
	}
	if (fsync(q->incfd) != 0 || fsync(q->corruptfd) != 0 ||
	    fsync(q->statefd) != 0)
		err = MAILSEC_EIO;
out:
	free(ids);
	/* Back to the shared lock of a running daemon (or none). */
	(void)flock(q->lockfd, q->base != NULL ? LOCK_SH : LOCK_UN);
	return err;
}

/* ---- receiving ---------------------------------------------------------- */

static void
msg_free(struct queue_msg *m)
{
	if (m == NULL)
		return;
	if (m->fd >= 0)
		close(m->fd);
	EVP_MD_CTX_free(m->sha);
	free(m->buf);
	free(m->env);
	free(m);
}

mailsec_err
queue_msg_new(struct queue *q, struct queue_msg **out)
{
	struct queue_msg *m;

	*out = NULL;
	if ((m = ms_calloc(1, sizeof *m)) == NULL)
		return MAILSEC_ENOMEM;
	m->q = q;
	m->fd = -1;
	if ((m->buf = malloc(QF_WBUF)) == NULL ||
	    (m->sha = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(m->sha, EVP_sha256(), NULL) != 1) {
		msg_free(m);
		return MAILSEC_ENOMEM;
	}
	/* The file is created later (msg_create()), with O_EXCL. */
	queue_id_new(m->id);
	m->received = qf_now();
	memcpy(m->buf, QF_MAGIC, QF_MAGIC_LEN);
	m->buflen = QF_MAGIC_LEN;
	*out = m;
	return MAILSEC_OK;
}

const char *
queue_msg_id(const struct queue_msg *m)
{
	return m->id;
}

uint64_t
queue_msg_size(const struct queue_msg *m)
{
	return m->size;
}

/* queue/tmp/ID, O_EXCL: an ID is never reused, even if the clock
 * misbehaves. */
static mailsec_err
msg_create(struct queue_msg *m)
{
	if (m->fd >= 0)
		return MAILSEC_OK;
	m->fd = openat(m->q->tmpfd, m->id,
	    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (m->fd < 0)
		return m->err = MAILSEC_EIO;
	m->created = true;
	return MAILSEC_OK;
}

static mailsec_err
msg_flush(struct queue_msg *m)
{
	if (m->err != MAILSEC_OK)
		return m->err;
	if (m->buflen == 0)
		return MAILSEC_OK;
	if (msg_create(m) != MAILSEC_OK)
		return m->err;
	if (EVP_DigestUpdate(m->sha, m->buf, m->buflen) != 1)
		return m->err = MAILSEC_ENOMEM;
	if (qf_write_all(m->fd, m->buf, m->buflen) != 0)
		return m->err = MAILSEC_EIO;
	m->buflen = 0;
	return MAILSEC_OK;
}

mailsec_err
queue_msg_write(struct queue_msg *m, const void *p, size_t len)
{
	const char *c = p;
	size_t n;
	mailsec_err err;

	if (m->err != MAILSEC_OK)
		return m->err;
	if (m->env != NULL)
		return MAILSEC_ESTATE;
	while (len > 0) {
		if (m->buflen == QF_WBUF &&
		    (err = msg_flush(m)) != MAILSEC_OK)
			return err;
		n = QF_WBUF - m->buflen;
		if (n > len)
			n = len;
		memcpy(m->buf + m->buflen, c, n);
		m->buflen += n;
		m->size += n;
		c += n;
		len -= n;
	}
	return MAILSEC_OK;
}

mailsec_err
queue_msg_envelope(struct queue_msg *m, const struct queue_env *env)
{
	struct ms_buf b;
	size_t i;
	mailsec_err err;

	if (m->env != NULL)
		return MAILSEC_ESTATE;
	if (env->mail_from == NULL || env->nrcpt == 0 || env->rcpt == NULL)
		return MAILSEC_EINVAL;
	if (env->nrcpt > QUEUE_RCPT_MAX)
		return MAILSEC_ELIMIT;
	for (i = 0; i < env->nrcpt; i++)
		if (env->rcpt[i].addr == NULL)
			return MAILSEC_EINVAL;
	if (env->received > 0)
		m->received = env->received;
	if ((err = env_encode(env, m->received, &b)) != MAILSEC_OK)
		return err;
	m->env = ms_buf_steal(&b, &m->envlen);
	if (m->env == NULL)
		return MAILSEC_ENOMEM;
	return MAILSEC_OK;
}

void
queue_msg_abort(struct queue_msg *m)
{
	if (m == NULL)
		return;
	if (m->created)
		(void)unlinkat(m->q->tmpfd, m->id, 0);
	msg_free(m);
}

/* Writes the envelope and the trailer. */
static mailsec_err
msg_finish(struct queue_msg *m)
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	char t[QF_TRAILER_LEN + 1];
	mailsec_err err;

	if (m->env == NULL)
		return m->err = MAILSEC_ESTATE;
	if ((err = msg_flush(m)) != MAILSEC_OK ||
	    (err = msg_create(m)) != MAILSEC_OK)
		return err;
	if (EVP_DigestUpdate(m->sha, m->env, m->envlen) != 1 ||
	    EVP_DigestFinal_ex(m->sha, md, &mdlen) != 1 || mdlen != 32)
		return m->err = MAILSEC_ENOMEM;
	snprintf(t, sizeof t, "trailer %016llx %016llx sha256 ",
	    (unsigned long long)m->size, (unsigned long long)m->envlen);
	ms_hex_encode(md, 32, t + 49);	/* its NUL: where the '\n' goes */
	t[QF_TRAILER_LEN - 1] = '\n';
	if (qf_write_all(m->fd, m->env, m->envlen) != 0 ||
	    qf_write_all(m->fd, t, QF_TRAILER_LEN) != 0)
		return m->err = MAILSEC_EIO;
	return MAILSEC_OK;
}

mailsec_err
queue_inject(struct queue *q, const struct queue_env *env, const void *bytes,
    size_t len, char *id_out)
{
	struct queue_msg *m = NULL;
	mailsec_err err;

	if ((err = queue_msg_new(q, &m)) != MAILSEC_OK)
		return err;
	if ((err = queue_msg_write(m, bytes, len)) != MAILSEC_OK ||
	    (err = queue_msg_envelope(m, env)) != MAILSEC_OK ||
	    (err = msg_finish(m)) != MAILSEC_OK)
		goto fail;
	err = MAILSEC_EIO;
	if (fdatasync(m->fd) != 0)
		goto fail;
	/* RENAME_NOREPLACE as in commit_batch(): never over another. */
	if (renameat2(q->tmpfd, m->id, q->incfd, m->id,
	    RENAME_NOREPLACE) != 0) {
		if (errno != EINVAL ||
		    linkat(q->tmpfd, m->id, q->incfd, m->id, 0) != 0)
			goto fail;
		(void)unlinkat(q->tmpfd, m->id, 0);
	}
	m->created = false;	/* it is in incoming/ now */
	if (fsync(q->incfd) != 0) {
		(void)unlinkat(q->incfd, m->id, 0);
		goto fail;
	}
	if (id_out != NULL)
		memcpy(id_out, m->id, QUEUE_ID_LEN + 1);
	qrun_handoff_id(q, m->id);
	msg_free(m);
	return MAILSEC_OK;
fail:
	queue_msg_abort(m);
	return err;
}

static void
wake_loop(struct queue *q)
{
	uint64_t one = 1;

	while (write(q->efd, &one, sizeof one) < 0 && errno == EINTR)
		;
}

void
queue_commit(struct queue *q, struct queue_msg *m, queue_commit_cb *cb,
    void *arg)
{
	m->cb = cb;
	m->arg = arg;
	m->next = NULL;
	if (q->base == NULL) {
		/* Misuse (no event loop to report on): at once. */
		if (cb != NULL)
			cb(arg, MAILSEC_ESTATE, m->id);
		queue_msg_abort(m);
		return;
	}
	/* The rest of the writing happens in the commit thread. */
	if (m->env == NULL && m->err == MAILSEC_OK)
		m->err = MAILSEC_ESTATE;
	pthread_mutex_lock(&q->mu);
	if (m->err != MAILSEC_OK) {
		/* Reported like the others: from the loop, never from here. */
		*q->done_tail = m;
		q->done_tail = &m->next;
	} else {
		*q->pending_tail = m;
		q->pending_tail = &m->next;
		pthread_cond_signal(&q->commit_cv);
	}
	pthread_mutex_unlock(&q->mu);
	if (m->err != MAILSEC_OK)
		wake_loop(q);
}

void
queue_commit_cancel(struct queue_msg *m)
{
	m->cb = NULL;
}

void
queue_commit_stats(struct queue *q, struct queue_commit_stats *st)
{
	pthread_mutex_lock(&q->mu);
	*st = q->stats;
	pthread_mutex_unlock(&q->mu);
}

void
queue_set_sync_mode(struct queue *q, enum queue_sync_mode mode)
{
	pthread_mutex_lock(&q->mu);
	q->sync_mode = mode;
	pthread_mutex_unlock(&q->mu);
}

/*
 * One batch, in the order docs/queue.md argues for: the data of every
 * file durable; each renamed into incoming/; incoming/ synced once. Only
 * then does anything report success.
 */
static void
commit_batch(struct queue *q, struct queue_msg *batch, size_t n,
    enum queue_sync_mode mode)
{
	struct queue_msg *m;
	bool any = false, fs_ok = true;
	int anyfd = -1;

	/* Each file written to its end (created now if it was small). */
	for (m = batch; m != NULL; m = m->next)
		if (msg_finish(m) == MAILSEC_OK)
			anyfd = m->fd;
	if (anyfd >= 0 &&
	    (mode == QUEUE_SYNC_FS || (mode == QUEUE_SYNC_AUTO && n > 1)))
		fs_ok = syncfs(anyfd) == 0;
	for (m = batch; m != NULL; m = m->next) {
		if (m->err != MAILSEC_OK)
			continue;
		if (!fs_ok || (mode == QUEUE_SYNC_FILES ||
		    (mode == QUEUE_SYNC_AUTO && n == 1))) {
			if (fdatasync(m->fd) != 0) {
				m->err = MAILSEC_EIO;
				continue;
			}
		}
		/* RENAME_NOREPLACE: a message never replaces another. */
		if (renameat2(q->tmpfd, m->id, q->incfd, m->id,
		    RENAME_NOREPLACE) != 0) {
			if (errno != EINVAL ||
			    linkat(q->tmpfd, m->id, q->incfd, m->id, 0) != 0) {
				m->err = MAILSEC_EIO;
				continue;
			}
			(void)unlinkat(q->tmpfd, m->id, 0);
		}
		any = true;
	}
	if (any && fsync(q->incfd) != 0) {
		/* Not known to be durable: fail them all; best effort to
		 * take them back so no unacknowledged copy is delivered. */
		for (m = batch; m != NULL; m = m->next) {
			if (m->err != MAILSEC_OK)
				continue;
			m->err = MAILSEC_EIO;
			(void)unlinkat(q->incfd, m->id, 0);
		}
	}
	for (m = batch; m != NULL; m = m->next) {
		if (m->fd >= 0)
			close(m->fd);
		m->fd = -1;
		if (m->err != MAILSEC_OK && m->created)
			(void)unlinkat(q->tmpfd, m->id, 0);
	}
}

static void *
commit_main(void *arg)
{
	struct queue *q = arg;
	struct queue_msg *batch, *m;
	enum queue_sync_mode mode;
	size_t n;

	pthread_mutex_lock(&q->mu);
	for (;;) {
		while (q->pending == NULL && !q->stopping)
			pthread_cond_wait(&q->commit_cv, &q->mu);
		if (q->pending == NULL)
			break;
		batch = q->pending;
		q->pending = NULL;
		q->pending_tail = &q->pending;
		mode = q->sync_mode;
		pthread_mutex_unlock(&q->mu);

		for (n = 0, m = batch; m != NULL; m = m->next)
			n++;
		commit_batch(q, batch, n, mode);
		qrun_handoff(q, batch);

		pthread_mutex_lock(&q->mu);
		q->stats.batches++;
		q->stats.commits += n;
		if (n > q->stats.max_batch)
			q->stats.max_batch = n;
		*q->done_tail = batch;
		for (m = batch; m->next != NULL; m = m->next)
			;
		q->done_tail = &m->next;
		pthread_mutex_unlock(&q->mu);
		wake_loop(q);
		pthread_mutex_lock(&q->mu);
	}
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

static void
on_commits_done(evutil_socket_t fd, short what, void *arg)
{
	struct queue *q = arg;
	struct queue_msg *m, *next;
	uint64_t v;

	(void)what;
	while (read(fd, &v, sizeof v) < 0 && errno == EINTR)
		;
	pthread_mutex_lock(&q->mu);
	m = q->done;
	q->done = NULL;
	q->done_tail = &q->done;
	pthread_mutex_unlock(&q->mu);
	for (; m != NULL; m = next) {
		next = m->next;
		if (m->cb != NULL)
			m->cb(m->arg, m->err, m->id);
		if (m->err != MAILSEC_OK && m->created)
			(void)unlinkat(q->tmpfd, m->id, 0);
		msg_free(m);
	}
}
