/*
 * daemon/queue_run.c - the delivery runner: a dispatcher thread that
 * rescans incoming/ for messages whose retry time came, delivery threads
 * that take each message once its commit is durable (or the rescan found
 * it), queue_run() (the same work, synchronously) and the per-recipient
 * state file. Local recipients go into Maildirs (maildir.c); the others,
 * grouped by domain, through the configured transport (remote_deliver()
 * in the daemon); retries back off until the lifetime ends; failures and
 * delays are reported to the sender with DSNs (RFC 3461, 3464) injected
 * into the queue. The spool itself is in queue.c.
 *
 * docs/queue.md, "Local delivery" and "Remote delivery", has the rules.
 * At most once: the Maildir name (queue ID and recipient index) makes a
 * local delivery idempotent, and the state file is rewritten (atomically)
 * after each delivered local recipient and right after each remote
 * transaction, before anything else happens: a crash can repeat only the
 * delivery that was in flight.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <mailsec/dns.h>
#include <mailsec/domain.h>
#include <mailsec/dsn.h>

#include "core/core.h"
#include "log.h"
#include "maildir.h"
#include "queue.h"
#include "queue_int.h"
#include "report_sched.h"

#define QF_FRESH_SECS 60	/* a scan leaves younger files to handoff */
/* Retries: 60 s after the first attempt, doubling, at most 4 h apart
 * (RFC 5321 4.5.4.1 asks for at least 30 min between retries of one
 * destination once the first ones failed; the early short ones catch a
 * greylisting or restarting receiver). */
#define QF_BACKOFF_MIN 60
#define QF_BACKOFF_MAX (4 * 3600)
#define QF_LIFETIME_DEFAULT (5 * 86400)	/* RFC 5321 4.5.4.1: 4-5 days */
#define QF_THREADS_DEFAULT 4
#define QF_THREADS_MAX 256
/* RET=FULL returns the whole original only up to this size (else its
 * header); RFC 3461 4.3 leaves the limit to us. */
#define QF_DSN_ORIG_MAX ((uint64_t)1024 * 1024)
#define QF_REASON_MAX 1024	/* reason text kept per recipient */

/* ---- handoff to the delivery threads ------------------------------------ */

/* Appends one item to the work FIFO (q->mu held). False: no memory (the
 * next rescan finds the message). */
static bool
work_push(struct queue *q, const char *id, bool careful, bool force,
    bool scan)
{
	struct qrun_work *nw, *w;
	size_t cap;

	if (q->work_head > 0 && q->work_head == q->nwork)
		q->work_head = q->nwork = 0;
	if (q->nwork == q->work_cap) {
		if (q->work_head > 0) {
			memmove(q->work, q->work + q->work_head,
			    (q->nwork - q->work_head) * sizeof *q->work);
			q->nwork -= q->work_head;
			q->work_head = 0;
		} else {
			cap = q->work_cap ? q->work_cap * 2 : 64;
			nw = ms_reallocarray(q->work, cap, sizeof *nw);
			if (nw == NULL)
				return false;
			q->work = nw;
			q->work_cap = cap;
		}
	}
	w = &q->work[q->nwork++];
	memcpy(w->id, id, QUEUE_ID_LEN + 1);
	w->careful = careful;
	w->force = force;
	w->scan = scan;
	if (scan)
		q->nscan++;
	return true;
}

void
qrun_handoff(struct queue *q, const struct queue_msg *batch)
{
	const struct queue_msg *m;

	pthread_mutex_lock(&q->mu);
	if (!q->run_started)
		goto out;
	for (m = batch; m != NULL; m = m->next) {
		if (m->err != MAILSEC_OK)
			continue;
		if (!work_push(q, m->id, false, true, false))
			break;
	}
	pthread_cond_broadcast(&q->work_cv);
out:
	pthread_mutex_unlock(&q->mu);
}

void
qrun_handoff_id(struct queue *q, const char *id)
{
	pthread_mutex_lock(&q->mu);
	if (q->run_started && work_push(q, id, false, true, false))
		pthread_cond_signal(&q->work_cv);
	pthread_mutex_unlock(&q->mu);
}

/* ---- configuration ------------------------------------------------------ */

static void
local_cfg_free(struct queue_local_cfg *lc)
{
	size_t i;

	if (lc == NULL)
		return;
	for (i = 0; i < lc->ndomains; i++)
		free(lc->domains[i]);
	free(lc->domains);
	free(lc->maildir);
	free(lc->quarantine_dir);
	free(lc);
}

/* A checked, owned copy of cfg (one reference) in *out. */
static mailsec_err
local_cfg_new(const struct queue_local *cfg, struct queue_local_cfg **out)
{
	struct queue_local_cfg *lc;
	char dom[MAILSEC_DOMAIN_MAX], hn[256];
	const char *h;
	size_t i, o = 0;
	mailsec_err err = MAILSEC_ENOMEM;

	*out = NULL;
	if ((lc = ms_calloc(1, sizeof *lc)) == NULL)
		return MAILSEC_ENOMEM;
	lc->refs = 1;
	if (cfg->ndomains > 0 &&
	    (lc->domains = ms_calloc(cfg->ndomains, sizeof *lc->domains)) ==
	    NULL)
		goto fail;
	for (i = 0; i < cfg->ndomains; i++) {
		if (mailsec_domain_normalize(cfg->domains[i],
		    strlen(cfg->domains[i]), dom, sizeof dom, NULL, NULL) !=
		    MAILSEC_OK) {
			err = MAILSEC_EINVAL;
			goto fail;
		}
		if ((lc->domains[lc->ndomains++] = ms_memdupz(dom,
		    strlen(dom))) == NULL)
			goto fail;
	}
	if ((cfg->maildir != NULL && (lc->maildir = ms_memdupz(cfg->maildir,
	    strlen(cfg->maildir))) == NULL) ||
	    (cfg->quarantine_dir != NULL &&
	    (lc->quarantine_dir = ms_memdupz(cfg->quarantine_dir,
	    strlen(cfg->quarantine_dir))) == NULL))
		goto fail;
	lc->rescan_secs = cfg->rescan_secs ? cfg->rescan_secs : 300;
	lc->transport = cfg->transport;
	lc->resolver_new = cfg->resolver_new;
	lc->resolver_arg = cfg->resolver_arg;
	lc->threads = cfg->threads == 0 ? QF_THREADS_DEFAULT :
	    cfg->threads > QF_THREADS_MAX ? QF_THREADS_MAX : cfg->threads;
	lc->lifetime = cfg->lifetime ? cfg->lifetime : QF_LIFETIME_DEFAULT;
	lc->delay_warning = cfg->delay_warning;
	lc->bounce = cfg->bounce;
	if (cfg->hostname != NULL)
		h = cfg->hostname;
	else if (gethostname(hn, sizeof hn) == 0) {
		hn[sizeof hn - 1] = '\0';
		h = hn;
	} else
		h = "localhost";
	(void)snprintf(lc->mta, sizeof lc->mta, "%s",
	    cfg->mta_name != NULL ? cfg->mta_name : h);
	/* Maildir: '/' and ':' in the host name are written \057, \072. */
	for (i = 0; h[i] != '\0' && o + 5 < sizeof lc->host; i++) {
		if (h[i] == '/' || h[i] == ':') {
			memcpy(lc->host + o, h[i] == '/' ? "\\057" : "\\072",
			    4);
			o += 4;
		} else if ((unsigned char)h[i] > 0x20 && h[i] != 0x7f) {
			lc->host[o++] = h[i];
		}
	}
	lc->host[o] = '\0';
	*out = lc;
	return MAILSEC_OK;
fail:
	local_cfg_free(lc);
	return err;
}

