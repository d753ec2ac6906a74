/*
 * lib/dns/unbound.c - the libunbound backend of the DNS layer.
 *
 * One ub_ctx per resolver, in libunbound's threaded asynchronous mode:
 * a background thread resolves, answers come back over a pipe whose read
 * end is ub_fd(), and ub_process() runs unb_on_result() in the caller's
 * thread, which decodes the answer and finishes the query. Deadlines are
 * the generic layer's (resolver.c): it cancels whatever runs late.
 *
 * Two modes:
 * - recursion from libunbound's built-in root hints, always validating
 *   DNSSEC against a trust anchor file (Debian's dns-root-data);
 * - forwarding to a list of servers, validating only when asked. When
 *   not validating, `secure` is always false: libunbound clears the
 *   upstream's AD bit (RFC 4035 3.2.3) in the answers it hands out, so it
 *   cannot be repeated (and over plain UDP it would prove nothing).
 *
 * Record data arrive from libunbound as uncompressed RDATA (RFC 1035
 * 3.3, 3.3.9, 3.3.14; RFC 3596 2.2; RFC 6698 2.1); the answer packet
 * (RFC 1035 4.1) gives the CNAME chain. Every read is
 * bounds-checked: malformed data become SERVFAIL "malformed answer".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unbound.h>

#include "dns/dns_int.h"

#define UNB_DEFAULT_TRUST_ANCHOR "/usr/share/dns/root.key"
#define UNB_CLASS_IN 1
#define UNB_WIRE_NAME_MAX 255	/* RFC 1035 2.3.4: octets, root included */
#define UNB_TEXT_NAME_MAX (UNB_WIRE_NAME_MAX * 4)	/* all \DDD */
#define UNB_TXT_MAX 65535	/* RFC 1035 3.2.1: RDLENGTH is 16 bits */
#define UNB_FORWARD_MAX 16	/* servers in one forward list */
#define UNB_PORT_DIGITS 5	/* "65535" */
#define UNB_CNAME_HOPS_MAX 16	/* CNAMEs followed in one answer packet */
#define UNB_PTR_HOPS_MAX 64	/* compression pointers in one name */
#define DNS_HEADER_LEN 12	/* RFC 1035 4.1.1 */
#define DNS_RR_FIXED_LEN 10	/* TYPE, CLASS, TTL, RDLENGTH: 4.1.3 */
#define DNS_LABEL_PTR 0xc0	/* RFC 1035 4.1.4 */
#define DNS_RCODE_NOERROR 0
#define DNS_RCODE_NXDOMAIN 3

struct unb {
	struct ub_ctx *ctx;
	bool validate;		/* validator module on: trust ub_result */
};

/*
 * Exposed to tests/integration/test_unbound_decode.c, which drives them
 * with hand-made malformed input; not part of any header.
 */
mailsec_err ms_unbound_rdata_decode(uint16_t type, const uint8_t *p,
    size_t len, struct mailsec_dns_rr *rr);
mailsec_err ms_unbound_packet_scan(const uint8_t *pkt, size_t len,
    char **canonical);

/* ---- names ------------------------------------------------------------- */

/* Appends label bytes in presentation form: LDH and '_' as they are, '.'
 * as "\.", everything else as \DDD (RFC 1035 5.1). */
static mailsec_err
label_text(struct ms_buf *b, const uint8_t *p, size_t n)
{
	mailsec_err err = MAILSEC_OK;
	size_t i;

	for (i = 0; i < n && err == MAILSEC_OK; i++) {
		if (ms_isalnum(p[i]) || p[i] == '-' || p[i] == '_')
			err = ms_buf_appendc(b, (char)p[i]);
		else if (p[i] == '.')
			err = ms_buf_append(b, "\\.", 2);
		else
			err = ms_buf_printf(b, "\\%03u", (unsigned)p[i]);
	}
	return err;
}

