/*
 * lib/dns/resolver.c - the backend-independent half of the DNS layer:
 * query bookkeeping, per-query deadlines, callback delivery, the query
 * counter and the synchronous helper.
 *
 * Callbacks never run from inside a backend: finished queries wait on the
 * done list and are delivered at the end of process(), one at a time, so
 * a callback may start or cancel queries freely. process() delivers only
 * what had finished when delivery began; a query a callback starts is
 * delivered by the next call, so process() always returns.
 *
 * The optional answer cache (mailsec_resolver_set_cache()) keeps copies
 * of ANSWER, NXDOMAIN and NODATA results by (lowercased name, type) in a
 * chained hash table with a bounded entry count. A fresh entry answers a
 * query at once, through the done list, like a backend finishing inside
 * start(); every result a backend finishes is offered to the cache.
 *
 * The cache holds shared results (struct dns_shared): one allocation
 * with a reference count in front of the public struct, the records and
 * every string after it, never written once built. Queries started with
 * mailsec_resolver_query_shared() are handed that object itself; the
 * others get their own deep copy, as before.
 */
#include <errno.h>
#include <stdio.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dns/dns_int.h"

#define MS_DNS_CACHE_MAX_TTL 86400u	/* seconds: a day at most */
#define MS_DNS_CACHE_NEG_TTL 60u	/* NXDOMAIN/NODATA, seconds */
#define MS_DNS_CACHE_MAX_BUCKETS ((size_t)1 << 22)
#define MS_DNS_CACHE_SWEEP 8		/* oldest entries looked at for
					   expiry when the cache is full */

/* A shared result: refs, then the result; its rrs array and strings
 * follow in the same allocation. */
struct dns_shared {
	size_t refs;
	struct mailsec_dns_result res;
};

struct cache_entry {
	uint64_t hash;
	uint16_t type;
	char *key;			/* lowercased name */
	uint64_t stored;		/* ms_monotonic_ms() at insertion */
	uint64_t expires;		/* ms_monotonic_ms() value */
	const struct mailsec_dns_result *res; /* shared, one reference */
	struct cache_entry *chain;	/* next in the bucket */
	struct cache_entry *older, *newer; /* insertion order */
};

struct dns_cache {
	size_t max;
	size_t count;
	size_t nbuckets;		/* a power of two */
	struct cache_entry **buckets;
	struct cache_entry *oldest, *newest;
};

struct mailsec_resolver {
	const struct ms_dns_backend *ops;
	void *impl;
	unsigned timeout_ms;
	uint64_t next_id;
	uint64_t queries;
	size_t npending;		/* on either list */
	struct ms_dns_query *pending;	/* started, not finished */
	struct ms_dns_query *done;	/* finished, not delivered (FIFO) */
	struct ms_dns_query *done_tail;
	struct ms_dns_query *batch;	/* being delivered by process() */
	unsigned delivered;		/* callbacks run, for _wait() */
	struct dns_cache cache;		/* max 0: off */
	uint64_t cache_hits;
};

static void query_done(struct ms_dns_query *q);

static const char *const status_names[] = {
	"answer", "nxdomain", "nodata", "timeout", "servfail"
};

static const struct {
	uint16_t type;
	const char *name;
} type_names[] = {
	{ MAILSEC_DNS_A, "A" }, { MAILSEC_DNS_NS, "NS" },
	{ MAILSEC_DNS_CNAME, "CNAME" }, { MAILSEC_DNS_PTR, "PTR" },
	{ MAILSEC_DNS_MX, "MX" }, { MAILSEC_DNS_TXT, "TXT" },
	{ MAILSEC_DNS_AAAA, "AAAA" }, { MAILSEC_DNS_TLSA, "TLSA" },
	{ MAILSEC_DNS_SPF, "SPF" },
};

bool
mailsec_dns_status_is_temporary(enum mailsec_dns_status s)
{
	return s == MAILSEC_DNS_TIMEOUT || s == MAILSEC_DNS_SERVFAIL;
}

const char *
mailsec_dns_status_name(enum mailsec_dns_status s)
{
	if ((unsigned)s >= MS_ARRAY_LEN(status_names))
		return "unknown";
	return status_names[s];
}

const char *
mailsec_dns_type_name(uint16_t type)
{
	size_t i;

	for (i = 0; i < MS_ARRAY_LEN(type_names); i++)
		if (type_names[i].type == type)
			return type_names[i].name;
	return NULL;
}