/* The current configuration, one reference more; NULL when none. */
static struct queue_local_cfg *
cfg_get(struct queue *q)
{
	struct queue_local_cfg *lc;

	pthread_mutex_lock(&q->mu);
	if ((lc = q->cfg) != NULL)
		lc->refs++;
	pthread_mutex_unlock(&q->mu);
	return lc;
}

static void
cfg_put(struct queue *q, struct queue_local_cfg *lc)
{
	bool last;

	if (lc == NULL)
		return;
	pthread_mutex_lock(&q->mu);
	last = --lc->refs == 0;
	pthread_mutex_unlock(&q->mu);
	if (last)
		local_cfg_free(lc);
}

/* ---- the state file ----------------------------------------------------- */

/* "rcpt IDX STATUS[ REASON]", "rinfo IDX ATTEMPTS DSN CODE STATUS MX",
 * "rtls IDX TEXT": each value escaped as a whole (spaces are %20). */
static mailsec_err
state_rcpt(struct ms_buf *b, size_t i, const struct queue_rcpt *r)
{
	struct ms_buf v;
	mailsec_err err;

	ms_buf_init(&v, 4096);
	if (r->status != QUEUE_RCPT_PENDING) {
		if ((err = ms_buf_printf(&v, "%zu %s", i,
		    queue_rcpt_status_name(r->status))) != MAILSEC_OK ||
		    (r->reason != NULL && (err = ms_buf_printf(&v, " %s",
		    r->reason)) != MAILSEC_OK) ||
		    (err = qf_env_put(b, "rcpt", v.ptr, v.len)) != MAILSEC_OK)
			goto out;
		ms_buf_free(&v);
		ms_buf_init(&v, 4096);
	}
	if (r->attempts > 0 || r->dsn_done || r->code != 0) {
		if ((err = ms_buf_printf(&v, "%zu %u %d %d %s %s", i,
		    r->attempts, r->dsn_done ? 1 : 0, r->code,
		    r->status_code != NULL && *r->status_code != '\0' ?
		    r->status_code : "-", r->mx != NULL && *r->mx != '\0' ?
		    r->mx : "-")) != MAILSEC_OK ||
		    (err = qf_env_put(b, "rinfo", v.ptr, v.len)) != MAILSEC_OK)
			goto out;
		ms_buf_free(&v);
		ms_buf_init(&v, 4096);
	}
	err = MAILSEC_OK;
	if (r->tls != NULL && *r->tls != '\0' &&
	    ((err = ms_buf_printf(&v, "%zu %s", i, r->tls)) != MAILSEC_OK ||
	    (err = qf_env_put(b, "rtls", v.ptr, v.len)) != MAILSEC_OK))
		goto out;
out:
	ms_buf_free(&v);
	return err;
}

/* Writes state/ID atomically: tmp/ID.state, fsync, rename, fsync. */
static mailsec_err
write_state(struct queue *q, const struct queue_entry *e)
{
	struct ms_buf b;
	char name[QUEUE_ID_LEN + 8], line[64];
	mailsec_err err;
	size_t i;
	int fd = -1;

	ms_buf_init(&b, QF_STATE_MAX);
	snprintf(line, sizeof line, "%u", e->attempts);
	if ((err = ms_buf_appendz(&b, QF_STATE_MAGIC)) != MAILSEC_OK ||
	    (err = qf_env_putz(&b, "attempts", line)) != MAILSEC_OK)
		return err;
	snprintf(line, sizeof line, "%lld", (long long)e->next_attempt);
	if ((err = qf_env_putz(&b, "next", line)) != MAILSEC_OK)
		return err;
	snprintf(line, sizeof line, "%lld", (long long)e->last_attempt);
	if ((e->last_attempt > 0 &&
	    (err = qf_env_putz(&b, "last", line)) != MAILSEC_OK) ||
	    (e->delay_dsn &&
	    (err = qf_env_putz(&b, "delay-dsn", "1")) != MAILSEC_OK))
		return err;
	for (i = 0; i < e->env.nrcpt; i++) {
		if ((err = state_rcpt(&b, i, &e->env.rcpt[i])) != MAILSEC_OK) {
			ms_buf_free(&b);
			return err;
		}
	}
	snprintf(name, sizeof name, "%s.state", e->id);
	fd = openat(q->tmpfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600);
	err = MAILSEC_EIO;
	if (fd < 0)
		goto out;
	if (qf_write_all(fd, b.ptr, b.len) != 0 || fsync(fd) != 0)
		goto out;
	if (renameat(q->tmpfd, name, q->statefd, e->id) != 0)
		goto out;
	if (fsync(q->statefd) != 0)
		goto out;
	err = MAILSEC_OK;
out:
	if (fd >= 0)
		close(fd);
	if (err != MAILSEC_OK)
		(void)unlinkat(q->tmpfd, name, 0);
	ms_buf_free(&b);
	return err;
}

/* ---- Maildir roots and routes ------------------------------------------- */

/* The Maildir roots of one pass, opened when first needed. */
struct qrun_roots {
	int mail;		/* <maildir>/ */
	int quar;		/* <quarantine_dir>/ */
};

#define QRUN_ROOTS_INIT { -1, -1 }

static void
roots_close(struct qrun_roots *r)
{
	if (r->mail >= 0)
		close(r->mail);
	if (r->quar >= 0)
		close(r->quar);
	r->mail = r->quar = -1;
}

/*
 * Opens the directory path (or STATE_DIR/defname when path is NULL),
 * creating its last component (0700) when missing and making that
 * creation durable by syncing the parent. -1 with errno on failure.
 */
