/*
 * daemon/tlspolicy.c - the TLS policy context and MTA-STS (RFC 8461) for
 * outbound delivery: the TXT record at _mta-sts.<domain> (3.1), the
 * policy fetched from https://mta-sts.<domain>/.well-known/mta-sts.txt
 * (3.3) through daemon/https.c, cached in memory and under
 * cache_dir/mta-sts/<domain> (so a restart keeps enforcing), refreshed
 * when the TXT id changes or max_age passes, an unexpired cached policy
 * kept when a refresh fails (5.1), MX matching (4.1).
 *
 * DANE and the handshake are tlsp_dane.c, TLS-RPT tlsrpt.c. Rules:
 * docs/delivery.md, "TLS policy".
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include <mailsec/dns.h>

#include "core/core.h"
#include "https.h"
#include "tlsp_int.h"

/* A persisted policy: this header, an empty line, the body as served. */
#define STS_FILE_MAGIC		"mailsec-mta-sts 1"
#define STS_FILE_MAX		(MAILSEC_MTASTS_POLICY_MAX + 512)

/* ---- helpers shared by the tlsp_*.c files ------------------------------ */

void
tlsp_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int64_t
tlsp_now(const struct tlsp_ctx *t)
{
	if (t->now != NULL)
		return t->now(t->now_arg);
	return (int64_t)time(NULL);
}

bool
tlsp_name_norm(const char *name, char *out)
{
	size_t n, i;

	if (name == NULL)
		return false;
	n = strlen(name);
	if (n > 0 && name[n - 1] == '.')
		n--;
	if (n == 0 || n > TLSP_NAME_MAX || !ms_domain_ldh_ok(name, n, false))
		return false;
	for (i = 0; i < n; i++)
		out[i] = (char)ms_tolower((unsigned char)name[i]);
	out[n] = '\0';
	return true;
}

int
tlsp_mkdirs(const char *path)
{
	char dir[4096];
	size_t i, n;

	n = strlen(path);
	if (n == 0 || n >= sizeof dir) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(dir, path, n + 1);
	for (i = 1; i <= n; i++) {
		if (dir[i] != '/' && dir[i] != '\0')
			continue;
		dir[i] = '\0';
		if (mkdir(dir, 0700) == -1 && errno != EEXIST)
			return -1;
		if (i < n)
			dir[i] = '/';
	}
	return 0;
}

int
tlsp_write_file(const char *path, const void *p, size_t len)
{
	char tmp[4096];
	const char *b = p;
	ssize_t w;
	int fd, k;

	k = snprintf(tmp, sizeof tmp, "%s.tmp", path);
	if (k < 0 || (size_t)k >= sizeof tmp)
		return -1;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1)
		return -1;
	while (len > 0) {
		w = write(fd, b, len);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			goto fail;
		b += w;
		len -= (size_t)w;
	}
	if (fsync(fd) == -1)
		goto fail;
	if (close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	if (rename(tmp, path) == -1) {
		(void)unlink(tmp);
		return -1;
	}
	return 0;
fail:
	if (fd != -1)
		(void)close(fd);
	(void)unlink(tmp);
	return -1;
}

/* ---- the cache ---------------------------------------------------------- */

static void
sts_clear(struct tlsp_sts_entry *e)
{
	free(e->domain);
	free(e->id);
	free(e->text);
	mailsec_mtasts_policy_free(e->pol);
	memset(e, 0, sizeof *e);
}

/* The cached entry of domain (normalized), or NULL. Under the lock. */
static struct tlsp_sts_entry *
sts_find(struct tlsp_ctx *t, const char *domain)
{
	size_t i;

	for (i = 0; i < t->nsts; i++)
		if (strcmp(t->sts[i].domain, domain) == 0)
			return &t->sts[i];
	return NULL;
}

/* Stores (replacing) the policy of domain; takes pol and text. Under the
 * lock. */