uint16_t
mailsec_dns_type_parse(const char *name)
{
	size_t i, len = strlen(name);
	unsigned long v = 0;

	for (i = 0; i < MS_ARRAY_LEN(type_names); i++)
		if (ms_ascii_eqz(name, len, type_names[i].name))
			return type_names[i].type;
	/* RFC 3597 generic form: TYPE<n> */
	if (len > 4 && len <= 9 && ms_ascii_eq(name, 4, "TYPE", 4)) {
		for (i = 4; i < len; i++) {
			if (!ms_isdigit((unsigned char)name[i]))
				return 0;
			v = v * 10 + (unsigned long)(name[i] - '0');
		}
		if (v > 0 && v <= 65535)
			return (uint16_t)v;
	}
	return 0;
}

uint64_t
ms_monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void
ms_dns_rr_cleanup(struct mailsec_dns_rr *rr)
{
	switch (rr->type) {
	case MAILSEC_DNS_MX:
		free(rr->u.mx.exchange);
		rr->u.mx.exchange = NULL;
		break;
	case MAILSEC_DNS_NS:
	case MAILSEC_DNS_CNAME:
	case MAILSEC_DNS_PTR:
		free(rr->u.name);
		rr->u.name = NULL;
		break;
	case MAILSEC_DNS_TXT:
	case MAILSEC_DNS_SPF:
		free(rr->u.txt.data);
		rr->u.txt.data = NULL;
		break;
	case MAILSEC_DNS_TLSA:
		free(rr->u.tlsa.data);
		rr->u.tlsa.data = NULL;
		break;
	default:
		break;
	}
}

void
mailsec_dns_result_free(struct mailsec_dns_result *res)
{
	size_t i;

	if (res == NULL)
		return;
	for (i = 0; i < res->count; i++)
		ms_dns_rr_cleanup(&res->rrs[i]);
	free(res->rrs);
	free(res->qname);
	free(res->canonical);
	free(res);
}

struct mailsec_dns_result *
ms_dns_result_new(const char *qname, uint16_t qtype,
    enum mailsec_dns_status status)
{
	struct mailsec_dns_result *res;

	res = calloc(1, sizeof *res);
	if (res == NULL)
		return NULL;
	res->status = status;
	res->qtype = qtype;
	res->qname = ms_memdupz(qname, strlen(qname));
	res->canonical = ms_memdupz(qname, strlen(qname));
	if (res->qname == NULL || res->canonical == NULL) {
		mailsec_dns_result_free(res);
		return NULL;
	}
	return res;
}

mailsec_err
ms_dns_result_add(struct mailsec_dns_result *res, struct mailsec_dns_rr *rr)
{
	struct mailsec_dns_rr *n;

	n = ms_reallocarray(res->rrs, res->count + 1, sizeof *n);
	if (n == NULL) {
		ms_dns_rr_cleanup(rr);
		return MAILSEC_ENOMEM;
	}
	res->rrs = n;
	res->rrs[res->count++] = *rr;
	res->status = MAILSEC_DNS_ANSWER;
	return MAILSEC_OK;
}

mailsec_err
ms_dns_name_check(const char *name, size_t *outlen)
{
	size_t len = strlen(name), i, label = 0, octets = 0, slashes = 0;
	unsigned v;

	/* a final dot ends the name unless a backslash escapes it */
	for (i = len; i >= 2 && name[i - 2] == '\\'; i--)
		slashes++;
	if (len > 0 && name[len - 1] == '.' && slashes % 2 == 0)
		len--;
	/* limits count wire octets (RFC 1035 2.3.4): \DDD and \X are one */
	for (i = 0; i < len; i++) {
		if (name[i] == '.') {
			/* empty labels ("a..b", ".a") are not names */
			if (label == 0)
				return MAILSEC_EINVAL;
			label = 0;
			octets++;
			continue;
		}
		if (name[i] == '\\') {
			if (i + 1 >= len)
				return MAILSEC_EINVAL;
			if (i + 3 < len && ms_isdigit((unsigned char)name[i + 1])) {
				if (!ms_isdigit((unsigned char)name[i + 2]) ||
				    !ms_isdigit((unsigned char)name[i + 3]))
					return MAILSEC_EINVAL;
				v = (unsigned)(name[i + 1] - '0') * 100 +
				    (unsigned)(name[i + 2] - '0') * 10 +
				    (unsigned)(name[i + 3] - '0');
				if (v > 255)
					return MAILSEC_EINVAL;
				i += 3;
			} else if (ms_isdigit((unsigned char)name[i + 1])) {
				return MAILSEC_EINVAL;	/* short \DD */
			} else {
				i++;
			}
		}
		if (++label > MS_DNS_MAX_LABEL || ++octets > MS_DNS_MAX_NAME)
			return MAILSEC_EINVAL;
	}
	*outlen = len;
	return MAILSEC_OK;
}

mailsec_err
ms_dns_name_dup(const char *name, char **out)
{
	mailsec_err err;
	size_t len;

	if ((err = ms_dns_name_check(name, &len)) != MAILSEC_OK)
		return err;
	*out = ms_memdupz(name, len);
	return *out != NULL ? MAILSEC_OK : MAILSEC_ENOMEM;
}