static int
root_open(const struct queue *q, const char *path, const char *defname)
{
	char *dup = NULL, *slash;
	const char *parent, *name;
	size_t len;
	int pfd = -1, fd = -1;

	if (path == NULL) {
		parent = q->state_dir;
		name = defname;
	} else {
		len = strlen(path);
		while (len > 1 && path[len - 1] == '/')
			len--;
		if ((dup = ms_memdupz(path, len)) == NULL) {
			errno = ENOMEM;
			return -1;
		}
		slash = strrchr(dup, '/');
		if (slash == NULL) {
			parent = ".";
			name = dup;
		} else if (slash == dup) {
			parent = "/";
			name = slash[1] != '\0' ? slash + 1 : ".";
		} else {
			*slash = '\0';
			parent = dup;
			name = slash + 1;
		}
	}
	if ((pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		goto out;
	fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		if ((fd = qf_open_dir(pfd, name)) >= 0 && fsync(pfd) != 0) {
			close(fd);
			fd = -1;
		}
	}
out:
	if (pfd >= 0)
		close(pfd);
	free(dup);
	return fd;
}

/* The root a message's recipients go to (quarantine or inbox). */
static int
roots_get(struct queue *q, const struct queue_local_cfg *lc,
    struct qrun_roots *r, bool quarantine)
{
	if (quarantine) {
		if (r->quar < 0)
			r->quar = root_open(q, lc->quarantine_dir,
			    "quarantine");
		return r->quar;
	}
	if (r->mail < 0)
		r->mail = root_open(q, lc->maildir, "mail");
	return r->mail;
}

/* ---- one message -------------------------------------------------------- */

/*
 * Where rcpt goes: *local set with dom/user filled when it is delivered
 * here: a local domain, or any domain when the message is quarantined
 * (any_domain). A reason when it fails for good.
 */
static const char *
rcpt_route(const struct queue_local_cfg *lc, const char *addr,
    bool any_domain, bool *local, char *dom, char *user)
{
	const char *at = strrchr(addr, '@');
	size_t i;

	*local = false;
	if (at == NULL) {
		/* RFC 5321 4.5.1: "Postmaster" with no domain. */
		if (!ms_ascii_eqz(addr, strlen(addr), "postmaster") ||
		    lc->ndomains == 0)
			return "invalid address";
		memcpy(dom, lc->domains[0], strlen(lc->domains[0]) + 1);
		memcpy(user, "postmaster", sizeof "postmaster");
		*local = true;
		return NULL;
	}
	if (mailsec_domain_normalize(at + 1, strlen(at + 1), dom,
	    MAILSEC_DOMAIN_MAX, NULL, NULL) != MAILSEC_OK)
		return "invalid domain";
	for (i = 0; i < lc->ndomains; i++)
		if (strcmp(lc->domains[i], dom) == 0)
			break;
	if (i == lc->ndomains && !any_domain)
		return NULL;	/* not local */
	if (maildir_user(addr, (size_t)(at - addr), user) != MAILSEC_OK)
		return "invalid mailbox name";
	*local = true;
	return NULL;
}

/* ---- one message -------------------------------------------------------- */

/* What a delivery thread (or a queue_run() call) owns. */
struct qrun_thread {
	struct queue *q;
	struct qrun_roots roots;
	struct mailsec_resolver *res;	/* made by the factory, lazily */
	unsigned res_gen;		/* the configuration it was made for */
};

static void
thread_cleanup(struct qrun_thread *t)
{
	roots_close(&t->roots);
	mailsec_resolver_free(t->res);
	t->res = NULL;
}

/* The thread's resolver for lc (a reload makes a new one), or NULL with
 * why set; NULL without why when lc has no factory. */
static struct mailsec_resolver *
thread_resolver(struct qrun_thread *t, const struct queue_local_cfg *lc,
    const char **why)
{
	*why = NULL;
	if (t->res != NULL && t->res_gen != lc->gen) {
		mailsec_resolver_free(t->res);
		t->res = NULL;
	}
	if (t->res == NULL && lc->resolver_new != NULL) {
		if (lc->resolver_new(lc->resolver_arg, &t->res) != MAILSEC_OK) {
			t->res = NULL;
			*why = "no DNS resolver (see the log)";
		}
		t->res_gen = lc->gen;
	}
	return t->res;
}

/* The message as sent and as returned in a DSN: the envelope's header
 * fields to prepend, then the queued bytes. */
struct qrun_reader {
	const char *prefix;
	size_t prefix_len;
	int fd;
	off_t off;		/* of the message in the queue file */
	uint64_t len;
	uint64_t pos;		/* 0 .. prefix_len + len */
};

static mailsec_err
reader_read(void *arg, char *buf, size_t sz, size_t *got)
{
	struct qrun_reader *rd = arg;
	uint64_t mpos;
	size_t n;
	ssize_t r;

	*got = 0;
	if (rd->pos < rd->prefix_len) {
		n = rd->prefix_len - (size_t)rd->pos;
		if (n > sz)
			n = sz;
		memcpy(buf, rd->prefix + rd->pos, n);
		rd->pos += n;
		*got = n;
		return MAILSEC_OK;
	}
	mpos = rd->pos - rd->prefix_len;
	if (mpos >= rd->len)
		return MAILSEC_OK;
	n = rd->len - mpos < sz ? (size_t)(rd->len - mpos) : sz;
	do
		r = pread(rd->fd, buf, n, rd->off + (off_t)mpos);
	while (r < 0 && errno == EINTR);
	if (r <= 0)
		return MAILSEC_EIO;
	rd->pos += (uint64_t)r;
	*got = (size_t)r;
	return MAILSEC_OK;
}

static mailsec_err
reader_rewind(void *arg)
{
	((struct qrun_reader *)arg)->pos = 0;
	return MAILSEC_OK;
}

/* Per-recipient strings a pass sets (the entry borrows them). */
struct qrun_rstr {
	char *reason, *status, *mx, *tls;
};

static void
rstr_free(struct qrun_rstr *s, size_t n)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < n; i++) {
		free(s[i].reason);
		free(s[i].status);
		free(s[i].mx);
		free(s[i].tls);
	}
	free(s);
}

/* Replaces *slot with a copy of (p, len) (NULL when len is 0); *field
 * borrows it. False: no memory. */
static bool
rstr_set(char **slot, const char **field, const char *p, size_t len)
{
	char *d = NULL;

	if (len > QF_REASON_MAX)
		len = QF_REASON_MAX;
	if (len > 0 && (d = ms_memdupz(p, len)) == NULL)
		return false;
	free(*slot);
	*slot = d;
	*field = d;
	return true;
}

static bool
rstr_setz(char **slot, const char **field, const char *s)
{
	return rstr_set(slot, field, s, s != NULL ? strlen(s) : 0);
}

/* Done or failed for good: nothing more to do for it. */
static bool
rcpt_final(const struct queue_rcpt *r)
{
	return r->status == QUEUE_RCPT_DONE || r->status == QUEUE_RCPT_FAILED;
}

/* RFC 3463 codes of our own refusals. */
static const char *
route_status(const char *why)
{
	if (strcmp(why, "invalid mailbox name") == 0)
		return "5.1.1";
	if (strcmp(why, "invalid domain") == 0)
		return "5.1.2";
	return "5.1.3";		/* invalid address */
}

