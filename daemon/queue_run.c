/*
 * daemon/queue_run.c - the local delivery runner: a thread that delivers
 * each message once its commit is durable and rescans incoming/ for the
 * ones whose retry time came, queue_run() (the same pass, synchronously)
 * and the per-recipient state file. Delivery into a Maildir is in
 * maildir.c; the spool itself in queue.c.
 *
 * docs/queue.md, "Local delivery", has the rules; the at-most-once
 * argument is the Maildir name (queue ID and recipient index) plus the
 * state file written after each delivered recipient.
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

#include <mailsec/domain.h>

#include "core/core.h"
#include "maildir.h"
#include "queue.h"
#include "queue_int.h"

#define QF_FRESH_SECS 60	/* a scan leaves younger files to handoff */
#define QF_BACKOFF_MIN 300
#define QF_BACKOFF_MAX (4 * 3600)

/* ---- handoff from the commit thread ------------------------------------- */

void
qrun_handoff(struct queue *q, const struct queue_msg *batch)
{
	const struct queue_msg *m;
	char (*nh)[QUEUE_ID_LEN + 1];
	size_t cap;

	pthread_mutex_lock(&q->mu);
	if (!q->run_started)
		goto out;
	for (m = batch; m != NULL; m = m->next) {
		if (m->err != MAILSEC_OK)
			continue;
		if (q->nhandoff == q->handoff_cap) {
			cap = q->handoff_cap ? q->handoff_cap * 2 : 64;
			nh = ms_reallocarray(q->handoff, cap, sizeof *nh);
			if (nh == NULL)
				break;	/* the next rescan finds them */
			q->handoff = nh;
			q->handoff_cap = cap;
		}
		memcpy(q->handoff[q->nhandoff++], m->id, QUEUE_ID_LEN + 1);
	}
	pthread_cond_signal(&q->run_cv);
out:
	pthread_mutex_unlock(&q->mu);
}

/* ---- configuration and state file --------------------------------------- */

static mailsec_err
local_cfg_set(struct queue_local_cfg *lc, const struct queue_local *cfg)
{
	char dom[MAILSEC_DOMAIN_MAX], hn[256];
	const char *h;
	size_t i, o = 0;

	memset(lc, 0, sizeof *lc);
	if (cfg->ndomains > 0 &&
	    (lc->domains = ms_calloc(cfg->ndomains, sizeof *lc->domains)) ==
	    NULL)
		return MAILSEC_ENOMEM;
	for (i = 0; i < cfg->ndomains; i++) {
		if (mailsec_domain_normalize(cfg->domains[i],
		    strlen(cfg->domains[i]), dom, sizeof dom, NULL, NULL) !=
		    MAILSEC_OK)
			return MAILSEC_EINVAL;
		if ((lc->domains[lc->ndomains++] = ms_memdupz(dom,
		    strlen(dom))) == NULL)
			return MAILSEC_ENOMEM;
	}
	if ((cfg->maildir != NULL && (lc->maildir = ms_memdupz(cfg->maildir,
	    strlen(cfg->maildir))) == NULL) ||
	    (cfg->quarantine_dir != NULL &&
	    (lc->quarantine_dir = ms_memdupz(cfg->quarantine_dir,
	    strlen(cfg->quarantine_dir))) == NULL))
		return MAILSEC_ENOMEM;
	lc->rescan_secs = cfg->rescan_secs ? cfg->rescan_secs : 300;
	/* Maildir: '/' and ':' in the host name are written \057, \072. */
	if (cfg->hostname != NULL)
		h = cfg->hostname;
	else if (gethostname(hn, sizeof hn) == 0) {
		hn[sizeof hn - 1] = '\0';
		h = hn;
	} else
		h = "localhost";
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
	return MAILSEC_OK;
}

static void
local_cfg_free(struct queue_local_cfg *lc)
{
	size_t i;

	for (i = 0; i < lc->ndomains; i++)
		free(lc->domains[i]);
	free(lc->domains);
	free(lc->maildir);
	free(lc->quarantine_dir);
	memset(lc, 0, sizeof *lc);
}

