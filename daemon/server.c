/*
 * daemon/server.c - the master process and the workers of `mailsec
 * serve` (daemon/server.h).
 *
 * The master binds every socket (one SO_REUSEPORT socket per listener
 * address per worker, so the kernel spreads connections and a respawned
 * worker finds its sockets again), generates what must exist once (the
 * self-signed certificate, DKIM keys), recovers the queue, then forks the
 * workers and only supervises: respawn on crash, SIGHUP forwarded after
 * the new configuration validated, SIGTERM forwarded and waited for.
 *
 * A worker reads its keys and certificate, opens the queue, starts the
 * delivery runner, drops privileges and runs its event loop. SIGHUP
 * reloads in place (configuration, certificate, password file, DKIM keys
 * and policy): open sessions keep their TLS state and finish under the
 * settings they started with. SIGTERM stops accepting, says "421" to
 * idle sessions and lets transactions in flight finish.
 */
#define _GNU_SOURCE	/* setresuid, setresgid; nftw */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <pthread.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <event2/thread.h>

#include <openssl/crypto.h>

#include <mailsec/dns.h>

#include "core/core.h"
#include "control.h"
#include "log.h"
#include "pipeline.h"
#include "queue.h"
#include "remote.h"
#include "report_fail.h"
#include "report_sched.h"
#include "server.h"
#include "session.h"
#include "tls.h"
#include "tlspolicy.h"

/* Seconds SIGTERM waits for transactions in flight. */
#define SERVER_DRAIN_SECS	30
/* A worker that dies this soon after its start, this many times in a
 * row, means the configuration cannot work: the master gives up. */
#define SERVER_FAST_DEATH_SECS	2
#define SERVER_FAST_DEATH_MAX	3
/* Listen backlog per socket. */
#define SERVER_BACKLOG		1024
/* Workers at most. */
#define SERVER_WORKERS_MAX	256
/* Sockets of one worker at most (listeners x addresses). */
#define SERVER_SOCKS_MAX	64
/* delivery.relay.password_file: the first line, at most this long. */
#define SERVER_RELAY_PW_MAX	1024

static const char *const kind_names[GW_LISTEN_COUNT] = {
	"mx", "submission", "submissions"
};

/* ---- configuration ------------------------------------------------------ */

static mailsec_err
strlist_split(struct gw_strlist *l, const char *s)
{
	const char *p = s, *c;
	char **v;

	while (*p != '\0') {
		if ((c = strchr(p, ',')) == NULL)
			c = p + strlen(p);
		if (c > p) {
			if ((v = ms_reallocarray(l->v, l->n + 1, sizeof *v)) ==
			    NULL)
				return MAILSEC_ENOMEM;
			l->v = v;
			if ((l->v[l->n] = ms_memdupz(p, (size_t)(c - p))) ==
			    NULL)
				return MAILSEC_ENOMEM;
			l->n++;
		}
		p = *c == ',' ? c + 1 : c;
	}
	return MAILSEC_OK;
}

mailsec_err
server_config_load(const struct server_opts *o, struct gw_config *cfg,
    char *err, size_t errlen)
{
	mailsec_err e;

	if (o->config != NULL)
		e = gw_config_load(o->config, cfg, err, errlen);
	else if ((e = gw_config_defaults(cfg)) != MAILSEC_OK)
		(void)snprintf(err, errlen, "out of memory");
	if (e != MAILSEC_OK)
		return e;
	if (o->state_dir != NULL &&
	    (e = gw_config_set_state_dir(cfg, o->state_dir)) != MAILSEC_OK) {
		(void)snprintf(err, errlen, "--state-dir %s: not a usable "
		    "directory name", o->state_dir);
		goto fail;
	}
	if (o->dns != NULL) {
		gw_strlist_free(&cfg->dns.forwarders);
		free(cfg->dns.zone);
		cfg->dns.zone = NULL;
		if ((e = strlist_split(&cfg->dns.forwarders, o->dns)) !=
		    MAILSEC_OK || cfg->dns.forwarders.n == 0) {
			(void)snprintf(err, errlen, "--dns %s: give "
			    "SERVER[@PORT][,...]", o->dns);
			e = MAILSEC_EINVAL;
			goto fail;
		}
		cfg->dns.mode = GW_DNS_FORWARD;
	}
	if (o->dns_zone != NULL) {
		gw_strlist_free(&cfg->dns.forwarders);
		free(cfg->dns.zone);
		if ((cfg->dns.zone = strdup(o->dns_zone)) == NULL) {
			e = MAILSEC_ENOMEM;
			goto fail;
		}
		cfg->dns.mode = GW_DNS_ZONE;
	}
	if (o->workers > 0)
		cfg->workers = o->workers;
	if (cfg->workers > SERVER_WORKERS_MAX)
		cfg->workers = SERVER_WORKERS_MAX;
	if (cfg->workers == 0)
		cfg->workers = 1;
	return MAILSEC_OK;
fail:
	gw_config_free(cfg);
	return e;
}