static int64_t
backoff(unsigned attempts)
{
	int64_t d = QF_BACKOFF_MIN;

	while (attempts-- > 1 && d < QF_BACKOFF_MAX)
		d *= 2;
	return d < QF_BACKOFF_MAX ? d : QF_BACKOFF_MAX;
}

/* Everything deliver_one() works on for one message. */
struct qrun_msg {
	struct qrun_thread *t;
	const struct queue_local_cfg *lc;
	struct queue_entry e;
	struct qrun_reader rd;	/* for the transport and DSNs */
	struct qrun_rstr *own;	/* nrcpt */
	char **dom;		/* nrcpt: normalized domain of a remote
				 * recipient, else NULL */
	struct queue_run_stats *st;
};

/* One line per recipient result (peer text escaped). */
static void
log_result(const struct qrun_msg *m, const struct queue_rcpt *r,
    const char *relay)
{
	char to[LOG_ESC_SIZE(256)], why[LOG_ESC_SIZE(256)];
	char tls[LOG_ESC_SIZE(128)], rel[LOG_ESC_SIZE(256)];
	size_t rl = r->reason != NULL ? strlen(r->reason) : 0;
	size_t tl = r->tls != NULL ? strlen(r->tls) : 0;

	log_info("%s delivery to=%s relay=%s status=%s tls=%s reason=%s",
	    m->e.id, log_escape(to, sizeof to, r->addr, strlen(r->addr) > 256 ?
	    256 : strlen(r->addr)), log_escape(rel, sizeof rel, relay,
	    strlen(relay) > 256 ? 256 : strlen(relay)),
	    queue_rcpt_status_name(r->status), log_escape(tls, sizeof tls,
	    r->tls, tl > 128 ? 128 : tl), log_escape(why, sizeof why,
	    r->reason, rl > 256 ? 256 : rl));
}

/*
 * Delivers the n recipients idx[] (all in domain) through the transport
 * and records each result. MAILSEC_ENOMEM only; the transport's own
 * errors become results.
 */
static mailsec_err
deliver_remote(struct qrun_msg *m, struct mailsec_resolver *res,
    const char *domain, const size_t *idx, size_t n)
{
	const struct queue_transport *tr = m->lc->transport;
	struct remote_rcpt *rr;
	struct remote_info info;
	struct remote_msg msg;
	struct queue_rcpt *r;
	struct qrun_rstr *o;
	mailsec_err err;
	size_t k;

	if ((rr = ms_calloc(n, sizeof *rr)) == NULL)
		return MAILSEC_ENOMEM;
	for (k = 0; k < n; k++) {
		r = &m->e.rcpts[idx[k]];
		rr[k].addr = r->addr;
		rr[k].notify = r->notify;
		rr[k].orcpt = r->orcpt;
		rr[k].result = REMOTE_TEMP;
	}
	memset(&info, 0, sizeof info);
	memset(&msg, 0, sizeof msg);
	msg.mail_from = m->e.env.mail_from;
	msg.size = m->rd.prefix_len + m->rd.len;
	msg.body = m->e.env.body;
	msg.smtputf8 = m->e.env.smtputf8;
	msg.ret = m->e.env.ret;
	msg.envid = m->e.env.envid;
	msg.read = reader_read;
	msg.rewind = reader_rewind;
	msg.arg = &m->rd;
	m->rd.pos = 0;
	err = tr->deliver(tr->arg, res, domain, &msg, rr, n, &info);
	for (k = 0; k < n; k++) {
		r = &m->e.rcpts[idx[k]];
		o = &m->own[idx[k]];
		rr[k].text[sizeof rr[k].text - 1] = '\0';
		rr[k].enhanced[sizeof rr[k].enhanced - 1] = '\0';
		rr[k].mx[sizeof rr[k].mx - 1] = '\0';
		info.tls[sizeof info.tls - 1] = '\0';
		info.mx[sizeof info.mx - 1] = '\0';
		if (err != MAILSEC_OK && rr[k].text[0] == '\0')
			(void)snprintf(rr[k].text, sizeof rr[k].text,
			    "local error: %s", mailsec_strerror(err));
		if (err != MAILSEC_OK && rr[k].result != REMOTE_OK)
			rr[k].result = REMOTE_TEMP;
		r->attempts++;
		r->code = rr[k].code >= 0 && rr[k].code <= 999 ?
		    rr[k].code : 0;
		if (!rstr_setz(&o->reason, &r->reason, rr[k].text) ||
		    !rstr_setz(&o->status, &r->status_code,
		    rr[k].enhanced) ||
		    !rstr_setz(&o->mx, &r->mx, rr[k].mx[0] != '\0' ?
		    rr[k].mx : info.mx) ||
		    !rstr_setz(&o->tls, &r->tls, info.tls[0] != '\0' ?
		    info.tls : "none")) {
			free(rr);
			return MAILSEC_ENOMEM;
		}
		switch (rr[k].result) {
		case REMOTE_OK:
			r->status = QUEUE_RCPT_DONE;
			m->st->delivered++;
			break;
		case REMOTE_PERM:
			r->status = QUEUE_RCPT_FAILED;
			m->st->failed++;
			break;
		case REMOTE_TEMP:
		default:
			r->status = QUEUE_RCPT_DEFERRED;
			m->st->deferred++;
			break;
		}
		log_result(m, r, r->mx != NULL ? r->mx : domain);
	}
	free(rr);
	return MAILSEC_OK;
}

/* ---- DSNs --------------------------------------------------------------- */

static mailsec_err
dsn_read(void *arg, char *buf, size_t bufsz, size_t *got)
{
	return reader_read(arg, buf, bufsz, got);
}

/* A status code of the right class for action (RFC 3464 2.3.4). */
static const char *
dsn_status(const struct queue_rcpt *r, enum mailsec_dsn_action a)
{
	const char *s = r->status_code;
	bool ok = s != NULL && (s[0] == '4' || s[0] == '5') && s[1] == '.';

	if (a == MAILSEC_DSN_DELAYED)
		return ok && s[0] == '4' ? s : "4.0.0";
	if (ok)
		return s;
	return r->code >= 400 && r->code < 500 ? "4.0.0" : "5.0.0";
}

/* The remote reply without our "host[ip]: " in front ("550 5.1.1 ..."),
 * else the whole reason. */
static const char *
dsn_diagnostic(const struct queue_rcpt *r)
{
	char code[8];
	const char *p;

	if (r->reason == NULL)
		return NULL;
	if (r->code >= 200 && r->code <= 599) {
		(void)snprintf(code, sizeof code, "%d ", r->code);
		if ((p = strstr(r->reason, code)) != NULL)
			return p;
	}
	return r->reason;
}