/* Writes state/ID atomically: tmp/ID.state, fsync, rename, fsync. */
static mailsec_err
write_state(struct queue *q, const struct queue_entry *e)
{
	struct ms_buf b, v;
	char name[QUEUE_ID_LEN + 8], line[64];
	const struct queue_rcpt *r;
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
	for (i = 0; i < e->env.nrcpt; i++) {
		r = &e->env.rcpt[i];
		if (r->status == QUEUE_RCPT_PENDING)
			continue;
		/* "rcpt IDX STATUS REASON": the value escaped as a whole,
		 * so its spaces are %20 on disk. */
		ms_buf_init(&v, 4096);
		if ((err = ms_buf_printf(&v, "%zu %s", i,
		    queue_rcpt_status_name(r->status))) != MAILSEC_OK ||
		    (r->reason != NULL &&
		    (err = ms_buf_printf(&v, " %s", r->reason)) !=
		    MAILSEC_OK)) {
			ms_buf_free(&b);
			return err;
		}
		err = qf_env_put(&b, "rcpt", v.ptr, v.len);
		ms_buf_free(&v);
		if (err != MAILSEC_OK)
			return err;
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

/* Done or failed for good: nothing more to do for it. */
static bool
rcpt_final(const struct queue_rcpt *r)
{
	return r->status == QUEUE_RCPT_DONE || r->status == QUEUE_RCPT_FAILED;
}

static int64_t
backoff(unsigned attempts)
{
	int64_t d = QF_BACKOFF_MIN;

	while (attempts-- > 1 && d < QF_BACKOFF_MAX)
		d *= 2;
	return d < QF_BACKOFF_MAX ? d : QF_BACKOFF_MAX;
}

/*
 * Delivers one queued message under an exclusive lock on its file.
 * careful: it may have been (partly) delivered before a crash.
 */
static mailsec_err
deliver_one(struct queue *q, const struct queue_local_cfg *lc,
    struct qrun_roots *roots, const char *id, bool careful, bool force,
    struct queue_run_stats *st)
{
	struct queue_entry e;
	struct qf_info in;
	struct maildir_src src;
	struct mailsec_diag diag;
	struct ms_buf prefix;
	struct stat sb;
	char *env = NULL, *state = NULL;
	char dom[MAILSEC_DOMAIN_MAX], user[MAILDIR_USER_MAX + 1];
	char name[512];
	const char *why;
	size_t statelen, i, j, left;
	bool local, already, quar, *islocal = NULL;
	int fd, rootfd;
	mailsec_err err = MAILSEC_OK;
	struct queue_rcpt *r;

	memset(&e, 0, sizeof e);
	ms_buf_init(&prefix, QUEUE_ENV_MAX + 1024);
	if ((err = qf_open(q, id, &fd)) != MAILSEC_OK)
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
	    (err = qf_read_state(q, id, &state, &statelen)) != MAILSEC_OK)
		goto out;
	if (statelen > 0)
		careful = true;
	if ((err = queue_entry_parse(&e, id, in.msg_len, env,
	    (size_t)in.env_len, state, statelen, NULL)) != MAILSEC_OK)
		goto out;
	if (!force && e.next_attempt > qf_now())
		goto out;
	st->messages++;
	/* Quarantined: every recipient to the quarantine Maildir. */
	quar = e.env.quarantine != NULL;
	err = MAILSEC_ENOMEM;
	if ((islocal = ms_calloc(e.env.nrcpt, sizeof *islocal)) == NULL)
		goto out;
	if (ms_buf_printf(&prefix, "Return-Path: <%s>\r\n",
	    e.env.mail_from) != MAILSEC_OK ||
	    (e.env.headers_len > 0 && ms_buf_append(&prefix, e.env.headers,
	    e.env.headers_len) != MAILSEC_OK))
		goto out;
	for (i = 0; i < e.env.nrcpt; i++) {
		r = &e.rcpts[i];
		if (rcpt_final(r))
			continue;
		why = rcpt_route(lc, r->addr, quar, &local, dom, user);
		islocal[i] = local;
		if (why != NULL) {
			r->status = QUEUE_RCPT_FAILED;
			r->reason = why;
			st->failed++;
		}
	}
	for (i = 0; i < e.env.nrcpt; i++) {
		r = &e.rcpts[i];
		if (rcpt_final(r))
			continue;
		if (!islocal[i]) {
			r->status = QUEUE_RCPT_DEFERRED;
			r->reason = "no relay yet";
			st->deferred++;
			continue;
		}
		(void)rcpt_route(lc, r->addr, quar, &local, dom, user);
		snprintf(name, sizeof name, "%lld.Q%sR%zu.%s",
		    (long long)e.env.received, id, i, lc->host);
		src.prefix = prefix.ptr;
		src.prefix_len = prefix.len;
		src.fd = fd;
		src.off = (off_t)QF_MAGIC_LEN;
		src.len = in.msg_len;
		memset(&diag, 0, sizeof diag);
		rootfd = roots_get(q, lc, roots, quar);
		if (rootfd < 0 || maildir_deliver(rootfd, dom, user, name,
		    &src, careful, &already, &diag) != MAILSEC_OK) {
			r->status = QUEUE_RCPT_DEFERRED;
			r->reason = "maildir write failed";
			st->deferred++;
			continue;
		}
		r->status = QUEUE_RCPT_DONE;
		r->reason = NULL;
		st->delivered++;
		/* A crash before the next local delivery must not repeat
		 * this one: record it first. */
		for (j = i + 1, left = 0; j < e.env.nrcpt; j++)
			if (islocal[j] && !rcpt_final(&e.rcpts[j]))
				left++;
		if (left > 0 && (err = write_state(q, &e)) != MAILSEC_OK)
			goto out;
	}
	for (i = 0; i < e.env.nrcpt; i++)
		if (!rcpt_final(&e.rcpts[i]))
			break;
	err = MAILSEC_OK;
	if (i == e.env.nrcpt) {
		/* All done. (Failed ones would get a DSN: the relay issue.) */
		if (unlinkat(q->incfd, id, 0) != 0)
			err = MAILSEC_EIO;
		(void)unlinkat(q->statefd, id, 0);
		st->removed++;
	} else {
		e.attempts++;
		e.next_attempt = qf_now() + backoff(e.attempts);
		err = write_state(q, &e);
	}
out:
	free(islocal);
	ms_buf_free(&prefix);
	queue_entry_cleanup(&e);
	free(env);
	free(state);
	close(fd);
	return err;
}

/* ---- passes and the thread ---------------------------------------------- */

static mailsec_err
run_pass(struct queue *q, const struct queue_local_cfg *lc,
    struct qrun_roots *roots, bool force, struct queue_run_stats *st)
{
	char (*ids)[QUEUE_ID_LEN + 1] = NULL;
	struct stat sb;
	size_t n, i;
	int64_t now = qf_now();
	mailsec_err err, first = MAILSEC_OK;

	if ((err = qf_scan_ids(q->incfd, &ids, &n)) != MAILSEC_OK)
		return err;
	for (i = 0; i < n; i++) {
		/* Fresh files belong to the handoff of the process that
		 * committed them, unless the pass is forced. */
		if (!force && fstatat(q->incfd, ids[i], &sb, 0) == 0 &&
		    sb.st_mtime > now - QF_FRESH_SECS &&
		    faccessat(q->statefd, ids[i], F_OK, 0) != 0)
			continue;
		err = deliver_one(q, lc, roots, ids[i], true, force, st);
		if (err != MAILSEC_OK && first == MAILSEC_OK)
			first = err;
	}
	free(ids);
	return first;
}

/*
 * Takes the configuration queue_runner_reconfigure() left, if any
 * (deliver_mu held: no pass is using the old one). True when it did.
 */
static bool
take_next_cfg(struct queue *q)
{
	struct queue_local_cfg old;
	bool have;

	pthread_mutex_lock(&q->mu);
	have = q->local_next_set;
	if (have) {
		old = q->local;
		q->local = q->local_next;
		memset(&q->local_next, 0, sizeof q->local_next);
		q->local_next_set = false;
	}
	pthread_mutex_unlock(&q->mu);
	if (have)
		local_cfg_free(&old);
	return have;
}

mailsec_err
queue_run(struct queue *q, const struct queue_local *cfg, bool force,
    struct queue_run_stats *st)
{
	struct qrun_roots roots = QRUN_ROOTS_INIT;
	struct queue_local_cfg lc;
	mailsec_err err;

	memset(st, 0, sizeof *st);
	pthread_mutex_lock(&q->deliver_mu);
	if (cfg != NULL) {
		if ((err = local_cfg_set(&lc, cfg)) == MAILSEC_OK)
			err = run_pass(q, &lc, &roots, force, st);
		local_cfg_free(&lc);
	} else if (q->local_set) {
		(void)take_next_cfg(q);
		err = run_pass(q, &q->local, &roots, force, st);
	} else {
		err = MAILSEC_ESTATE;
	}
	roots_close(&roots);
	pthread_mutex_unlock(&q->deliver_mu);
	return err;
}

static void *
runner_main(void *arg)
{
	struct queue *q = arg;
	struct queue_run_stats st;
	struct qrun_roots roots = QRUN_ROOTS_INIT;
	char (*ids)[QUEUE_ID_LEN + 1];
	struct timespec until;
	size_t n, i;
	int64_t next_scan = 0;
	bool scan, force;

	pthread_mutex_lock(&q->mu);
	for (;;) {
		clock_gettime(CLOCK_REALTIME, &until);
		while (!q->run_stop && q->nhandoff == 0 && !q->run_flush &&
		    until.tv_sec < next_scan) {
			until.tv_sec = next_scan;
			until.tv_nsec = 0;
			(void)pthread_cond_timedwait(&q->run_cv, &q->mu,
			    &until);
			clock_gettime(CLOCK_REALTIME, &until);
		}
		if (q->run_stop)
			break;
		ids = q->handoff;
		n = q->nhandoff;
		q->handoff = NULL;
		q->nhandoff = q->handoff_cap = 0;
		force = q->run_flush;
		q->run_flush = false;
		scan = force || until.tv_sec >= next_scan;
		pthread_mutex_unlock(&q->mu);

		memset(&st, 0, sizeof st);
		pthread_mutex_lock(&q->deliver_mu);
		/* A reload: new roots, new domains (its flush forces the
		 * pass that picks up mail deferred for them). */
		(void)take_next_cfg(q);
		for (i = 0; i < n; i++)
			(void)deliver_one(q, &q->local, &roots, ids[i], false,
			    true, &st);
		if (scan) {
			/* The first pass (after recovery) takes them all. */
			(void)run_pass(q, &q->local, &roots,
			    force || next_scan == 0, &st);
			next_scan = qf_now() + q->local.rescan_secs;
		}
		/* Reopened next time: a root moved or recreated meanwhile
		 * is found again. */
		roots_close(&roots);
		pthread_mutex_unlock(&q->deliver_mu);
		free(ids);
		pthread_mutex_lock(&q->mu);
	}
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

mailsec_err
queue_runner_start(struct queue *q, const struct queue_local *cfg)
{
	mailsec_err err;

	if (q->run_started)
		return MAILSEC_ESTATE;
	if ((err = local_cfg_set(&q->local, cfg)) != MAILSEC_OK) {
		local_cfg_free(&q->local);
		return err;
	}
	q->local_set = true;
	pthread_mutex_lock(&q->mu);
	q->run_started = true;
	pthread_mutex_unlock(&q->mu);
	if (pthread_create(&q->run_thr, NULL, runner_main, q) != 0) {
		pthread_mutex_lock(&q->mu);
		q->run_started = false;
		pthread_mutex_unlock(&q->mu);
		return MAILSEC_EIO;
	}
	return MAILSEC_OK;
}

mailsec_err
queue_runner_reconfigure(struct queue *q, const struct queue_local *cfg)
{
	struct queue_local_cfg lc, old;
	bool had = false;
	mailsec_err err;

	/* Built (normalized, host name looked up) off the lock. */
	if ((err = local_cfg_set(&lc, cfg)) != MAILSEC_OK) {
		local_cfg_free(&lc);
		return err;
	}
	pthread_mutex_lock(&q->mu);
	if (!q->run_started) {
		pthread_mutex_unlock(&q->mu);
		local_cfg_free(&lc);
		return MAILSEC_ESTATE;
	}
	/* Two reloads before the runner woke up: the last one wins. */
	if (q->local_next_set) {
		old = q->local_next;
		had = true;
	}
	q->local_next = lc;
	q->local_next_set = true;
	q->run_flush = true;
	pthread_cond_broadcast(&q->run_cv);
	pthread_mutex_unlock(&q->mu);
	if (had)
		local_cfg_free(&old);
	return MAILSEC_OK;
}

void
qrun_stop(struct queue *q)
{
	if (q->run_started)
		qf_thread_stop(q, &q->run_stop, &q->run_cv, q->run_thr);
	/* Under mu: the commit thread hands nothing off from here on. */
	pthread_mutex_lock(&q->mu);
	q->run_started = false;
	free(q->handoff);
	q->handoff = NULL;
	q->nhandoff = q->handoff_cap = 0;
	if (q->local_next_set)
		local_cfg_free(&q->local_next);
	q->local_next_set = false;
	pthread_mutex_unlock(&q->mu);
	/* Also the configuration of a runner whose thread did not start. */
	local_cfg_free(&q->local);
	q->local_set = false;
}

void
queue_flush(struct queue *q)
{
	pthread_mutex_lock(&q->mu);
	q->run_flush = true;
	pthread_cond_broadcast(&q->run_cv);
	pthread_mutex_unlock(&q->mu);
}