static mailsec_err
sts_put(struct tlsp_ctx *t, const char *domain, const char *id,
    struct mailsec_mtasts_policy *pol, char *text, size_t textlen,
    int64_t fetched)
{
	struct tlsp_sts_entry *e, *v;
	char *d = NULL, *i = NULL;
	size_t cap;

	if ((d = strdup(domain)) == NULL || (i = strdup(id)) == NULL)
		goto nomem;
	if ((e = sts_find(t, domain)) == NULL) {
		if (t->nsts == t->capsts) {
			cap = t->capsts != 0 ? t->capsts * 2 : 16;
			if ((v = ms_reallocarray(t->sts, cap, sizeof *v)) ==
			    NULL)
				goto nomem;
			t->sts = v;
			t->capsts = cap;
		}
		e = &t->sts[t->nsts++];
		memset(e, 0, sizeof *e);
	} else {
		sts_clear(e);
	}
	e->domain = d;
	e->id = i;
	e->pol = pol;
	e->text = text;
	e->textlen = textlen;
	e->fetched = fetched;
	return MAILSEC_OK;
nomem:
	free(d);
	free(i);
	mailsec_mtasts_policy_free(pol);
	free(text);
	return MAILSEC_ENOMEM;
}

static bool
sts_fresh(const struct tlsp_ctx *t, const struct tlsp_sts_entry *e)
{
	return tlsp_now(t) < e->fetched + (int64_t)e->pol->max_age;
}

/* Writes the entry to cache_dir/mta-sts/<domain>; failures only cost
 * the restart (logged by nobody: the cache still works). */
static void
sts_persist(const struct tlsp_ctx *t, const char *domain, const char *id,
    const char *text, size_t textlen, int64_t fetched)
{
	struct ms_buf b;
	char path[4096];
	int k;

	if (t->cache_dir == NULL)
		return;
	k = snprintf(path, sizeof path, "%s/mta-sts/%s", t->cache_dir,
	    domain);
	if (k < 0 || (size_t)k >= sizeof path)
		return;
	ms_buf_init(&b, STS_FILE_MAX);
	if (ms_buf_printf(&b, "%s\nid %s\nfetched %lld\n\n", STS_FILE_MAGIC,
	    id, (long long)fetched) != MAILSEC_OK ||
	    ms_buf_append(&b, text, textlen) != MAILSEC_OK)
		return;
	(void)tlsp_write_file(path, b.ptr, b.len);
	ms_buf_free(&b);
}

/* Reads one persisted policy; false when it is not one. */
static bool
sts_read_file(struct tlsp_ctx *t, const char *dir, const char *domain)
{
	char path[4096], buf[STS_FILE_MAX + 1], id[MAILSEC_MTASTS_ID_MAX + 1];
	struct mailsec_mtasts_policy *pol = NULL;
	const char *p, *end, *nl;
	char *text;
	long long fetched = 0;
	size_t len = 0, n;
	ssize_t r;
	int fd, k;

	k = snprintf(path, sizeof path, "%s/%s", dir, domain);
	if (k < 0 || (size_t)k >= sizeof path)
		return false;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return false;
	while (len < sizeof buf - 1) {
		r = read(fd, buf + len, sizeof buf - 1 - len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	(void)close(fd);
	buf[len] = '\0';
	end = buf + len;
	n = strlen(STS_FILE_MAGIC);
	if (len < n + 1 || memcmp(buf, STS_FILE_MAGIC "\n", n + 1) != 0)
		return false;
	p = buf + n + 1;
	/* "id ID\n" */
	if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL ||
	    nl - p < 4 || memcmp(p, "id ", 3) != 0 ||
	    !mailsec_mtasts_id_ok(p + 3, (size_t)(nl - p - 3)))
		return false;
	memcpy(id, p + 3, (size_t)(nl - p - 3));
	id[nl - p - 3] = '\0';
	p = nl + 1;
	/* "fetched N\n\n" */
	if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL ||
	    nl - p < 9 || memcmp(p, "fetched ", 8) != 0)
		return false;
	for (p += 8; p < nl && ms_isdigit((unsigned char)*p) &&
	    fetched < 100000000000LL; p++)
		fetched = fetched * 10 + (*p - '0');
	if (p != nl || nl + 1 >= end || nl[1] != '\n')
		return false;
	p = nl + 2;
	if (mailsec_mtasts_policy_parse(p, (size_t)(end - p), &pol, NULL) !=
	    MAILSEC_OK)
		return false;
	if ((text = ms_memdupz(p, (size_t)(end - p))) == NULL) {
		mailsec_mtasts_policy_free(pol);
		return false;
	}
	return sts_put(t, domain, id, pol, text, (size_t)(end - p),
	    (int64_t)fetched) == MAILSEC_OK;
}