/* A copy of len bytes at p plus a NUL, or NULL; *ok false on ENOMEM. A
 * NULL p stays NULL. */
static void *
dup_or_null(const void *p, size_t len, bool *ok)
{
	char *d;

	if (p == NULL)
		return NULL;
	d = ms_memdupz(p, len);
	if (d == NULL)
		*ok = false;
	return d;
}

/* Copies the pointers inside src into dst (dst becomes a copy). */
static mailsec_err
rr_dup(struct mailsec_dns_rr *dst, const struct mailsec_dns_rr *src)
{
	bool ok = true;

	*dst = *src;
	switch (src->type) {
	case MAILSEC_DNS_MX:
		dst->u.mx.exchange = dup_or_null(src->u.mx.exchange,
		    src->u.mx.exchange != NULL ?
		    strlen(src->u.mx.exchange) : 0, &ok);
		break;
	case MAILSEC_DNS_NS:
	case MAILSEC_DNS_CNAME:
	case MAILSEC_DNS_PTR:
		dst->u.name = dup_or_null(src->u.name, src->u.name != NULL ?
		    strlen(src->u.name) : 0, &ok);
		break;
	case MAILSEC_DNS_TXT:
	case MAILSEC_DNS_SPF:
		dst->u.txt.data = dup_or_null(src->u.txt.data, src->u.txt.len,
		    &ok);
		break;
	case MAILSEC_DNS_TLSA:
		dst->u.tlsa.data = dup_or_null(src->u.tlsa.data,
		    src->u.tlsa.len, &ok);
		break;
	default:
		break;
	}
	return ok ? MAILSEC_OK : MAILSEC_ENOMEM;
}

struct mailsec_dns_result *
mailsec_dns_result_dup(const struct mailsec_dns_result *res)
{
	struct mailsec_dns_result *d;
	size_t i;

	if (res == NULL)
		return NULL;
	d = calloc(1, sizeof *d);
	if (d == NULL)
		return NULL;
	d->status = res->status;
	d->qtype = res->qtype;
	d->secure = res->secure;
	d->bogus = res->bogus;
	memcpy(d->why, res->why, sizeof d->why);
	d->why[sizeof d->why - 1] = '\0';
	if (res->qname != NULL && (d->qname = ms_memdupz(res->qname,
	    strlen(res->qname))) == NULL)
		goto fail;
	if (res->canonical != NULL && (d->canonical =
	    ms_memdupz(res->canonical, strlen(res->canonical))) == NULL)
		goto fail;
	if (res->count > 0) {
		d->rrs = ms_calloc(res->count, sizeof *d->rrs);
		if (d->rrs == NULL)
			goto fail;
		for (i = 0; i < res->count; i++) {
			if (rr_dup(&d->rrs[i], &res->rrs[i]) != MAILSEC_OK) {
				/* the pointer that failed is NULL */
				d->count = i + 1;
				goto fail;
			}
		}
		d->count = res->count;
	}
	return d;
fail:
	mailsec_dns_result_free(d);
	return NULL;
}

/* ---- shared results ---------------------------------------------------- */

/* Bytes of the string or data an rr points to (NUL added), 0 for none. */
static size_t
rr_extra(const struct mailsec_dns_rr *rr)
{
	switch (rr->type) {
	case MAILSEC_DNS_MX:
		return rr->u.mx.exchange ? strlen(rr->u.mx.exchange) + 1 : 0;
	case MAILSEC_DNS_NS:
	case MAILSEC_DNS_CNAME:
	case MAILSEC_DNS_PTR:
		return rr->u.name ? strlen(rr->u.name) + 1 : 0;
	case MAILSEC_DNS_TXT:
	case MAILSEC_DNS_SPF:
		return rr->u.txt.data ? rr->u.txt.len + 1 : 0;
	case MAILSEC_DNS_TLSA:
		return rr->u.tlsa.data ? rr->u.tlsa.len + 1 : 0;
	default:
		return 0;
	}
}

/* Copies n bytes of src to *at, adds a NUL, advances *at. */
static char *
flat_put(char **at, const void *src, size_t n)
{
	char *d = *at;

	memcpy(d, src, n);
	d[n] = '\0';
	*at = d + n + 1;
	return d;
}

/* A shared copy of res (one allocation, refs 1), or NULL (ENOMEM or a
 * size that does not add up). */