/*
 * One DSN for the recipients in state want (FAILED not yet reported, or
 * DEFERRED) whose NOTIFY asks for action a: composed and injected into
 * the queue from "" to the sender. Nothing when none asks. An error only
 * when it may work later (ENOMEM, EIO); one that never will (an envelope
 * the DSN cannot carry) is logged and counts as done.
 */
static mailsec_err
send_dsn(struct qrun_msg *m, enum mailsec_dsn_action a,
    enum queue_rcpt_status want)
{
	const struct queue_entry *e = &m->e;
	struct mailsec_dsn_rcpt *dr;
	struct mailsec_dsn d;
	struct mailsec_diag diag;
	struct queue_rcpt to;
	struct queue_env env;
	char pm[300], id[QUEUE_ID_LEN + 1], *out = NULL;
	char snd[LOG_ESC_SIZE(256)];
	const struct queue_rcpt *r;
	size_t i, n = 0, outlen = 0;
	int64_t now = qf_now();
	mailsec_err err;

	if ((dr = ms_calloc(e->env.nrcpt, sizeof *dr)) == NULL)
		return MAILSEC_ENOMEM;
	for (i = 0; i < e->env.nrcpt; i++) {
		r = &e->env.rcpt[i];
		if (r->status != want || (want == QUEUE_RCPT_FAILED &&
		    r->dsn_done) || !mailsec_dsn_wanted(r->notify, a))
			continue;
		dr[n].final_recipient = r->addr;
		dr[n].orcpt = r->orcpt;
		dr[n].action = a;
		dr[n].status = dsn_status(r, a);
		dr[n].remote_mta = r->mx;
		dr[n].diagnostic = dsn_diagnostic(r);
		dr[n].last_attempt = e->last_attempt > 0 ? e->last_attempt :
		    now;
		if (a == MAILSEC_DSN_DELAYED)
			dr[n].will_retry_until = e->env.received +
			    (int64_t)m->lc->lifetime;
		n++;
	}
	err = MAILSEC_OK;
	if (n == 0)
		goto out;
	(void)snprintf(pm, sizeof pm, "MAILER-DAEMON@%s", m->lc->mta);
	memset(&d, 0, sizeof d);
	d.reporting_mta = m->lc->mta;
	d.postmaster = pm;
	d.to = e->env.mail_from;
	d.envid = e->env.envid;
	d.ret = e->env.ret;
	d.received_from_mta = e->env.helo != NULL ? e->env.helo :
	    e->env.client_ip;
	d.arrival = e->env.received;
	d.now = now;
	d.rcpts = dr;
	d.nrcpts = n;
	memset(&diag, 0, sizeof diag);
	m->rd.pos = 0;
	log_escape(snd, sizeof snd, e->env.mail_from,
	    strlen(e->env.mail_from) > 256 ? 256 : strlen(e->env.mail_from));
	err = mailsec_dsn_compose(&d, dsn_read, &m->rd, QF_DSN_ORIG_MAX, &out,
	    &outlen, &diag);
	if (err == MAILSEC_EINVAL || err == MAILSEC_ELIMIT) {
		log_warnx("%s dsn=%s to=%s not sent: %s", e->id,
		    a == MAILSEC_DSN_FAILED ? "failure" : "delay", snd,
		    diag.set ? diag.text : mailsec_strerror(err));
		err = MAILSEC_OK;
		goto out;
	}
	if (err != MAILSEC_OK)
		goto out;
	memset(&to, 0, sizeof to);
	to.addr = e->env.mail_from;
	memset(&env, 0, sizeof env);
	env.mail_from = "";
	env.body = "7BIT";
	env.rcpt = &to;
	env.nrcpt = 1;
	if ((err = queue_inject(m->t->q, &env, out, outlen, id)) !=
	    MAILSEC_OK) {
		log_warnx("%s dsn=%s to=%s: cannot queue it: %s", e->id,
		    a == MAILSEC_DSN_FAILED ? "failure" : "delay", snd,
		    mailsec_strerror(err));
		goto out;
	}
	log_info("%s dsn=%s to=%s recipients=%zu queued as %s", e->id,
	    a == MAILSEC_DSN_FAILED ? "failure" : "delay", snd, n, id);
out:
	free(out);
	free(dr);
	return err;
}

/*
 * The DSNs this pass owes (RFC 3461): a failure DSN for recipients that
 * failed and were not reported yet, a delay DSN once delay_warning has
 * passed. Never to the null sender (a DSN that failed is dropped: no
 * bounce loops). Sets dsn_done / delay_dsn for what it handled; an error
 * leaves them for the next attempt.
 */
static mailsec_err
send_dsns(struct qrun_msg *m)
{
	struct queue_entry *e = &m->e;
	struct queue_rcpt *r;
	size_t i, failed = 0, deferred = 0;
	int64_t now = qf_now();
	char to[LOG_ESC_SIZE(256)];
	mailsec_err err;

	for (i = 0; i < e->env.nrcpt; i++) {
		r = &e->rcpts[i];
		if (r->status == QUEUE_RCPT_FAILED && !r->dsn_done)
			failed++;
		if (r->status == QUEUE_RCPT_DEFERRED)
			deferred++;
	}
	if (failed > 0 && (e->env.mail_from[0] == '\0' || !m->lc->bounce)) {
		for (i = 0; i < e->env.nrcpt; i++) {
			r = &e->rcpts[i];
			if (r->status != QUEUE_RCPT_FAILED || r->dsn_done)
				continue;
			r->dsn_done = true;
			log_notice("%s to=%s failed: no DSN (%s)", e->id,
			    log_escape(to, sizeof to, r->addr,
			    strlen(r->addr) > 256 ? 256 : strlen(r->addr)),
			    e->env.mail_from[0] == '\0' ? "null sender: a "
			    "failed DSN is dropped" : "delivery.bounce is off");
		}
		failed = 0;
	}
	if (failed > 0) {
		err = send_dsn(m, MAILSEC_DSN_FAILED, QUEUE_RCPT_FAILED);
		if (err != MAILSEC_OK)
			return err;
		for (i = 0; i < e->env.nrcpt; i++)
			if (e->rcpts[i].status == QUEUE_RCPT_FAILED)
				e->rcpts[i].dsn_done = true;
	}
	if (deferred > 0 && !e->delay_dsn && m->lc->delay_warning > 0 &&
	    now >= e->env.received + (int64_t)m->lc->delay_warning) {
		if (e->env.mail_from[0] != '\0' && m->lc->bounce &&
		    (err = send_dsn(m, MAILSEC_DSN_DELAYED,
		    QUEUE_RCPT_DEFERRED)) != MAILSEC_OK)
			return err;
		e->delay_dsn = true;
	}
	return MAILSEC_OK;
}

/* Whether any recipient other than skip still waits for delivery. */
static bool
more_to_do(const struct queue_entry *e, size_t skip)
{
	size_t i;

	for (i = 0; i < e->env.nrcpt; i++)
		if (i != skip && !rcpt_final(&e->rcpts[i]))
			return true;
	return false;
}

