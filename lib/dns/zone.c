/*
 * lib/dns/zone.c - the zone-file backend: answers queries from records
 * loaded from an RFC 1035 master file (parsed by zone_parse.c), the way a
 * recursive resolver would present them: CNAME chains followed (RFC 1034
 * 3.6.2, 4.3.2), empty non-terminals answered NODATA (RFC 8020), basic
 * wildcard matching (RFC 4592 section 3), the $TIMEOUT / $SERVFAIL /
 * $BOGUS test directives, and answers marked DNSSEC-secure where the
 * zone says $SECURE on (docs/dns.md).
 *
 * Names live in a hash table keyed by their lowercase text (zone_int.h);
 * each name's records sit together in one array, sorted by type. A query
 * is answered inside start() and delivered by the generic layer from
 * mailsec_resolver_process().
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dns/zone_int.h"

#define T_RRSIG	46
#define T_NSEC	47

/* ---- the name table ----------------------------------------------------- */

/* FNV-1a: keys are short and already lowercase. */
static uint32_t
key_hash(const char *k, size_t n)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= (uint8_t)k[i];
		h *= 16777619u;
	}
	return h;
}

/* Index of the name with that key, or SIZE_MAX. */
static size_t
node_find(const struct ms_zone *z, const char *key, size_t keylen)
{
	const struct ms_znode *n;
	uint32_t h;
	size_t i, s, mask;

	if (z->nslots == 0)
		return SIZE_MAX;
	h = key_hash(key, keylen);
	mask = z->nslots - 1;
	for (i = h & mask; (s = z->slots[i]) != 0; i = (i + 1) & mask) {
		n = &z->nodes[s - 1];
		if (n->hash == h && n->keylen == keylen &&
		    memcmp(n->key, key, keylen) == 0)
			return s - 1;
	}
	return SIZE_MAX;
}

static void
slot_put(size_t *slots, size_t nslots, uint32_t hash, size_t idx)
{
	size_t i, mask = nslots - 1;

	for (i = hash & mask; slots[i] != 0; i = (i + 1) & mask)
		continue;
	slots[i] = idx + 1;
}

static mailsec_err
slots_grow(struct ms_zone *z)
{
	size_t *slots, nslots, i;

	nslots = z->nslots != 0 ? z->nslots * 2 : 1024;
	slots = ms_calloc(nslots, sizeof *slots);
	if (slots == NULL)
		return MAILSEC_ENOMEM;
	for (i = 0; i < z->nnodes; i++)
		slot_put(slots, nslots, z->nodes[i].hash, i);
	free(z->slots);
	z->slots = slots;
	z->nslots = nslots;
	return MAILSEC_OK;
}

/* Finds or adds the name with that key. */
static mailsec_err
node_get(struct ms_zone *z, const char *key, size_t keylen, size_t *idx)
{
	struct ms_znode *n;
	size_t cap;
	mailsec_err err;

	*idx = node_find(z, key, keylen);
	if (*idx != SIZE_MAX)
		return MAILSEC_OK;
	if (z->nnodes >= MS_ZONE_MAX_NAMES ||
	    z->keybytes + keylen + 1 > MS_ZONE_MAX_KEYBYTES)
		return MAILSEC_ELIMIT;
	/* load factor at most 1/2 */
	if ((z->nnodes + 1) * 2 > z->nslots &&
	    (err = slots_grow(z)) != MAILSEC_OK)
		return err;
	if (z->nnodes == z->nodecap) {
		cap = z->nodecap != 0 ? z->nodecap * 2 : 256;
		n = ms_reallocarray(z->nodes, cap, sizeof *n);
		if (n == NULL)
			return MAILSEC_ENOMEM;
		z->nodes = n;
		z->nodecap = cap;
	}
	n = &z->nodes[z->nnodes];
	memset(n, 0, sizeof *n);
	n->key = ms_memdupz(key, keylen);
	if (n->key == NULL)
		return MAILSEC_ENOMEM;
	n->keylen = keylen;
	n->hash = key_hash(key, keylen);
	slot_put(z->slots, z->nslots, n->hash, z->nnodes);
	z->keybytes += keylen + 1;
	*idx = z->nnodes++;
	return MAILSEC_OK;
}