static const struct mailsec_dns_result *
shared_new(const struct mailsec_dns_result *res)
{
	struct dns_shared *sh;
	struct mailsec_dns_result *d;
	size_t total = sizeof *sh, rrsz, i, n;
	size_t qlen = res->qname ? strlen(res->qname) : 0;
	size_t clen = res->canonical ? strlen(res->canonical) : 0;
	char *at;

	if (!ms_size_mul(res->count, sizeof *res->rrs, &rrsz) ||
	    !ms_size_add(total, rrsz, &total) ||
	    !ms_size_add(total, qlen + 1, &total) ||
	    !ms_size_add(total, clen + 1, &total))
		return NULL;
	for (i = 0; i < res->count; i++)
		if (!ms_size_add(total, rr_extra(&res->rrs[i]), &total))
			return NULL;
	if ((sh = malloc(total)) == NULL)
		return NULL;
	sh->refs = 1;
	d = &sh->res;
	*d = *res;
	d->why[sizeof d->why - 1] = '\0';
	d->rrs = res->count ? (struct mailsec_dns_rr *)(sh + 1) : NULL;
	at = (char *)(sh + 1) + rrsz;
	d->qname = res->qname ? flat_put(&at, res->qname, qlen) : NULL;
	d->canonical = res->canonical ? flat_put(&at, res->canonical, clen) :
	    NULL;
	for (i = 0; i < res->count; i++) {
		const struct mailsec_dns_rr *src = &res->rrs[i];
		struct mailsec_dns_rr *dst = &d->rrs[i];

		*dst = *src;
		if ((n = rr_extra(src)) == 0)
			continue;
		switch (src->type) {
		case MAILSEC_DNS_MX:
			dst->u.mx.exchange = flat_put(&at, src->u.mx.exchange,
			    n - 1);
			break;
		case MAILSEC_DNS_NS:
		case MAILSEC_DNS_CNAME:
		case MAILSEC_DNS_PTR:
			dst->u.name = flat_put(&at, src->u.name, n - 1);
			break;
		case MAILSEC_DNS_TXT:
		case MAILSEC_DNS_SPF:
			dst->u.txt.data = flat_put(&at, src->u.txt.data, n - 1);
			break;
		case MAILSEC_DNS_TLSA:
			dst->u.tlsa.data = (uint8_t *)flat_put(&at,
			    src->u.tlsa.data, n - 1);
			break;
		default:
			break;
		}
	}
	return d;
}

static struct dns_shared *
shared_of(const struct mailsec_dns_result *res)
{
	return (struct dns_shared *)(void *)((char *)(uintptr_t)res -
	    offsetof(struct dns_shared, res));
}

const struct mailsec_dns_result *
mailsec_dns_result_ref(const struct mailsec_dns_result *res)
{
	if (res != NULL)
		shared_of(res)->refs++;
	return res;
}

void
mailsec_dns_result_unref(const struct mailsec_dns_result *res)
{
	struct dns_shared *sh;

	if (res == NULL)
		return;
	sh = shared_of(res);
	if (--sh->refs == 0)
		free(sh);
}

/* ---- answer cache ------------------------------------------------------ */

/* FNV-1a over the lowercased name and the type. */
static uint64_t
cache_hash(const char *name, uint16_t type)
{
	uint64_t h = 14695981039346656037u;
	const unsigned char *p;

	for (p = (const unsigned char *)name; *p != '\0'; p++) {
		h ^= (unsigned char)ms_tolower(*p);
		h *= 1099511628211u;
	}
	h ^= type & 0xffu;
	h *= 1099511628211u;
	h ^= type >> 8;
	h *= 1099511628211u;
	return h;
}

static bool
cache_key_eq(const struct cache_entry *e, uint64_t hash, const char *name,
    uint16_t type)
{
	return e->hash == hash && e->type == type &&
	    ms_ascii_eqz(name, strlen(name), e->key);
}

static void
cache_entry_remove(struct dns_cache *c, struct cache_entry *e)
{
	struct cache_entry **pp;

	pp = &c->buckets[e->hash & (c->nbuckets - 1)];
	while (*pp != e)
		pp = &(*pp)->chain;
	*pp = e->chain;
	if (e->older != NULL)
		e->older->newer = e->newer;
	else
		c->oldest = e->newer;
	if (e->newer != NULL)
		e->newer->older = e->older;
	else
		c->newest = e->older;
	c->count--;
	mailsec_dns_result_unref(e->res);
	free(e->key);
	free(e);
}

static void
cache_clear(struct dns_cache *c)
{
	while (c->oldest != NULL)
		cache_entry_remove(c, c->oldest);
	free(c->buckets);
	c->buckets = NULL;
	c->nbuckets = 0;
	c->max = 0;
}

static struct cache_entry *
cache_find(struct dns_cache *c, uint64_t hash, const char *name,
    uint16_t type)
{
	struct cache_entry *e;

	for (e = c->buckets[hash & (c->nbuckets - 1)]; e != NULL;
	    e = e->chain)
		if (cache_key_eq(e, hash, name, type))
			return e;
	return NULL;
}