/*
 * Converts the uncompressed wire name at p (at most len bytes) to text
 * without the final dot ("" for the root) in a new allocation. *used
 * receives the wire length. Compression pointers are refused: libunbound
 * hands out decompressed RDATA.
 */
static mailsec_err
wire_name_text(const uint8_t *p, size_t len, size_t *used, char **out)
{
	struct ms_buf b;
	size_t off = 0, n;
	mailsec_err err;

	ms_buf_init(&b, UNB_TEXT_NAME_MAX);
	for (;;) {
		if (off >= len) {
			err = MAILSEC_ESYNTAX;
			goto fail;
		}
		n = p[off++];
		if (n == 0)
			break;
		/* also refuses 0x40/0x80/0xc0 label types */
		if (n > MS_DNS_MAX_LABEL || n > len - off ||
		    off + n + 1 > UNB_WIRE_NAME_MAX) {
			err = MAILSEC_ESYNTAX;
			goto fail;
		}
		if (b.len > 0 && (err = ms_buf_appendc(&b, '.')) != MAILSEC_OK)
			goto fail;
		if ((err = label_text(&b, p + off, n)) != MAILSEC_OK)
			goto fail;
		off += n;
	}
	*out = ms_buf_steal(&b, NULL);
	if (*out == NULL)
		return MAILSEC_ENOMEM;
	*used = off;
	return MAILSEC_OK;
fail:
	ms_buf_free(&b);
	return err;
}

/*
 * Reads the possibly compressed name at *off in a message into wire
 * (uncompressed, UNB_WIRE_NAME_MAX bytes) and moves *off past it.
 * Pointers must go strictly backwards, so they cannot loop.
 */
static mailsec_err
pkt_name(const uint8_t *pkt, size_t len, size_t *off, uint8_t *wire,
    size_t *wlen)
{
	size_t pos = *off, w = 0, n, target, hops = 0;
	bool jumped = false;

	for (;;) {
		if (pos >= len)
			return MAILSEC_ESYNTAX;
		n = pkt[pos];
		if ((n & DNS_LABEL_PTR) == DNS_LABEL_PTR) {
			if (len - pos < 2 || ++hops > UNB_PTR_HOPS_MAX)
				return MAILSEC_ESYNTAX;
			target = (n & 0x3f) << 8 | pkt[pos + 1];
			if (target >= pos)
				return MAILSEC_ESYNTAX;
			if (!jumped)
				*off = pos + 2;
			jumped = true;
			pos = target;
			continue;
		}
		/* the length byte and the label must be in the message and
		 * fit in the name with its root byte still to come */
		if (n > MS_DNS_MAX_LABEL || n + 1 > len - pos ||
		    w + n + 1 > UNB_WIRE_NAME_MAX ||
		    (n != 0 && w + n + 1 == UNB_WIRE_NAME_MAX))
			return MAILSEC_ESYNTAX;
		memcpy(wire + w, pkt + pos, n + 1);
		w += n + 1;
		pos += n + 1;
		if (n == 0)
			break;
	}
	if (!jumped)
		*off = pos;
	*wlen = w;
	return MAILSEC_OK;
}

/* Wire names compare case-insensitively in ASCII (RFC 4343). Length
 * bytes are at most 63, below 'A', so folding them changes nothing. */
static bool
wire_name_eq(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	size_t i;

	if (alen != blen)
		return false;
	for (i = 0; i < alen; i++)
		if (ms_tolower(a[i]) != ms_tolower(b[i]))
			return false;
	return true;
}

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/*
 * Reads an answer message: *canonical (new allocation) gets the question
 * name after following the CNAMEs of the answer section (RFC 1034
 * 3.6.2), without the final dot. A question for the CNAME itself is not
 * followed.
 */
