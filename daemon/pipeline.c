/*
 * daemon/pipeline.c - the policy pipeline on a libevent loop: the
 * resolver's descriptor and deadline timer, configuration generations
 * (policy, signing keys) swapped by reload, and the transactions that
 * run SPF (RFC 7208) at MAIL FROM, remove forged Authentication-Results
 * (RFC 8601 5) and stream DKIM (RFC 6376) verification and signing and
 * ARC (RFC 8617) chain validation through DATA, then DMARC (RFC 9989 /
 * RFC 7489, a trusted ARC sealer's override) at the end. Forwarded mail
 * from outside is ARC-sealed (RFC 8617 5.1) as it streams, as an
 * authenticated sender's is DKIM-signed.
 *
 * Reentrancy: the library calls back from inside
 * mailsec_resolver_process() (and sometimes from inside a _start()).
 * A transaction is "busy" while one of its callbacks is on the stack;
 * pl_msg_free() of a busy transaction only marks it dead, and the
 * outermost frame frees it. A resolver is held the same way while it
 * processes, so a reload that drops its last user never frees it from
 * inside its own callbacks.
 *
 * The verdict (action, reply, Authentication-Results, log line) is made
 * in pipeline_verdict.c.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/crypto.h>

#include "core/core.h"
#include "log.h"
#include "pipeline_int.h"
#include "report_fail.h"
#include "report_store.h"

/* A key file is a PEM private key or a base64 seed: far below this. */
#define PL_KEY_FILE_MAX	65536
/* DNS answers kept per resolver (mailsec_resolver_set_cache). */
#define PL_DNS_CACHE	10000
/* Parsed SPF records kept (mailsec_spf_cache_new, default bytes). */
#define PL_SPF_CACHE	2048
/* Signatures one message gets: mailsec_dkim_sign_new() takes 1..16. */
#define PL_SIGN_MAX	16

static void msg_advance(struct pl_msg *m);

static void
errf(char *err, size_t errlen, const char *fmt, ...) MS_PRINTF(3, 4);

static void
errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

const char *
pl_action_name(enum pl_action a)
{
	switch (a) {
	case PL_ACCEPT:
		return "accept";
	case PL_QUARANTINE:
		return "quarantine";
	case PL_REJECT:
		return "reject";
	case PL_TEMPFAIL:
		return "tempfail";
	}
	return "?";
}

static char *
dupz_or_null(const char *s)
{
	return s == NULL ? NULL : strdup(s);
}

/* ---- DNS on the loop ----------------------------------------------------- */

static void dns_rearm(struct pl_dns *d);
static void pl_poll(struct pipeline *p);

static void
dns_unref(struct pl_dns *d)
{
	if (d == NULL || --d->refs > 0)
		return;
	if (d->ev_fd != NULL)
		event_free(d->ev_fd);
	if (d->ev_timer != NULL)
		event_free(d->ev_timer);
	mailsec_resolver_free(d->r);
	free(d->forward);
	free(d);
}

/* The fd became readable or a deadline passed: deliver what finished,
 * let ended transactions whose DKIM keys arrived go on, arm again. */
static void
dns_on_event(evutil_socket_t fd, short what, void *arg)
{
	struct pl_dns *d = arg;

	(void)fd;
	(void)what;
	d->refs++;
	(void)mailsec_resolver_process(d->r);
	pl_poll(d->p);
	dns_rearm(d);
	dns_unref(d);
}

/* The timer follows the earliest deadline (0 while the zone backend or
 * the answer cache has answers waiting for _process). */
static void
dns_rearm(struct pl_dns *d)
{
	struct timeval tv;
	int ms;

	if (d == NULL)
		return;
	ms = mailsec_resolver_next_timeout(d->r);
	if (ms < 0) {
		evtimer_del(d->ev_timer);
		return;
	}
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(d->ev_timer, &tv);
}

/* Forwarders joined as mailsec_resolver_new_from_args() takes them. */
static mailsec_err
join_list(const struct gw_strlist *l, char sep, char **out)
{
	struct ms_buf b;
	size_t i;
	mailsec_err err = MAILSEC_OK;

	*out = NULL;
	if (l->n == 0)
		return MAILSEC_OK;
	ms_buf_init(&b, 65536);
	for (i = 0; i < l->n && err == MAILSEC_OK; i++) {
		if (i > 0)
			err = ms_buf_appendc(&b, sep);
		if (err == MAILSEC_OK)
			err = ms_buf_appendz(&b, l->v[i]);
	}
	if (err != MAILSEC_OK)
		return err;
	if ((*out = ms_buf_steal(&b, NULL)) == NULL)
		return MAILSEC_ENOMEM;
	return MAILSEC_OK;
}

static mailsec_err
dns_new(struct pipeline *p, const struct gw_dns *cfg, struct pl_dns **out,
    char *err, size_t errlen)
{
	struct mailsec_diag diag = { 0 };
	struct pl_dns *d;
	const char *zone = NULL;
	mailsec_err e;
	int fd;

	*out = NULL;
	if ((d = calloc(1, sizeof *d)) == NULL)
		goto nomem;
	d->refs = 1;
	d->p = p;
	d->mode = cfg->mode;
	d->timeout_ms = cfg->timeout_ms;
	if (cfg->mode == GW_DNS_FORWARD &&
	    join_list(&cfg->forwarders, ',', &d->forward) != MAILSEC_OK)
		goto nomem;
	if (cfg->mode == GW_DNS_ZONE)
		zone = cfg->zone;
	e = mailsec_resolver_new_from_args(d->forward, zone, &d->r, &diag);
	if (e != MAILSEC_OK) {
		errf(err, errlen, "dns: %s%s%s", zone != NULL ? zone : "",
		    zone != NULL ? ": " : "", diag.set ? diag.text :
		    mailsec_strerror(e));
		dns_unref(d);
		return e;
	}
	if (cfg->timeout_ms > 0)
		mailsec_resolver_set_timeout(d->r, cfg->timeout_ms);
	if (mailsec_resolver_set_cache(d->r, PL_DNS_CACHE) != MAILSEC_OK)
		goto nomem;
	d->ev_timer = evtimer_new(p->base, dns_on_event, d);
	if (d->ev_timer == NULL)
		goto nomem;
	if ((fd = mailsec_resolver_fd(d->r)) >= 0) {
		d->ev_fd = event_new(p->base, fd, EV_READ | EV_PERSIST,
		    dns_on_event, d);
		if (d->ev_fd == NULL || event_add(d->ev_fd, NULL) != 0)
			goto nomem;
	}
	*out = d;
	return MAILSEC_OK;
nomem:
	dns_unref(d);
	errf(err, errlen, "dns: out of memory");
	return MAILSEC_ENOMEM;
}