/* ---- sockets ------------------------------------------------------------ */

struct sock {
	enum gw_listener_kind kind;
	int fd;
	char name[80];		/* "127.0.0.1:2525" */
};

static int
sock_bind(const char *addr, uint16_t port, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t len;
	int fd, on = 1;

	memset(&ss, 0, sizeof ss);
	if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		len = sizeof *sin;
	} else if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		len = sizeof *sin6;
	} else {
		(void)snprintf(err, errlen, "%s: not an IP address", addr);
		return -1;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) == -1 ||
	    (ss.ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, &on, sizeof on) == -1) ||
	    bind(fd, (struct sockaddr *)&ss, len) == -1 ||
	    listen(fd, SERVER_BACKLOG) == -1) {
		(void)snprintf(err, errlen, "cannot listen on %s port %u: %s",
		    addr, (unsigned)port, strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	return fd;
}

/* Binds one socket per enabled listener address for worker slot i. */
static int
socks_bind(const struct gw_config *cfg, struct sock *out, size_t *n,
    char *err, size_t errlen)
{
	const struct gw_listener *l;
	size_t a;
	int k, fd;

	*n = 0;
	for (k = 0; k < GW_LISTEN_COUNT; k++) {
		l = &cfg->listen[k];
		if (!l->enabled)
			continue;
		for (a = 0; a < l->address.n; a++) {
			if (*n == SERVER_SOCKS_MAX) {
				(void)snprintf(err, errlen, "too many listen "
				    "addresses (at most %d)",
				    SERVER_SOCKS_MAX);
				return -1;
			}
			if ((fd = sock_bind(l->address.v[a], l->port, err,
			    errlen)) == -1)
				return -1;
			out[*n].kind = (enum gw_listener_kind)k;
			out[*n].fd = fd;
			(void)snprintf(out[*n].name, sizeof out[*n].name,
			    "%s%s%s:%u", strchr(l->address.v[a], ':') ? "[" :
			    "", l->address.v[a], strchr(l->address.v[a], ':') ?
			    "]" : "", (unsigned)l->port);
			(*n)++;
		}
	}
	return 0;
}

/* ---- the worker --------------------------------------------------------- */

struct worker_listener_arg {
	struct server_worker *w;
	enum gw_listener_kind kind;
};

static void
on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct worker_listener_arg *a = arg;

	(void)l;
	session_accept(a->w, a->kind, fd, sa, (socklen_t)salen);
}

static void
on_accept_error(struct evconnlistener *l, void *arg)
{
	(void)l;
	(void)arg;
	/* EMFILE and friends: logged, the listener keeps going */
	log_warn("accept");
}

static mailsec_err
worker_tls_auth(struct server_worker *w, const struct gw_config *cfg,
    SSL_CTX **tls, struct auth_db **auth)
{
	char err[GW_CONFIG_ERR_MAX];
	bool missing;
	mailsec_err e;

	if ((e = tls_ctx_new(cfg, tls, err, sizeof err)) != MAILSEC_OK) {
		log_error("tls: %s", err);
		return e;
	}
	if ((e = auth_db_load(cfg, auth, &missing, err, sizeof err)) !=
	    MAILSEC_OK) {
		log_error("auth: %s", err);
		SSL_CTX_free(*tls);
		*tls = NULL;
		return e;
	}
	if (missing && w->index == 0)
		log_notice("auth: no password file %s: AUTH fails until "
		    "`mailsec passwd` creates it",
		    cfg->auth.password_file != NULL ?
		    cfg->auth.password_file : "(none)");
	return MAILSEC_OK;
}

/*
 * Remote delivery of this worker (one worker per process): the outbound
 * TLS policy and the remote delivery context, made at start from the
 * delivery section, and the DNS settings the delivery threads make their
 * resolvers from (replaced on reload, under mu: the threads read them).
 */
static struct worker_delivery {
	struct tlsp_ctx *tlsp;
	struct remote_ctx *rc;
	struct queue_transport tr;
	pthread_mutex_t mu;
	struct gw_dns_args dns;
} dlv = { .mu = PTHREAD_MUTEX_INITIALIZER };

static mailsec_err
dlv_deliver(void *arg, struct mailsec_resolver *res, const char *domain,
    const struct remote_msg *msg, struct remote_rcpt *rcpts, size_t n,
    struct remote_info *info)
{
	return remote_deliver(arg, res, domain, msg, rcpts, n, info);
}

/* The delivery threads' resolver factory: the dns section's backend. */
static mailsec_err
dlv_resolver_new(void *arg, struct mailsec_resolver **out)
{
	struct mailsec_diag diag = { 0 };
	mailsec_err e;

	(void)arg;
	pthread_mutex_lock(&dlv.mu);
	e = gw_dns_args_resolver(&dlv.dns, out, &diag);
	pthread_mutex_unlock(&dlv.mu);
	if (e != MAILSEC_OK)
		log_error("delivery: dns: %s", diag.set ? diag.text :
		    mailsec_strerror(e));
	return e;
}