/* Loads cache_dir/mta-sts/ (creating it). */
static mailsec_err
sts_load(struct tlsp_ctx *t)
{
	char dir[4096], norm[TLSP_NAME_MAX + 1];
	struct dirent *de;
	DIR *d;
	int k;

	k = snprintf(dir, sizeof dir, "%s/mta-sts", t->cache_dir);
	if (k < 0 || (size_t)k >= sizeof dir || tlsp_mkdirs(dir) == -1)
		return MAILSEC_EIO;
	if ((d = opendir(dir)) == NULL)
		return MAILSEC_EIO;
	while ((de = readdir(d)) != NULL) {
		/* only names a domain normalizes to: no "x.tmp" halves, no
		 * path tricks */
		if (!tlsp_name_norm(de->d_name, norm) ||
		    strcmp(norm, de->d_name) != 0)
			continue;
		(void)sts_read_file(t, dir, norm);
	}
	(void)closedir(d);
	return MAILSEC_OK;
}

/* ---- the context -------------------------------------------------------- */

mailsec_err
tlsp_new(struct tlsp_ctx **out, const struct tlsp_cfg *cfg)
{
	struct tlsp_ctx *t;
	mailsec_err err = MAILSEC_OK;
	bool ok = true;

	*out = NULL;
	if (cfg == NULL)
		return MAILSEC_EINVAL;
	if ((t = calloc(1, sizeof *t)) == NULL)
		return MAILSEC_ENOMEM;
	if (pthread_mutex_init(&t->lock, NULL) != 0) {
		free(t);
		return MAILSEC_ENOMEM;
	}
	t->mta_sts = cfg->mta_sts;
	t->dane = cfg->dane;
	t->tlsrpt = cfg->tlsrpt;
	t->https_port = cfg->https_port;
	t->cache_dir = ms_strdup_ok(cfg->cache_dir, &ok);
	t->ca_file = ms_strdup_ok(cfg->ca_file, &ok);
	t->reporting_org = ms_strdup_ok(cfg->reporting_org != NULL ?
	    cfg->reporting_org : "mailsec", &ok);
	t->reporting_contact = ms_strdup_ok(cfg->reporting_contact != NULL ?
	    cfg->reporting_contact : "postmaster", &ok);
	if (!ok) {
		err = MAILSEC_ENOMEM;
		goto done;
	}
	/* the MTA-STS trust anchors, once: every SSL shares the store */
	if ((t->store = X509_STORE_new()) == NULL) {
		err = MAILSEC_ENOMEM;
		goto done;
	}
	if ((t->ca_file != NULL ? X509_STORE_load_file(t->store,
	    t->ca_file) : X509_STORE_set_default_paths(t->store)) != 1) {
		ERR_clear_error();
		err = MAILSEC_EIO;
		goto done;
	}
	if (t->cache_dir != NULL) {
		if (tlsp_mkdirs(t->cache_dir) == -1) {
			err = MAILSEC_EIO;
			goto done;
		}
		if ((err = sts_load(t)) != MAILSEC_OK ||
		    (err = tlsp_rpt_load(t)) != MAILSEC_OK)
			goto done;
	}
	*out = t;
	t = NULL;
done:
	tlsp_free(t);
	return err;
}

void
tlsp_free(struct tlsp_ctx *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->nsts; i++)
		sts_clear(&t->sts[i]);
	free(t->sts);
	tlsp_rpt_free_all(t);
	X509_STORE_free(t->store);
	free(t->cache_dir);
	free(t->ca_file);
	free(t->reporting_org);
	free(t->reporting_contact);
	(void)pthread_mutex_destroy(&t->lock);
	free(t);
}