mailsec_err
ms_unbound_packet_scan(const uint8_t *pkt, size_t len, char **canonical)
{
	uint8_t cur[UNB_WIRE_NAME_MAX], owner[UNB_WIRE_NAME_MAX];
	uint8_t target[UNB_WIRE_NAME_MAX];
	size_t curlen, olen, tlen, off, rd, rdlen, used, answers, i, hop;
	uint16_t type, qtype;
	bool found;
	mailsec_err err;

	if (len < DNS_HEADER_LEN || get16(pkt + 4) != 1)
		return MAILSEC_ESYNTAX;
	answers = get16(pkt + 6);
	off = DNS_HEADER_LEN;
	if ((err = pkt_name(pkt, len, &off, cur, &curlen)) != MAILSEC_OK)
		return err;
	if (len - off < 4)
		return MAILSEC_ESYNTAX;
	qtype = get16(pkt + off);
	off += 4;
	rd = off;	/* start of the answer section */
	for (hop = 0; qtype != MAILSEC_DNS_CNAME && hop < UNB_CNAME_HOPS_MAX;
	    hop++) {
		found = false;
		for (i = 0, off = rd; i < answers && !found; i++) {
			err = pkt_name(pkt, len, &off, owner, &olen);
			if (err != MAILSEC_OK)
				return err;
			if (len - off < DNS_RR_FIXED_LEN)
				return MAILSEC_ESYNTAX;
			type = get16(pkt + off);
			rdlen = get16(pkt + off + 8);
			off += DNS_RR_FIXED_LEN;
			if (rdlen > len - off)
				return MAILSEC_ESYNTAX;
			if (type == MAILSEC_DNS_CNAME &&
			    get16(pkt + off - 8) == UNB_CLASS_IN &&
			    wire_name_eq(owner, olen, cur, curlen)) {
				used = off;
				err = pkt_name(pkt, len, &used, target, &tlen);
				if (err != MAILSEC_OK)
					return err;
				if (used != off + rdlen)
					return MAILSEC_ESYNTAX;
				memcpy(cur, target, tlen);
				curlen = tlen;
				found = true;
			}
			off += rdlen;
		}
		if (!found)
			break;
	}
	return wire_name_text(cur, curlen, &used, canonical);
}

/* ---- record data ------------------------------------------------------- */

static mailsec_err
txt_decode(const uint8_t *p, size_t len, struct mailsec_dns_rr *rr)
{
	struct ms_buf b;
	size_t off = 0, n, nstrings = 0;
	mailsec_err err;

	ms_buf_init(&b, UNB_TXT_MAX);
	/* RFC 1035 3.3.14: one or more <character-string>s */
	while (off < len) {
		n = p[off++];
		if (n > len - off) {
			ms_buf_free(&b);
			return MAILSEC_ESYNTAX;
		}
		if ((err = ms_buf_append(&b, p + off, n)) != MAILSEC_OK)
			return err;
		off += n;
		nstrings++;
	}
	rr->u.txt.data = ms_buf_steal(&b, &rr->u.txt.len);
	if (rr->u.txt.data == NULL)
		return MAILSEC_ENOMEM;
	rr->u.txt.nstrings = nstrings;
	return MAILSEC_OK;
}

/* A whole RDATA that is exactly one name (NS, CNAME, PTR; MX after the
 * preference): trailing bytes make it malformed. */
static mailsec_err
name_rdata(const uint8_t *p, size_t len, char **out)
{
	size_t used;
	mailsec_err err;

	err = wire_name_text(p, len, &used, out);
	if (err == MAILSEC_OK && used != len) {
		free(*out);
		*out = NULL;
		err = MAILSEC_ESYNTAX;
	}
	return err;
}

/*
 * Decodes one RDATA of the given type into rr (type set, ttl left 0).
 * Types the layer does not know keep only their type. Returns ESYNTAX
 * for malformed data, ENOMEM; on failure rr holds nothing to free.
 */
mailsec_err
ms_unbound_rdata_decode(uint16_t type, const uint8_t *p, size_t len,
    struct mailsec_dns_rr *rr)
{
	mailsec_err err = MAILSEC_OK;