/* Takes the DNS settings of cfg for the resolvers made from now on. */
static mailsec_err
dlv_dns_set(const struct gw_config *cfg)
{
	struct gw_dns_args a;

	if (gw_dns_args_make(&a, cfg) != MAILSEC_OK)
		return MAILSEC_ENOMEM;
	pthread_mutex_lock(&dlv.mu);
	gw_dns_args_free(&dlv.dns);
	dlv.dns = a;
	pthread_mutex_unlock(&dlv.mu);
	return MAILSEC_OK;
}

/* The first line of delivery.relay.password_file into pw. */
static int
relay_password(const char *path, char *pw, size_t pwsz)
{
	FILE *f;
	size_t n;

	if ((f = fopen(path, "r")) == NULL) {
		log_warn("delivery.relay.password_file %s", path);
		return -1;
	}
	if (fgets(pw, (int)pwsz, f) == NULL)
		pw[0] = '\0';
	(void)fclose(f);
	n = strcspn(pw, "\r\n");
	pw[n] = '\0';
	if (n == 0) {
		log_error("delivery.relay.password_file %s: no password on "
		    "its first line", path);
		return -1;
	}
	return 0;
}

/* Makes the outbound TLS policy and remote delivery contexts (delivery
 * enabled); kept until the worker ends. */
static int
dlv_start(const struct gw_config *cfg)
{
	const struct gw_delivery *d = &cfg->delivery;
	struct tlsp_cfg tc;
	struct remote_cfg rcfg;
	char cache[4200], pw[SERVER_RELAY_PW_MAX];
	mailsec_err e;
	int rc = -1;

	pw[0] = '\0';
	if (dlv_dns_set(cfg) != MAILSEC_OK)
		return -1;
	if (!d->enabled)
		return 0;
	(void)snprintf(cache, sizeof cache, "%s/tls", cfg->state_dir);
	memset(&tc, 0, sizeof tc);
	tc.mta_sts = d->tls.mta_sts;
	tc.dane = d->tls.dane;
	tc.tlsrpt = d->tls.tlsrpt;
	tc.cache_dir = cache;
	tc.ca_file = d->tls.ca_file;
	/* 443 is the policy fetch's own default: 0 keeps it so. */
	tc.https_port = d->tls.https_port == 443 ? 0 :
	    (uint16_t)d->tls.https_port;
	tc.reporting_org = d->helo;
	if ((e = tlsp_new(&dlv.tlsp, &tc)) != MAILSEC_OK) {
		log_error("delivery: TLS policy: %s", mailsec_strerror(e));
		goto out;
	}
	memset(&rcfg, 0, sizeof rcfg);
	rcfg.helo = d->helo;
	rcfg.port = d->port;
	rcfg.connect_timeout = d->connect_timeout;
	rcfg.command_timeout = d->command_timeout;
	rcfg.data_timeout = d->data_timeout;
	rcfg.per_destination = d->per_destination;
	rcfg.relay_host = d->relay.host;
	rcfg.relay_port = d->relay.port;
	rcfg.relay_implicit_tls = d->relay.implicit_tls;
	rcfg.relay_user = d->relay.user;
	if (d->relay.password_file != NULL) {
		if (relay_password(d->relay.password_file, pw, sizeof pw) != 0)
			goto out;
		rcfg.relay_password = pw;
	}
	rcfg.require_tls = d->require_tls;
	rcfg.ca_file = d->tls.ca_file;
	if ((e = remote_new(&dlv.rc, &rcfg, dlv.tlsp)) != MAILSEC_OK) {
		log_error("delivery: %s", mailsec_strerror(e));
		goto out;
	}
	dlv.tr.deliver = dlv_deliver;
	dlv.tr.arg = dlv.rc;
	rc = 0;
out:
	OPENSSL_cleanse(pw, sizeof pw);
	return rc;
}

/* After the runner stopped (queue_close()). */
static void
dlv_stop(void)
{
	remote_free(dlv.rc);
	tlsp_free(dlv.tlsp);
	dlv.rc = NULL;
	dlv.tlsp = NULL;
	pthread_mutex_lock(&dlv.mu);
	gw_dns_args_free(&dlv.dns);
	pthread_mutex_unlock(&dlv.mu);
}

/* The delivery runner's view of cfg (borrowed from it). */
static void
worker_local(const struct gw_config *cfg, struct queue_local *l)
{
	const struct gw_delivery *d = &cfg->delivery;

	memset(l, 0, sizeof *l);
	l->domains = (const char *const *)cfg->local.domains.v;
	l->ndomains = cfg->local.domains.n;
	l->hostname = NULL;	/* gethostname(), for Maildir names */
	l->maildir = cfg->local.maildir;
	l->quarantine_dir = cfg->policy.quarantine_dir;
	/* The transport made at start; delivery.enabled no on reload stops
	 * remote delivery (turning it on needs a restart). */
	l->transport = d->enabled && dlv.rc != NULL ? &dlv.tr : NULL;
	l->resolver_new = dlv_resolver_new;
	l->threads = d->threads;
	l->lifetime = d->lifetime;
	l->delay_warning = d->delay_warning;
	l->bounce = d->bounce;
	l->mta_name = d->helo;
}