void
tlsp_set_clock(struct tlsp_ctx *t, int64_t (*now)(void *), void *arg)
{
	(void)pthread_mutex_lock(&t->lock);
	t->now = now;
	t->now_arg = arg;
	(void)pthread_mutex_unlock(&t->lock);
}

/* ---- MTA-STS ------------------------------------------------------------ */

enum txt_state { TXT_FOUND, TXT_NONE, TXT_TEMP };

/*
 * RFC 8461 3.1: of the TXT records at _mta-sts.<domain>, those not
 * starting with "v=STSv1" are discarded; exactly one valid must remain,
 * otherwise the domain has no (new) policy.
 */
static enum txt_state
sts_txt(struct mailsec_resolver *res, const char *domain,
    struct mailsec_mtasts_txt *txt, char *err, size_t errlen)
{
	struct mailsec_dns_result *r = NULL;
	const struct mailsec_dns_rr *rr, *one = NULL;
	char name[TLSP_NAME_MAX + 16];
	enum txt_state st = TXT_NONE;
	size_t i, n = 0;

	(void)snprintf(name, sizeof name, "_mta-sts.%s", domain);
	if (mailsec_dns_lookup(res, name, MAILSEC_DNS_TXT, &r) !=
	    MAILSEC_OK) {
		tlsp_errf(err, errlen, "%s TXT: lookup failed", name);
		return TXT_TEMP;
	}
	if (mailsec_dns_status_is_temporary(r->status)) {
		tlsp_errf(err, errlen, "%s TXT: %s", name, r->why);
		st = TXT_TEMP;
		goto done;
	}
	for (i = 0; r->status == MAILSEC_DNS_ANSWER && i < r->count; i++) {
		rr = &r->rrs[i];
		if (rr->type != MAILSEC_DNS_TXT || rr->u.txt.len < 7 ||
		    memcmp(rr->u.txt.data, "v=STSv1", 7) != 0)
			continue;
		one = rr;
		n++;
	}
	if (n != 1)
		goto done;
	if (mailsec_mtasts_txt_parse(one->u.txt.data, one->u.txt.len, txt,
	    NULL) == MAILSEC_OK)
		st = TXT_FOUND;
done:
	mailsec_dns_result_free(r);
	return st;
}

/* The TLS-RPT rua of domain, URIs ','-joined, or NULL (none, or the
 * lookup failed: reports then find it again at send time). */
static char *
sts_rua(struct mailsec_resolver *res, const char *domain)
{
	struct mailsec_dns_result *r = NULL;
	const struct mailsec_dns_rr *rr;
	char name[TLSP_NAME_MAX + 16], **v = NULL;
	struct ms_buf b;
	size_t i, k, nv = 0;

	(void)snprintf(name, sizeof name, "_smtp._tls.%s", domain);
	if (mailsec_dns_lookup(res, name, MAILSEC_DNS_TXT, &r) != MAILSEC_OK)
		return NULL;
	ms_buf_init(&b, 4096);
	for (i = 0; r->status == MAILSEC_DNS_ANSWER && i < r->count; i++) {
		rr = &r->rrs[i];
		if (rr->type != MAILSEC_DNS_TXT ||
		    mailsec_tlsrpt_txt_parse(rr->u.txt.data, rr->u.txt.len,
		    &v, &nv, NULL) != MAILSEC_OK)
			continue;
		for (k = 0; k < nv; k++)
			if ((b.len > 0 && ms_buf_appendc(&b, ',') !=
			    MAILSEC_OK) || ms_buf_appendz(&b, v[k]) !=
			    MAILSEC_OK)
				break;
		mailsec_tlsrpt_rua_free(v, nv);
		break;
	}
	mailsec_dns_result_free(r);
	if (b.len == 0) {
		ms_buf_free(&b);
		return NULL;
	}
	return ms_buf_steal(&b, NULL);
}

/*
 * Fetches and parses the policy of domain. MAILSEC_OK with *pol and the
 * body; otherwise err says why and *webpki whether the certificate was
 * the trouble (RFC 8460 sts-webpki-invalid).
 */