	memset(rr, 0, sizeof *rr);
	rr->type = type;
	switch (type) {
	case MAILSEC_DNS_A:
		if (len != sizeof rr->u.a)
			return MAILSEC_ESYNTAX;
		memcpy(rr->u.a, p, len);
		break;
	case MAILSEC_DNS_AAAA:
		if (len != sizeof rr->u.aaaa)
			return MAILSEC_ESYNTAX;
		memcpy(rr->u.aaaa, p, len);
		break;
	case MAILSEC_DNS_MX:
		if (len < 3)
			return MAILSEC_ESYNTAX;
		rr->u.mx.preference = get16(p);
		err = name_rdata(p + 2, len - 2, &rr->u.mx.exchange);
		break;
	case MAILSEC_DNS_NS:
	case MAILSEC_DNS_CNAME:
	case MAILSEC_DNS_PTR:
		err = name_rdata(p, len, &rr->u.name);
		break;
	case MAILSEC_DNS_TXT:
	case MAILSEC_DNS_SPF:
		err = txt_decode(p, len, rr);
		break;
	case MAILSEC_DNS_TLSA:
		if (len < 3)
			return MAILSEC_ESYNTAX;
		rr->u.tlsa.usage = p[0];
		rr->u.tlsa.selector = p[1];
		rr->u.tlsa.mtype = p[2];
		rr->u.tlsa.data = (uint8_t *)ms_memdupz((const char *)p + 3,
		    len - 3);
		if (rr->u.tlsa.data == NULL)
			return MAILSEC_ENOMEM;
		rr->u.tlsa.len = len - 3;
		break;
	default:
		break;
	}
	return err;
}

/* ---- results ----------------------------------------------------------- */

static const char *
rcode_name(int rcode, char *buf, size_t bufsz)
{
	static const char *const names[] = {
		"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP",
		"REFUSED", "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH",
		"NOTZONE"
	};

	if (rcode >= 0 && (size_t)rcode < MS_ARRAY_LEN(names))
		return names[rcode];
	snprintf(buf, bufsz, "RCODE%d", rcode);
	return buf;
}

/* Turns res into a SERVFAIL without records. */
static void
result_fail(struct mailsec_dns_result *res, const char *why)
{
	size_t i;

	for (i = 0; i < res->count; i++)
		ms_dns_rr_cleanup(&res->rrs[i]);
	free(res->rrs);
	res->rrs = NULL;
	res->count = 0;
	res->status = MAILSEC_DNS_SERVFAIL;
	snprintf(res->why, sizeof res->why, "%s", why);
}

/* Adds ur's records to res; ESYNTAX for malformed data. */
static mailsec_err
result_fill(struct mailsec_dns_result *res, uint16_t type,
    const struct ub_result *ur)
{
	struct mailsec_dns_rr rr;
	size_t i;
	mailsec_err err;

	for (i = 0; ur->data[i] != NULL; i++) {
		if (ur->len[i] < 0)
			return MAILSEC_ESYNTAX;
		err = ms_unbound_rdata_decode(type,
		    (const uint8_t *)ur->data[i], (size_t)ur->len[i], &rr);
		if (err != MAILSEC_OK)
			return err;
		rr.ttl = ur->ttl > 0 ? (uint32_t)ur->ttl : 0;
		if ((err = ms_dns_result_add(res, &rr)) != MAILSEC_OK)
			return err;
	}
	return MAILSEC_OK;
}

/* The canonical name, from the answer packet: libunbound's canonname
 * prints bytes outside LDH as '?'. */
static mailsec_err
result_packet(struct mailsec_dns_result *res, const struct ub_result *ur)
{
	char *canonical = NULL;
	mailsec_err err;

	if (ur->answer_packet == NULL || ur->answer_len <= 0)
		return MAILSEC_OK;	/* keep the name as asked */
	err = ms_unbound_packet_scan(ur->answer_packet,
	    (size_t)ur->answer_len, &canonical);
	if (err != MAILSEC_OK)
		return err;
	free(res->canonical);
	res->canonical = canonical;
	return MAILSEC_OK;
}