/* Local recipient i is delivered. A crash before the next delivery must
 * not repeat this one: it is recorded first. */
static mailsec_err
rcpt_delivered(struct queue *q, struct queue_entry *e, size_t i,
    struct queue_run_stats *st)
{
	e->rcpts[i].status = QUEUE_RCPT_DONE;
	e->rcpts[i].reason = NULL;
	st->delivered++;
	return more_to_do(e, i) ? write_state(q, e) : MAILSEC_OK;
}

/* Recipients still deferred past the lifetime fail (RFC 5321 4.5.4.1). */
static mailsec_err
expire(struct qrun_msg *m)
{
	struct queue_entry *e = &m->e;
	struct queue_rcpt *r;
	struct ms_buf b;
	size_t i;

	if (qf_now() < e->env.received + (int64_t)m->lc->lifetime)
		return MAILSEC_OK;
	for (i = 0; i < e->env.nrcpt; i++) {
		r = &e->rcpts[i];
		if (r->status != QUEUE_RCPT_DEFERRED)
			continue;
		ms_buf_init(&b, QF_REASON_MAX + 64);
		if (ms_buf_printf(&b, "delivery time expired%s%s",
		    r->reason != NULL ? "; last error: " : "",
		    r->reason != NULL ? r->reason : "") != MAILSEC_OK ||
		    !rstr_set(&m->own[i].reason, &r->reason, b.ptr, b.len) ||
		    !rstr_setz(&m->own[i].status, &r->status_code, "4.4.7")) {
			ms_buf_free(&b);
			return MAILSEC_ENOMEM;
		}
		ms_buf_free(&b);
		r->status = QUEUE_RCPT_FAILED;
		if (m->st->deferred > 0)
			m->st->deferred--;
		m->st->failed++;
		log_result(m, r, r->mx != NULL ? r->mx : "-");
	}
	return MAILSEC_OK;
}

/* The remote recipients, one transport call per domain, the state
 * written after each (before anything else: at most once). */
static mailsec_err
deliver_remotes(struct qrun_msg *m)
{
	struct queue_entry *e = &m->e;
	struct mailsec_resolver *res = NULL;
	const char *why = NULL;
	size_t i, j, n, *idx = NULL;
	bool any = false;
	mailsec_err err = MAILSEC_OK;

	for (i = 0; i < e->env.nrcpt; i++)
		if (m->dom[i] != NULL && !rcpt_final(&e->rcpts[i]))
			any = true;
	if (!any)
		return MAILSEC_OK;
	if (m->lc->transport == NULL)
		why = "no relay configured";
	else
		res = thread_resolver(m->t, m->lc, &why);
	if (why != NULL) {
		for (i = 0; i < e->env.nrcpt; i++) {
			if (m->dom[i] == NULL || rcpt_final(&e->rcpts[i]))
				continue;
			e->rcpts[i].status = QUEUE_RCPT_DEFERRED;
			if (!rstr_setz(&m->own[i].reason, &e->rcpts[i].reason,
			    why))
				return MAILSEC_ENOMEM;
			m->st->deferred++;
		}
		return MAILSEC_OK;
	}
	if ((idx = ms_calloc(e->env.nrcpt, sizeof *idx)) == NULL)
		return MAILSEC_ENOMEM;
	for (i = 0; i < e->env.nrcpt; i++) {
		if (m->dom[i] == NULL || rcpt_final(&e->rcpts[i]))
			continue;
		/* This domain's recipients not handled yet: i and later. */
		for (j = i, n = 0; j < e->env.nrcpt; j++) {
			if (m->dom[j] == NULL || rcpt_final(&e->rcpts[j]) ||
			    strcmp(m->dom[j], m->dom[i]) != 0)
				continue;
			idx[n++] = j;
			/* handled once: not final yet, but off the list */
		}
		if ((err = deliver_remote(m, res, m->dom[i], idx, n)) !=
		    MAILSEC_OK)
			break;
		for (j = 0; j < n; j++) {
			free(m->dom[idx[j]]);
			m->dom[idx[j]] = NULL;
		}
		/* The remote server has answered: record it now. */
		if ((err = write_state(m->t->q, e)) != MAILSEC_OK)
			break;
	}
	free(idx);
	return err;
}

/*
 * Delivers one queued message under an exclusive lock on its file.
 * careful: it may have been (partly) delivered before a crash.
 */
