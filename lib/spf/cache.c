/*
 * lib/spf/cache.c - the cache of parsed SPF records (struct
 * mailsec_spf_cache): a chained hash table keyed by the exact record
 * text, and a least-recently-used list for the two bounds (records and
 * bytes). Entries hold one reference to an immutable struct
 * ms_spf_record; a hit hands out another, so eviction never frees a
 * record an evaluation still reads.
 *
 * Freshness is not decided here: the record text comes from the DNS
 * layer, whose answer cache honours the TTL (RFC 1035 3.2.1); a changed
 * record is a different key. The stale old text simply ages out.
 *
 * The hash is seeded per cache (getentropy()), since record texts come
 * from whoever publishes a domain: chains cannot be lengthened on
 * purpose without the seed.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spf/spf_int.h"

/* Buckets: a power of two up to this (the record bound sets the size). */
#define SPF_CACHE_MAX_BUCKETS ((size_t)1 << 20)

struct spf_cache_entry {
	uint64_t hash;
	struct ms_spf_record *rec;	/* one reference, owned */
	size_t cost;			/* ms_spf_record_cost() */
	struct spf_cache_entry *chain;	/* next in the bucket */
	struct spf_cache_entry *prev;	/* more recently used */
	struct spf_cache_entry *next;	/* less recently used */
};

struct mailsec_spf_cache {
	size_t max_records;
	size_t max_bytes;
	size_t nbuckets;		/* a power of two */
	struct spf_cache_entry **buckets;
	struct spf_cache_entry *mru;	/* most recently used */
	struct spf_cache_entry *lru;	/* least recently used */
	uint64_t seed;
	struct mailsec_spf_cache_stats st;
};

/* 64-bit multiply-xorshift finalizer. */
static uint64_t
mix(uint64_t h)
{
	h ^= h >> 32;
	h *= 0xd6e8feb86659fd93u;
	h ^= h >> 32;
	return h;
}

/* Two independent lanes of 8-byte words (one multiply each), folded at
 * the end: a record of a few hundred bytes hashes in a few dozen
 * cycles, and the seed keeps the bucket of a text unpredictable. */
static uint64_t
text_hash(uint64_t seed, const char *p, size_t len)
{
	uint64_t a = seed ^ len, b = ~seed, w, v;
	size_t i;

	for (i = 0; i + 16 <= len; i += 16) {
		memcpy(&w, p + i, 8);
		memcpy(&v, p + i + 8, 8);
		a = (a ^ w) * 0x9e3779b97f4a7c15u;
		b = (b ^ v) * 0xc2b2ae3d27d4eb4fu;
		a ^= a >> 29;
		b ^= b >> 31;
	}
	if (i + 8 <= len) {
		memcpy(&w, p + i, 8);
		a = (a ^ w) * 0x9e3779b97f4a7c15u;
		i += 8;
	}
	w = 0;
	memcpy(&w, p + i, len - i);
	b = (b ^ w) * 0xc2b2ae3d27d4eb4fu;
	return mix(a ^ mix(b));
}

mailsec_err
mailsec_spf_cache_new(size_t max_records, size_t max_bytes,
    struct mailsec_spf_cache **out)
{
	struct mailsec_spf_cache *c;
	size_t n = 1;

	if (out == NULL)
		return MAILSEC_EINVAL;
	*out = NULL;
	if (max_records == 0)
		return MAILSEC_EINVAL;
	if ((c = ms_calloc(1, sizeof *c)) == NULL)
		return MAILSEC_ENOMEM;
	while (n < max_records && n < SPF_CACHE_MAX_BUCKETS)
		n <<= 1;
	if ((c->buckets = ms_calloc(n, sizeof *c->buckets)) == NULL) {
		free(c);
		return MAILSEC_ENOMEM;
	}
	c->nbuckets = n;
	c->max_records = max_records;
	c->max_bytes = max_bytes ? max_bytes : MAILSEC_SPF_CACHE_BYTES_DEFAULT;
	/* Without entropy the cache still works, only predictably. */
	if (getentropy(&c->seed, sizeof c->seed) != 0)
		c->seed = (uint64_t)(uintptr_t)c;
	*out = c;
	return MAILSEC_OK;
}