/* Builds the result of q from libunbound's answer; NULL on ENOMEM. */
static struct mailsec_dns_result *
result_from_ub(const struct unb *ub, const struct ms_dns_query *q, int uerr,
    const struct ub_result *ur)
{
	struct mailsec_dns_result *res;
	char rb[16];
	mailsec_err err;

	res = ms_dns_result_new(q->name, q->type, MAILSEC_DNS_SERVFAIL);
	if (res == NULL)
		return NULL;
	if (uerr != 0 || ur == NULL) {
		snprintf(res->why, sizeof res->why, "libunbound: %s",
		    ub_strerror(uerr));
		return res;
	}
	if (ur->bogus) {
		res->bogus = true;
		snprintf(res->why, sizeof res->why,
		    "DNSSEC validation failed: %s",
		    ur->why_bogus != NULL ? ur->why_bogus : "bogus answer");
		return res;
	}
	if (ur->rcode != DNS_RCODE_NOERROR &&
	    ur->rcode != DNS_RCODE_NXDOMAIN) {
		snprintf(res->why, sizeof res->why, "server answered %s",
		    rcode_name(ur->rcode, rb, sizeof rb));
		return res;
	}
	err = result_packet(res, ur);
	if (err == MAILSEC_ENOMEM)
		goto nomem;
	if (err != MAILSEC_OK) {
		result_fail(res, "malformed answer");
		return res;
	}
	res->secure = ub->validate && ur->secure;
	if (ur->havedata) {
		res->status = MAILSEC_DNS_NODATA;
		err = result_fill(res, q->type, ur);
		if (err == MAILSEC_ENOMEM)
			goto nomem;
		if (err != MAILSEC_OK) {
			res->secure = false;
			result_fail(res, "malformed answer");
		}
	} else if (ur->nxdomain || ur->rcode == DNS_RCODE_NXDOMAIN) {
		res->status = MAILSEC_DNS_NXDOMAIN;
	} else {
		res->status = MAILSEC_DNS_NODATA;
	}
	return res;
nomem:
	mailsec_dns_result_free(res);
	return NULL;
}

/* libunbound's callback: runs inside ub_process(), in our thread. */
static void
unb_on_result(void *arg, int uerr, struct ub_result *ur)
{
	struct ms_dns_query *q = arg;

	ms_dns_finish(q, result_from_ub(q->bdata, q, uerr, ur));
	ub_resolve_free(ur);
}

/* The answer to unb_start_worker()'s query: nobody waits for it. */
static void
unb_on_warmup(void *arg, int uerr, struct ub_result *ur)
{
	(void)arg;
	(void)uerr;
	ub_resolve_free(ur);
}

/*
 * libunbound starts its worker thread (and its sockets and caches) on
 * the first query, which costs milliseconds. A query for "localhost."
 * (a local zone libunbound answers itself, nothing goes on the network)
 * makes that happen while the resolver is created, so the first real
 * lookup of a gateway does not pay for it. Its answer waits in the pipe
 * and is dropped by the next ub_process(). Failure only means the start
 * happens on the first query after all.
 */
static void
unb_start_worker(struct unb *ub)
{
	int id;

	(void)ub_resolve_async(ub->ctx, "localhost.", MAILSEC_DNS_A,
	    UNB_CLASS_IN, NULL, unb_on_warmup, &id);
}

/* ---- backend operations ------------------------------------------------ */