/* ---- loading ------------------------------------------------------------ */

mailsec_err
ms_zone_add_rr(struct ms_zone *z, const struct ms_zname *name,
    struct mailsec_dns_rr *rr, size_t line, size_t off)
{
	char key[MS_ZONE_TEXT_MAX];
	struct ms_zrec *r;
	const char *p, *dot;
	size_t klen, left, idx, cap;
	mailsec_err err;

	if (z->nrecs >= MS_ZONE_MAX_RECORDS) {
		err = MAILSEC_ELIMIT;
		goto fail;
	}
	if (z->nrecs == z->reccap) {
		cap = z->reccap != 0 ? z->reccap * 2 : 256;
		r = ms_reallocarray(z->recs, cap, sizeof *r);
		if (r == NULL) {
			err = MAILSEC_ENOMEM;
			goto fail;
		}
		z->recs = r;
		z->reccap = cap;
	}
	klen = ms_zname_key(name, key);
	if ((err = node_get(z, key, klen, &idx)) != MAILSEC_OK)
		goto fail;
	r = &z->recs[z->nrecs];
	r->node = idx;
	r->seq = z->nrecs;
	r->line = line;
	r->off = off;
	r->secure = z->secure_now;
	r->rr = *rr;
	z->nrecs++;
	if (z->secure_now)
		z->nodes[idx].secure = true;
	if (z->nodes[idx].exists)
		return MAILSEC_OK;
	z->nodes[idx].exists = true;
	/* the ancestors exist too, up to the root (RFC 8020) */
	p = key;
	left = klen;
	while (left > 0) {
		dot = memchr(p, '.', left);
		if (dot == NULL) {
			p += left;
			left = 0;
		} else {
			left -= (size_t)(dot + 1 - p);
			p = dot + 1;
		}
		if ((err = node_get(z, p, left, &idx)) != MAILSEC_OK)
			return err;	/* the record is the zone's now */
		if (z->nodes[idx].exists)
			break;
		z->nodes[idx].exists = true;
		/* an empty non-terminal of a secure name: its NODATA and
		 * the NXDOMAIN below it are secure too */
		z->nodes[idx].secure = z->secure_now;
	}
	return MAILSEC_OK;
fail:
	ms_dns_rr_cleanup(rr);
	return err;
}

mailsec_err
ms_zone_add_dir(struct ms_zone *z, const struct ms_zname *name,
    uint16_t type, enum mailsec_dns_status status, bool bogus)
{
	char key[MS_ZONE_TEXT_MAX];
	struct ms_zdir *d;
	size_t klen, idx, cap;
	mailsec_err err;

	if (z->ndirs >= MS_ZONE_MAX_DIRECTIVES)
		return MAILSEC_ELIMIT;
	if (z->ndirs == z->dircap) {
		cap = z->dircap != 0 ? z->dircap * 2 : 16;
		d = ms_reallocarray(z->dirs, cap, sizeof *d);
		if (d == NULL)
			return MAILSEC_ENOMEM;
		z->dirs = d;
		z->dircap = cap;
	}
	klen = ms_zname_key(name, key);
	if ((err = node_get(z, key, klen, &idx)) != MAILSEC_OK)
		return err;
	d = &z->dirs[z->ndirs];
	d->node = idx;
	d->seq = z->ndirs;
	d->type = type;
	d->status = status;
	d->bogus = bogus;
	z->ndirs++;
	return MAILSEC_OK;
}

static int
rec_cmp(const void *a, const void *b)
{
	const struct ms_zrec *x = a, *y = b;

	if (x->node != y->node)
		return x->node < y->node ? -1 : 1;
	if (x->rr.type != y->rr.type)
		return x->rr.type < y->rr.type ? -1 : 1;
	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return 0;
}

static int
dir_cmp(const void *a, const void *b)
{
	const struct ms_zdir *x = a, *y = b;

	if (x->node != y->node)
		return x->node < y->node ? -1 : 1;
	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return 0;
}