/* How long res may be kept, in seconds; 0: not at all. */
static uint32_t
cache_ttl(const struct mailsec_dns_result *res)
{
	uint32_t ttl = MS_DNS_CACHE_MAX_TTL;
	size_t i;

	switch (res->status) {
	case MAILSEC_DNS_ANSWER:
		if (res->count == 0)
			return 0;
		for (i = 0; i < res->count; i++)
			if (res->rrs[i].ttl < ttl)
				ttl = res->rrs[i].ttl;
		return ttl;
	case MAILSEC_DNS_NXDOMAIN:
	case MAILSEC_DNS_NODATA:
		return MS_DNS_CACHE_NEG_TTL;
	default:
		return 0;
	}
}

/* Makes room for one entry: expired ones among the oldest first, else
 * the oldest. */
static void
cache_make_room(struct dns_cache *c, uint64_t now)
{
	struct cache_entry *e, *next;
	unsigned n;

	if (c->count < c->max)
		return;
	for (e = c->oldest, n = 0; e != NULL && n < MS_DNS_CACHE_SWEEP;
	    e = next, n++) {
		next = e->newer;
		if (e->expires <= now)
			cache_entry_remove(c, e);
	}
	if (c->count >= c->max && c->oldest != NULL)
		cache_entry_remove(c, c->oldest);
}

/*
 * Keeps a shared copy of res for (name, type) if the cache is on and res
 * may be cached, and returns it (borrowed: the cache's reference), or
 * NULL (not kept; ENOMEM only means no entry). now: ms_monotonic_ms().
 */
static const struct mailsec_dns_result *
cache_store(struct mailsec_resolver *r, const char *name, uint16_t type,
    const struct mailsec_dns_result *res, uint64_t now)
{
	struct dns_cache *c = &r->cache;
	struct cache_entry *e, *old;
	uint64_t hash;
	uint32_t ttl;
	size_t i, len;

	if (c->max == 0 || res == NULL || (ttl = cache_ttl(res)) == 0)
		return NULL;
	hash = cache_hash(name, type);
	old = cache_find(c, hash, name, type);
	if (old != NULL)
		cache_entry_remove(c, old);
	e = calloc(1, sizeof *e);
	if (e == NULL)
		return NULL;
	len = strlen(name);
	e->key = ms_memdupz(name, len);
	e->res = shared_new(res);
	if (e->key == NULL || e->res == NULL) {
		mailsec_dns_result_unref(e->res);
		free(e->key);
		free(e);
		return NULL;
	}
	for (i = 0; i < len; i++)
		e->key[i] = (char)ms_tolower((unsigned char)e->key[i]);
	e->hash = hash;
	e->type = type;
	e->stored = now;
	e->expires = now + (uint64_t)ttl * 1000u;
	cache_make_room(c, now);
	e->chain = c->buckets[hash & (c->nbuckets - 1)];
	c->buckets[hash & (c->nbuckets - 1)] = e;
	e->older = c->newest;
	if (c->newest != NULL)
		c->newest->newer = e;
	else
		c->oldest = e;
	c->newest = e;
	c->count++;
	return e->res;
}

/* The fresh entry for (q->name, q->type), or NULL (none or expired; an
 * expired one is dropped). now: ms_monotonic_ms(). */
static struct cache_entry *
cache_fresh(struct mailsec_resolver *r, const struct ms_dns_query *q,
    uint64_t now)
{
	struct dns_cache *c = &r->cache;
	struct cache_entry *e;

	if (c->max == 0)
		return NULL;
	e = cache_find(c, cache_hash(q->name, q->type), q->name, q->type);
	if (e == NULL)
		return NULL;
	if (e->expires <= now) {
		cache_entry_remove(c, e);
		return NULL;
	}
	return e;
}

/*
 * A copy of entry e for query q, its TTLs lowered by the time spent in
 * the cache, or NULL (ENOMEM).
 */
static struct mailsec_dns_result *
cache_copy(const struct cache_entry *e, const struct ms_dns_query *q,
    uint64_t now)
{
	struct mailsec_dns_result *res;
	uint32_t age;
	size_t i;
	char *qname;

	res = mailsec_dns_result_dup(e->res);
	qname = ms_memdupz(q->name, strlen(q->name));
	if (res == NULL || qname == NULL) {
		mailsec_dns_result_free(res);
		free(qname);
		return NULL;
	}
	/* the name as this caller asked it; the canonical name too when
	 * no CNAME led elsewhere */
	if (res->canonical != NULL && res->qname != NULL &&
	    ms_ascii_eqz(res->canonical, strlen(res->canonical), res->qname)) {
		char *canon = ms_memdupz(q->name, strlen(q->name));

		if (canon == NULL) {
			mailsec_dns_result_free(res);
			free(qname);
			return NULL;
		}
		free(res->canonical);
		res->canonical = canon;
	}
	free(res->qname);
	res->qname = qname;
	age = (uint32_t)((now - e->stored) / 1000u);
	for (i = 0; i < res->count; i++)
		res->rrs[i].ttl = res->rrs[i].ttl > age ?
		    res->rrs[i].ttl - age : 0;
	return res;
}