/* The DMARC report schedule (worker 0 only). */
static struct report_sched *worker_sched;

static void
worker_reload(struct server_worker *w)
{
	struct queue_local local;
	struct gw_config *cfg;
	SSL_CTX *tls = NULL;
	struct auth_db *auth = NULL;
	char err[GW_CONFIG_ERR_MAX];
	mailsec_err e;

	if ((cfg = calloc(1, sizeof *cfg)) == NULL)
		return;
	if ((e = server_config_load(w->opts, cfg, err, sizeof err)) !=
	    MAILSEC_OK) {
		log_error("reload: %s (the old configuration stays)", err);
		free(cfg);
		return;
	}
	if (worker_tls_auth(w, cfg, &tls, &auth) != MAILSEC_OK) {
		log_error("reload: the old configuration stays");
		gw_config_free(cfg);
		free(cfg);
		return;
	}
	if ((e = pipeline_reload(w->pl, cfg, err, sizeof err)) !=
	    MAILSEC_OK) {
		log_error("reload: pipeline: %s (the old configuration "
		    "stays)", err);
		SSL_CTX_free(tls);
		auth_db_unref(auth);
		gw_config_free(cfg);
		free(cfg);
		return;
	}
	/* Local domains and Maildir roots: the runner takes them before
	 * its next delivery (sessions already use cfg for RCPT). */
	if (dlv_dns_set(cfg) != MAILSEC_OK)
		log_error("reload: delivery keeps the old DNS settings");
	if (report_sched_reconfigure(worker_sched, cfg) != MAILSEC_OK ||
	    report_fail_reconfigure(cfg) != MAILSEC_OK ||
	    report_ingest_configure(cfg) != MAILSEC_OK)
		log_error("reload: reports keep the old settings");
	worker_local(cfg, &local);
	if ((e = queue_runner_reconfigure(w->q, &local)) != MAILSEC_OK)
		log_error("reload: delivery runner: %s (it keeps the old "
		    "local domains)", mailsec_strerror(e));
	SSL_CTX_free(w->tls);
	w->tls = tls;
	auth_db_unref(w->auth);
	w->auth = auth;
	gw_config_free(w->cfg);
	free(w->cfg);
	w->cfg = cfg;
	log_init(cfg->log, cfg->log_level, "mailsec");
	log_notice("worker %u: configuration reloaded (listeners change "
	    "on restart only)", w->index);
}

static void
worker_drain_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct server_worker *w = arg;

	(void)fd;
	(void)what;
	log_notice("worker %u: drain deadline: closing %u sessions",
	    w->index, w->nsessions);
	session_close_all(w);
	event_base_loopexit(w->base, NULL);
}

static void
worker_signal(evutil_socket_t sig, short what, void *arg)
{
	struct server_worker *w = arg;
	struct timeval tv = { .tv_sec = SERVER_DRAIN_SECS };
	size_t i;

	(void)what;
	if (sig == SIGHUP) {
		worker_reload(w);
		return;
	}
	if (w->draining)
		return;
	w->draining = true;
	log_info("worker %u: shutting down, %u sessions open", w->index,
	    w->nsessions);
	for (i = 0; i < w->nls; i++) {
		if (w->ls[i].ev != NULL)
			evconnlistener_disable(w->ls[i].ev);
	}
	session_drain_all(w);
	if (w->nsessions == 0) {
		event_base_loopexit(w->base, NULL);
		return;
	}
	if ((w->ev_drain = evtimer_new(w->base, worker_drain_deadline, w)) !=
	    NULL)
		(void)evtimer_add(w->ev_drain, &tv);
}

static int
drop_privileges(const struct gw_config *cfg)
{
	struct passwd *pw;
	struct group *gr;
	gid_t gid;

	if (cfg->user == NULL)
		return 0;
	if ((pw = getpwnam(cfg->user)) == NULL) {
		log_error("user %s: no such user", cfg->user);
		return -1;
	}
	gid = pw->pw_gid;
	if (cfg->group != NULL) {
		if ((gr = getgrnam(cfg->group)) == NULL) {
			log_error("group %s: no such group", cfg->group);
			return -1;
		}
		gid = gr->gr_gid;
	}
	if (getuid() == pw->pw_uid)
		return 0;
	if (setgroups(1, &gid) == -1 || setresgid(gid, gid, gid) == -1 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) == -1) {
		log_warn("dropping privileges to %s", cfg->user);
		return -1;
	}
	if (setuid(0) == 0) {
		log_error("privileges could be regained: refusing to run");
		return -1;
	}
	return 0;
}