static mailsec_err
sts_fetch(struct tlsp_ctx *t, struct mailsec_resolver *res,
    const char *domain, struct mailsec_mtasts_policy **pol, char **text,
    size_t *textlen, bool *webpki, char *err, size_t errlen)
{
	struct gw_https_opts o = { 0 };
	struct gw_https *h = NULL;
	struct mailsec_diag d = { 0 };
	char url[TLSP_NAME_MAX + 64], why[256], port[8];
	char *body = NULL;
	size_t len = 0;
	int status = 0;
	mailsec_err e;

	*pol = NULL;
	*text = NULL;
	*webpki = false;
	port[0] = '\0';
	if (t->https_port != 0)
		(void)snprintf(port, sizeof port, ":%u", t->https_port);
	(void)snprintf(url, sizeof url,
	    "https://mta-sts.%s%s/.well-known/mta-sts.txt", domain, port);
	o.ca_file = t->ca_file;
	/* tests serve the policy on a port of their own, from a host the
	 * zone maps: resolve it through our resolver then */
	o.resolver = t->https_port != 0 ? res : NULL;
	o.connect_ms = TLSP_FETCH_MS;
	o.total_ms = TLSP_FETCH_MS;
	why[0] = '\0';
	if ((e = gw_https_new(&o, &h, why, sizeof why)) != MAILSEC_OK) {
		tlsp_errf(err, errlen, "HTTPS client: %s", why);
		return e;
	}
	e = gw_https_get(h, url, MAILSEC_MTASTS_POLICY_MAX, &status, &body,
	    &len, why, sizeof why);
	gw_https_free(h);
	if (e != MAILSEC_OK) {
		tlsp_errf(err, errlen, "%s: %s", url, why);
		*webpki = e == MAILSEC_EIO && (strstr(why, "certificate") !=
		    NULL || strstr(why, "SSL") != NULL);
		return e;
	}
	/* RFC 8461 3.3: only a 200 answer is a policy */
	if (status != 200) {
		tlsp_errf(err, errlen, "%s: HTTP status %d", url, status);
		free(body);
		return MAILSEC_ENOTFOUND;
	}
	if ((e = mailsec_mtasts_policy_parse(body, len, pol, &d)) !=
	    MAILSEC_OK) {
		tlsp_errf(err, errlen, "%s: invalid policy: %s", url, d.text);
		free(body);
		return e;
	}
	*text = body;
	*textlen = len;
	return MAILSEC_OK;
}

/* Fills out from a policy (mode none: no policy). */
static mailsec_err
domain_fill(struct tlsp_domain *out, const char *id,
    const struct mailsec_mtasts_policy *pol)
{
	size_t i;

	if (pol->mode == MAILSEC_MTASTS_NONE)
		return MAILSEC_OK;
	out->sts = pol->mode == MAILSEC_MTASTS_ENFORCE ? TLSP_STS_ENFORCE :
	    TLSP_STS_TESTING;
	out->max_age = pol->max_age;
	if ((out->policy_id = strdup(id)) == NULL ||
	    (out->mx_patterns = ms_calloc(pol->nmx, sizeof(char *))) == NULL)
		return MAILSEC_ENOMEM;
	for (i = 0; i < pol->nmx; i++) {
		if ((out->mx_patterns[i] = strdup(pol->mx[i])) == NULL)
			return MAILSEC_ENOMEM;
		out->nmx++;
	}
	return MAILSEC_OK;
}

/* Copies the cached policy of domain into out if it is unexpired;
 * *have says whether it was. Under the lock. */
static mailsec_err
cached_fill(struct tlsp_ctx *t, const char *domain, const char *want_id,
    struct tlsp_domain *out, bool *have)
{
	struct tlsp_sts_entry *e;

	*have = false;
	if ((e = sts_find(t, domain)) == NULL || !sts_fresh(t, e))
		return MAILSEC_OK;
	if (want_id != NULL && strcmp(e->id, want_id) != 0)
		return MAILSEC_OK;
	*have = true;
	return domain_fill(out, e->id, e->pol);
}