mailsec_err
mailsec_resolver_set_cache(struct mailsec_resolver *r, size_t max_entries)
{
	struct dns_cache *c;
	size_t n = 1;

	if (r == NULL)
		return MAILSEC_EINVAL;
	c = &r->cache;
	cache_clear(c);
	if (max_entries == 0)
		return MAILSEC_OK;
	while (n < max_entries && n < MS_DNS_CACHE_MAX_BUCKETS)
		n <<= 1;
	c->buckets = ms_calloc(n, sizeof *c->buckets);
	if (c->buckets == NULL)
		return MAILSEC_ENOMEM;
	c->nbuckets = n;
	c->max = max_entries;
	return MAILSEC_OK;
}

size_t
mailsec_resolver_cache_size(const struct mailsec_resolver *r)
{
	return r->cache.count;
}

uint64_t
mailsec_resolver_cache_hits(const struct mailsec_resolver *r)
{
	return r->cache_hits;
}

mailsec_err
ms_resolver_new(const struct ms_dns_backend *ops, void *impl,
    struct mailsec_resolver **out)
{
	struct mailsec_resolver *r;

	r = calloc(1, sizeof *r);
	if (r == NULL) {
		ops->free(impl);
		return MAILSEC_ENOMEM;
	}
	r->ops = ops;
	r->impl = impl;
	r->timeout_ms = MS_DNS_DEFAULT_TIMEOUT_MS;
	r->next_id = 1;
	*out = r;
	return MAILSEC_OK;
}

static void
query_free(struct ms_dns_query *q)
{
	mailsec_dns_result_free(q->res);
	mailsec_dns_result_unref(q->sres);
	free(q);
}

static void
list_unlink(struct ms_dns_query **head, struct ms_dns_query *q)
{
	if (q->prev != NULL)
		q->prev->next = q->next;
	else
		*head = q->next;
	if (q->next != NULL)
		q->next->prev = q->prev;
	q->prev = q->next = NULL;
}

void
mailsec_resolver_free(struct mailsec_resolver *r)
{
	struct ms_dns_query *q;

	if (r == NULL)
		return;
	while ((q = r->pending) != NULL) {
		list_unlink(&r->pending, q);
		r->ops->cancel(r->impl, q);
		query_free(q);
	}
	while ((q = r->done) != NULL) {
		r->done = q->next;
		query_free(q);
	}
	cache_clear(&r->cache);
	r->ops->free(r->impl);
	free(r);
}

const char *
mailsec_resolver_backend(const struct mailsec_resolver *r)
{
	return r->ops->name;
}

void
mailsec_resolver_set_timeout(struct mailsec_resolver *r, unsigned ms)
{
	r->timeout_ms = ms != 0 ? ms : MS_DNS_DEFAULT_TIMEOUT_MS;
}

static mailsec_err
query_start(struct mailsec_resolver *r, const char *name, uint16_t type,
    mailsec_dns_cb cb, mailsec_dns_shared_cb scb, void *arg, uint64_t *qid)
{
	struct ms_dns_query *q;
	struct cache_entry *e;
	mailsec_err err;
	uint64_t now;
	size_t len, sz;

	if (r == NULL || name == NULL || (cb == NULL && scb == NULL) ||
	    type == 0)
		return MAILSEC_EINVAL;
	if ((err = ms_dns_name_check(name, &len)) != MAILSEC_OK)
		return err;
	/* the name lives after q, in the same allocation */
	sz = sizeof *q + len + 1;
	if ((q = calloc(1, sz)) == NULL)
		return MAILSEC_ENOMEM;
	q->name = (char *)(q + 1);
	memcpy(q->name, name, len);
	q->name[len] = '\0';
	now = ms_monotonic_ms();
	q->id = r->next_id++;
	q->type = type;
	q->cb = cb;
	q->scb = scb;
	q->arg = arg;
	q->r = r;
	q->deadline = now + r->timeout_ms;
	q->next = r->pending;
	if (r->pending != NULL)
		r->pending->prev = q;
	r->pending = q;
	r->npending++;
	if ((e = cache_fresh(r, q, now)) != NULL) {
		r->cache_hits++;
		if (scb != NULL)
			q->sres = mailsec_dns_result_ref(e->res);
		else
			q->res = cache_copy(e, q, now);
		/* a copy that failed ends the query without a callback,
		 * as a backend's result that could not be allocated */
		query_done(q);
		err = MAILSEC_OK;
	} else {
		err = r->ops->start(r->impl, q);
	}
	if (err != MAILSEC_OK) {
		/* a backend that failed may still have finished it */
		if (!q->finished) {
			list_unlink(&r->pending, q);
		} else {
			if (r->done_tail == q)
				r->done_tail = q->prev;
			list_unlink(&r->done, q);
		}
		r->npending--;
		query_free(q);
		return err;
	}
	r->queries++;
	if (qid != NULL)
		*qid = q->id;
	return MAILSEC_OK;
}