/* Whether a reload may keep the resolver it has (and its answer
 * cache). A zone file is read again on every reload. */
static bool
dns_same(const struct pl_dns *d, const struct gw_dns *cfg)
{
	char *fwd = NULL;
	bool same;

	if (d == NULL || d->mode != cfg->mode || cfg->mode == GW_DNS_ZONE ||
	    d->timeout_ms != cfg->timeout_ms)
		return false;
	if (join_list(&cfg->forwarders, ',', &fwd) != MAILSEC_OK)
		return false;
	same = (fwd == NULL && d->forward == NULL) || (fwd != NULL &&
	    d->forward != NULL && strcmp(fwd, d->forward) == 0);
	free(fwd);
	return same;
}

/* ---- signing keys -------------------------------------------------------- */

/* mkdir -p of the directories above path, mode 0700 (keys live there). */
static int
mkdir_parents(const char *path)
{
	char *copy, *s;
	int rc = 0;

	if ((copy = strdup(path)) == NULL)
		return ENOMEM;
	for (s = copy + 1; *s != '\0' && rc == 0; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(copy, 0700) != 0 && errno != EEXIST)
			rc = errno;
		*s = '/';
	}
	free(copy);
	return rc;
}

static mailsec_err
read_key_file(const char *path, char **out, size_t *outlen, int *errnum)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	ssize_t n;
	int fd;
	mailsec_err e = MAILSEC_EIO;

	*errnum = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0) {
		*errnum = errno;
		return errno == ENOENT ? MAILSEC_ENOTFOUND : MAILSEC_EIO;
	}
	if (fstat(fd, &st) != 0) {
		*errnum = errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > PL_KEY_FILE_MAX) {
		e = MAILSEC_ELIMIT;
		goto out;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		e = MAILSEC_ENOMEM;
		goto out;
	}
	while (len < (size_t)st.st_size) {
		n = read(fd, buf + len, (size_t)st.st_size - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			*errnum = n < 0 ? errno : 0;
			goto out;
		}
		len += (size_t)n;
	}
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	buf = NULL;
	e = MAILSEC_OK;
out:
	free(buf);
	close(fd);
	return e;
}

/*
 * Creates the key file: generated key, PKCS#8 PEM, mode 0600, written to
 * a temporary name, fsync'd and linked into place, so a reader (another
 * worker starting at the same time) never sees half a key and one of two
 * racing generators wins.
 */
