/*
 * lib/dkim/keycache.c - DKIM key records and decoded public keys by name
 * ("selector._domainkey.domain"), kept for their DNS TTL. Decoding an RSA
 * key costs more than the verification itself, so a gateway keeps them.
 * Chained hash table plus a FIFO list for eviction; one thread.
 *
 * Negative answers (NXDOMAIN, NODATA, no TXT record) are kept too, so a
 * flood of mail signed with a missing selector costs one query per
 * negative TTL, not one per message (RFC 2308 5). The DNS layer's results
 * carry no SOA, so the negative TTL is the cache's setting (default 60 s,
 * at most an hour), not the zone's SOA minimum. Temporary failures
 * (timeout, SERVFAIL) are never kept.
 */
#include <stdlib.h>
#include <string.h>

#include "dkim/dkim_int.h"

#define KC_BUCKETS	1024
#define KC_DEFAULT_MAX	4096
#define KC_MAX_TTL	86400	/* a day, whatever the zone says */
#define KC_NEG_TTL	60	/* negative answers, by default */
#define KC_MAX_NEG_TTL	3600	/* RFC 2308 5: one to three hours work
				   well; a key published later should not
				   wait longer than this */

struct kc_entry {
	struct kc_entry *next;		/* hash chain */
	struct kc_entry *older, *newer;	/* FIFO, for eviction */
	char *name;			/* lower case */
	char *text;		/* NULL for a negative entry */
	size_t len;
	enum mailsec_dns_status status;	/* negative: NXDOMAIN or NODATA */
	EVP_PKEY *pkey;
	EVP_MD_CTX *vtmpl;		/* verification set up for pkey */
	time_t expires;
	uint32_t hash;
};

struct mailsec_dkim_keycache {
	struct kc_entry *buckets[KC_BUCKETS];
	struct kc_entry *oldest, *newest;
	size_t count, max;
	uint32_t neg_ttl;
	uint64_t hits;
};

static uint32_t
kc_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (uint32_t)ms_tolower((unsigned char)*s)) * 16777619u;
	return h;
}

mailsec_err
mailsec_dkim_keycache_new(size_t max, struct mailsec_dkim_keycache **out)
{
	struct mailsec_dkim_keycache *c;

	if (out == NULL)
		return MAILSEC_EINVAL;
	if ((c = calloc(1, sizeof *c)) == NULL)
		return MAILSEC_ENOMEM;
	c->max = max ? max : KC_DEFAULT_MAX;
	c->neg_ttl = KC_NEG_TTL;
	*out = c;
	return MAILSEC_OK;
}

static void
kc_remove(struct mailsec_dkim_keycache *c, struct kc_entry *e)
{
	struct kc_entry **pp = &c->buckets[e->hash % KC_BUCKETS];

	while (*pp != e)
		pp = &(*pp)->next;
	*pp = e->next;
	if (e->older != NULL)
		e->older->newer = e->newer;
	else
		c->oldest = e->newer;
	if (e->newer != NULL)
		e->newer->older = e->older;
	else
		c->newest = e->older;
	c->count--;
	EVP_MD_CTX_free(e->vtmpl);
	EVP_PKEY_free(e->pkey);
	free(e->name);
	free(e->text);
	free(e);
}

void
mailsec_dkim_keycache_free(struct mailsec_dkim_keycache *c)
{
	if (c == NULL)
		return;
	while (c->oldest != NULL)
		kc_remove(c, c->oldest);
	free(c);
}

size_t
mailsec_dkim_keycache_count(const struct mailsec_dkim_keycache *c)
{
	return c == NULL ? 0 : c->count;
}

uint64_t
mailsec_dkim_keycache_hits(const struct mailsec_dkim_keycache *c)
{
	return c == NULL ? 0 : c->hits;
}

void
mailsec_dkim_keycache_set_negative_ttl(struct mailsec_dkim_keycache *c,
    uint32_t seconds)
{
	if (c != NULL)
		c->neg_ttl = seconds > KC_MAX_NEG_TTL ? KC_MAX_NEG_TTL :
		    seconds;
}