mailsec_err
mailsec_resolver_query(struct mailsec_resolver *r, const char *name,
    uint16_t type, mailsec_dns_cb cb, void *arg, uint64_t *qid)
{
	if (cb == NULL)
		return MAILSEC_EINVAL;
	return query_start(r, name, type, cb, NULL, arg, qid);
}

mailsec_err
mailsec_resolver_query_shared(struct mailsec_resolver *r, const char *name,
    uint16_t type, mailsec_dns_shared_cb cb, void *arg, uint64_t *qid)
{
	if (cb == NULL)
		return MAILSEC_EINVAL;
	return query_start(r, name, type, NULL, cb, arg, qid);
}

/* Moves q, finished (q->res or q->sres set), from the pending to the
 * done list. */
static void
query_done(struct ms_dns_query *q)
{
	struct mailsec_resolver *r = q->r;

	q->finished = true;
	list_unlink(&r->pending, q);
	if (r->done_tail != NULL) {
		r->done_tail->next = q;
		q->prev = r->done_tail;
	} else {
		r->done = q;
	}
	r->done_tail = q;
}

void
ms_dns_finish(struct ms_dns_query *q, struct mailsec_dns_result *res)
{
	const struct mailsec_dns_result *kept = NULL;

	if (res == NULL) {
		res = ms_dns_result_new(q->name, q->type, MAILSEC_DNS_SERVFAIL);
		if (res != NULL)
			snprintf(res->why, sizeof res->why, "out of memory");
	} else {
		kept = cache_store(q->r, q->name, q->type, res,
		    ms_monotonic_ms());
	}
	if (q->scb != NULL) {
		/* the cache's object if it kept one, else a shared copy;
		 * NULL (ENOMEM) ends the query without a callback */
		q->sres = kept != NULL ? mailsec_dns_result_ref(kept) :
		    res != NULL ? shared_new(res) : NULL;
		mailsec_dns_result_free(res);
	} else {
		q->res = res;
	}
	query_done(q);
}

void
mailsec_resolver_cancel(struct mailsec_resolver *r, uint64_t qid)
{
	struct ms_dns_query *q;

	for (q = r->pending; q != NULL; q = q->next) {
		if (q->id == qid) {
			list_unlink(&r->pending, q);
			r->ops->cancel(r->impl, q);
			r->npending--;
			query_free(q);
			return;
		}
	}
	for (q = r->done; q != NULL; q = q->next) {
		if (q->id == qid) {
			if (r->done_tail == q)
				r->done_tail = q->prev;
			list_unlink(&r->done, q);
			r->npending--;
			query_free(q);
			return;
		}
	}
	for (q = r->batch; q != NULL; q = q->next) {
		if (q->id == qid) {
			list_unlink(&r->batch, q);
			r->npending--;
			query_free(q);
			return;
		}
	}
}

/* Whether qid is still to be delivered. */
static bool
query_known(const struct mailsec_resolver *r, uint64_t qid)
{
	const struct ms_dns_query *const lists[] = {
		r->pending, r->done, r->batch
	};
	const struct ms_dns_query *q;
	size_t i;

	for (i = 0; i < MS_ARRAY_LEN(lists); i++)
		for (q = lists[i]; q != NULL; q = q->next)
			if (q->id == qid)
				return true;
	return false;
}

int
mailsec_resolver_fd(const struct mailsec_resolver *r)
{
	return r->ops->fd(r->impl);
}

int
mailsec_resolver_next_timeout(const struct mailsec_resolver *r)
{
	const struct ms_dns_query *q;
	uint64_t now, first = UINT64_MAX;

	if (r->done != NULL)
		return 0;
	for (q = r->pending; q != NULL; q = q->next)
		if (q->deadline < first)
			first = q->deadline;
	if (first == UINT64_MAX)
		return -1;
	now = ms_monotonic_ms();
	if (first <= now)
		return 0;
	return first - now > INT32_MAX ? INT32_MAX : (int)(first - now);
}