static mailsec_err
unb_start(void *impl, struct ms_dns_query *q)
{
	struct unb *ub = impl;
	int id = 0, rc;

	q->bdata = ub;
	rc = ub_resolve_async(ub->ctx, q->name[0] != '\0' ? q->name : ".",
	    q->type, UNB_CLASS_IN, q, unb_on_result, &id);
	if (rc == UB_NOMEM)
		return MAILSEC_ENOMEM;
	if (rc == UB_SYNTAX)	/* a name libunbound cannot parse */
		return MAILSEC_EINVAL;
	if (rc != 0)
		return MAILSEC_EDNS;
	q->bid = (uint64_t)(unsigned)id;
	return MAILSEC_OK;
}

/*
 * In threaded mode ub_cancel() only marks the query: the worker thread
 * may still finish it, but ub_process() then drops the answer without
 * calling back, so q is never touched again.
 */
static void
unb_cancel(void *impl, struct ms_dns_query *q)
{
	struct unb *ub = impl;

	(void)ub_cancel(ub->ctx, (int)q->bid);
	q->bdata = NULL;
}

static int
unb_fd(void *impl)
{
	struct unb *ub = impl;

	return ub_fd(ub->ctx);
}

static mailsec_err
unb_process(void *impl)
{
	struct unb *ub = impl;

	return ub_process(ub->ctx) == 0 ? MAILSEC_OK : MAILSEC_EDNS;
}

/* Stops the worker thread (it drops cancelled queries still running). */
static void
unb_free(void *impl)
{
	struct unb *ub = impl;

	if (ub == NULL)
		return;
	if (ub->ctx != NULL)
		ub_ctx_delete(ub->ctx);
	free(ub);
}

static const struct ms_dns_backend unb_ops = {
	"unbound", unb_start, unb_cancel, unb_fd, unb_process, unb_free
};

/* ---- setup ------------------------------------------------------------- */

static mailsec_err
unb_option(struct unb *ub, const char *opt, const char *val,
    struct mailsec_diag *diag)
{
	int rc = ub_ctx_set_option(ub->ctx, opt, val);

	if (rc != 0)
		return ms_diag(diag, MAILSEC_EDNS, 0, 0,
		    "libunbound refused %s %s: %s", opt, val, ub_strerror(rc));
	return MAILSEC_OK;
}

/*
 * ub_ctx_add_ta_file() reads the file once and never writes it, so a
 * root-owned, read-only /usr/share/dns/root.key serves. (The RFC 5011
 * tracker, ub_ctx_add_ta_autr(), rewrites its file on key rollover:
 * that needs a private writable copy, and Debian's dns-root-data package
 * already follows rollovers.) libunbound opens the file only on the
 * first query, so check here that it can be read, for a clear error.
 */
static mailsec_err
unb_trust_anchor(struct unb *ub, const char *path, struct mailsec_diag *diag)
{
	FILE *f;
	int rc, e;

	if (path == NULL || path[0] == '\0')
		path = UNB_DEFAULT_TRUST_ANCHOR;
	f = fopen(path, "r");
	if (f == NULL) {
		e = errno;
		return ms_diag(diag, e == ENOENT ? MAILSEC_ENOTFOUND
		    : MAILSEC_EIO, 0, 0, "DNSSEC trust anchor file '%s' "
		    "cannot be read: %s%s", path, strerror(e),
		    strcmp(path, UNB_DEFAULT_TRUST_ANCHOR) == 0 ?
		    " (package dns-root-data)" : "");
	}
	fclose(f);
	rc = ub_ctx_add_ta_file(ub->ctx, path);
	if (rc != 0)
		return ms_diag(diag, MAILSEC_EDNS, 0, 0,
		    "DNSSEC trust anchor file '%s': %s", path,
		    ub_strerror(rc));
	return MAILSEC_OK;
}

/*
 * Local zones libunbound answers itself by default (RFC 6761, RFC 8375)
 * that a forwarder may well serve: test environments, home networks.
 * The servers named decide about them. invalid., onion. and localhost.
 * stay local.
 */
static const char *const unb_forwarded_zones[] = { "test.", "home.arpa." };