static mailsec_err
deliver_one(struct qrun_thread *t, const struct queue_local_cfg *lc,
    const char *id, bool careful, bool force, struct queue_run_stats *st)
{
	struct qrun_msg m;
	struct queue_entry *e = &m.e;
	struct qf_info in;
	struct maildir_src src;
	struct mailsec_diag diag;
	struct ms_buf prefix;
	struct stat sb;
	char *env = NULL, *state = NULL;
	char dom[MAILSEC_DOMAIN_MAX], user[MAILDIR_USER_MAX + 1];
	char name[512];
	const char *why;
	size_t statelen, i;
	bool local, already, quar, *islocal = NULL;
	int fd, rootfd;
	mailsec_err err = MAILSEC_OK;
	struct queue_rcpt *r;

	memset(&m, 0, sizeof m);
	m.t = t;
	m.lc = lc;
	m.st = st;
	ms_buf_init(&prefix, QUEUE_ENV_MAX + 1024);
	if ((err = qf_open(t->q, id, &fd)) != MAILSEC_OK)
		return err == MAILSEC_ENOTFOUND ? MAILSEC_OK : err;
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		if (errno == EWOULDBLOCK)
			st->busy++;
		goto out;
	}
	/* Finished by another runner between our open and our lock? */
	if (fstat(fd, &sb) != 0 || sb.st_nlink == 0)
		goto out;
	err = MAILSEC_ESYNTAX;
	if (qf_trailer(fd, &in) != QF_OK)
		goto out;
	if ((err = qf_read_env(fd, &in, &env)) != MAILSEC_OK ||
	    (err = qf_read_state(t->q, id, &state, &statelen)) != MAILSEC_OK)
		goto out;
	if (statelen > 0)
		careful = true;
	if ((err = queue_entry_parse(e, id, in.msg_len, env,
	    (size_t)in.env_len, state, statelen, NULL)) != MAILSEC_OK)
		goto out;
	if (!force && e->next_attempt > qf_now())
		goto out;
	st->messages++;
	e->last_attempt = qf_now();
	/* Quarantined: every recipient to the quarantine Maildir. */
	quar = e->env.quarantine != NULL;
	err = MAILSEC_ENOMEM;
	if ((islocal = ms_calloc(e->env.nrcpt, sizeof *islocal)) == NULL ||
	    (m.own = ms_calloc(e->env.nrcpt, sizeof *m.own)) == NULL ||
	    (m.dom = ms_calloc(e->env.nrcpt, sizeof *m.dom)) == NULL)
		goto out;
	if (ms_buf_printf(&prefix, "Return-Path: <%s>\r\n",
	    e->env.mail_from) != MAILSEC_OK ||
	    (e->env.headers_len > 0 && ms_buf_append(&prefix, e->env.headers,
	    e->env.headers_len) != MAILSEC_OK))
		goto out;
	/* The transport and DSNs get the message without Return-Path. */
	m.rd.prefix = e->env.headers;
	m.rd.prefix_len = e->env.headers != NULL ? e->env.headers_len : 0;
	m.rd.fd = fd;
	m.rd.off = (off_t)QF_MAGIC_LEN;
	m.rd.len = in.msg_len;
	for (i = 0; i < e->env.nrcpt; i++) {
		r = &e->rcpts[i];
		if (rcpt_final(r))
			continue;
		why = rcpt_route(lc, r->addr, quar, &local, dom, user);
		islocal[i] = local;
		if (why != NULL) {
			r->status = QUEUE_RCPT_FAILED;
			r->reason = why;
			r->status_code = route_status(why);
			st->failed++;
		} else if (!local && (m.dom[i] = ms_memdupz(dom,
		    strlen(dom))) == NULL)
			goto out;
	}
	for (i = 0; i < e->env.nrcpt; i++) {
		r = &e->rcpts[i];
		if (rcpt_final(r) || !islocal[i])
			continue;
		(void)rcpt_route(lc, r->addr, quar, &local, dom, user);
		/* DMARC reports sent to reports.ingest_address go into the
		 * report store; anything else there is delivered as usual. */
		if (!quar && report_ingest_wanted(r->addr) &&
		    report_ingest_message(t->q->state_dir, fd,
		    (off_t)QF_MAGIC_LEN, in.msg_len, name, sizeof name) ==
		    MAILSEC_OK) {
			if ((err = rcpt_delivered(t->q, e, i, st)) !=
			    MAILSEC_OK)
				goto out;
			continue;
		}
		snprintf(name, sizeof name, "%lld.Q%sR%zu.%s",
		    (long long)e->env.received, id, i, lc->host);
		src.prefix = prefix.ptr;
		src.prefix_len = prefix.len;
		src.fd = fd;
		src.off = (off_t)QF_MAGIC_LEN;
		src.len = in.msg_len;
		memset(&diag, 0, sizeof diag);
		rootfd = roots_get(t->q, lc, &t->roots, quar);
		if (rootfd < 0 || maildir_deliver(rootfd, dom, user, name,
		    &src, careful, &already, &diag) != MAILSEC_OK) {
			r->status = QUEUE_RCPT_DEFERRED;
			r->reason = "maildir write failed";
			st->deferred++;
			continue;
		}
		if ((err = rcpt_delivered(t->q, e, i, st)) != MAILSEC_OK)
			goto out;
	}
	if ((err = deliver_remotes(&m)) != MAILSEC_OK ||
	    (err = expire(&m)) != MAILSEC_OK ||
	    (err = send_dsns(&m)) != MAILSEC_OK)
		goto out;
	err = MAILSEC_OK;
	if (!more_to_do(e, SIZE_MAX)) {
		/* All done or failed (and reported). */
		if (unlinkat(t->q->incfd, id, 0) != 0)
			err = MAILSEC_EIO;
		(void)unlinkat(t->q->statefd, id, 0);
		st->removed++;
	} else {
		e->attempts++;
		e->next_attempt = qf_now() + backoff(e->attempts);
		/* Not past the end of its lifetime: it expires on time. */
		if (e->next_attempt > e->env.received + (int64_t)lc->lifetime &&
		    e->env.received + (int64_t)lc->lifetime > qf_now())
			e->next_attempt = e->env.received +
			    (int64_t)lc->lifetime;
		err = write_state(t->q, e);
	}
out:
	free(islocal);
	if (m.dom != NULL)
		for (i = 0; i < e->env.nrcpt; i++)
			free(m.dom[i]);
	free(m.dom);
	rstr_free(m.own, e->env.nrcpt);
	ms_buf_free(&prefix);
	queue_entry_cleanup(e);
	free(env);
	free(state);
	close(fd);
	return err;
}

/* ---- passes and threads ------------------------------------------------- */

/* The IDs in incoming/ a pass should look at (fresh files without a state
 * file belong to the handoff of the process that committed them, unless
 * the pass is forced). */
static mailsec_err
scan_ids(struct queue *q, bool force, char (**out)[QUEUE_ID_LEN + 1],
    size_t *n)
{
	char (*ids)[QUEUE_ID_LEN + 1] = NULL;
	struct stat sb;
	size_t i, k, cnt;
	int64_t now = qf_now();
	mailsec_err err;

	if ((err = qf_scan_ids(q->incfd, &ids, &cnt)) != MAILSEC_OK)
		return err;
	for (i = k = 0; i < cnt; i++) {
		if (!force && fstatat(q->incfd, ids[i], &sb, 0) == 0 &&
		    sb.st_mtime > now - QF_FRESH_SECS &&
		    faccessat(q->statefd, ids[i], F_OK, 0) != 0)
			continue;
		if (k != i)
			memcpy(ids[k], ids[i], QUEUE_ID_LEN + 1);
		k++;
	}
	*out = ids;
	*n = k;
	return MAILSEC_OK;
}

mailsec_err
queue_run(struct queue *q, const struct queue_local *cfg, bool force,
    struct queue_run_stats *st)
{
	struct qrun_thread t = { .q = q, .roots = QRUN_ROOTS_INIT };
	struct queue_local_cfg *lc = NULL;
	char (*ids)[QUEUE_ID_LEN + 1] = NULL;
	size_t i, n = 0;
	mailsec_err err, e1;

	memset(st, 0, sizeof *st);
	pthread_mutex_lock(&q->deliver_mu);
	if (cfg != NULL)
		err = local_cfg_new(cfg, &lc);
	else
		err = (lc = cfg_get(q)) != NULL ? MAILSEC_OK : MAILSEC_ESTATE;
	if (err == MAILSEC_OK)
		err = scan_ids(q, force, &ids, &n);
	for (i = 0; err == MAILSEC_OK && i < n; i++) {
		/* Messages a DSN of this pass added are in the runner's
		 * FIFO (or the next pass's scan), not in ids. */
		e1 = deliver_one(&t, lc, ids[i], true, force, st);
		if (e1 != MAILSEC_OK && err == MAILSEC_OK)
			err = e1;
	}
	free(ids);
	thread_cleanup(&t);
	if (cfg != NULL)
		local_cfg_free(lc);
	else
		cfg_put(q, lc);
	pthread_mutex_unlock(&q->deliver_mu);
	return err;
}