static void
expire(struct mailsec_resolver *r)
{
	struct ms_dns_query *q, *next;
	struct mailsec_dns_result *res;
	uint64_t now = ms_monotonic_ms();

	for (q = r->pending; q != NULL; q = next) {
		next = q->next;
		if (q->deadline > now)
			continue;
		r->ops->cancel(r->impl, q);
		res = ms_dns_result_new(q->name, q->type, MAILSEC_DNS_TIMEOUT);
		if (res != NULL)
			snprintf(res->why, sizeof res->why,
			    "no answer within %u ms", r->timeout_ms);
		ms_dns_finish(q, res);
	}
}

/*
 * Delivers what is done. backend: let the backend finish what arrived
 * and expire late queries first (process() always does; _wait() skips
 * it while no query is with the backend, so answers from the cache do
 * not cost a system call each).
 */
static mailsec_err
deliver(struct mailsec_resolver *r, bool backend)
{
	struct ms_dns_query *q;
	struct mailsec_dns_result *res;
	mailsec_err err = MAILSEC_OK;

	if (backend) {
		err = r->ops->process(r->impl);
		expire(r);
	}
	r->batch = r->done;
	r->done = r->done_tail = NULL;
	while ((q = r->batch) != NULL) {
		r->batch = q->next;
		if (r->batch != NULL)
			r->batch->prev = NULL;
		r->npending--;
		if (q->scb != NULL) {
			if (q->sres != NULL)
				q->scb(q->arg, q->sres);
		} else {
			res = q->res;
			q->res = NULL;
			if (res != NULL)
				q->cb(q->arg, res);
		}
		r->delivered++;
		query_free(q);
	}
	return err;
}

mailsec_err
mailsec_resolver_process(struct mailsec_resolver *r)
{
	return deliver(r, true);
}

mailsec_err
mailsec_resolver_wait(struct mailsec_resolver *r, int timeout_ms)
{
	struct pollfd pfd;
	unsigned before = r->delivered;
	uint64_t end = 0;
	int t, left;
	mailsec_err err;

	if (timeout_ms >= 0)
		end = ms_monotonic_ms() + (uint64_t)timeout_ms;
	for (;;) {
		/* Nothing with the backend: no answer can be waiting there
		 * that we wait for (a cancelled query's late answer stays
		 * in the backend until the next real process()). */
		err = deliver(r, r->pending != NULL);
		if (err != MAILSEC_OK || r->delivered != before)
			return err;
		if (r->npending == 0)
			return MAILSEC_OK;
		t = mailsec_resolver_next_timeout(r);
		if (timeout_ms >= 0) {
			uint64_t now = ms_monotonic_ms();

			if (now >= end)
				return MAILSEC_OK;
			left = end - now > INT32_MAX ? INT32_MAX
			    : (int)(end - now);
			if (t < 0 || left < t)
				t = left;
		}
		pfd.fd = mailsec_resolver_fd(r);
		pfd.events = POLLIN;
		pfd.revents = 0;
		/* no descriptor: just sleep until the next deadline */
		if (poll(&pfd, pfd.fd >= 0 ? 1 : 0, t) < 0 && errno != EINTR)
			return MAILSEC_EIO;
	}
}

size_t
mailsec_resolver_pending(const struct mailsec_resolver *r)
{
	return r->npending;
}

uint64_t
mailsec_resolver_query_count(const struct mailsec_resolver *r)
{
	return r->queries;
}

void
mailsec_resolver_reset_query_count(struct mailsec_resolver *r)
{
	r->queries = 0;
}

struct sync_ctx {
	struct mailsec_dns_result *res;
	bool done;
};

static void
sync_cb(void *arg, struct mailsec_dns_result *res)
{
	struct sync_ctx *s = arg;

	s->res = res;
	s->done = true;
}

mailsec_err
mailsec_dns_lookup(struct mailsec_resolver *r, const char *name,
    uint16_t type, struct mailsec_dns_result **out)
{
	struct sync_ctx s = { NULL, false };
	uint64_t qid;
	mailsec_err err;

	err = mailsec_resolver_query(r, name, type, sync_cb, &s, &qid);
	if (err != MAILSEC_OK)
		return err;
	/* a query whose result could not be allocated ends without a
	 * callback: stop waiting once the resolver no longer knows it */
	while (!s.done && query_known(r, qid)) {
		err = mailsec_resolver_wait(r, -1);
		if (err != MAILSEC_OK) {
			mailsec_resolver_cancel(r, qid);
			return err;
		}
	}
	if (!s.done || s.res == NULL)
		return MAILSEC_ENOMEM;
	*out = s.res;
	return MAILSEC_OK;
}

mailsec_err
mailsec_resolver_new_from_args(const char *forward, const char *zone_file,
    struct mailsec_resolver **out, struct mailsec_diag *diag)
{
	struct mailsec_unbound_opts o = { forward, false, NULL };

	if (zone_file != NULL)
		return mailsec_resolver_new_zone_file(zone_file, out, diag);
	return mailsec_resolver_new_unbound(&o, out, diag);
}