/*
 * Makes libunbound apply its configuration now rather than on the first
 * query, so that a trust anchor file it cannot parse is an error here.
 * Removing a local zone is the public call that does it; in recursion
 * nothing is removed: the name is never a local zone.
 */
static mailsec_err
unb_finalize(struct unb *ub, bool forwarding, const char *ta,
    struct mailsec_diag *diag)
{
	size_t i;
	int rc;

	if (!forwarding) {
		rc = ub_ctx_zone_remove(ub->ctx, "mailsec-finalize.invalid.");
	} else {
		for (i = 0, rc = 0; i < MS_ARRAY_LEN(unb_forwarded_zones) &&
		    rc == 0; i++)
			rc = ub_ctx_zone_remove(ub->ctx,
			    unb_forwarded_zones[i]);
	}
	if (rc == 0)
		return MAILSEC_OK;
	if (ub->validate)
		return ms_diag(diag, MAILSEC_EDNS, 0, 0, "libunbound refused "
		    "its configuration (%s): is '%s' a trust anchor file of "
		    "DS or DNSKEY records?", ub_strerror(rc),
		    ta != NULL && ta[0] != '\0' ? ta
		    : UNB_DEFAULT_TRUST_ANCHOR);
	return ms_diag(diag, MAILSEC_EDNS, 0, 0,
	    "libunbound refused its configuration: %s", ub_strerror(rc));
}

/* Checks one "ADDRESS[@PORT]" of a forward list and hands it to
 * libunbound. item is [s, s + n); off is its offset, for diag. */
static mailsec_err
unb_forwarder(struct unb *ub, const char *s, size_t n, size_t off,
    struct mailsec_diag *diag)
{
	char addr[INET6_ADDRSTRLEN], fwd[INET6_ADDRSTRLEN + 1 +
	    UNB_PORT_DIGITS + 1];
	unsigned char bin[sizeof(struct in6_addr)];
	const char *at = memchr(s, '@', n);
	size_t alen = at != NULL ? (size_t)(at - s) : n, i, plen;
	unsigned long port = 53;
	int shown = n > 80 ? 80 : (int)n, rc;

	if (alen == 0 || alen >= sizeof addr)
		goto badaddr;
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	if (inet_pton(AF_INET, addr, bin) != 1 &&
	    inet_pton(AF_INET6, addr, bin) != 1)
		goto badaddr;
	if (at != NULL) {
		plen = n - alen - 1;
		if (plen == 0 || plen > UNB_PORT_DIGITS)
			goto badport;
		for (port = 0, i = alen + 1; i < n; i++) {
			if (!ms_isdigit((unsigned char)s[i]))
				goto badport;
			port = port * 10 + (unsigned long)(s[i] - '0');
		}
		if (port < 1 || port > 65535)
			goto badport;
	}
	snprintf(fwd, sizeof fwd, "%s@%lu", addr, port);
	rc = ub_ctx_set_fwd(ub->ctx, fwd);
	if (rc != 0)
		return ms_diag(diag, MAILSEC_EINVAL, off, 0,
		    "--dns: '%.*s': %s", shown, s, ub_strerror(rc));
	return MAILSEC_OK;
badaddr:
	return ms_diag(diag, MAILSEC_EINVAL, off, 0,
	    "--dns: '%.*s' is not an IPv4 or IPv6 address%s", shown, s,
	    n > (size_t)shown ? "..." : "");
badport:
	return ms_diag(diag, MAILSEC_EINVAL, off, 0,
	    "--dns: '%.*s' has an invalid port%s", shown, s,
	    n > (size_t)shown ? "..." : "");
}

