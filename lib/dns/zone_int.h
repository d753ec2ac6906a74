/*
 * lib/dns/zone_int.h - the zone backend's in-memory record store
 * (zone.c) and its RFC 1035 section 5 master-file parser (zone_parse.c).
 *
 * Names are kept two ways: as wire labels (struct ms_zname) while parsing,
 * and as a lookup key: lowercase text where every byte but [a-z0-9_-] is
 * written \DDD, so '.' in the key only ever separates labels and the key
 * of a name's parent is the text after its first '.'.
 */
#ifndef MS_ZONE_INT_H
#define MS_ZONE_INT_H

#include "dns/dns_int.h"

#define MS_ZONE_MAX_SIZE	(64u * 1024 * 1024)	/* input bytes */
#define MS_ZONE_MAX_LINE	65536u		/* bytes in one line */
#define MS_ZONE_MAX_ITEMS	4096u		/* items in one entry */
#define MS_ZONE_MAX_RECORDS	1000000u
#define MS_ZONE_MAX_DIRECTIVES	100000u
/* owners, their ancestors (empty non-terminals) and directive names */
#define MS_ZONE_MAX_NAMES	2000000u
#define MS_ZONE_MAX_KEYBYTES	(256u * 1024 * 1024)
#define MS_ZONE_MAX_CHAIN	16		/* CNAMEs followed per query */
#define MS_ZONE_WIRE_MAX	255	/* RFC 1035 3.1, with the root label */
#define MS_ZONE_TEXT_MAX	1024	/* 254 wire octets as \DDD, and NUL */

/* A name as wire labels, each length-prefixed, without the root label:
 * len <= MS_ZONE_WIRE_MAX - 1. The root is len 0. */
struct ms_zname {
	uint8_t w[MS_ZONE_WIRE_MAX];
	size_t len;
};

struct ms_znode {
	char *key;		/* lookup key, see above */
	size_t keylen;
	uint32_t hash;
	bool exists;		/* owns records, or is an ancestor of one
				   (an empty non-terminal, RFC 8020) */
	size_t rfirst;		/* its records in zone->recs, by type */
	size_t rcount;
	size_t dfirst;		/* its test directives in zone->dirs */
	size_t dcount;
	bool secure;		/* named by a record under $SECURE on:
				   negative answers here are secure */
};

struct ms_zrec {
	size_t node;
	size_t seq;		/* file order, to keep it within an RRset */
	size_t line;		/* where the entry starts, for diagnostics */
	size_t off;
	bool secure;		/* loaded under $SECURE on */
	struct mailsec_dns_rr rr; /* type and ttl; data for decoded types */
};

struct ms_zdir {
	size_t node;
	size_t seq;
	uint16_t type;		/* 0: every type */
	enum mailsec_dns_status status;	/* TIMEOUT or SERVFAIL */
	bool bogus;		/* $BOGUS: SERVFAIL with bogus set */
};

struct ms_zone {
	struct ms_znode *nodes;
	size_t nnodes, nodecap;
	size_t *slots;		/* open addressing: node index + 1, 0 free */
	size_t nslots;		/* a power of two */
	size_t keybytes;
	struct ms_zrec *recs;
	size_t nrecs, reccap;
	struct ms_zdir *dirs;
	size_t ndirs, dircap;
	bool secure_now;	/* while parsing: $SECURE on */
};

/* ---- zone_parse.c ------------------------------------------------------- */

/*
 * Parses master-file text into z (records and directives; call
 * ms_zone_seal() afterwards). origin: presentation form, NULL for the
 * root. Errors fill diag with "line N: ..." and the byte offset.
 */
mailsec_err ms_zone_parse(struct ms_zone *z, const char *text, size_t len,
    const char *origin, struct mailsec_diag *diag);

/* Parses a name as the API takes it (presentation form, \DDD and \X
 * escapes, every other byte literal, always absolute). EINVAL when it
 * is not a name. */
mailsec_err ms_zname_from_text(const char *s, size_t len,
    struct ms_zname *out);

/* Writes n's lookup key to key (MS_ZONE_TEXT_MAX bytes) and returns its
 * length. */
size_t ms_zname_key(const struct ms_zname *n, char *key);

/* n in presentation form without the final dot, case kept, in a new
 * allocation ("" for the root); NULL on ENOMEM. */
char *ms_zname_text(const struct ms_zname *n);

/* ---- zone.c ------------------------------------------------------------- */

/* Adds one record owned by name; takes rr's pointers even on failure.
 * The record (and its name) count as DNSSEC-secure when z->secure_now.
 * ELIMIT past MS_ZONE_MAX_RECORDS / _NAMES / _KEYBYTES. */
mailsec_err ms_zone_add_rr(struct ms_zone *z, const struct ms_zname *name,
    struct mailsec_dns_rr *rr, size_t line, size_t off);

/* Adds a $TIMEOUT / $SERVFAIL / $BOGUS (SERVFAIL, bogus) directive for
 * name (type 0: all types). */
mailsec_err ms_zone_add_dir(struct ms_zone *z, const struct ms_zname *name,
    uint16_t type, enum mailsec_dns_status status, bool bogus);

/* Indexes the records by name and type, and refuses names that hold a
 * CNAME and other data (RFC 1034 3.6.2) or several CNAMEs. */
mailsec_err ms_zone_seal(struct ms_zone *z, struct mailsec_diag *diag);

void ms_zone_free(struct ms_zone *z);

#endif /* MS_ZONE_INT_H */