static int
worker_main(const struct server_opts *o, struct gw_config *cfg,
    unsigned index, struct sock *socks, size_t nsocks,
    struct server_shared *shm, const char *hostname)
{
	struct server_worker w;
	struct worker_listener_arg *args = NULL;
	struct queue_local local;
	struct event *sigs[4] = { NULL, NULL, NULL, NULL };
	static const int signos[4] = { SIGHUP, SIGTERM, SIGINT, 0 };
	struct mailsec_diag diag = { 0 };
	char err[GW_CONFIG_ERR_MAX];
	char ident[32];
	size_t i;
	int rc = 1;

	memset(&w, 0, sizeof w);
	w.index = index;
	w.opts = o;
	w.cfg = cfg;
	w.shm = shm;
	(void)snprintf(w.hostname, sizeof w.hostname, "%s", hostname);
	(void)snprintf(ident, sizeof ident, "mailsec/%u", index);
	log_init(cfg->log, cfg->log_level, ident);
	signal(SIGPIPE, SIG_IGN);
	if (evthread_use_pthreads() != 0 ||
	    (w.base = event_base_new()) == NULL) {
		log_error("worker %u: cannot create the event loop", index);
		return 1;
	}
	if (worker_tls_auth(&w, cfg, &w.tls, &w.auth) != MAILSEC_OK)
		goto done;
	if (pipeline_new(w.base, cfg, &w.pl, err, sizeof err) != MAILSEC_OK) {
		log_error("pipeline: %s", err);
		goto done;
	}
	/*
	 * The secrets (TLS and DKIM keys, which stay root's) are read:
	 * unprivileged from here, before any thread starts or any file is
	 * made, so the queue, the Maildirs, the reports and the control
	 * socket belong to the configured user.
	 */
	if (drop_privileges(cfg) == -1)
		goto done;
	if (queue_open(&w.q, cfg->state_dir, w.base, &diag) != MAILSEC_OK) {
		log_error("queue: %s", diag.text);
		goto done;
	}
	if (dlv_start(cfg) != 0) {
		log_error("delivery: cannot start (see above)");
		goto done;
	}
	worker_local(cfg, &local);
	if (queue_runner_start(w.q, &local) != MAILSEC_OK) {
		log_error("queue: cannot start the delivery runner");
		goto done;
	}
	if ((index == 0 && report_sched_start(&worker_sched, cfg, w.q) !=
	    MAILSEC_OK) || report_fail_start(cfg, w.q) != MAILSEC_OK ||
	    report_ingest_configure(cfg) != MAILSEC_OK)
		log_error("reports: cannot start (no reports from this "
		    "worker)");
	if (index == 0 && control_listen(&w.ctl, w.base, cfg->state_dir, w.q,
	    &diag) != MAILSEC_OK)
		log_warnx("control socket: %s (mailsec queue works on the "
		    "spool directly)", diag.text);
	if ((w.ls = calloc(nsocks, sizeof *w.ls)) == NULL ||
	    (args = calloc(nsocks, sizeof *args)) == NULL)
		goto done;
	for (i = 0; i < nsocks; i++) {
		args[i].w = &w;
		args[i].kind = socks[i].kind;
		w.ls[i].kind = socks[i].kind;
		w.ls[i].fd = socks[i].fd;
		w.ls[i].ev = evconnlistener_new(w.base, on_accept, &args[i],
		    LEV_OPT_CLOSE_ON_EXEC, -1, socks[i].fd);
		if (w.ls[i].ev == NULL) {
			log_error("listener %s: cannot watch it",
			    socks[i].name);
			goto done;
		}
		evconnlistener_set_error_cb(w.ls[i].ev, on_accept_error);
		w.nls++;
	}
	for (i = 0; signos[i] != 0; i++) {
		sigs[i] = evsignal_new(w.base, signos[i], worker_signal, &w);
		if (sigs[i] == NULL || evsignal_add(sigs[i], NULL) == -1)
			goto done;
	}
	log_debug("worker %u: ready", index);
	event_base_dispatch(w.base);
	rc = 0;
done:
	for (i = 0; i < w.nls; i++)
		evconnlistener_free(w.ls[i].ev);
	session_close_all(&w);
	control_close(w.ctl);
	report_sched_stop(worker_sched);
	worker_sched = NULL;
	report_fail_stop();
	(void)report_ingest_configure(NULL);
	queue_close(w.q);
	dlv_stop();
	pipeline_free(w.pl);
	while (auth_inflight() > 0)
		(void)usleep(10000);
	for (i = 0; i < 4; i++) {
		if (sigs[i] != NULL)
			event_free(sigs[i]);
	}
	if (w.ev_drain != NULL)
		event_free(w.ev_drain);
	SSL_CTX_free(w.tls);
	auth_db_unref(w.auth);
	event_base_free(w.base);
	free(w.ls);
	free(args);
	if (w.cfg != cfg) {
		gw_config_free(w.cfg);
		free(w.cfg);
	}
	return rc;
}

/* ---- the master --------------------------------------------------------- */

struct worker_slot {
	pid_t pid;
	time_t started;
	unsigned fast_deaths;
	struct sock socks[SERVER_SOCKS_MAX];
	size_t nsocks;
};