static struct kc_entry *
kc_find(struct mailsec_dkim_keycache *c, const char *name, uint32_t h)
{
	struct kc_entry *e;
	size_t n = strlen(name);

	for (e = c->buckets[h % KC_BUCKETS]; e != NULL; e = e->next)
		if (e->hash == h && ms_ascii_eqz(name, n, e->name))
			return e;
	return NULL;
}

bool
ms_dkim_keycache_get(struct mailsec_dkim_keycache *c, const char *name,
    time_t now, const char **text, size_t *len, EVP_PKEY **pkey,
    EVP_MD_CTX **vctx, enum mailsec_dns_status *status)
{
	uint32_t h = kc_hash(name);
	struct kc_entry *e = kc_find(c, name, h);

	if (e == NULL)
		return false;
	if (now >= e->expires) {
		kc_remove(c, e);
		return false;
	}
	c->hits++;
	*status = e->status;
	*text = e->text;
	*len = e->len;
	*pkey = e->pkey;
	/* A copy of the prepared verification: OpenSSL 3's per-call setup
	 * (algorithm fetch, key import) costs as much as the RSA check. */
	*vctx = NULL;
	if (e->vtmpl != NULL && (*vctx = EVP_MD_CTX_new()) != NULL &&
	    EVP_MD_CTX_copy_ex(*vctx, e->vtmpl) != 1) {
		EVP_MD_CTX_free(*vctx);
		*vctx = NULL;
	}
	return true;
}

/* Makes room and links a new entry for name (replacing an old one);
 * NULL when memory ran out (a cache may forget). */
static struct kc_entry *
kc_insert(struct mailsec_dkim_keycache *c, const char *name, time_t now,
    uint32_t ttl)
{
	uint32_t h = kc_hash(name);
	struct kc_entry *e;
	size_t i;

	if ((e = kc_find(c, name, h)) != NULL)
		kc_remove(c, e);
	while (c->count >= c->max && c->oldest != NULL)
		kc_remove(c, c->oldest);
	if ((e = calloc(1, sizeof *e)) == NULL)
		return NULL;
	if ((e->name = ms_memdupz(name, strlen(name))) == NULL) {
		free(e);
		return NULL;
	}
	for (i = 0; e->name[i] != '\0'; i++)
		e->name[i] = (char)ms_tolower((unsigned char)e->name[i]);
	e->expires = now + (time_t)ttl;
	e->hash = h;
	e->next = c->buckets[h % KC_BUCKETS];
	c->buckets[h % KC_BUCKETS] = e;
	e->older = c->newest;
	if (c->newest != NULL)
		c->newest->newer = e;
	else
		c->oldest = e;
	c->newest = e;
	c->count++;
	return e;
}

void
ms_dkim_keycache_put(struct mailsec_dkim_keycache *c, const char *name,
    time_t now, uint32_t ttl, const char *text, size_t len, EVP_PKEY *pkey)
{
	struct kc_entry *e;

	if (ttl == 0)
		return;
	if (ttl > KC_MAX_TTL)
		ttl = KC_MAX_TTL;
	if ((e = kc_insert(c, name, now, ttl)) == NULL)
		return;
	if ((e->text = ms_memdupz(text, len)) == NULL ||
	    (pkey != NULL && EVP_PKEY_up_ref(pkey) != 1)) {
		kc_remove(c, e);
		return;
	}
	e->len = len;
	e->status = MAILSEC_DNS_ANSWER;
	e->pkey = pkey;
	if (pkey != NULL && (e->vtmpl = EVP_MD_CTX_new()) != NULL &&
	    EVP_DigestVerifyInit(e->vtmpl, NULL,
	    EVP_PKEY_get_base_id(pkey) == EVP_PKEY_RSA ? EVP_sha256() : NULL,
	    NULL, pkey) != 1) {
		EVP_MD_CTX_free(e->vtmpl);
		e->vtmpl = NULL;
	}
}

void
ms_dkim_keycache_put_negative(struct mailsec_dkim_keycache *c,
    const char *name, time_t now, enum mailsec_dns_status status)
{
	struct kc_entry *e;

	if (c->neg_ttl == 0 || mailsec_dns_status_is_temporary(status))
		return;
	if ((e = kc_insert(c, name, now, c->neg_ttl)) != NULL)
		e->status = status;
}