static void
lru_unlink(struct mailsec_spf_cache *c, struct spf_cache_entry *e)
{
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		c->mru = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	else
		c->lru = e->prev;
	e->prev = e->next = NULL;
}

static void
lru_push(struct mailsec_spf_cache *c, struct spf_cache_entry *e)
{
	e->prev = NULL;
	e->next = c->mru;
	if (c->mru != NULL)
		c->mru->prev = e;
	else
		c->lru = e;
	c->mru = e;
}

static void
entry_remove(struct mailsec_spf_cache *c, struct spf_cache_entry *e)
{
	struct spf_cache_entry **pp;

	pp = &c->buckets[e->hash & (c->nbuckets - 1)];
	while (*pp != e)
		pp = &(*pp)->chain;
	*pp = e->chain;
	lru_unlink(c, e);
	c->st.records--;
	c->st.bytes -= e->cost;
	ms_spf_record_unref(e->rec);
	free(e);
}

void
mailsec_spf_cache_free(struct mailsec_spf_cache *c)
{
	if (c == NULL)
		return;
	while (c->lru != NULL)
		entry_remove(c, c->lru);
	free(c->buckets);
	free(c);
}

void
mailsec_spf_cache_stats(const struct mailsec_spf_cache *c,
    struct mailsec_spf_cache_stats *out)
{
	if (out == NULL)
		return;
	if (c == NULL) {
		memset(out, 0, sizeof *out);
		return;
	}
	*out = c->st;
}

/* Keeps rec (takes a reference of its own); a record that does not fit
 * the byte bound alone, or ENOMEM, only means it is not kept. */
static void
cache_put(struct mailsec_spf_cache *c, uint64_t hash,
    struct ms_spf_record *rec)
{
	struct spf_cache_entry *e;
	size_t cost = ms_spf_record_cost(rec);

	if (cost > c->max_bytes)
		return;
	while (c->lru != NULL && (c->st.records >= c->max_records ||
	    c->st.bytes + cost > c->max_bytes)) {
		entry_remove(c, c->lru);
		c->st.evictions++;
	}
	if ((e = ms_calloc(1, sizeof *e)) == NULL)
		return;
	e->hash = hash;
	e->rec = ms_spf_record_ref(rec);
	e->cost = cost;
	e->chain = c->buckets[hash & (c->nbuckets - 1)];
	c->buckets[hash & (c->nbuckets - 1)] = e;
	lru_push(c, e);
	c->st.records++;
	c->st.bytes += cost;
}

mailsec_err
ms_spf_cache_get(struct mailsec_spf_cache *c, const char *p, size_t len,
    struct ms_spf_record **out, struct mailsec_diag *diag)
{
	struct spf_cache_entry *e;
	uint64_t hash;
	mailsec_err err;

	*out = NULL;
	if (c == NULL || len > MAILSEC_SPF_RECORD_MAX ||
	    !ms_spf_is_record(p, len))
		return ms_spf_record_parse(p, len, out, diag);
	hash = text_hash(c->seed, p, len);
	for (e = c->buckets[hash & (c->nbuckets - 1)]; e != NULL;
	    e = e->chain) {
		if (e->hash == hash && e->rec->len == len &&
		    memcmp(e->rec->text, p, len) == 0) {
			if (c->mru != e) {
				lru_unlink(c, e);
				lru_push(c, e);
			}
			c->st.hits++;
			*out = ms_spf_record_ref(e->rec);
			return MAILSEC_OK;
		}
	}
	c->st.misses++;
	if ((err = ms_spf_record_parse(p, len, out, diag)) != MAILSEC_OK)
		return err;
	cache_put(c, hash, *out);
	return MAILSEC_OK;
}