struct master {
	const struct server_opts *o;
	struct gw_config *cfg;
	struct server_shared *shm;
	struct worker_slot *slots;
	unsigned nslots;
	char hostname[256];
	sigset_t oldmask;
	bool stopping;
	int status;
};

static pid_t
master_spawn(struct master *m, unsigned i)
{
	struct worker_slot *sl = &m->slots[i];
	pid_t pid, master = getpid();
	unsigned j;
	size_t k;

	if ((pid = fork()) == -1) {
		log_warn("fork");
		return -1;
	}
	if (pid == 0) {
		int rc;

		/* A worker never outlives its master (killed, crashed): it
		 * drains and exits, so a restarted master can take the
		 * spool lock and recover. */
		if (prctl(PR_SET_PDEATHSIG, SIGTERM) == -1 ||
		    getppid() != master)
			_exit(1);

		/* the worker keeps its own sockets only */
		for (j = 0; j < m->nslots; j++) {
			if (j == i)
				continue;
			for (k = 0; k < m->slots[j].nsocks; k++)
				close(m->slots[j].socks[k].fd);
		}
		signal(SIGHUP, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGCHLD, SIG_DFL);
		sigprocmask(SIG_SETMASK, &m->oldmask, NULL);
		rc = worker_main(m->o, m->cfg, i, sl->socks, sl->nsocks, m->shm,
		    m->hostname);
		/* exit(), not _exit(): sanitizers check the worker too */
		exit(rc);
	}
	sl->pid = pid;
	sl->started = time(NULL);
	return pid;
}

static void
master_signal_all(struct master *m, int sig)
{
	unsigned i;

	for (i = 0; i < m->nslots; i++) {
		if (m->slots[i].pid > 0)
			(void)kill(m->slots[i].pid, sig);
	}
}

static unsigned
master_alive(const struct master *m)
{
	unsigned i, n = 0;

	for (i = 0; i < m->nslots; i++)
		n += m->slots[i].pid > 0;
	return n;
}

static void
master_reap(struct master *m)
{
	pid_t pid;
	int st;
	unsigned i;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		for (i = 0; i < m->nslots; i++) {
			if (m->slots[i].pid == pid)
				break;
		}
		if (i == m->nslots)
			continue;
		m->slots[i].pid = 0;
		if (m->stopping)
			continue;
		if (WIFSIGNALED(st))
			log_error("worker %u (pid %ld) killed by signal %d",
			    i, (long)pid, WTERMSIG(st));
		else
			log_error("worker %u (pid %ld) exited with status %d",
			    i, (long)pid, WEXITSTATUS(st));
		if (time(NULL) - m->slots[i].started <
		    SERVER_FAST_DEATH_SECS) {
			if (++m->slots[i].fast_deaths >=
			    SERVER_FAST_DEATH_MAX) {
				log_error("worker %u keeps dying at start: "
				    "stopping", i);
				m->stopping = true;
				m->status = 1;
				master_signal_all(m, SIGTERM);
				continue;
			}
		} else
			m->slots[i].fast_deaths = 0;
		if (master_spawn(m, i) > 0)
			log_notice("worker %u respawned", i);
	}
}

static void
master_reload(struct master *m)
{
	struct gw_config *cfg;
	char err[GW_CONFIG_ERR_MAX];

	if ((cfg = calloc(1, sizeof *cfg)) == NULL)
		return;
	if (server_config_load(m->o, cfg, err, sizeof err) != MAILSEC_OK) {
		log_error("SIGHUP: %s; the running configuration stays", err);
		free(cfg);
		return;
	}
	gw_config_free(m->cfg);
	free(m->cfg);
	m->cfg = cfg;
	log_init(cfg->log, cfg->log_level, "mailsec");
	log_notice("SIGHUP: configuration valid, workers reload");
	master_signal_all(m, SIGHUP);
}

/* Gives the state directory to the unprivileged user (keys stay). */
static uid_t chown_uid;
static gid_t chown_gid;
static bool chown_wanted;	/* a user is configured, we are root */

static int
chown_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)f;
	if (flag == FTW_D || flag == FTW_F || flag == FTW_DP) {
		if (strstr(path, "/tls/") != NULL ||
		    strstr(path, "/dkim/") != NULL)
			return 0;
		if (lchown(path, chown_uid, chown_gid) == -1)
			log_warn("chown %s", path);
	}
	return 0;
}

static void state_dir_chown(const struct gw_config *cfg);