static mailsec_err
generate_key_file(const char *path, enum mailsec_dkim_algorithm alg,
    char *err, size_t errlen)
{
	struct mailsec_dkim_key *key = NULL;
	struct ms_buf tmp;
	char *pem = NULL;
	size_t pemlen = 0, off = 0;
	ssize_t n;
	int fd = -1, rc;
	mailsec_err e;

	ms_buf_init(&tmp, 8192);
	if ((rc = mkdir_parents(path)) != 0) {
		errf(err, errlen, "%s: cannot create its directory: %s",
		    path, strerror(rc));
		e = MAILSEC_EIO;
		goto out;
	}
	if ((e = mailsec_dkim_key_generate(alg, 0, &key)) != MAILSEC_OK ||
	    (e = mailsec_dkim_key_pem(key, &pem, &pemlen)) != MAILSEC_OK) {
		errf(err, errlen, "%s: cannot generate a key: %s", path,
		    mailsec_strerror(e));
		goto out;
	}
	if ((e = ms_buf_printf(&tmp, "%s.tmp.%ld", path, (long)getpid())) !=
	    MAILSEC_OK) {
		errf(err, errlen, "%s: %s", path, mailsec_strerror(e));
		goto out;
	}
	(void)unlink(tmp.ptr);
	fd = open(tmp.ptr, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
	    O_NOFOLLOW, 0600);
	if (fd < 0)
		goto ioerr;
	while (off < pemlen) {
		n = write(fd, pem + off, pemlen - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto ioerr;
		off += (size_t)n;
	}
	if (fsync(fd) != 0 || close(fd) != 0) {
		fd = -1;
		goto ioerr;
	}
	fd = -1;
	if (link(tmp.ptr, path) != 0 && errno != EEXIST)
		goto ioerr;
	(void)unlink(tmp.ptr);
	e = MAILSEC_OK;
	goto out;
ioerr:
	errf(err, errlen, "%s: cannot write the generated key: %s", path,
	    strerror(errno));
	if (tmp.ptr != NULL)
		(void)unlink(tmp.ptr);
	e = MAILSEC_EIO;
out:
	if (fd >= 0)
		close(fd);
	if (pem != NULL) {
		OPENSSL_cleanse(pem, pemlen);
		free(pem);
	}
	mailsec_dkim_key_free(key);
	ms_buf_free(&tmp);
	return e;
}

static enum mailsec_dkim_algorithm
key_alg(enum gw_dkim_alg a)
{
	return a == GW_DKIM_ED25519_SHA256 ? MAILSEC_DKIM_ED25519_SHA256 :
	    MAILSEC_DKIM_RSA_SHA256;
}

/* Reads (generating first when asked and missing) one configured key. */
static mailsec_err
load_key(const char *domain, const struct gw_dkim_key *k,
    struct mailsec_dkim_key **out, char *err, size_t errlen)
{
	struct mailsec_diag diag = { 0 };
	char *text = NULL;
	size_t len = 0;
	int errnum;
	mailsec_err e;

	e = read_key_file(k->file, &text, &len, &errnum);
	if (e == MAILSEC_ENOTFOUND && k->generate) {
		e = generate_key_file(k->file, key_alg(k->algorithm), err,
		    errlen);
		if (e != MAILSEC_OK)
			return e;
		e = read_key_file(k->file, &text, &len, &errnum);
	}
	if (e != MAILSEC_OK) {
		errf(err, errlen, "dkim key \"%s\" of %s: %s: %s", k->selector,
		    domain, k->file, e == MAILSEC_ELIMIT ?
		    "not a regular file of at most 64 KiB" : errnum != 0 ?
		    strerror(errnum) : mailsec_strerror(e));
		return e;
	}
	e = mailsec_dkim_key_load(text, len, out, &diag);
	OPENSSL_cleanse(text, len);
	free(text);
	if (e != MAILSEC_OK) {
		errf(err, errlen, "dkim key \"%s\" of %s: %s: %s", k->selector,
		    domain, k->file, diag.set ? diag.text :
		    mailsec_strerror(e));
		return e;
	}
	if (mailsec_dkim_key_algorithm(*out) != key_alg(k->algorithm)) {
		errf(err, errlen, "dkim key \"%s\" of %s: %s holds an %s key "
		    "but the configuration says algorithm %s; fix one of "
		    "them", k->selector, domain, k->file,
		    mailsec_dkim_algorithm_name(
		    mailsec_dkim_key_algorithm(*out)),
		    mailsec_dkim_algorithm_name(key_alg(k->algorithm)));
		mailsec_dkim_key_free(*out);
		*out = NULL;
		return MAILSEC_EINVAL;
	}
	return MAILSEC_OK;
}

/* ---- generations --------------------------------------------------------- */

/* A copy of a configured list of domains: *n counts the strings made,
 * so strv_free() cleans up after a failure too. */
static mailsec_err
strv_copy(const struct gw_strlist *l, char ***out, size_t *n)
{
	size_t i;

	*out = NULL;
	*n = 0;
	if (l->n == 0)
		return MAILSEC_OK;
	if ((*out = ms_calloc(l->n, sizeof **out)) == NULL)
		return MAILSEC_ENOMEM;
	for (i = 0; i < l->n; i++) {
		if (((*out)[i] = strdup(l->v[i])) == NULL)
			return MAILSEC_ENOMEM;
		(*n)++;
	}
	return MAILSEC_OK;
}

static void
strv_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void
gen_unref(struct pl_gen *g)
{
	size_t i, j;

	if (g == NULL || --g->refs > 0)
		return;
	for (i = 0; i < g->nsign; i++) {
		for (j = 0; j < g->sign[i].nkeys; j++) {
			free(g->sign[i].keys[j].selector);
			mailsec_dkim_key_free(g->sign[i].keys[j].key);
		}
		free(g->sign[i].keys);
		free(g->sign[i].domain);
	}
	free(g->sign);
	strv_free(g->trusted, g->ntrusted);
	strv_free(g->sealers, g->nsealers);
	free(g->sign_headers);
	mailsec_dkim_key_free(g->arc_key);
	free(g->arc_domain);
	free(g->arc_selector);
	free(g->arc_headers);
	free(g->authserv_id);
	dns_unref(g->dns);
	free(g);
}

static mailsec_err
gen_sign_load(struct pl_gen *g, const struct gw_dkim *dk, char *err,
    size_t errlen)
{
	const struct gw_dkim_domain *cd;
	struct pl_sign_domain *sd;
	size_t i, j;
	mailsec_err e;

	if (dk->ndomains == 0)
		return MAILSEC_OK;
	if ((g->sign = ms_calloc(dk->ndomains, sizeof *g->sign)) == NULL)
		return MAILSEC_ENOMEM;
	for (i = 0; i < dk->ndomains; i++) {
		cd = &dk->domains[i];
		sd = &g->sign[g->nsign++];
		if ((sd->domain = strdup(cd->domain)) == NULL)
			return MAILSEC_ENOMEM;
		if (cd->nkeys > PL_SIGN_MAX) {
			errf(err, errlen, "dkim domain %s: %zu keys, at most "
			    "%d", cd->domain, cd->nkeys, PL_SIGN_MAX);
			return MAILSEC_ELIMIT;
		}
		if (cd->nkeys == 0)
			continue;
		sd->keys = ms_calloc(cd->nkeys, sizeof *sd->keys);
		if (sd->keys == NULL)
			return MAILSEC_ENOMEM;
		for (j = 0; j < cd->nkeys; j++) {
			struct pl_key *k = &sd->keys[sd->nkeys++];

			if ((k->selector = strdup(cd->keys[j].selector)) ==
			    NULL)
				return MAILSEC_ENOMEM;
			e = load_key(cd->domain, &cd->keys[j], &k->key, err,
			    errlen);
			if (e != MAILSEC_OK)
				return e;
		}
	}
	return MAILSEC_OK;
}

/* The options of every seal: g's key, d=, s=, algorithm and h=. */
static void
arc_seal_opts(const struct pl_gen *g, struct mailsec_arc_seal_opts *so)
{
	so->key = g->arc_key;
	so->domain = g->arc_domain;
	so->selector = g->arc_selector;
	so->algorithm = g->arc_alg;
	so->headers = g->arc_headers;
}

/*
 * The ARC sealing key and options (arc { }), when arc.seal is on: the
 * key read (generated first when missing and arc.generate says so),
 * and the options tried once on a sealing context, so a configuration
 * the sealer refuses fails here and not on the first forwarded message.
 */
static mailsec_err
gen_arc_load(struct pl_gen *g, const struct gw_arc *a, char *err,
    size_t errlen)
{
	struct gw_dkim_key k = { 0 };
	struct mailsec_arc_seal_opts so = { 0 };
	struct mailsec_diag diag = { 0 };
	struct mailsec_arc_seal *probe = NULL;
	char why[512];
	mailsec_err e;

	if (!a->seal)
		return MAILSEC_OK;
	k.selector = a->selector;
	k.file = a->key;
	k.algorithm = a->algorithm;
	k.generate = a->generate;
	why[0] = '\0';
	if ((e = load_key(a->domain, &k, &g->arc_key, why, sizeof why)) !=
	    MAILSEC_OK) {
		errf(err, errlen, "arc: %s", why);
		return e;
	}
	g->arc_alg = key_alg(a->algorithm);
	if ((g->arc_domain = strdup(a->domain)) == NULL ||
	    (g->arc_selector = strdup(a->selector)) == NULL ||
	    join_list(&a->headers, ':', &g->arc_headers) != MAILSEC_OK)
		return MAILSEC_ENOMEM;
	arc_seal_opts(g, &so);
	e = mailsec_arc_seal_new(&so, &probe, &diag);
	mailsec_arc_seal_free(probe);
	if (e != MAILSEC_OK && e != MAILSEC_ENOMEM)
		errf(err, errlen, "arc: %s", diag.set ? diag.text :
		    mailsec_strerror(e));
	return e;
}

/* Everything a configuration gives new transactions; on failure err
 * says why and nothing is kept. */
static mailsec_err
gen_new(struct pipeline *p, const struct gw_config *cfg, struct pl_gen **out,
    char *err, size_t errlen)
{
	const struct gw_policy *pol = &cfg->policy;
	struct mailsec_diag diag = { 0 };
	struct pl_gen *g;
	mailsec_err e = MAILSEC_ENOMEM;

	*out = NULL;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if ((g = calloc(1, sizeof *g)) == NULL)
		goto fail;
	g->refs = 1;
	if (pol->authserv_id == NULL || pol->authserv_id[0] == '\0') {
		errf(err, errlen, "policy.authserv_id is empty");
		e = MAILSEC_EINVAL;
		goto fail;
	}
	if ((g->authserv_id = strdup(pol->authserv_id)) == NULL)
		goto fail;
	g->dmarc_mode = pol->dmarc_mode;
	g->act_reject = pol->dmarc_reject;
	g->act_quarantine = pol->dmarc_quarantine;
	g->act_none = pol->dmarc_none;
	g->act_temperror = pol->dmarc_temperror;
	g->act_spf_fail = pol->spf_fail;
	g->quarantine_maildir = pol->quarantine == GW_QUARANTINE_MAILDIR;
	if (strv_copy(&pol->trusted_forwarders, &g->trusted,
	    &g->ntrusted) != MAILSEC_OK ||
	    strv_copy(&pol->arc_sealers, &g->sealers, &g->nsealers) !=
	    MAILSEC_OK)
		goto fail;
	if (join_list(&cfg->dkim.headers, ':', &g->sign_headers) !=
	    MAILSEC_OK)
		goto fail;
	g->sign_expire = cfg->dkim.expire;
	if ((e = gen_sign_load(g, &cfg->dkim, err, errlen)) != MAILSEC_OK)
		goto fail;
	if ((e = gen_arc_load(g, &cfg->arc, err, errlen)) != MAILSEC_OK)
		goto fail;
	if (g->dmarc_mode == GW_DMARC_RFC7489 && p->psl == NULL) {
		e = mailsec_dmarc_psl_load(NULL, &p->psl, &diag);
		if (e != MAILSEC_OK) {
			errf(err, errlen, "policy.dmarc_mode rfc7489: public "
			    "suffix list: %s", diag.set ? diag.text :
			    mailsec_strerror(e));
			goto fail;
		}
	}
	if (p->gen != NULL && dns_same(p->gen->dns, &cfg->dns)) {
		g->dns = p->gen->dns;
		g->dns->refs++;
	} else if ((e = dns_new(p, &cfg->dns, &g->dns, err, errlen)) !=
	    MAILSEC_OK) {
		goto fail;
	}
	*out = g;
	return MAILSEC_OK;
fail:
	if (e == MAILSEC_ENOMEM && err != NULL && errlen > 0 &&
	    err[0] == '\0')
		errf(err, errlen, "out of memory");
	gen_unref(g);
	return e;
}

/* ---- the pipeline -------------------------------------------------------- */

/*
 * The report store (STATE_DIR/reports.db) that every DMARC evaluation is
 * recorded in. Mail never waits for it: a store that cannot be opened
 * is logged and the gateway runs without recording.
 */
static void
reports_open(struct pipeline *p, const struct gw_config *cfg)
{
	char err[256];

	if (cfg->state_dir == NULL)
		return;
	err[0] = '\0';
	if (report_store_open(cfg->state_dir, &p->reports, err, sizeof err) !=
	    MAILSEC_OK) {
		log_warnx("report store: %s: DMARC evaluations are not "
		    "recorded", err[0] != '\0' ? err : "cannot open");
		p->reports = NULL;
	}
}

void
pl_report_record(struct pl_msg *m)
{
	struct report_eval_src src = { 0 };
	struct report_fail_msg rf = { 0 };
	const struct mailsec_dmarc_outcome *o;
	struct timespec now;

	if (m->dmarc == NULL || (o = mailsec_dmarc_outcome(m->dmarc)) == NULL)
		return;
	(void)clock_gettime(CLOCK_REALTIME, &now);
	src.time = (int64_t)now.tv_sec;
	src.source_ip = m->ip;
	src.mail_from = m->mail_from;
	src.spf = mailsec_spf_outcome(m->spf);
	src.dkim = m->dkim;
	if (m->p->reports != NULL &&
	    report_store_add_outcome(m->p->reports, o, &src) != MAILSEC_OK)
		log_warnx("report store: %s: evaluation not recorded",
		    report_store_error(m->p->reports));
	rf.dmarc = o;
	rf.src = &src;
	rf.headers = m->fail_hdr;
	rf.headers_len = m->fail_hdrlen;
	rf.prepend = m->v.prepend;
	rf.prepend_len = m->v.prepend_len;
	report_fail_submit(&rf);
}

mailsec_err
pipeline_new(struct event_base *base, const struct gw_config *cfg,
    struct pipeline **out, char *err, size_t errlen)
{
	struct pipeline *p;
	mailsec_err e = MAILSEC_ENOMEM;

	*out = NULL;
	if (base == NULL || cfg == NULL) {
		errf(err, errlen, "pipeline: no event base or configuration");
		return MAILSEC_EINVAL;
	}
	if ((p = calloc(1, sizeof *p)) == NULL) {
		errf(err, errlen, "out of memory");
		return MAILSEC_ENOMEM;
	}
	p->base = base;
	if (mailsec_dkim_keycache_new(0, &p->keycache) != MAILSEC_OK ||
	    mailsec_spf_cache_new(PL_SPF_CACHE, 0, &p->spfcache) !=
	    MAILSEC_OK) {
		errf(err, errlen, "out of memory");
		goto fail;
	}
	if ((e = gen_new(p, cfg, &p->gen, err, errlen)) != MAILSEC_OK)
		goto fail;
	reports_open(p, cfg);
	*out = p;
	return MAILSEC_OK;
fail:
	pipeline_free(p);
	return e;
}

mailsec_err
pipeline_reload(struct pipeline *p, const struct gw_config *cfg, char *err,
    size_t errlen)
{
	struct pl_gen *g;
	mailsec_err e;

	if (p == NULL || cfg == NULL)
		return MAILSEC_EINVAL;
	if ((e = gen_new(p, cfg, &g, err, errlen)) != MAILSEC_OK)
		return e;
	gen_unref(p->gen);
	p->gen = g;
	return MAILSEC_OK;
}

void
pipeline_free(struct pipeline *p)
{
	if (p == NULL)
		return;
	gen_unref(p->gen);
	report_store_close(p->reports);
	mailsec_dmarc_psl_free(p->psl);
	mailsec_spf_cache_free(p->spfcache);
	mailsec_dkim_keycache_free(p->keycache);
	free(p);
}

/* ---- transactions: life cycle -------------------------------------------- */

static void
wait_add(struct pl_msg *m)
{
	struct pipeline *p = m->p;

	if (m->waiting)
		return;
	m->wnext = p->waiting;
	if (p->waiting != NULL)
		p->waiting->wprev = &m->wnext;
	m->wprev = &p->waiting;
	p->waiting = m;
	m->waiting = true;
}

static void
wait_remove(struct pl_msg *m)
{
	if (!m->waiting)
		return;
	*m->wprev = m->wnext;
	if (m->wnext != NULL)
		m->wnext->wprev = m->wprev;
	m->wnext = NULL;
	m->wprev = NULL;
	m->waiting = false;
}

static void
msg_destroy(struct pl_msg *m)
{
	wait_remove(m);
	mailsec_dmarc_free(m->dmarc);
	mailsec_spf_free(m->spf);
	mailsec_dkim_verify_free(m->dkim);
	mailsec_arc_verify_free(m->arc);
	free(m->arc_comment);
	mailsec_dkim_sign_free(m->sign);
	mailsec_arc_seal_free(m->seal);
	mailsec_author_free(m->author);
	free(m->keep);
	free(m->prepend);
	free(m->fail_hdr);
	free(m->log);
	free(m->reply_text);
	free(m->ip);
	free(m->helo);
	free(m->auth_user);
	free(m->mail_from);
	m->p->nmsgs--;
	gen_unref(m->gen);
	free(m);
}

static void
msg_hold(struct pl_msg *m)
{
	m->busy++;
}

/* Ends a hold; true when m was freed meanwhile and is gone now. */
static bool
msg_release(struct pl_msg *m)
{
	if (--m->busy > 0 || !m->dead)
		return false;
	msg_destroy(m);
	return true;
}

void
pl_msg_free(struct pl_msg *m)
{
	if (m == NULL)
		return;
	m->cb = NULL;
	if (m->busy > 0) {
		m->dead = true;
		return;
	}
	msg_destroy(m);
}

mailsec_err
pl_msg_new(struct pipeline *p, const struct pl_client *c, struct pl_msg **out)
{
	struct pl_msg *m;

	*out = NULL;
	if (p == NULL || c == NULL || c->ip == NULL)
		return MAILSEC_EINVAL;
	if ((m = calloc(1, sizeof *m)) == NULL)
		return MAILSEC_ENOMEM;
	m->p = p;
	m->gen = p->gen;
	m->gen->refs++;
	p->nmsgs++;
	m->tls = c->tls;
	m->ip = strdup(c->ip);
	m->helo = dupz_or_null(c->helo);
	m->auth_user = dupz_or_null(c->auth_user);
	if (m->ip == NULL || (c->helo != NULL && m->helo == NULL) ||
	    (c->auth_user != NULL && m->auth_user == NULL)) {
		msg_destroy(m);
		return MAILSEC_ENOMEM;
	}
	*out = m;
	return MAILSEC_OK;
}

/* The verdict, once: m may be freed by the callback (it is held). */
static void
msg_finish(struct pl_msg *m)
{
	pl_done_cb *cb = m->cb;

	if (m->state == PL_ST_DONE)
		return;
	wait_remove(m);
	m->state = PL_ST_DONE;
	pl_verdict_make(m);
	m->cb = NULL;
	if (cb != NULL && !m->dead)
		cb(m->cb_arg, m, &m->v);
}

/* ---- SPF at MAIL FROM ---------------------------------------------------- */

static void
spf_on_done(void *arg, struct mailsec_spf *spf)
{
	struct pl_msg *m = arg;

	(void)spf;
	msg_hold(m);
	m->spf_done = true;
	msg_advance(m);
	(void)msg_release(m);
}

mailsec_err
pl_msg_mail_from(struct pl_msg *m, const char *reverse_path)
{
	struct mailsec_spf_request req = { 0 };
	struct pl_dns *d;
	mailsec_err e;

	if (m == NULL || reverse_path == NULL)
		return MAILSEC_EINVAL;
	if (m->mail_from != NULL || m->state != PL_ST_NEW || m->dead)
		return MAILSEC_ESTATE;
	if ((m->mail_from = strdup(reverse_path)) == NULL)
		return MAILSEC_ENOMEM;
	/* submission: the session checked the user may use this address */
	if (m->auth_user != NULL)
		return MAILSEC_OK;
	req.ip = m->ip;
	req.mail_from = m->mail_from;
	req.helo = m->helo;
	req.receiver = m->gen->authserv_id;
	req.identity = MAILSEC_SPF_ID_MAILFROM;
	e = mailsec_spf_new(m->gen->dns->r, &req, &m->spf, NULL);
	if (e != MAILSEC_OK)
		return e;
	mailsec_spf_set_cache(m->spf, m->p->spfcache);
	d = m->gen->dns;
	d->refs++;
	msg_hold(m);
	e = mailsec_spf_start(m->spf, spf_on_done, m);
	if (e != MAILSEC_OK) {
		/* not started: the end must not wait for it */
		mailsec_spf_free(m->spf);
		m->spf = NULL;
	}
	if (!msg_release(m))
		dns_rearm(d);
	dns_unref(d);
	return e;
}

/* ---- the header block ---------------------------------------------------- */

/* Who a header field goes to. */
enum feed_to {
	FEED_VERIFY,		/* the DKIM verifier and the ARC validator */
	FEED_SIGN,		/* the DKIM signer */
	FEED_SEAL		/* the ARC sealer */
};

/* DKIM and ARC want each field through its CRLF; only the last field of
 * a message without a body can lack one. */
static mailsec_err
feed_field(struct pl_msg *m, const struct mailsec_header *h, enum feed_to to)
{
	const char *raw = h->raw.ptr;
	size_t len = h->raw.len;
	char *tmp = NULL;
	mailsec_err e;

	if (len < 2 || raw[len - 2] != '\r' || raw[len - 1] != '\n') {
		if ((tmp = malloc(len + 2)) == NULL)
			return MAILSEC_ENOMEM;
		memcpy(tmp, raw, len);
		memcpy(tmp + len, "\r\n", 2);
		raw = tmp;
		len += 2;
	}
	switch (to) {
	case FEED_SIGN:
		e = mailsec_dkim_sign_header(m->sign, raw, len);
		break;
	case FEED_SEAL:
		e = mailsec_arc_seal_header(m->seal, raw, len);
		break;
	case FEED_VERIFY:
	default:
		if ((e = mailsec_dkim_verify_header(m->dkim, raw, len)) ==
		    MAILSEC_OK)
			e = mailsec_arc_verify_header(m->arc, raw, len);
		break;
	}
	free(tmp);
	return e;
}

/* Authenticated sender: a signing context with every key of the From
 * domain (nothing when the domain has none). */
static mailsec_err
sign_start(struct pl_msg *m)
{
	struct mailsec_dkim_sign_opts opts[PL_SIGN_MAX];
	struct mailsec_diag diag = { 0 };
	const struct pl_gen *g = m->gen;
	const struct pl_sign_domain *sd = NULL;
	const char *dom;
	size_t i;
	mailsec_err e;

	if (m->author->ndomains != 1) {
		snprintf(m->sign_note, sizeof m->sign_note, "%s",
		    m->author->ndomains == 0 ? "no-from-domain" :
		    "several-from-domains");
		return MAILSEC_OK;
	}
	dom = m->author->domains[0];
	for (i = 0; i < g->nsign && sd == NULL; i++)
		if (strcmp(g->sign[i].domain, dom) == 0)
			sd = &g->sign[i];
	if (sd == NULL || sd->nkeys == 0) {
		snprintf(m->sign_note, sizeof m->sign_note, "no-key");
		return MAILSEC_OK;
	}
	memset(opts, 0, sizeof opts);
	for (i = 0; i < sd->nkeys; i++) {
		opts[i].key = sd->keys[i].key;
		opts[i].domain = sd->domain;
		opts[i].selector = sd->keys[i].selector;
		opts[i].headers = g->sign_headers;
		opts[i].expire_after = (long)g->sign_expire;
	}
	e = mailsec_dkim_sign_new(opts, sd->nkeys, &m->sign, &diag);
	if (e == MAILSEC_ENOMEM)
		return e;
	if (e != MAILSEC_OK) {
		pl_sign_note_error(m, e, &diag);
		return MAILSEC_OK;
	}
	m->sign_dom = sd;
	return MAILSEC_OK;
}

static bool
is_authres(const struct mailsec_header *h)
{
	return ms_ascii_eqz(h->name.ptr, h->name.len,
	    "Authentication-Results");
}

/* The header to store, without the fields in drop[]: every other field
 * as received, then whatever followed the last field (the blank line). */
static mailsec_err
keep_copy(struct pl_msg *m, const struct mailsec_msg *msg, const bool *drop,
    const char *hdr, size_t len)
{
	const struct mailsec_header *h;
	size_t i, n = mailsec_msg_field_count(msg), off = 0, end = 0;

	if ((m->keep = malloc(len + 1)) == NULL)
		return MAILSEC_ENOMEM;
	for (i = 0; i < n; i++) {
		h = mailsec_msg_field(msg, i);
		end = (size_t)(h->raw.ptr - hdr) + h->raw.len;
		if (drop[i])
			continue;
		memcpy(m->keep + off, h->raw.ptr, h->raw.len);
		off += h->raw.len;
	}
	memcpy(m->keep + off, hdr + end, len - end);
	off += len - end;
	m->keep[off] = '\0';
	return MAILSEC_OK;
}

/*
 * The header as received (a signature may cover a field we drop from the
 * stored copy) to the DKIM verifier and the ARC validator (RFC 8617 5.2);
 * their key lookups go out, sharing the DKIM key cache.
 */
static mailsec_err
verify_start(struct pl_msg *m, const struct mailsec_msg *msg)
{
	struct mailsec_dkim_verify_opts vo = { 0 };
	struct mailsec_arc_verify_opts ao = { 0 };
	struct mailsec_resolver *r = m->gen->dns->r;
	size_t i, n = mailsec_msg_field_count(msg);
	mailsec_err e;

	vo.key_cache = m->p->keycache;
	ao.key_cache = m->p->keycache;
	if ((e = mailsec_dkim_verify_new(r, &vo, &m->dkim)) != MAILSEC_OK ||
	    (e = mailsec_arc_verify_new(r, &ao, &m->arc)) != MAILSEC_OK)
		return e;
	for (i = 0; i < n && e == MAILSEC_OK; i++)
		e = feed_field(m, mailsec_msg_field(msg, i), FEED_VERIFY);
	if (e == MAILSEC_OK)
		e = mailsec_dkim_verify_eoh(m->dkim);
	if (e == MAILSEC_OK)
		e = mailsec_arc_verify_eoh(m->arc);
	if (e == MAILSEC_OK)
		dns_rearm(m->gen->dns);
	return e;
}

/*
 * Forwarded mail from outside with arc.seal on: a sealing context fed
 * the header as it will be stored (the forged Authentication-Results
 * fields in drop[] are not part of the message we pass on). A sealer
 * that cannot start (no From field, too many fields) leaves the message
 * unsealed, and the log line says why.
 */
static mailsec_err
seal_start(struct pl_msg *m, const struct mailsec_msg *msg, const bool *drop)
{
	struct mailsec_arc_seal_opts so = { 0 };
	struct mailsec_diag diag = { 0 };
	const struct pl_gen *g = m->gen;
	size_t i, n = mailsec_msg_field_count(msg);
	mailsec_err e;

	if (!m->forwarded || g->arc_key == NULL)
		return MAILSEC_OK;
	arc_seal_opts(g, &so);
	e = mailsec_arc_seal_new(&so, &m->seal, &diag);
	for (i = 0; i < n && e == MAILSEC_OK; i++)
		if (drop == NULL || !drop[i])
			e = feed_field(m, mailsec_msg_field(msg, i),
			    FEED_SEAL);
	if (e == MAILSEC_OK)
		e = mailsec_arc_seal_eoh(m->seal, &diag);
	if (e == MAILSEC_OK || e == MAILSEC_ENOMEM)
		return e;
	pl_seal_note_error(m, e, &diag);
	mailsec_arc_seal_free(m->seal);
	m->seal = NULL;
	return MAILSEC_OK;
}

/* Body bytes to whoever hashes them: the verifiers, the sealer or the
 * signer. */
static mailsec_err
feed_body(struct pl_msg *m, const char *p, size_t len)
{
	mailsec_err e = MAILSEC_OK;

	if (len == 0)
		return MAILSEC_OK;
	if (m->dkim != NULL)
		e = mailsec_dkim_verify_body(m->dkim, p, len);
	if (e == MAILSEC_OK && m->arc != NULL)
		e = mailsec_arc_verify_body(m->arc, p, len);
	if (e == MAILSEC_OK && m->seal != NULL)
		e = mailsec_arc_seal_body(m->seal, p, len);
	if (e == MAILSEC_OK && m->sign != NULL)
		e = mailsec_dkim_sign_body(m->sign, p, len);
	return e;
}

mailsec_err
pl_msg_forwarded(struct pl_msg *m)
{
	if (m == NULL)
		return MAILSEC_EINVAL;
	if (m->state != PL_ST_NEW || m->dead)
		return MAILSEC_ESTATE;
	m->forwarded = true;
	return MAILSEC_OK;
}

mailsec_err
pl_msg_header(struct pl_msg *m, const char *hdr, size_t len,
    struct mailsec_str *keep, const char **reason)
{
	struct mailsec_msg *msg = NULL;
	const struct mailsec_header *h;
	struct mailsec_str body;
	bool *drop = NULL;
	size_t i, n;
	mailsec_err e;

	if (reason != NULL)
		*reason = NULL;
	if (m == NULL || keep == NULL || (hdr == NULL && len > 0))
		return MAILSEC_EINVAL;
	if (m->state != PL_ST_NEW || m->dead)
		return MAILSEC_ESTATE;
	keep->ptr = hdr;
	keep->len = len;
	e = mailsec_msg_parse(hdr, len, NULL, MAILSEC_MSG_REQUIRE_CRLF, &msg,
	    NULL);
	if (e == MAILSEC_ESYNTAX || e == MAILSEC_ELIMIT) {
		if (reason != NULL)
			*reason = e == MAILSEC_ESYNTAX ? "the message header "
			    "is not RFC 5322 (a line that is not a header "
			    "field, or a bare CR or LF)" : "the message "
			    "header is too large (fields, field length or "
			    "size)";
		return e;
	}
	if (e != MAILSEC_OK)
		return e;
	m->state = PL_ST_HEADER;
	/* failure reports quote the header section (report_fail.h) */
	if (report_fail_enabled() && (m->fail_hdr = ms_memdupz(hdr,
	    len < REPORT_FAIL_HEADER_MAX ? len : REPORT_FAIL_HEADER_MAX))
	    != NULL)
		m->fail_hdrlen = strlen(m->fail_hdr);
	n = mailsec_msg_field_count(msg);
	if ((e = mailsec_msg_author(msg, &m->author)) != MAILSEC_OK)
		goto out;

	/* RFC 8601 5: a field that claims our authserv-id came from
	 * outside; it goes before anyone downstream trusts it */
	if (n > 0 && (drop = calloc(n, sizeof *drop)) == NULL) {
		e = MAILSEC_ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		h = mailsec_msg_field(msg, i);
		if (is_authres(h) && mailsec_authres_is_ours(h->value.ptr,
		    h->value.len, m->gen->authserv_id)) {
			drop[i] = true;
			m->ar_removed++;
		}
	}
	if (m->ar_removed > 0) {
		if ((e = keep_copy(m, msg, drop, hdr, len)) != MAILSEC_OK)
			goto out;
		keep->ptr = m->keep;
		keep->len = strlen(m->keep);
	}

	if (m->auth_user != NULL) {
		if ((e = sign_start(m)) != MAILSEC_OK)
			goto out;
		for (i = 0; i < n && m->sign != NULL; i++) {
			if (drop[i])
				continue;
			e = feed_field(m, mailsec_msg_field(msg, i),
			    FEED_SIGN);
			if (e != MAILSEC_OK)
				goto out;
		}
		if (m->sign != NULL) {
			struct mailsec_diag diag = { 0 };

			e = mailsec_dkim_sign_eoh(m->sign, &diag);
			if (e == MAILSEC_ENOMEM)
				goto out;
			if (e != MAILSEC_OK) {
				pl_sign_note_error(m, e, &diag);
				mailsec_dkim_sign_free(m->sign);
				m->sign = NULL;
				m->sign_dom = NULL;
			}
		}
	} else if ((e = verify_start(m, msg)) != MAILSEC_OK ||
	    (e = seal_start(m, msg, drop)) != MAILSEC_OK) {
		goto out;
	}
	/* bytes after the blank line, if the caller passed some */
	body = mailsec_msg_body(msg);
	e = feed_body(m, body.ptr, body.len);
out:
	if (e != MAILSEC_OK && m->fail == MAILSEC_OK)
		m->fail = e;
	free(drop);
	mailsec_msg_free(msg);
	return e;
}

mailsec_err
pl_msg_body(struct pl_msg *m, const char *p, size_t len)
{
	mailsec_err e = MAILSEC_OK;

	if (m == NULL || (p == NULL && len > 0))
		return MAILSEC_EINVAL;
	if (m->state != PL_ST_HEADER || m->dead)
		return MAILSEC_ESTATE;
	if (len == 0 || m->fail != MAILSEC_OK)
		return m->fail;
	if ((e = feed_body(m, p, len)) != MAILSEC_OK)
		m->fail = e;
	return e;
}

/* ---- end of data: DMARC -------------------------------------------------- */

/* name is domain or below it (ASCII case-insensitive). */
static bool
domain_within(const char *name, size_t nlen, const char *domain)
{
	size_t dlen = strlen(domain);

	if (nlen > 0 && name[nlen - 1] == '.')
		nlen--;
	if (nlen == dlen)
		return ms_ascii_eq(name, nlen, domain, dlen);
	return nlen > dlen && name[nlen - dlen - 1] == '.' &&
	    ms_ascii_eq(name + nlen - dlen, dlen, domain, dlen);
}

/*
 * Trusted forwarders (RFC 9989 5.4 local policy): mail that a listed
 * domain demonstrably handled - its SPF passed for the envelope sender
 * (a forwarder that rewrites it, SRS) or it added a passing DKIM
 * signature (a mailing list that re-signs) - does not suffer the
 * author's policy when its own authentication broke on the way.
 */
static void
trusted_forwarder(struct pl_msg *m)
{
	const struct pl_gen *g = m->gen;
	const struct mailsec_spf_outcome *so = NULL;
	const struct mailsec_dkim_sig_info *s;
	size_t i, j, n = mailsec_dkim_verify_count(m->dkim);

	if (m->spf != NULL)
		so = mailsec_spf_outcome(m->spf);
	for (i = 0; i < g->ntrusted && m->local == 0; i++) {
		if (so != NULL && so->result == MAILSEC_SPF_PASS &&
		    so->domain != NULL && domain_within(so->domain,
		    strlen(so->domain), g->trusted[i])) {
			m->local = MAILSEC_DMARC_LOCAL_TRUSTED_FORWARDER;
			snprintf(m->local_comment, sizeof m->local_comment,
			    "trusted forwarder %s (spf pass)", g->trusted[i]);
		}
		for (j = 0; j < n && m->local == 0; j++) {
			s = mailsec_dkim_verify_sig(m->dkim, j);
			if (s->result == MAILSEC_DKIM_PASS &&
			    domain_within(s->domain.ptr, s->domain.len,
			    g->trusted[i])) {
				m->local =
				    MAILSEC_DMARC_LOCAL_TRUSTED_FORWARDER;
				snprintf(m->local_comment,
				    sizeof m->local_comment,
				    "trusted forwarder %s (dkim pass)",
				    g->trusted[i]);
			}
		}
	}
}

/*
 * Trusted ARC sealers (RFC 8617 7.2.1, policy.arc_sealers): a passing
 * chain whose newest set a listed domain sealed vouches for the
 * authentication results that sealer recorded on arrival, so a DMARC
 * failure that forwarding caused does not bring the author's policy
 * down on the message. The override carries the comment of 7.2.2
 * (sealers and selectors, the first hop's address) for reports. A
 * trusted forwarder, decided first, keeps its own reason.
 */
static mailsec_err
trusted_arc(struct pl_msg *m)
{
	const struct pl_gen *g = m->gen;
	size_t i;
	mailsec_err e;

	for (i = 0; i < g->nsealers && m->local == 0; i++) {
		if (!mailsec_arc_trusted(m->arc,
		    (const char *const *)&g->sealers[i], 1))
			continue;
		if ((e = mailsec_arc_dmarc_comment(m->arc, &m->arc_comment)) !=
		    MAILSEC_OK)
			return e;
		m->local = MAILSEC_DMARC_LOCAL_TRUSTED_ARC;
		m->arc_sealer = g->sealers[i];
	}
	return MAILSEC_OK;
}

static void
dmarc_on_done(void *arg, struct mailsec_dmarc *d)
{
	struct pl_msg *m = arg;

	(void)d;
	msg_hold(m);
	msg_finish(m);
	(void)msg_release(m);
}

static mailsec_err
dmarc_start(struct pl_msg *m)
{
	struct mailsec_dmarc_request req = { 0 };
	struct mailsec_dmarc_opts opts = { 0 };
	const struct mailsec_spf_outcome *so = NULL;
	mailsec_err e = MAILSEC_OK;

	req.author = m->author;
	if (m->spf != NULL)
		so = mailsec_spf_outcome(m->spf);
	if (so != NULL) {
		req.spf_result = so->result;
		req.spf_domain = so->domain;
		req.spf_identity = so->identity;
	}
	req.mail_from = m->mail_from;
	req.dkim_verify = m->dkim;
	if (m->gen->dmarc_mode == GW_DMARC_RFC7489) {
		opts.mode = MAILSEC_DMARC_RFC7489;
		opts.psl = m->p->psl;
	}
	trusted_forwarder(m);
	if ((e = trusted_arc(m)) != MAILSEC_OK)
		goto out;
	opts.local = m->local;
	opts.local_comment = m->arc_sealer != NULL ? m->arc_comment :
	    m->local != 0 ? m->local_comment : NULL;
	e = mailsec_dmarc_new(m->gen->dns->r, &req, &opts, &m->dmarc, NULL);
	if (e == MAILSEC_OK)
		e = mailsec_dmarc_start(m->dmarc, dmarc_on_done, m);
out:
	return e;
}

/* The DKIM and ARC outcomes are final: every key lookup is in. */
static bool
keys_done(const struct pl_msg *m)
{
	return (m->dkim == NULL || mailsec_dkim_verify_done(m->dkim)) &&
	    (m->arc == NULL || mailsec_arc_verify_done(m->arc));
}

/*
 * Moves an ended transaction on as far as it can: DMARC once SPF and
 * every DKIM and ARC key are in, the verdict once DMARC is done. The caller
 * holds m.
 */
static void
msg_advance(struct pl_msg *m)
{
	mailsec_err e;

	if (m->state != PL_ST_END || m->dead)
		return;
	if (m->spf != NULL && !m->spf_done)
		return;
	if (m->fail == MAILSEC_OK && !keys_done(m)) {
		wait_add(m);
		return;
	}
	wait_remove(m);
	m->state = PL_ST_DMARC;
	if (m->fail != MAILSEC_OK || m->auth_user != NULL) {
		msg_finish(m);
		return;
	}
	if ((e = dmarc_start(m)) != MAILSEC_OK) {
		m->fail = e;
		msg_finish(m);
	}
}

/*
 * After the resolver delivered: ended transactions whose DKIM results
 * are now final go on. A callback may free any transaction, so the
 * walk starts over after each one that moved.
 */
static void
pl_poll(struct pipeline *p)
{
	struct pl_msg *m;

again:
	for (m = p->waiting; m != NULL; m = m->wnext) {
		if (!keys_done(m)) {
			/* nothing left to wait for: cannot finish */
			if (mailsec_resolver_pending(m->gen->dns->r) > 0 ||
			    mailsec_resolver_next_timeout(
			    m->gen->dns->r) >= 0)
				continue;
			m->fail = MAILSEC_ESTATE;
		}
		wait_remove(m);
		msg_hold(m);
		msg_advance(m);
		(void)msg_release(m);
		goto again;
	}
}

mailsec_err
pl_msg_end(struct pl_msg *m, pl_done_cb *cb, void *arg)
{
	struct pl_dns *d;

	if (m == NULL || cb == NULL)
		return MAILSEC_EINVAL;
	if (m->state != PL_ST_HEADER || m->dead)
		return MAILSEC_ESTATE;
	m->cb = cb;
	m->cb_arg = arg;
	m->state = PL_ST_END;
	if (m->fail == MAILSEC_OK && m->dkim != NULL)
		m->fail = mailsec_dkim_verify_eom(m->dkim);
	if (m->fail == MAILSEC_OK && m->arc != NULL)
		m->fail = mailsec_arc_verify_eom(m->arc);
	d = m->gen->dns;
	d->refs++;
	msg_hold(m);
	msg_advance(m);
	(void)msg_release(m);
	dns_rearm(d);
	dns_unref(d);
	return MAILSEC_OK;
}

/* ---- for pipeline_verdict.c ---------------------------------------------- */

void
pl_sign_note_error(struct pl_msg *m, mailsec_err e,
    const struct mailsec_diag *diag)
{
	snprintf(m->sign_note, sizeof m->sign_note, "error (%s)",
	    diag->set ? diag->text : mailsec_strerror(e));
}

void
pl_seal_note_error(struct pl_msg *m, mailsec_err e,
    const struct mailsec_diag *diag)
{
	snprintf(m->seal_note, sizeof m->seal_note, "error (%s)",
	    diag->set ? diag->text : mailsec_strerror(e));
}

bool
pl_token_safe(const char *p, size_t len)
{
	size_t i;

	if (p == NULL || len == 0)
		return false;
	for (i = 0; i < len; i++)
		if ((unsigned char)p[i] < 0x21 || (unsigned char)p[i] > 0x7e)
			return false;
	return true;
}