/* A delivery thread: takes messages off the FIFO, one at a time. */
static void *
worker_main(void *arg)
{
	struct queue *q = arg;
	struct qrun_thread t = { .q = q, .roots = QRUN_ROOTS_INIT };
	struct queue_local_cfg *lc;
	struct queue_run_stats st;
	struct qrun_work w;

	pthread_mutex_lock(&q->mu);
	for (;;) {
		while (!q->run_stop && q->work_head == q->nwork)
			pthread_cond_wait(&q->work_cv, &q->mu);
		if (q->run_stop)
			break;
		w = q->work[q->work_head++];
		lc = q->cfg;
		lc->refs++;
		pthread_mutex_unlock(&q->mu);

		memset(&st, 0, sizeof st);
		(void)deliver_one(&t, lc, w.id, w.careful, w.force, &st);
		/* Reopened next time: a root moved or recreated meanwhile
		 * is found again. */
		roots_close(&t.roots);
		cfg_put(q, lc);

		pthread_mutex_lock(&q->mu);
		if (w.scan && --q->nscan == 0)
			pthread_cond_signal(&q->run_cv);
	}
	pthread_mutex_unlock(&q->mu);
	thread_cleanup(&t);
	return NULL;
}

/*
 * The dispatcher: a rescan at start (all of them: after recovery), on
 * queue_flush() (forced) and every rescan_secs (those due), each once
 * the previous rescan's messages have been taken care of.
 */
static void *
runner_main(void *arg)
{
	struct queue *q = arg;
	char (*ids)[QUEUE_ID_LEN + 1];
	struct timespec until;
	size_t n, i;
	int64_t next_scan = 0;
	unsigned rescan;
	bool force;

	pthread_mutex_lock(&q->mu);
	for (;;) {
		clock_gettime(CLOCK_REALTIME, &until);
		while (!q->run_stop && (q->nscan > 0 ||
		    (!q->run_flush && until.tv_sec < next_scan))) {
			if (q->nscan > 0) {
				pthread_cond_wait(&q->run_cv, &q->mu);
			} else {
				until.tv_sec = next_scan;
				until.tv_nsec = 0;
				(void)pthread_cond_timedwait(&q->run_cv,
				    &q->mu, &until);
			}
			clock_gettime(CLOCK_REALTIME, &until);
		}
		if (q->run_stop)
			break;
		/* The first pass (after recovery) takes them all. */
		force = q->run_flush || next_scan == 0;
		q->run_flush = false;
		rescan = q->cfg->rescan_secs;
		pthread_mutex_unlock(&q->mu);

		ids = NULL;
		n = 0;
		(void)scan_ids(q, force, &ids, &n);
		next_scan = qf_now() + rescan;

		pthread_mutex_lock(&q->mu);
		for (i = 0; i < n; i++)
			if (!work_push(q, ids[i], true, force, true))
				break;
		if (n > 0)
			pthread_cond_broadcast(&q->work_cv);
		free(ids);
	}
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

/* Stops and joins every runner thread (none of them holds q->mu). */
static void
threads_stop(struct queue *q)
{
	size_t i;

	pthread_mutex_lock(&q->mu);
	q->run_stop = true;
	pthread_cond_broadcast(&q->run_cv);
	pthread_cond_broadcast(&q->work_cv);
	pthread_mutex_unlock(&q->mu);
	pthread_join(q->run_thr, NULL);
	for (i = 0; i < q->nworkers; i++)
		pthread_join(q->workers[i], NULL);
	free(q->workers);
	q->workers = NULL;
	q->nworkers = 0;
}

mailsec_err
queue_runner_start(struct queue *q, const struct queue_local *cfg)
{
	struct queue_local_cfg *lc;
	pthread_t thr;
	size_t i;
	mailsec_err err;

	if (q->run_started)
		return MAILSEC_ESTATE;
	if ((err = local_cfg_new(cfg, &lc)) != MAILSEC_OK)
		return err;
	if ((q->workers = ms_calloc(lc->threads, sizeof *q->workers)) ==
	    NULL) {
		local_cfg_free(lc);
		return MAILSEC_ENOMEM;
	}
	pthread_mutex_lock(&q->mu);
	q->cfg = lc;
	lc->gen = ++q->cfg_gen;
	q->run_started = true;
	q->run_stop = false;
	pthread_mutex_unlock(&q->mu);
	err = MAILSEC_EIO;
	if (pthread_create(&q->run_thr, NULL, runner_main, q) != 0) {
		/* Nothing runs: no thread to join. */
		free(q->workers);
		q->workers = NULL;
		pthread_mutex_lock(&q->mu);
		q->run_started = false;
		q->cfg = NULL;
		pthread_mutex_unlock(&q->mu);
		local_cfg_free(lc);
		return err;
	}
	for (i = 0; i < lc->threads; i++) {
		if (pthread_create(&thr, NULL, worker_main, q) != 0)
			break;
		q->workers[q->nworkers++] = thr;
	}
	if (q->nworkers == 0) {
		qrun_stop(q);
		return err;
	}
	return MAILSEC_OK;
}

mailsec_err
queue_runner_reconfigure(struct queue *q, const struct queue_local *cfg)
{
	struct queue_local_cfg *lc, *old = NULL;
	mailsec_err err;

	/* Built (normalized, host name looked up) off the lock. */
	if ((err = local_cfg_new(cfg, &lc)) != MAILSEC_OK)
		return err;
	pthread_mutex_lock(&q->mu);
	if (!q->run_started) {
		pthread_mutex_unlock(&q->mu);
		local_cfg_free(lc);
		return MAILSEC_ESTATE;
	}
	/* Deliveries in progress keep theirs (a reference each); the
	 * next one takes this. */
	old = q->cfg;
	if (--old->refs != 0)
		old = NULL;
	q->cfg = lc;
	lc->gen = ++q->cfg_gen;
	q->run_flush = true;
	pthread_cond_broadcast(&q->run_cv);
	pthread_mutex_unlock(&q->mu);
	local_cfg_free(old);
	return MAILSEC_OK;
}

void
qrun_stop(struct queue *q)
{
	struct queue_local_cfg *lc;

	if (q->run_started)
		threads_stop(q);
	/* Under mu: the commit thread hands nothing off from here on. */
	pthread_mutex_lock(&q->mu);
	q->run_started = false;
	free(q->work);
	q->work = NULL;
	q->nwork = q->work_head = q->work_cap = 0;
	q->nscan = 0;
	lc = q->cfg;
	q->cfg = NULL;
	if (lc != NULL && --lc->refs != 0)
		lc = NULL;
	pthread_mutex_unlock(&q->mu);
	local_cfg_free(lc);
}

void
queue_flush(struct queue *q)
{
	pthread_mutex_lock(&q->mu);
	q->run_flush = true;
	pthread_cond_broadcast(&q->run_cv);
	pthread_mutex_unlock(&q->mu);
}