static int
state_dir_prepare(const struct gw_config *cfg)
{
	struct passwd *pw;
	struct group *gr;

	if (mkdir(cfg->state_dir, 0700) == -1 && errno != EEXIST) {
		log_warn("state directory %s", cfg->state_dir);
		return -1;
	}
	if (cfg->user == NULL)
		return 0;
	if (geteuid() != 0) {
		log_warnx("user %s: not started as root, privileges stay",
		    cfg->user);
		return 0;
	}
	if ((pw = getpwnam(cfg->user)) == NULL) {
		log_error("user %s: no such user", cfg->user);
		return -1;
	}
	chown_uid = pw->pw_uid;
	chown_gid = pw->pw_gid;
	if (cfg->group != NULL) {
		if ((gr = getgrnam(cfg->group)) == NULL) {
			log_error("group %s: no such group", cfg->group);
			return -1;
		}
		chown_gid = gr->gr_gid;
	}
	if (cfg->local.maildir != NULL)
		(void)mkdir(cfg->local.maildir, 0700);
	if (cfg->policy.quarantine_dir != NULL)
		(void)mkdir(cfg->policy.quarantine_dir, 0700);
	chown_wanted = true;
	state_dir_chown(cfg);
	return 0;
}

/*
 * Gives the state directory, the Maildir root and the quarantine to the
 * configured user (after state_dir_prepare() found one): again once the
 * master has generated the certificate and keys and opened the stores,
 * so the workers, unprivileged from their first step, can read and
 * write all of it.
 */
static void
state_dir_chown(const struct gw_config *cfg)
{
	if (!chown_wanted)
		return;
	(void)nftw(cfg->state_dir, chown_one, 32, FTW_PHYS);
	if (cfg->local.maildir != NULL)
		(void)nftw(cfg->local.maildir, chown_one, 32, FTW_PHYS);
	if (cfg->policy.quarantine_dir != NULL)
		(void)nftw(cfg->policy.quarantine_dir, chown_one, 32,
		    FTW_PHYS);
}

/* What must exist once, before the workers: certificate, DKIM keys (the
 * pipeline generates missing ones), the recovered queue. */
static int
master_prepare(struct master *m)
{
	const struct gw_config *cfg = m->cfg;
	struct event_base *base = NULL;
	struct pipeline *pl = NULL;
	struct queue *q = NULL;
	struct queue_recover_stats qs;
	struct mailsec_diag diag = { 0 };
	SSL_CTX *ctx = NULL;
	char err[GW_CONFIG_ERR_MAX];
	int made, rc = -1;

	if (state_dir_prepare(cfg) == -1)
		return -1;
	if (tls_generate(cfg, m->hostname, &made, err, sizeof err) !=
	    MAILSEC_OK) {
		log_error("tls: %s", err);
		return -1;
	}
	if (made)
		log_notice("tls: generated a self-signed certificate %s",
		    cfg->tls.cert);
	if (tls_ctx_new(cfg, &ctx, err, sizeof err) != MAILSEC_OK) {
		log_error("tls: %s", err);
		return -1;
	}
	SSL_CTX_free(ctx);
	if ((base = event_base_new()) == NULL)
		return -1;
	if (pipeline_new(base, cfg, &pl, err, sizeof err) != MAILSEC_OK) {
		log_error("pipeline: %s", err);
		goto done;
	}
	if (queue_open(&q, cfg->state_dir, NULL, &diag) != MAILSEC_OK) {
		log_error("queue: %s", diag.text);
		goto done;
	}
	if (queue_recover(q, &qs) != MAILSEC_OK) {
		log_error("queue: recovery failed (is another mailsec serve "
		    "running on %s?)", cfg->state_dir);
		goto done;
	}
	if (qs.tmp_removed + qs.torn_removed + qs.corrupt_moved > 0 ||
	    qs.recovered > 0)
		log_notice("queue: recovered %zu messages (removed %zu "
		    "unacknowledged, %zu torn; %zu corrupt moved aside)",
		    qs.recovered, qs.tmp_removed, qs.torn_removed,
		    qs.corrupt_moved);
	rc = 0;
done:
	queue_close(q);
	pipeline_free(pl);
	event_base_free(base);
	if (rc == 0)
		state_dir_chown(cfg);
	return rc;
}

static void
print_banner(const struct master *m)
{
	const struct gw_config *cfg = m->cfg;
	const struct gw_listener *mx = &cfg->listen[GW_LISTEN_MX];
	const char *dom = cfg->local.domains.n > 0 ? cfg->local.domains.v[0] :
	    "localhost";
	size_t i, k;

	printf("mailsec serve: %u worker%s, state in %s\n", m->nslots,
	    m->nslots == 1 ? "" : "s", cfg->state_dir);
	for (k = 0; k < GW_LISTEN_COUNT; k++) {
		const struct gw_listener *l = &cfg->listen[k];

		if (!l->enabled)
			continue;
		for (i = 0; i < l->address.n; i++)
			printf("  %-12s %s port %u%s%s\n", kind_names[k],
			    l->address.v[i], (unsigned)l->port,
			    l->implicit_tls ? " (TLS)" : l->starttls ?
			    " (STARTTLS)" : "", l->auth ? " AUTH" : "");
	}
	if (mx->enabled && mx->address.n > 0) {
		printf("Send a test message:\n  swaks --server %s --port %u "
		    "--from you@sender.invalid --to postmaster@%s\n",
		    mx->address.v[0], (unsigned)mx->port, dom);
		printf("It is delivered to %s/%s/postmaster/new/\n",
		    cfg->local.maildir != NULL ? cfg->local.maildir : "mail",
		    dom);
	}
	printf("Submission needs a login: mailsec passwd --state-dir %s "
	    "USER\n", cfg->state_dir);
	fflush(stdout);
}