/* RFC 1034 3.6.2 (and RFC 2181 10.1): a CNAME stands alone, except for
 * DNSSEC records; the later of two clashing records is reported. */
static mailsec_err
check_cname(const struct ms_zone *z, size_t first, size_t count,
    struct mailsec_diag *diag)
{
	const struct ms_zrec *r = &z->recs[first], *cname = NULL;
	const struct ms_zrec *other = NULL, *late;
	const char *key = z->nodes[r->node].key;
	size_t i;

	for (i = 0; i < count; i++) {
		if (r[i].rr.type == MAILSEC_DNS_CNAME) {
			if (cname != NULL)
				return ms_diag(diag, MAILSEC_ESYNTAX,
				    r[i].off, r[i].line, "line %zu: '%s' has "
				    "more than one CNAME", r[i].line, key);
			cname = &r[i];
		} else if (r[i].rr.type != T_RRSIG &&
		    r[i].rr.type != T_NSEC && other == NULL) {
			other = &r[i];
		}
	}
	if (cname == NULL || other == NULL)
		return MAILSEC_OK;
	late = cname->seq > other->seq ? cname : other;
	return ms_diag(diag, MAILSEC_ESYNTAX, late->off, late->line,
	    "line %zu: '%s' has a CNAME and other data", late->line, key);
}

mailsec_err
ms_zone_seal(struct ms_zone *z, struct mailsec_diag *diag)
{
	size_t i, j, node;
	mailsec_err err;

	if (z->nrecs > 1)
		qsort(z->recs, z->nrecs, sizeof *z->recs, rec_cmp);
	for (i = 0; i < z->nrecs; i = j) {
		node = z->recs[i].node;
		for (j = i; j < z->nrecs && z->recs[j].node == node; j++)
			continue;
		z->nodes[node].rfirst = i;
		z->nodes[node].rcount = j - i;
		if ((err = check_cname(z, i, j - i, diag)) != MAILSEC_OK)
			return err;
	}
	if (z->ndirs > 1)
		qsort(z->dirs, z->ndirs, sizeof *z->dirs, dir_cmp);
	for (i = 0; i < z->ndirs; i = j) {
		node = z->dirs[i].node;
		for (j = i; j < z->ndirs && z->dirs[j].node == node; j++)
			continue;
		z->nodes[node].dfirst = i;
		z->nodes[node].dcount = j - i;
	}
	return MAILSEC_OK;
}

void
ms_zone_free(struct ms_zone *z)
{
	size_t i;

	if (z == NULL)
		return;
	for (i = 0; i < z->nrecs; i++)
		ms_dns_rr_cleanup(&z->recs[i].rr);
	for (i = 0; i < z->nnodes; i++)
		free(z->nodes[i].key);
	free(z->recs);
	free(z->dirs);
	free(z->nodes);
	free(z->slots);
	free(z);
}

/* ---- answering ---------------------------------------------------------- */

/* The records of type at node n: *count of them from the returned index. */
static size_t
records_of(const struct ms_zone *z, size_t n, uint16_t type, size_t *count)
{
	const struct ms_znode *node = &z->nodes[n];
	size_t lo = node->rfirst, hi = node->rfirst + node->rcount, mid, end;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (z->recs[mid].rr.type < type)
			lo = mid + 1;
		else
			hi = mid;
	}
	end = node->rfirst + node->rcount;
	for (hi = lo; hi < end && z->recs[hi].rr.type == type; hi++)
		continue;
	*count = hi - lo;
	return lo;
}

/* The first test directive at node n that covers type, or NULL. */
static const struct ms_zdir *
directive_of(const struct ms_zone *z, size_t n, uint16_t type)
{
	const struct ms_znode *node = &z->nodes[n];
	size_t i;

	for (i = node->dfirst; i < node->dfirst + node->dcount; i++)
		if (z->dirs[i].type == 0 || z->dirs[i].type == type)
			return &z->dirs[i];
	return NULL;
}