/* "ADDR[@PORT][,ADDR[@PORT]...]", blanks around items allowed. */
static mailsec_err
unb_forward_list(struct unb *ub, const char *spec, struct mailsec_diag *diag)
{
	const char *p = spec, *end = spec + strlen(spec), *s, *e;
	size_t count = 0;
	mailsec_err err;

	for (;;) {
		e = memchr(p, ',', (size_t)(end - p));
		if (e == NULL)
			e = end;
		s = p;
		while (s < e && ms_iswsp((unsigned char)*s))
			s++;
		p = e;
		while (e > s && ms_iswsp((unsigned char)e[-1]))
			e--;
		if (s == e)
			return ms_diag(diag, MAILSEC_EINVAL,
			    (size_t)(s - spec), 0,
			    "--dns: empty server in '%s'", spec);
		if (++count > UNB_FORWARD_MAX)
			return ms_diag(diag, MAILSEC_ELIMIT,
			    (size_t)(s - spec), 0,
			    "--dns: more than %d servers", UNB_FORWARD_MAX);
		err = unb_forwarder(ub, s, (size_t)(e - s),
		    (size_t)(s - spec), diag);
		if (err != MAILSEC_OK)
			return err;
		if (p == end)
			return MAILSEC_OK;
		p++;	/* the comma */
	}
}

mailsec_err
mailsec_resolver_new_unbound(const struct mailsec_unbound_opts *opts,
    struct mailsec_resolver **out, struct mailsec_diag *diag)
{
	const char *forward = opts != NULL ? opts->forward : NULL;
	const char *ta = opts != NULL ? opts->trust_anchor : NULL;
	struct unb *ub;
	int rc;
	mailsec_err err;

	if (out == NULL)
		return MAILSEC_EINVAL;
	*out = NULL;
	ub = calloc(1, sizeof *ub);
	if (ub == NULL)
		return ms_diag(diag, MAILSEC_ENOMEM, 0, 0, "out of memory");
	ub->ctx = ub_ctx_create();
	if (ub->ctx == NULL) {
		err = ms_diag(diag, MAILSEC_ENOMEM, 0, 0,
		    "libunbound: cannot create a context");
		goto fail;
	}
	/* libunbound's log is a global of the library and would go to
	 * stderr; we never print, failures reach the caller as diag/why */
	(void)ub_ctx_debugout(ub->ctx, NULL);
	/* a thread, not a forked process: nothing outlives the resolver */
	rc = ub_ctx_async(ub->ctx, 1);
	if (rc != 0) {
		err = ms_diag(diag, MAILSEC_EDNS, 0, 0,
		    "libunbound: no threads: %s", ub_strerror(rc));
		goto fail;
	}
	if (forward != NULL && forward[0] != '\0') {
		if ((err = unb_forward_list(ub, forward, diag)) != MAILSEC_OK)
			goto fail;
		/* the servers named may well be on loopback */
		err = unb_option(ub, "do-not-query-localhost:", "no", diag);
		if (err != MAILSEC_OK)
			goto fail;
		/* keep asking a forwarder that missed a reply instead of
		 * failing fast for minutes: the deadline is ours anyway */
		err = unb_option(ub, "infra-keep-probing:", "yes", diag);
		if (err != MAILSEC_OK)
			goto fail;
		/* private reverse zones (RFC 6303) are the forwarder's too */
		err = unb_option(ub, "unblock-lan-zones:", "yes", diag);
		if (err == MAILSEC_OK)
			err = unb_option(ub, "insecure-lan-zones:", "yes",
			    diag);
		if (err != MAILSEC_OK)
			goto fail;
		ub->validate = opts->validate;
		if (!ub->validate) {
			err = unb_option(ub, "module-config:", "iterator",
			    diag);
			if (err != MAILSEC_OK)
				goto fail;
		}
	} else {
		ub->validate = true;
	}
	if (ub->validate) {
		err = unb_trust_anchor(ub, ta, diag);
		if (err != MAILSEC_OK)
			goto fail;
	}
	err = unb_finalize(ub, forward != NULL && forward[0] != '\0', ta,
	    diag);
	if (err != MAILSEC_OK)
		goto fail;
	unb_start_worker(ub);
	return ms_resolver_new(&unb_ops, ub, out);
fail:
	unb_free(ub);
	return err;
}