static int
daemonize(void)
{
	pid_t pid;
	int fd;

	if ((pid = fork()) == -1)
		return -1;
	if (pid > 0)
		_exit(0);
	if (setsid() == -1)
		return -1;
	if ((fd = open("/dev/null", O_RDWR)) != -1) {
		(void)dup2(fd, STDIN_FILENO);
		(void)dup2(fd, STDOUT_FILENO);
		(void)dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
	return 0;
}

static void
write_pidfile(const struct gw_config *cfg, char *path, size_t pathsz)
{
	FILE *f;

	path[0] = '\0';
	if ((size_t)snprintf(path, pathsz, "%s/mailsec.pid", cfg->state_dir)
	    >= pathsz) {
		path[0] = '\0';
		return;
	}
	if ((f = fopen(path, "w")) == NULL) {
		path[0] = '\0';
		return;
	}
	fprintf(f, "%ld\n", (long)getpid());
	(void)fclose(f);
}

int
server_run(const struct server_opts *o)
{
	struct master m;
	sigset_t mask;
	siginfo_t si;
	char err[GW_CONFIG_ERR_MAX], pidfile[4200];
	unsigned i;
	size_t k;
	int sig;

	memset(&m, 0, sizeof m);
	m.o = o;
	if ((m.cfg = calloc(1, sizeof *m.cfg)) == NULL)
		return 1;
	if (server_config_load(o, m.cfg, err, sizeof err) != MAILSEC_OK) {
		fprintf(stderr, "mailsec: %s\n", err);
		free(m.cfg);
		return 1;
	}
	log_init(o->foreground || m.cfg->log == GW_LOG_SYSLOG ? m.cfg->log :
	    GW_LOG_SYSLOG, m.cfg->log_level, "mailsec");
	if (m.cfg->policy.authserv_id != NULL)
		(void)snprintf(m.hostname, sizeof m.hostname, "%s",
		    m.cfg->policy.authserv_id);
	else if (gethostname(m.hostname, sizeof m.hostname) != 0 ||
	    m.hostname[0] == '\0')
		(void)snprintf(m.hostname, sizeof m.hostname, "localhost");
	m.hostname[sizeof m.hostname - 1] = '\0';
	m.nslots = m.cfg->workers;
	if ((m.slots = calloc(m.nslots, sizeof *m.slots)) == NULL)
		goto fail;
	if (master_prepare(&m) == -1)
		goto fail;
	for (i = 0; i < m.nslots; i++) {
		if (socks_bind(m.cfg, m.slots[i].socks, &m.slots[i].nsocks,
		    err, sizeof err) == -1) {
			log_error("%s", err);
			goto fail;
		}
	}
	m.shm = mmap(NULL, sizeof *m.shm, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (m.shm == MAP_FAILED) {
		m.shm = NULL;
		log_warn("mmap");
		goto fail;
	}
	print_banner(&m);
	if (!o->foreground && daemonize() == -1) {
		log_warn("daemonize");
		goto fail;
	}
	write_pidfile(m.cfg, pidfile, sizeof pidfile);
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, &m.oldmask);
	for (i = 0; i < m.nslots; i++) {
		if (master_spawn(&m, i) == -1) {
			m.stopping = true;
			m.status = 1;
			master_signal_all(&m, SIGTERM);
			break;
		}
	}
	log_notice("mailsec serve started: %u workers, pid %ld", m.nslots,
	    (long)getpid());
	while (!m.stopping || master_alive(&m) > 0) {
		if ((sig = sigwaitinfo(&mask, &si)) == -1)
			continue;
		switch (sig) {
		case SIGCHLD:
			master_reap(&m);
			break;
		case SIGHUP:
			if (!m.stopping)
				master_reload(&m);
			break;
		case SIGTERM:
		case SIGINT:
		default:
			if (m.stopping) {
				/* second request: no more waiting */
				master_signal_all(&m, SIGKILL);
				break;
			}
			log_notice("shutting down (signal %d)", sig);
			m.stopping = true;
			master_signal_all(&m, SIGTERM);
			break;
		}
	}
	if (pidfile[0] != '\0')
		(void)unlink(pidfile);
	log_notice("mailsec serve stopped");
	goto done;
fail:
	m.status = 1;
done:
	for (i = 0; m.slots != NULL && i < m.nslots; i++) {
		for (k = 0; k < m.slots[i].nsocks; k++)
			close(m.slots[i].socks[k].fd);
	}
	free(m.slots);
	if (m.shm != NULL)
		munmap(m.shm, sizeof *m.shm);
	gw_config_free(m.cfg);
	free(m.cfg);
	return m.status;
}