/*
 * RFC 4592 3.3.1: for a name that does not exist, the closest encloser is
 * its longest existing ancestor. Returns its index, its key in (*ekey,
 * *elen); SIZE_MAX when no ancestor exists.
 */
static size_t
closest_encloser(const struct ms_zone *z, const char *key, size_t klen,
    const char **ekey, size_t *elen)
{
	const char *p = key, *dot;
	size_t left = klen, n;

	while (left > 0) {
		dot = memchr(p, '.', left);
		if (dot == NULL) {
			p += left;
			left = 0;
		} else {
			left -= (size_t)(dot + 1 - p);
			p = dot + 1;
		}
		n = node_find(z, p, left);
		if (n != SIZE_MAX && z->nodes[n].exists) {
			*ekey = p;
			*elen = left;
			return n;
		}
	}
	return SIZE_MAX;
}

/* Only the closest encloser's "*" child can match (RFC 4592 3.3.1).
 * Returns the wildcard's index or SIZE_MAX. */
static size_t
wildcard_of(const struct ms_zone *z, const char *key, size_t klen)
{
	char wk[MS_ZONE_TEXT_MAX + 8];
	const char *p;
	size_t left, n, wlen;

	if (closest_encloser(z, key, klen, &p, &left) == SIZE_MAX)
		return SIZE_MAX;
	memcpy(wk, "\\042", 4);		/* '*' in key form */
	wlen = 4;
	if (left > 0) {
		wk[wlen++] = '.';
		memcpy(wk + wlen, p, left);
		wlen += left;
	}
	n = node_find(z, wk, wlen);
	return n != SIZE_MAX && z->nodes[n].exists ? n : SIZE_MAX;
}

/* For a name that does not exist: whether its closest encloser is
 * secure, so the NXDOMAIN is. */
static bool
encloser_secure(const struct ms_zone *z, const char *key, size_t klen)
{
	const char *p;
	size_t left, n;

	n = closest_encloser(z, key, klen, &p, &left);
	return n != SIZE_MAX && z->nodes[n].secure;
}

static mailsec_err
rr_copy(struct mailsec_dns_rr *d, const struct mailsec_dns_rr *s)
{
	*d = *s;
	switch (s->type) {
	case MAILSEC_DNS_MX:
		d->u.mx.exchange = ms_memdupz(s->u.mx.exchange,
		    strlen(s->u.mx.exchange));
		return d->u.mx.exchange != NULL ? MAILSEC_OK : MAILSEC_ENOMEM;
	case MAILSEC_DNS_NS:
	case MAILSEC_DNS_CNAME:
	case MAILSEC_DNS_PTR:
		d->u.name = ms_memdupz(s->u.name, strlen(s->u.name));
		return d->u.name != NULL ? MAILSEC_OK : MAILSEC_ENOMEM;
	case MAILSEC_DNS_TXT:
	case MAILSEC_DNS_SPF:
		d->u.txt.data = ms_memdupz(s->u.txt.data, s->u.txt.len);
		return d->u.txt.data != NULL ? MAILSEC_OK : MAILSEC_ENOMEM;
	case MAILSEC_DNS_TLSA:
		d->u.tlsa.data = NULL;
		if (s->u.tlsa.len == 0)
			return MAILSEC_OK;
		d->u.tlsa.data = malloc(s->u.tlsa.len);
		if (d->u.tlsa.data == NULL)
			return MAILSEC_ENOMEM;
		memcpy(d->u.tlsa.data, s->u.tlsa.data, s->u.tlsa.len);
		return MAILSEC_OK;
	default:
		return MAILSEC_OK;
	}
}

static mailsec_err
set_canonical(struct mailsec_dns_result *res, const char *name)
{
	char *c;

	c = ms_memdupz(name, strlen(name));
	if (c == NULL)
		return MAILSEC_ENOMEM;
	free(res->canonical);
	res->canonical = c;
	return MAILSEC_OK;
}

/*
 * Answers (qname, qtype) into a new result. EINVAL when qname does not
 * parse as a name, ENOMEM; DNS outcomes are in the result's status.
 */