mailsec_err
tlsp_domain_policy(struct tlsp_ctx *t, struct mailsec_resolver *res,
    const char *domain, struct tlsp_domain *out, char *err, size_t errlen)
{
	struct mailsec_mtasts_policy *pol = NULL;
	struct mailsec_mtasts_txt txt;
	char norm[TLSP_NAME_MAX + 1], ferr[320];
	enum txt_state st;
	char *text = NULL;
	size_t textlen = 0;
	int64_t now;
	mailsec_err e = MAILSEC_OK;
	bool have = false, webpki = false;

	memset(out, 0, sizeof *out);
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (t == NULL || res == NULL || !tlsp_name_norm(domain, norm)) {
		tlsp_errf(err, errlen, "'%s' is not a domain name",
		    domain != NULL ? domain : "(null)");
		return MAILSEC_EINVAL;
	}
	if (t->tlsrpt)
		out->rua = sts_rua(res, norm);
	if (!t->mta_sts)
		return MAILSEC_OK;
	st = sts_txt(res, norm, &txt, ferr, sizeof ferr);
	(void)pthread_mutex_lock(&t->lock);
	/* the same id and still fresh: no fetch (RFC 8461 5.1); no TXT now
	 * or no answer: an unexpired cached policy still holds (10.3) */
	e = cached_fill(t, norm, st == TXT_FOUND ? txt.id : NULL, out, &have);
	(void)pthread_mutex_unlock(&t->lock);
	if (e != MAILSEC_OK || have || st != TXT_FOUND)
		goto done;
	/* a new id, an expired or no cached policy: fetch, unlocked (up to
	 * TLSP_FETCH_MS); two threads may both fetch, the later wins */
	e = sts_fetch(t, res, norm, &pol, &text, &textlen, &webpki, ferr,
	    sizeof ferr);
	if (e == MAILSEC_ENOMEM)
		goto done;
	(void)pthread_mutex_lock(&t->lock);
	if (e != MAILSEC_OK) {
		/* RFC 8461 5.1: keep an unexpired cached policy; with none,
		 * deliver as if the domain had no policy (3.3) */
		e = cached_fill(t, norm, NULL, out, &have);
		(void)pthread_mutex_unlock(&t->lock);
		tlsp_errf(err, errlen, "%s", ferr);
		if (!have)
			tlsp_rpt_record(t, norm, "sts", NULL, NULL, NULL, NULL,
			    false, webpki ? "sts-webpki-invalid" :
			    "sts-policy-fetch-error");
		goto done;
	}
	now = tlsp_now(t);
	/* the cache owns pol and text from here; mode none is cached too,
	 * so that it replaces an older policy (RFC 8461 10.3) */
	if ((e = sts_put(t, norm, txt.id, pol, text, textlen, now)) ==
	    MAILSEC_OK) {
		sts_persist(t, norm, txt.id, text, textlen, now);
		/* from the policy itself: max_age 0 is good for this once */
		e = domain_fill(out, txt.id, pol);
	}
	(void)pthread_mutex_unlock(&t->lock);
done:
	if (e != MAILSEC_OK) {
		tlsp_domain_free(out);
		if (e == MAILSEC_ENOMEM)
			tlsp_errf(err, errlen, "out of memory");
	}
	return e;
}

void
tlsp_domain_free(struct tlsp_domain *d)
{
	size_t i;

	if (d == NULL)
		return;
	for (i = 0; i < d->nmx; i++)
		free(d->mx_patterns[i]);
	free(d->mx_patterns);
	free(d->policy_id);
	free(d->rua);
	memset(d, 0, sizeof *d);
}

bool
tlsp_mx_allowed(const struct tlsp_domain *d, const char *mx_host)
{
	size_t i;

	if (d == NULL || d->sts == TLSP_STS_NONE)
		return true;
	for (i = 0; i < d->nmx; i++)
		if (mailsec_mtasts_mx_match(d->mx_patterns[i], mx_host))
			return true;
	return false;
}