static mailsec_err
zone_answer(const struct ms_zone *z, const char *qname, uint16_t qtype,
    struct mailsec_dns_result **out)
{
	char key[MS_ZONE_TEXT_MAX];
	size_t visited[MS_ZONE_MAX_CHAIN];
	const struct mailsec_dns_rr *cname;
	const struct ms_zdir *d;
	struct mailsec_dns_result *res;
	struct mailsec_dns_rr rr;
	struct ms_zname zn;
	const char *cur = qname;
	size_t klen, n, first, count, i, steps = 0;
	mailsec_err err = MAILSEC_OK;
	bool secure = true;	/* every record and denial on the way is */

	if (ms_zname_from_text(qname, strlen(qname), &zn) != MAILSEC_OK)
		return MAILSEC_EINVAL;
	res = ms_dns_result_new(qname, qtype, MAILSEC_DNS_NXDOMAIN);
	if (res == NULL)
		return MAILSEC_ENOMEM;
	for (;;) {
		klen = ms_zname_key(&zn, key);
		n = node_find(z, key, klen);
		if (n != SIZE_MAX && (d = directive_of(z, n, qtype)) != NULL) {
			res->status = d->status;
			res->bogus = d->bogus;
			secure = false;
			if (d->bogus)
				snprintf(res->why, sizeof res->why, "DNSSEC "
				    "validation failed: forced by the zone's "
				    "$BOGUS directive for %s", cur);
			else
				snprintf(res->why, sizeof res->why,
				    "%s forced by the zone's %s directive "
				    "for %s", mailsec_dns_status_name(
				    d->status), d->status ==
				    MAILSEC_DNS_TIMEOUT ? "$TIMEOUT" :
				    "$SERVFAIL", cur);
			break;
		}
		if (n == SIZE_MAX || !z->nodes[n].exists)
			n = wildcard_of(z, key, klen);
		if (n == SIZE_MAX) {
			res->status = MAILSEC_DNS_NXDOMAIN;
			secure = secure && encloser_secure(z, key, klen);
			break;
		}
		first = records_of(z, n, qtype, &count);
		if (count > 0) {
			for (i = 0; i < count && err == MAILSEC_OK; i++) {
				secure = secure && z->recs[first + i].secure;
				err = rr_copy(&rr, &z->recs[first + i].rr);
				if (err == MAILSEC_OK)
					err = ms_dns_result_add(res, &rr);
				else
					ms_dns_rr_cleanup(&rr);
			}
			break;
		}
		first = records_of(z, n, MAILSEC_DNS_CNAME, &count);
		if (qtype == MAILSEC_DNS_CNAME || count == 0) {
			res->status = MAILSEC_DNS_NODATA;
			secure = secure && z->nodes[n].secure;
			break;
		}
		/* RFC 1034 4.3.2: restart at the canonical name */
		for (i = 0; i < steps && visited[i] != n; i++)
			continue;
		if (i < steps || steps == MS_ZONE_MAX_CHAIN) {
			res->status = MAILSEC_DNS_SERVFAIL;
			snprintf(res->why, sizeof res->why, i < steps ?
			    "CNAME loop at %s" : "CNAME chain longer than "
			    "16 at %s", cur);
			break;
		}
		visited[steps++] = n;
		secure = secure && z->recs[first].secure;
		cname = &z->recs[first].rr;
		cur = cname->u.name;
		if ((err = set_canonical(res, cur)) != MAILSEC_OK)
			break;
		if (ms_zname_from_text(cur, strlen(cur), &zn) != MAILSEC_OK) {
			/* cannot happen: the text came from a name */
			res->status = MAILSEC_DNS_SERVFAIL;
			snprintf(res->why, sizeof res->why,
			    "bad CNAME target %s", cur);
			break;
		}
	}
	if (err != MAILSEC_OK) {
		mailsec_dns_result_free(res);
		return err;
	}
	/* a CNAME loop is SERVFAIL: never secure */
	res->secure = secure && !mailsec_dns_status_is_temporary(res->status);
	*out = res;
	return MAILSEC_OK;
}

/* ---- the backend -------------------------------------------------------- */

static mailsec_err
zone_start(void *impl, struct ms_dns_query *q)
{
	struct mailsec_dns_result *res = NULL;
	mailsec_err err;

	err = zone_answer(impl, q->name, q->type, &res);
	if (err != MAILSEC_OK)
		return err;
	/* delivered later, from mailsec_resolver_process() */
	ms_dns_finish(q, res);
	return MAILSEC_OK;
}

static void
zone_cancel(void *impl, struct ms_dns_query *q)
{
	/* answered in start(): nothing held per query */
	(void)impl;
	(void)q;
}

static int
zone_fd(void *impl)
{
	(void)impl;
	return -1;
}

static mailsec_err
zone_process(void *impl)
{
	(void)impl;
	return MAILSEC_OK;
}

static void
zone_free(void *impl)
{
	ms_zone_free(impl);
}

static const struct ms_dns_backend zone_backend = {
	"zone", zone_start, zone_cancel, zone_fd, zone_process, zone_free
};

mailsec_err
mailsec_resolver_new_zone_mem(const char *text, size_t len,
    const char *origin, struct mailsec_resolver **out,
    struct mailsec_diag *diag)
{
	struct ms_zone *z;
	mailsec_err err;

	if (out == NULL || (text == NULL && len > 0))
		return ms_diag(diag, MAILSEC_EINVAL, 0, 0,
		    "no zone text or no place for the resolver");
	*out = NULL;
	z = calloc(1, sizeof *z);
	if (z == NULL)
		return ms_diag(diag, MAILSEC_ENOMEM, 0, 0, "out of memory");
	err = ms_zone_parse(z, text, len, origin, diag);
	if (err == MAILSEC_OK)
		err = ms_zone_seal(z, diag);
	if (err != MAILSEC_OK) {
		ms_zone_free(z);
		return err;
	}
	err = ms_resolver_new(&zone_backend, z, out);
	if (err != MAILSEC_OK)
		return ms_diag(diag, err, 0, 0, "out of memory");
	return MAILSEC_OK;
}

mailsec_err
mailsec_resolver_new_zone_file(const char *path,
    struct mailsec_resolver **out, struct mailsec_diag *diag)
{
	char chunk[16384], ebuf[128];
	struct ms_buf b;
	ssize_t n;
	int fd, e;
	mailsec_err err;

	if (path == NULL || out == NULL)
		return ms_diag(diag, MAILSEC_EINVAL, 0, 0,
		    "no zone file name or no place for the resolver");
	*out = NULL;
	ms_buf_init(&b, MS_ZONE_MAX_SIZE);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		if (strerror_r(e, ebuf, sizeof ebuf) != 0)
			snprintf(ebuf, sizeof ebuf, "error %d", e);
		return ms_diag(diag, e == ENOENT ? MAILSEC_ENOTFOUND :
		    MAILSEC_EIO, 0, 0, "%s: %s", path, ebuf);
	}
	for (;;) {
		n = read(fd, chunk, sizeof chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			e = errno;
			if (strerror_r(e, ebuf, sizeof ebuf) != 0)
				snprintf(ebuf, sizeof ebuf, "error %d", e);
			err = ms_diag(diag, MAILSEC_EIO, b.len, 0, "%s: %s",
			    path, ebuf);
			goto done;
		}
		if (n == 0)
			break;
		err = ms_buf_append(&b, chunk, (size_t)n);
		if (err == MAILSEC_ELIMIT) {
			err = ms_diag(diag, err, MS_ZONE_MAX_SIZE, 0,
			    "%s: larger than %u bytes", path,
			    MS_ZONE_MAX_SIZE);
			goto done;
		}
		if (err != MAILSEC_OK) {
			err = ms_diag(diag, err, 0, 0, "out of memory");
			goto done;
		}
	}
	err = mailsec_resolver_new_zone_mem(b.ptr, b.len, NULL, out, diag);
done:
	close(fd);
	ms_buf_free(&b);
	return err;
}
