/*
 * lib/spf/spf.c - check_host() (RFC 7208 4-6) as an asynchronous state
 * machine over the DNS layer, and its synchronous wrapper.
 *
 * An evaluation keeps a stack of frames, one per check_host() level
 * (include pushes one; redirect replaces the current one, RFC 7208 6.1).
 * Each step either finishes synchronously or sends one batch of DNS
 * queries (an mx mechanism's address lookups go out together) and
 * returns; the resolver's callbacks collect the answers and, when the
 * batch is complete, run the machine again. Limits: RFC 7208 4.6.4.
 *
 * Memory: answers are shared with the DNS layer's cache
 * (mailsec_resolver_query_shared()), parsed records with the caller's
 * struct mailsec_spf_cache (both reference-counted, read-only), and the
 * evaluation's own strings (request copies, domains, targets, names)
 * come from a per-evaluation arena freed with it. A warm evaluation
 * allocates the evaluation, its outcome and one query each lookup.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "spf/spf_int.h"

/* Frames: the top one plus one per include; the 10-term limit keeps the
 * nesting below this. */
#define SPF_DEPTH_MAX (MAILSEC_SPF_LOOKUP_MAX + 2)
/* Queries in one batch: the address lookups of 10 MX or PTR names. */
#define SPF_SLOTS 10
/* Trace events kept (the rest are counted, not stored). */
#define SPF_TRACE_MAX 2000
/* Longest MAIL FROM / HELO accepted (RFC 5321 4.5.3.1: 256 for a path). */
#define SPF_SENDER_MAX 512
/* RFC 7208 4.6.4: the synchronous wrapper gives up (temperror) after
 * this long; "at least 20 seconds". */
#define SPF_TIME_MAX_MS 20000
/* A name in presentation form with every octet escaped as \DDD. */
#define SPF_QNAME_MAX (253 * 4 + 1)
/*
 * The arena: an inline block, then heap chunks of at least this size.
 * What one evaluation takes is bounded by the limits: the request's
 * strings (SPF_SENDER_MAX each), at most MAILSEC_SPF_LOOKUP_MAX + 2
 * expansions (terms, redirect, exp) and one exp text, and
 * MAILSEC_SPF_PTR_MAX validated names, each under
 * MAILSEC_SPF_EXPAND_MAX or MAILSEC_SPF_RECORD_MAX bytes.
 */
#define SPF_ARENA_INLINE 1024
#define SPF_ARENA_CHUNK 4096

enum spf_state {
	ST_START,	/* fetch the record of f->domain */
	ST_RECORD,	/* its TXT answer */
	ST_TERM,	/* evaluate terms[term] */
	ST_A,		/* a: the address answer */
	ST_MX,		/* mx: the MX answer */
	ST_MX_ADDR,	/* mx: the exchanges' address answers */
	ST_EXISTS,	/* exists: the A answer */
	ST_PTR,		/* ptr: validated names ready */
	ST_CHILD,	/* include: the child's result is in child_result */
	ST_REDIRECT,	/* no term matched: redirect= or neutral */
	ST_EXP,		/* fail with exp=: expand its domain, query */
	ST_EXP_TXT,	/* its TXT answer */
	ST_EXP_TEXT,	/* expand the explanation text */
	ST_PV_PTR,	/* validation: the PTR answer */
	ST_PV_ADDR	/* validation: the names' address answers */
};

/* Strings in a frame are borrowed: from the arena, or a lit string of
 * the record of a frame below (alive while this one is). */
struct spf_frame {
	const char *domain;
	struct ms_spf_record *rec;	/* one reference */
	size_t term;
	enum spf_state st;
	enum spf_state pv_ret;	/* where validation returns */
	bool redirected;	/* reached by redirect=: none is permerror */
	enum mailsec_spf_result child_result;
	const char *target;	/* expanded target of the current term */
};

struct spf_slot {
	struct mailsec_spf *s;
	uint64_t qid;
	bool busy;
	bool bad_name;		/* not sent: the name is not a DNS name */
	const struct mailsec_dns_result *res;	/* shared, one reference */
};

struct spf_chunk {
	struct spf_chunk *next;
	char data[];
};

struct spf_arena {
	char *at;			/* next free byte */
	size_t left;			/* bytes free at at */
	struct spf_chunk *chunks;	/* heap chunks, newest first */
	char first[SPF_ARENA_INLINE];
};

struct mailsec_spf {
	struct mailsec_resolver *r;
	struct mailsec_spf_cache *cache;	/* parsed records; may be NULL */
	bool v6;
	uint8_t ip[16];
	char ip_text[INET6_ADDRSTRLEN];
	char ip_dotted[72];
	const char *sender;		/* strings: in the arena */
	const char *local;
	const char *sdomain;
	const char *helo;
	const char *receiver;
	int64_t now;			/* for %{t} */
	char ts[24];			/* now in decimal, once needed */
	enum mailsec_spf_identity identity;
	bool trace_on;
	bool started;
	bool done;
	mailsec_spf_done_cb cb;
	void *cbarg;

	struct spf_frame fr[SPF_DEPTH_MAX];
	size_t depth;			/* frames in use */
	struct spf_slot slots[SPF_SLOTS];
	size_t nslots;			/* slots of the current batch */
	size_t pending;

	/* The client's validated names (RFC 7208 5.5), computed once for
	 * the ptr mechanism and %{p}. */
	int pv;				/* 0 not yet, 1 done */
	bool pv_mech;			/* started by a ptr mechanism */
	const char *pv_names[MAILSEC_SPF_PTR_MAX];
	size_t pv_count;
	bool pv_valid[MAILSEC_SPF_PTR_MAX];
	const char *pv_choice;		/* the %{p} value for the domain */

	char *mech;			/* deciding term at depth 0 */
	const char *exp_text;
	size_t exp_len;
	struct spf_arena arena;
	struct mailsec_spf_outcome *out;
	size_t trace_dropped;		/* events past SPF_TRACE_MAX */
};

static const char *const result_names[] = {
	"none", "neutral", "pass", "fail", "softfail", "temperror",
	"permerror"
};

const char *
mailsec_spf_result_name(enum mailsec_spf_result r)
{
	if ((size_t)r >= MS_ARRAY_LEN(result_names))
		return "permerror";
	return result_names[r];
}

void
mailsec_spf_outcome_free(struct mailsec_spf_outcome *o)
{
	size_t i;

	if (o == NULL)
		return;
	free(o->sender);
	free(o->domain);
	free(o->mechanism);
	free(o->explanation);
	free(o->problem);
	for (i = 0; i < o->ntrace; i++)
		free(o->trace[i].text);
	free(o->trace);
	free(o);
}

/* ---- the arena --------------------------------------------------------- */

static void
arena_init(struct spf_arena *a)
{
	a->at = a->first;
	a->left = sizeof a->first;
	a->chunks = NULL;
}

static void
arena_cleanup(struct spf_arena *a)
{
	struct spf_chunk *c;

	while ((c = a->chunks) != NULL) {
		a->chunks = c->next;
		free(c);
	}
	arena_init(a);
}

/* len + 1 bytes that live as long as s, the last one NUL; NULL on
 * ENOMEM. */
static char *
arena_alloc(struct mailsec_spf *s, size_t len)
{
	struct spf_arena *a = &s->arena;
	struct spf_chunk *c;
	size_t need, sz;
	char *d;

	if (!ms_size_add(len, 1, &need))
		return NULL;
	if (need > a->left) {
		sz = need > SPF_ARENA_CHUNK ? need : SPF_ARENA_CHUNK;
		if ((c = malloc(sizeof *c + sz)) == NULL)
			return NULL;
		c->next = a->chunks;
		a->chunks = c;
		a->at = c->data;
		a->left = sz;
	}
	d = a->at;
	d[len] = '\0';
	a->at += need;
	a->left -= need;
	return d;
}

/* A NUL-terminated copy of (p, len) that lives as long as s; NULL on
 * ENOMEM. */
static char *
arena_dup(struct mailsec_spf *s, const char *p, size_t len)
{
	char *d;

	if ((d = arena_alloc(s, len)) != NULL && len > 0)
		memcpy(d, p, len);
	return d;
}

static char *
arena_dupz(struct mailsec_spf *s, const char *p)
{
	return arena_dup(s, p, strlen(p));
}

/* ---- trace ------------------------------------------------------------- */

static void spf_ev_add(struct mailsec_spf *s,
    enum mailsec_spf_event_kind k, const char *fmt, ...) MS_PRINTF(3, 4);

/* One trace event; the arguments are not even computed with the trace
 * off. */
#define spf_ev(s, ...) do {						\
	if ((s)->trace_on)						\
		spf_ev_add((s), __VA_ARGS__);				\
} while (0)

static void
spf_ev_add(struct mailsec_spf *s, enum mailsec_spf_event_kind k,
    const char *fmt, ...)
{
	struct mailsec_spf_event *ev;
	struct mailsec_spf_outcome *o = s->out;
	char buf[600];
	va_list ap;
	size_t i;

	if (!s->trace_on)
		return;
	if (o->ntrace >= SPF_TRACE_MAX) {
		s->trace_dropped++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	/* Sender data may hold anything: keep the trace printable. */
	for (i = 0; buf[i] != '\0'; i++)
		if ((unsigned char)buf[i] < 0x20 ||
		    (unsigned char)buf[i] > 0x7e)
			buf[i] = '?';
	ev = ms_reallocarray(o->trace, o->ntrace + 1, sizeof *ev);
	if (ev == NULL)
		return;
	o->trace = ev;
	ev[o->ntrace].kind = k;
	ev[o->ntrace].depth = s->depth > 0 ? (unsigned)s->depth - 1 : 0;
	ev[o->ntrace].text = ms_memdupz(buf, strlen(buf));
	if (ev[o->ntrace].text != NULL)
		o->ntrace++;
}

/* ---- names and addresses ----------------------------------------------- */

/* RFC 7208 4.3: a usable domain has labels of 1 to 63 octets, at most
 * 253 octets, and at least two labels; a final dot is allowed. */
static bool
domain_ok(const char *d)
{
	size_t len = strlen(d), lab = 0, labels = 0, i;

	if (len > 0 && d[len - 1] == '.')
		len--;
	if (len == 0 || len > 253)
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)d[i];

		if (c <= 0x20 || c >= 0x7f || c == '[' || c == ']')
			return false;
		if (c == '.') {
			if (lab == 0)
				return false;
			labels++;
			lab = 0;
		} else if (++lab > 63) {
			return false;
		}
	}
	if (lab == 0)
		return false;
	return labels + 1 >= 2;
}

/* The name as the resolver takes it: octets other than letters, digits,
 * '-', '_' and the dots between labels escaped as \DDD. */
static bool
qname(const char *d, char *out, size_t outsz)
{
	size_t o = 0, len = strlen(d);

	if (len > 0 && d[len - 1] == '.')
		len--;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)d[i];

		if (o + 5 > outsz)
			return false;
		if (ms_isalnum(c) || c == '-' || c == '_' || c == '.') {
			out[o++] = (char)c;
		} else {
			out[o++] = '\\';
			out[o++] = (char)('0' + c / 100);
			out[o++] = (char)('0' + c / 10 % 10);
			out[o++] = (char)('0' + c % 10);
		}
	}
	out[o] = '\0';
	return o > 0;
}

/* A name from a DNS answer (presentation form, \DDD and \X escapes) as
 * raw octets, for macros, comparisons and qname(), into out (outsz
 * bytes; the result is never longer than in). False when it does not
 * fit. */
static bool
name_unescape(const char *in, char *out, size_t outsz)
{
	size_t n = strlen(in), i, o = 0;

	if (n >= outsz)
		return false;
	for (i = 0; i < n; i++) {
		if (in[i] == '\\' && i + 3 < n &&
		    ms_isdigit((unsigned char)in[i + 1]) &&
		    ms_isdigit((unsigned char)in[i + 2]) &&
		    ms_isdigit((unsigned char)in[i + 3])) {
			unsigned v = (unsigned)(in[i + 1] - '0') * 100 +
			    (unsigned)(in[i + 2] - '0') * 10 +
			    (unsigned)(in[i + 3] - '0');

			out[o++] = (char)(v > 255 ? '?' : v);
			i += 3;
		} else if (in[i] == '\\' && i + 1 < n) {
			out[o++] = in[++i];
		} else {
			out[o++] = in[i];
		}
	}
	out[o] = '\0';
	return true;
}

static bool
cidr_match(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned full = bits / 8, rem = bits % 8;

	if (memcmp(a, b, full) != 0)
		return false;
	if (rem == 0)
		return true;
	return ((a[full] ^ b[full]) & (0xff << (8 - rem)) & 0xff) == 0;
}

/* Does rr (A or AAAA) match the client within the prefix? */
static bool
rr_match(const struct mailsec_spf *s, const struct mailsec_dns_rr *rr,
    unsigned c4, unsigned c6)
{
	if (!s->v6 && rr->type == MAILSEC_DNS_A)
		return cidr_match(s->ip, rr->u.a, c4);
	if (s->v6 && rr->type == MAILSEC_DNS_AAAA)
		return cidr_match(s->ip, rr->u.aaaa, c6);
	return false;
}

/* Is name equal to dom or a subdomain of it (ASCII case-insensitive,
 * final dots ignored)? */
static bool
name_within(const char *name, const char *dom)
{
	size_t n = strlen(name), d = strlen(dom);

	if (n > 0 && name[n - 1] == '.')
		n--;
	if (d > 0 && dom[d - 1] == '.')
		d--;
	if (n < d)
		return false;
	if (!ms_ascii_eq(name + n - d, d, dom, d))
		return false;
	return n == d || name[n - d - 1] == '.';
}

/* ---- queries ----------------------------------------------------------- */

static void spf_run(struct mailsec_spf *s);

static void
on_answer(void *arg, const struct mailsec_dns_result *res)
{
	struct spf_slot *sl = arg;
	struct mailsec_spf *s = sl->s;

	sl->busy = false;
	sl->res = mailsec_dns_result_ref(res);
	if (--s->pending == 0)
		spf_run(s);
}

static void
slots_clear(struct mailsec_spf *s)
{
	size_t i;

	/* only the current batch's slots are ever in use */
	for (i = 0; i < s->nslots; i++) {
		if (s->slots[i].busy)
			mailsec_resolver_cancel(s->r, s->slots[i].qid);
		mailsec_dns_result_unref(s->slots[i].res);
		s->slots[i].res = NULL;
		s->slots[i].busy = false;
		s->slots[i].bad_name = false;
	}
	s->nslots = 0;
	s->pending = 0;
}

/* Adds a query to the batch; a name the DNS cannot carry is answered
 * as a name that does not exist, without a query. */
static mailsec_err
spf_query(struct mailsec_spf *s, const char *name, uint16_t type)
{
	struct spf_slot *sl = &s->slots[s->nslots++];
	char q[SPF_QNAME_MAX];
	mailsec_err err;

	sl->s = s;
	spf_ev(s, MAILSEC_SPF_EV_QUERY, "query %s %s", name,
	    mailsec_dns_type_name(type));
	if (!qname(name, q, sizeof q)) {
		sl->bad_name = true;
		spf_ev(s, MAILSEC_SPF_EV_ANSWER, "%s is not a DNS name", name);
		return MAILSEC_OK;
	}
	/* Pending first: the zone backend never calls back from here. */
	s->pending++;
	sl->busy = true;
	err = mailsec_resolver_query_shared(s->r, q, type, on_answer, sl,
	    &sl->qid);
	if (err != MAILSEC_OK) {
		s->pending--;
		sl->busy = false;
		if (err != MAILSEC_EINVAL)
			return err;
		sl->bad_name = true;
		spf_ev(s, MAILSEC_SPF_EV_ANSWER, "%s is not a DNS name", name);
		return MAILSEC_OK;
	}
	s->out->queries++;
	return MAILSEC_OK;
}

/* Status of slot i (a name not sent counts as NXDOMAIN). */
static enum mailsec_dns_status
slot_status(struct mailsec_spf *s, size_t i)
{
	struct spf_slot *sl = &s->slots[i];

	if (sl->res == NULL)
		return MAILSEC_DNS_NXDOMAIN;
	return sl->res->status;
}

static void
trace_answer(struct mailsec_spf *s, size_t i)
{
	const struct mailsec_dns_result *res = s->slots[i].res;
	char ip[INET6_ADDRSTRLEN];
	struct ms_buf b;
	size_t k;

	if (!s->trace_on || res == NULL)
		return;
	if (res->status != MAILSEC_DNS_ANSWER) {
		spf_ev(s, MAILSEC_SPF_EV_ANSWER, "%s %s: %s%s%s", res->qname,
		    mailsec_dns_type_name(res->qtype),
		    mailsec_dns_status_name(res->status),
		    res->why[0] ? " - " : "", res->why);
		return;
	}
	ms_buf_init(&b, 400);
	for (k = 0; k < res->count; k++) {
		const struct mailsec_dns_rr *rr = &res->rrs[k];
		mailsec_err err = MAILSEC_OK;

		if (k > 0)
			err = ms_buf_appendz(&b, ", ");
		if (err == MAILSEC_OK) {
			if (rr->type == MAILSEC_DNS_A)
				err = ms_buf_appendz(&b, inet_ntop(AF_INET,
				    rr->u.a, ip, sizeof ip));
			else if (rr->type == MAILSEC_DNS_AAAA)
				err = ms_buf_appendz(&b, inet_ntop(AF_INET6,
				    rr->u.aaaa, ip, sizeof ip));
			else if (rr->type == MAILSEC_DNS_MX)
				err = ms_buf_printf(&b, "%u %s",
				    rr->u.mx.preference, rr->u.mx.exchange);
			else if (rr->type == MAILSEC_DNS_PTR)
				err = ms_buf_appendz(&b, rr->u.name);
			else if (rr->type == MAILSEC_DNS_TXT)
				err = ms_buf_printf(&b, "\"%.*s\"",
				    (int)(rr->u.txt.len > 300 ? 300 :
				    rr->u.txt.len), rr->u.txt.data);
		}
		if (err != MAILSEC_OK)
			break;
	}
	spf_ev(s, MAILSEC_SPF_EV_ANSWER, "%s %s: %s", res->qname,
	    mailsec_dns_type_name(res->qtype), b.ptr ? b.ptr : "...");
	ms_buf_free(&b);
}

/* ---- results ----------------------------------------------------------- */

static void
set_problem(struct mailsec_spf *s, const char *fmt, ...) MS_PRINTF(2, 3);

static void
set_problem(struct mailsec_spf *s, const char *fmt, ...)
{
	char buf[300];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	free(s->out->problem);
	s->out->problem = ms_memdupz(buf, strlen(buf));
}

/* The whole evaluation ends with r (errors propagate straight up through
 * include and redirect, RFC 7208 5.2, 6.1). */
static void
spf_finish(struct mailsec_spf *s, enum mailsec_spf_result r)
{
	s->out->result = r;
	s->done = true;
	spf_ev(s, MAILSEC_SPF_EV_RESULT, "result %s",
	    mailsec_spf_result_name(r));
}

static const char *
qual_result_name(char q)
{
	return q == '-' ? "fail" : q == '~' ? "softfail" : q == '?' ?
	    "neutral" : "pass";
}

static enum mailsec_spf_result
qual_result(char q)
{
	return q == '-' ? MAILSEC_SPF_FAIL : q == '~' ? MAILSEC_SPF_SOFTFAIL :
	    q == '?' ? MAILSEC_SPF_NEUTRAL : MAILSEC_SPF_PASS;
}

static void
frame_clear(struct spf_frame *f)
{
	ms_spf_record_unref(f->rec);
	memset(f, 0, sizeof *f);
}

static struct spf_frame *
top(struct mailsec_spf *s)
{
	return &s->fr[s->depth - 1];
}

/* A new level for domain (borrowed: the arena's, or a lit string of the
 * current frame's record, which outlives the new frame). */
static mailsec_err
frame_push(struct mailsec_spf *s, const char *domain, bool redirected)
{
	struct spf_frame *f;

	if (s->depth >= SPF_DEPTH_MAX)
		return MAILSEC_ELIMIT;
	f = &s->fr[s->depth];
	memset(f, 0, sizeof *f);
	f->domain = domain;
	f->redirected = redirected;
	f->st = ST_START;
	s->depth++;
	return MAILSEC_OK;
}

/* The current check_host() level ended with r; mech is the deciding
 * term (NULL for the default result). */
static void
frame_done(struct mailsec_spf *s, enum mailsec_spf_result r,
    const struct ms_spf_term *mech)
{
	struct spf_frame *f = top(s);

	if (r == MAILSEC_SPF_NONE && f->redirected) {
		/* RFC 7208 6.1: no record at the redirect target. */
		set_problem(s, "redirect target %s has no SPF record",
		    f->domain);
		spf_finish(s, MAILSEC_SPF_PERMERROR);
		return;
	}
	spf_ev(s, MAILSEC_SPF_EV_RESULT, "%s: %s%s%.*s", f->domain,
	    mailsec_spf_result_name(r), mech ? " by " : " (default)",
	    mech ? (int)mech->text.len : 0, mech ? mech->text.ptr : "");
	if (s->depth > 1) {
		frame_clear(f);
		s->depth--;
		top(s)->child_result = r;
		return;
	}
	free(s->mech);
	s->mech = mech ? ms_memdupz(mech->text.ptr, mech->text.len) : NULL;
	s->out->result = r;
	if (r == MAILSEC_SPF_FAIL && mech != NULL && f->rec != NULL &&
	    f->rec->has_exp) {
		f->st = ST_EXP;
		return;
	}
	spf_finish(s, r);
}

/* ---- macros ------------------------------------------------------------ */

static void
macro_ctx(struct mailsec_spf *s, const char *domain,
    struct ms_spf_macro_ctx *c)
{
	memset(c, 0, sizeof *c);
	c->s = s->sender;
	c->l = s->local;
	c->o = s->sdomain;
	c->d = domain;
	c->i = s->ip_dotted;
	c->v = s->v6 ? "ip6" : "in-addr";
	c->h = s->helo ? s->helo : "";
	c->c = s->ip_text;
	c->r = s->receiver ? s->receiver : "unknown";
	if (s->ts[0] == '\0')
		snprintf(s->ts, sizeof s->ts, "%lld", (long long)(s->now ?
		    s->now : (int64_t)time(NULL)));
	c->t = s->ts;
	c->p = s->pv_choice;
}

/* RFC 7208 7.3: the %{p} value for domain: the domain itself if
 * validated, else a validated subdomain of it, else any, else
 * "unknown". */
static void
pv_choose(struct mailsec_spf *s, const char *domain)
{
	size_t i;
	const char *pick = NULL;

	for (i = 0; i < s->pv_count && pick == NULL; i++)
		if (s->pv_valid[i] && name_within(s->pv_names[i], domain) &&
		    strlen(s->pv_names[i]) <= strlen(domain) + 1)
			pick = s->pv_names[i];
	for (i = 0; i < s->pv_count && pick == NULL; i++)
		if (s->pv_valid[i] && name_within(s->pv_names[i], domain))
			pick = s->pv_names[i];
	for (i = 0; i < s->pv_count && pick == NULL; i++)
		if (s->pv_valid[i])
			pick = s->pv_names[i];
	/* the names live in the arena as long as s */
	s->pv_choice = pick ? pick : "unknown";
}

/* Expands a domain-spec into a string in the arena (7.3 truncation
 * applied). Returns MAILSEC_OK, or an error that makes the evaluation
 * permerror (ENOMEM: temperror). */
static mailsec_err
expand_domain(struct mailsec_spf *s, const char *domain,
    struct mailsec_str spec, const char **out)
{
	struct ms_spf_macro_ctx c;
	struct mailsec_diag diag = { 0 };
	struct ms_buf b;
	const char *t;
	mailsec_err err;

	*out = NULL;
	if (ms_spf_macro_uses_p(spec.ptr, spec.len))
		pv_choose(s, domain);
	macro_ctx(s, domain, &c);
	ms_buf_init(&b, MAILSEC_SPF_EXPAND_MAX);
	err = ms_spf_macro_expand(&c, spec.ptr, spec.len, false, &b, &diag);
	if (err == MAILSEC_ELIMIT) {
		set_problem(s, "macro expansion of '%.*s' exceeds %d bytes",
		    (int)(spec.len > 60 ? 60 : spec.len), spec.ptr,
		    MAILSEC_SPF_EXPAND_MAX);
		return err;
	}
	if (err != MAILSEC_OK) {
		set_problem(s, "macro expansion of '%.*s': %s",
		    (int)(spec.len > 60 ? 60 : spec.len), spec.ptr,
		    diag.set ? diag.text : mailsec_strerror(err));
		return err;
	}
	t = b.ptr != NULL ? ms_spf_domain_truncate(b.ptr) : "";
	*out = arena_dupz(s, t);
	ms_buf_free(&b);
	return *out ? MAILSEC_OK : MAILSEC_ENOMEM;
}

/* ---- PTR validation (RFC 7208 5.5) ------------------------------------- */

static void
reverse_name(const struct mailsec_spf *s, char *out, size_t outsz)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	int i;

	if (!s->v6) {
		snprintf(out, outsz, "%u.%u.%u.%u.in-addr.arpa", s->ip[3],
		    s->ip[2], s->ip[1], s->ip[0]);
		return;
	}
	for (i = 15; i >= 0 && o + 4 < outsz; i--) {
		out[o++] = hex[s->ip[i] & 15];
		out[o++] = '.';
		out[o++] = hex[s->ip[i] >> 4];
		out[o++] = '.';
	}
	snprintf(out + o, outsz - o, "ip6.arpa");
}

/* Starts the validation unless done; *wait tells whether the machine
 * must wait for it (the frame resumes in state ret afterwards). */
static mailsec_err
pv_start(struct mailsec_spf *s, enum spf_state ret, bool *wait)
{
	struct spf_frame *f = top(s);
	char rev[100];

	*wait = false;
	if (s->pv)
		return MAILSEC_OK;
	reverse_name(s, rev, sizeof rev);
	slots_clear(s);
	f->pv_ret = ret;
	f->st = ST_PV_PTR;
	*wait = true;
	return spf_query(s, rev, MAILSEC_DNS_PTR);
}

/* ---- the machine ------------------------------------------------------- */

enum step { STEP_NEXT, STEP_WAIT };

/* A term that needs its target: %{p} first, then the lookup count,
 * then the expansion (lit: the one the record holds, or NULL). Returns STEP_WAIT when validation must run first
 * or the evaluation ended; *target set otherwise. */
static enum step
term_prepare(struct mailsec_spf *s, struct mailsec_str spec, const char *lit,
    bool counts, const char **target)
{
	struct spf_frame *f = top(s);
	mailsec_err err;
	bool wait;

	*target = f->domain;
	if (spec.len > 0 && ms_spf_macro_uses_p(spec.ptr, spec.len)) {
		if ((err = pv_start(s, f->st, &wait)) != MAILSEC_OK) {
			set_problem(s, "%s", mailsec_strerror(err));
			spf_finish(s, MAILSEC_SPF_TEMPERROR);
			return STEP_WAIT;
		}
		if (wait)
			return STEP_WAIT;
	}
	if (counts && ++s->out->lookups > MAILSEC_SPF_LOOKUP_MAX) {
		s->out->lookups--;
		set_problem(s, "more than %d DNS-querying terms "
		    "(RFC 7208 4.6.4)", MAILSEC_SPF_LOOKUP_MAX);
		spf_finish(s, MAILSEC_SPF_PERMERROR);
		return STEP_WAIT;
	}
	if (spec.len == 0)
		return STEP_NEXT;
	if (lit != NULL) {
		/* no macro: the record holds the expansion */
		*target = f->target = lit;
		return STEP_NEXT;
	}
	f->target = NULL;
	err = expand_domain(s, f->domain, spec, &f->target);
	if (err != MAILSEC_OK) {
		spf_finish(s, err == MAILSEC_ENOMEM ? MAILSEC_SPF_TEMPERROR :
		    MAILSEC_SPF_PERMERROR);
		return STEP_WAIT;
	}
	*target = f->target;
	return STEP_NEXT;
}

/* Counts a void lookup; false (evaluation ended) past the limit. */
static bool
void_lookup(struct mailsec_spf *s)
{
	if (++s->out->void_lookups > MAILSEC_SPF_VOID_MAX) {
		set_problem(s, "more than %d void lookups (RFC 7208 4.6.4)",
		    MAILSEC_SPF_VOID_MAX);
		spf_finish(s, MAILSEC_SPF_PERMERROR);
		return false;
	}
	return true;
}

static void
temp_fail(struct mailsec_spf *s, size_t slot)
{
	const struct mailsec_dns_result *res = s->slots[slot].res;

	set_problem(s, "DNS %s for %s %s%s%s",
	    mailsec_dns_status_name(res->status), res->qname,
	    mailsec_dns_type_name(res->qtype), res->why[0] ? ": " : "",
	    res->why);
	spf_finish(s, MAILSEC_SPF_TEMPERROR);
}

static enum step
st_record(struct mailsec_spf *s, struct spf_frame *f)
{
	const struct mailsec_dns_result *res = s->slots[0].res;
	struct mailsec_diag diag = { 0 };
	const struct mailsec_dns_rr *found = NULL;
	size_t i, n = 0;
	mailsec_err err;

	trace_answer(s, 0);
	switch (slot_status(s, 0)) {
	case MAILSEC_DNS_TIMEOUT:
	case MAILSEC_DNS_SERVFAIL:
		temp_fail(s, 0);
		return STEP_WAIT;
	case MAILSEC_DNS_NXDOMAIN:
	case MAILSEC_DNS_NODATA:
		set_problem(s, "no SPF record at %s", f->domain);
		frame_done(s, MAILSEC_SPF_NONE, NULL);
		return STEP_NEXT;
	case MAILSEC_DNS_ANSWER:
		break;
	}
	for (i = 0; i < res->count; i++) {
		const struct mailsec_dns_rr *rr = &res->rrs[i];

		if (rr->type == MAILSEC_DNS_TXT &&
		    ms_spf_is_record(rr->u.txt.data, rr->u.txt.len)) {
			found = rr;
			n++;
		}
	}
	if (n == 0) {
		set_problem(s, "no SPF record at %s", f->domain);
		frame_done(s, MAILSEC_SPF_NONE, NULL);
		return STEP_NEXT;
	}
	if (n > 1) {
		/* RFC 7208 4.5 */
		set_problem(s, "%zu SPF records at %s", n, f->domain);
		spf_finish(s, MAILSEC_SPF_PERMERROR);
		return STEP_WAIT;
	}
	spf_ev(s, MAILSEC_SPF_EV_RECORD, "%s: \"%.*s\"", f->domain,
	    (int)(found->u.txt.len > 500 ? 500 : found->u.txt.len),
	    found->u.txt.data);
	err = ms_spf_cache_get(s->cache, found->u.txt.data, found->u.txt.len,
	    &f->rec, &diag);
	if (err != MAILSEC_OK) {
		set_problem(s, "SPF record of %s: %s", f->domain,
		    diag.set ? diag.text : mailsec_strerror(err));
		spf_finish(s, err == MAILSEC_ENOMEM ? MAILSEC_SPF_TEMPERROR :
		    MAILSEC_SPF_PERMERROR);
		return STEP_WAIT;
	}
	f->term = 0;
	f->st = ST_TERM;
	return STEP_NEXT;
}

static enum step
matched(struct mailsec_spf *s, struct spf_frame *f)
{
	const struct ms_spf_term *t = &f->rec->terms[f->term];

	spf_ev(s, MAILSEC_SPF_EV_NOTE, "%.*s matches: %s", (int)t->text.len,
	    t->text.ptr, qual_result_name(t->qual));
	frame_done(s, qual_result(t->qual), t);
	return STEP_NEXT;
}

static enum step
next_term(struct spf_frame *f)
{
	f->term++;
	f->st = ST_TERM;
	return STEP_NEXT;
}

static enum step
st_term(struct mailsec_spf *s, struct spf_frame *f)
{
	const struct ms_spf_term *t;
	const char *target;
	uint16_t atype = s->v6 ? MAILSEC_DNS_AAAA : MAILSEC_DNS_A;
	mailsec_err err = MAILSEC_OK;

	if (f->term >= f->rec->nterms) {
		f->st = ST_REDIRECT;
		return STEP_NEXT;
	}
	t = &f->rec->terms[f->term];
	spf_ev(s, MAILSEC_SPF_EV_TERM, "%.*s", (int)t->text.len, t->text.ptr);
	switch (t->mech) {
	case MS_SPF_ALL:
		return matched(s, f);
	case MS_SPF_IP4:
		if (!s->v6 && cidr_match(s->ip, t->addr, t->cidr4))
			return matched(s, f);
		return next_term(f);
	case MS_SPF_IP6:
		if (s->v6 && cidr_match(s->ip, t->addr, t->cidr6))
			return matched(s, f);
		return next_term(f);
	default:
		break;
	}
	if (term_prepare(s, t->spec, t->lit, true, &target) == STEP_WAIT)
		return STEP_WAIT;
	slots_clear(s);
	switch (t->mech) {
	case MS_SPF_INCLUDE:
		f->st = ST_CHILD;
		if ((err = frame_push(s, target, false)) != MAILSEC_OK) {
			set_problem(s, "include nesting too deep");
			spf_finish(s, MAILSEC_SPF_PERMERROR);
			return STEP_WAIT;
		}
		return STEP_NEXT;
	case MS_SPF_A:
		f->st = ST_A;
		err = spf_query(s, target, atype);
		break;
	case MS_SPF_MX:
		f->st = ST_MX;
		err = spf_query(s, target, MAILSEC_DNS_MX);
		break;
	case MS_SPF_EXISTS:
		f->st = ST_EXISTS;
		/* RFC 7208 5.7: always an A query, whatever the client. */
		err = spf_query(s, target, MAILSEC_DNS_A);
		break;
	case MS_SPF_PTR: {
		bool wait;

		f->st = ST_PTR;
		s->pv_mech = !s->pv;
		err = pv_start(s, ST_PTR, &wait);
		break;
	}
	default:
		break;
	}
	if (err != MAILSEC_OK) {
		set_problem(s, "%s", mailsec_strerror(err));
		spf_finish(s, MAILSEC_SPF_TEMPERROR);
		return STEP_WAIT;
	}
	return STEP_WAIT;
}

/*
 * Reads the answer to a term's own lookup (slot 0). Returns true for an
 * answer. Otherwise *step says how to go on: a void lookup (NXDOMAIN or
 * NODATA) counts toward the limit and moves to the next term (RFC 7208
 * 4.6.4); a temporary failure ends in temperror (RFC 7208 5).
 */
static bool
term_answer(struct mailsec_spf *s, struct spf_frame *f, enum step *step)
{
	trace_answer(s, 0);
	switch (slot_status(s, 0)) {
	case MAILSEC_DNS_TIMEOUT:
	case MAILSEC_DNS_SERVFAIL:
		temp_fail(s, 0);
		*step = STEP_WAIT;
		return false;
	case MAILSEC_DNS_NXDOMAIN:
	case MAILSEC_DNS_NODATA:
		*step = void_lookup(s) ? next_term(f) : STEP_WAIT;
		return false;
	case MAILSEC_DNS_ANSWER:
		break;
	}
	return true;
}

static enum step
st_addr_answer(struct mailsec_spf *s, struct spf_frame *f, bool exists)
{
	const struct ms_spf_term *t = &f->rec->terms[f->term];
	const struct mailsec_dns_result *res = s->slots[0].res;
	enum step step;
	size_t i;

	if (!term_answer(s, f, &step))
		return step;
	for (i = 0; i < res->count; i++) {
		if (exists ? res->rrs[i].type == MAILSEC_DNS_A :
		    rr_match(s, &res->rrs[i], t->cidr4, t->cidr6))
			return matched(s, f);
	}
	return next_term(f);
}

static enum step
st_mx(struct mailsec_spf *s, struct spf_frame *f)
{
	const struct mailsec_dns_result *res = s->slots[0].res;
	char host[SPF_QNAME_MAX];
	uint16_t atype = s->v6 ? MAILSEC_DNS_AAAA : MAILSEC_DNS_A;
	size_t i, n = 0;
	enum step step;
	mailsec_err err;

	if (!term_answer(s, f, &step))
		return step;
	for (i = 0; i < res->count; i++)
		if (res->rrs[i].type == MAILSEC_DNS_MX)
			n++;
	if (n > MAILSEC_SPF_MX_MAX) {
		set_problem(s, "%s has %zu MX records, more than %d "
		    "(RFC 7208 4.6.4)", res->qname, n, MAILSEC_SPF_MX_MAX);
		spf_finish(s, MAILSEC_SPF_PERMERROR);
		return STEP_WAIT;
	}
	/* Take the answer out of slot 0: the batch reuses the slots. */
	s->slots[0].res = NULL;
	slots_clear(s);
	f->st = ST_MX_ADDR;
	err = MAILSEC_OK;
	for (i = 0; i < res->count && err == MAILSEC_OK; i++) {
		const struct mailsec_dns_rr *rr = &res->rrs[i];

		/* The null MX (RFC 7505) names no host. */
		if (rr->type != MAILSEC_DNS_MX || rr->u.mx.exchange[0] == '\0')
			continue;
		/* a name from the DNS layer always fits (253 octets) */
		if (!name_unescape(rr->u.mx.exchange, host, sizeof host)) {
			err = MAILSEC_ELIMIT;
			break;
		}
		err = spf_query(s, host, atype);
	}
	mailsec_dns_result_unref(res);
	if (err != MAILSEC_OK) {
		set_problem(s, "%s", mailsec_strerror(err));
		spf_finish(s, MAILSEC_SPF_TEMPERROR);
		return STEP_WAIT;
	}
	return s->pending > 0 ? STEP_WAIT : STEP_NEXT;
}

static enum step
st_mx_addr(struct mailsec_spf *s, struct spf_frame *f)
{
	const struct ms_spf_term *t = &f->rec->terms[f->term];
	size_t i, k;

	/* In MX order, as a sequential evaluation would see them. */
	for (i = 0; i < s->nslots; i++) {
		const struct mailsec_dns_result *res = s->slots[i].res;

		trace_answer(s, i);
		switch (slot_status(s, i)) {
		case MAILSEC_DNS_TIMEOUT:
		case MAILSEC_DNS_SERVFAIL:
			temp_fail(s, i);
			return STEP_WAIT;
		case MAILSEC_DNS_ANSWER:
			for (k = 0; k < res->count; k++)
				if (rr_match(s, &res->rrs[k], t->cidr4,
				    t->cidr6))
					return matched(s, f);
			break;
		default:
			break;
		}
	}
	return next_term(f);
}

static enum step
st_pv_ptr(struct mailsec_spf *s, struct spf_frame *f)
{
	const struct mailsec_dns_result *res = s->slots[0].res;
	uint16_t atype = s->v6 ? MAILSEC_DNS_AAAA : MAILSEC_DNS_A;
	enum mailsec_dns_status st = slot_status(s, 0);
	mailsec_err err = MAILSEC_OK;
	size_t i;

	trace_answer(s, 0);
	s->pv = 1;
	if (st != MAILSEC_DNS_ANSWER) {
		/* RFC 7208 5.5: a DNS error here means no match. */
		if (s->pv_mech && !mailsec_dns_status_is_temporary(st) &&
		    !void_lookup(s))
			return STEP_WAIT;
		f->st = f->pv_ret;
		return STEP_NEXT;
	}
	for (i = 0; i < res->count && s->pv_count < MAILSEC_SPF_PTR_MAX;
	    i++) {
		/* RFC 7208 4.6.4: names past the first 10 are ignored. */
		char name[SPF_QNAME_MAX];

		if (res->rrs[i].type != MAILSEC_DNS_PTR)
			continue;
		if (!name_unescape(res->rrs[i].u.name, name, sizeof name)) {
			err = MAILSEC_ELIMIT;
			break;
		}
		s->pv_names[s->pv_count] = arena_dupz(s, name);
		if (s->pv_names[s->pv_count] == NULL) {
			err = MAILSEC_ENOMEM;
			break;
		}
		s->pv_count++;
	}
	slots_clear(s);
	for (i = 0; i < s->pv_count && err == MAILSEC_OK; i++)
		err = spf_query(s, s->pv_names[i], atype);
	if (err != MAILSEC_OK) {
		set_problem(s, "%s", mailsec_strerror(err));
		spf_finish(s, MAILSEC_SPF_TEMPERROR);
		return STEP_WAIT;
	}
	f->st = ST_PV_ADDR;
	return s->pending > 0 ? STEP_WAIT : STEP_NEXT;
}

static enum step
st_pv_addr(struct mailsec_spf *s, struct spf_frame *f)
{
	size_t i, k;

	for (i = 0; i < s->nslots && i < s->pv_count; i++) {
		const struct mailsec_dns_result *res = s->slots[i].res;

		trace_answer(s, i);
		/* An error skips the name (RFC 7208 5.5). */
		if (slot_status(s, i) != MAILSEC_DNS_ANSWER)
			continue;
		for (k = 0; k < res->count; k++)
			if (rr_match(s, &res->rrs[k], 32, 128))
				s->pv_valid[i] = true;
		if (s->pv_valid[i])
			spf_ev(s, MAILSEC_SPF_EV_NOTE, "validated name %s",
			    s->pv_names[i]);
	}
	f->st = f->pv_ret;
	return STEP_NEXT;
}

static enum step
st_ptr(struct mailsec_spf *s, struct spf_frame *f)
{
	const char *target = f->target ? f->target : f->domain;
	size_t i;

	if (f->rec->terms[f->term].spec.len == 0)
		target = f->domain;
	for (i = 0; i < s->pv_count; i++)
		if (s->pv_valid[i] && name_within(s->pv_names[i], target))
			return matched(s, f);
	return next_term(f);
}

static enum step
st_child(struct mailsec_spf *s, struct spf_frame *f)
{
	const struct ms_spf_term *t = &f->rec->terms[f->term];

	switch (f->child_result) {
	case MAILSEC_SPF_PASS:
		return matched(s, f);
	case MAILSEC_SPF_NONE:
		/* RFC 7208 5.2: include of a domain without a record. */
		set_problem(s, "%.*s: no SPF record there", (int)t->text.len,
		    t->text.ptr);
		spf_finish(s, MAILSEC_SPF_PERMERROR);
		return STEP_WAIT;
	default:
		return next_term(f);
	}
}

static enum step
st_redirect(struct mailsec_spf *s, struct spf_frame *f)
{
	const char *target, *dom;

	if (!f->rec->has_redirect) {
		frame_done(s, MAILSEC_SPF_NEUTRAL, NULL);
		return STEP_NEXT;
	}
	spf_ev(s, MAILSEC_SPF_EV_TERM, "redirect=%.*s",
	    (int)f->rec->redirect.len, f->rec->redirect.ptr);
	if (term_prepare(s, f->rec->redirect, f->rec->redirect_lit, true,
	    &target) == STEP_WAIT)
		return STEP_WAIT;
	/* The target replaces this level: its result is ours (6.1). A lit
	 * target lives in the record this level is about to drop. */
	dom = arena_dupz(s, target);
	if (dom == NULL) {
		spf_finish(s, MAILSEC_SPF_TEMPERROR);
		return STEP_WAIT;
	}
	frame_clear(f);
	f->domain = dom;
	f->redirected = true;
	f->st = ST_START;
	return STEP_NEXT;
}

static void
default_explanation(struct mailsec_spf *s)
{
	struct mailsec_spf_outcome *o = s->out;
	struct ms_buf b;

	ms_buf_init(&b, 1024);
	if (ms_buf_printf(&b, "%s does not designate %s as permitted sender",
	    s->sdomain, s->ip_text) != MAILSEC_OK)
		return;
	free(o->explanation);
	o->explanation = ms_buf_steal(&b, NULL);
	o->explanation_default = true;
}

/* The explanation (RFC 7208 6.2): any problem means the default. */
static enum step
st_exp(struct mailsec_spf *s, struct spf_frame *f)
{
	const char *target;
	bool wait;

	if (ms_spf_macro_uses_p(f->rec->exp.ptr, f->rec->exp.len)) {
		if (pv_start(s, ST_EXP, &wait) != MAILSEC_OK) {
			spf_finish(s, s->out->result);
			return STEP_WAIT;
		}
		if (wait)
			return STEP_WAIT;
	}
	f->target = f->rec->exp_lit;
	if ((f->target == NULL && expand_domain(s, f->domain, f->rec->exp,
	    &f->target) != MAILSEC_OK) || !domain_ok(f->target)) {
		free(s->out->problem);
		s->out->problem = NULL;
		spf_finish(s, s->out->result);
		return STEP_WAIT;
	}
	target = f->target;
	slots_clear(s);
	f->st = ST_EXP_TXT;
	if (spf_query(s, target, MAILSEC_DNS_TXT) != MAILSEC_OK) {
		spf_finish(s, s->out->result);
		return STEP_WAIT;
	}
	return s->pending > 0 ? STEP_WAIT : STEP_NEXT;
}

static enum step
st_exp_txt(struct mailsec_spf *s, struct spf_frame *f)
{
	const struct mailsec_dns_result *res = s->slots[0].res;

	trace_answer(s, 0);
	if (slot_status(s, 0) != MAILSEC_DNS_ANSWER || res->count != 1 ||
	    res->rrs[0].type != MAILSEC_DNS_TXT) {
		spf_finish(s, s->out->result);
		return STEP_WAIT;
	}
	/* a NUL inside is no macro-string: the default explanation */
	s->exp_len = res->rrs[0].u.txt.len;
	s->exp_text = arena_dup(s, res->rrs[0].u.txt.data, s->exp_len);
	if (s->exp_text == NULL ||
	    memchr(s->exp_text, '\0', s->exp_len) != NULL) {
		spf_finish(s, s->out->result);
		return STEP_WAIT;
	}
	f->st = ST_EXP_TEXT;
	return STEP_NEXT;
}

static enum step
st_exp_text(struct mailsec_spf *s, struct spf_frame *f)
{
	struct ms_spf_macro_ctx c;
	struct ms_buf b;
	bool wait;

	if (ms_spf_macro_uses_p(s->exp_text, s->exp_len)) {
		if (pv_start(s, ST_EXP_TEXT, &wait) != MAILSEC_OK) {
			spf_finish(s, s->out->result);
			return STEP_WAIT;
		}
		if (wait)
			return STEP_WAIT;
		pv_choose(s, f->domain);
	}
	macro_ctx(s, f->domain, &c);
	ms_buf_init(&b, MAILSEC_SPF_EXPAND_MAX);
	if (ms_spf_macro_expand(&c, s->exp_text, s->exp_len, true,
	    &b, NULL) == MAILSEC_OK) {
		free(s->out->explanation);
		s->out->explanation = ms_buf_steal(&b, NULL);
		s->out->explanation_default = false;
		spf_ev(s, MAILSEC_SPF_EV_NOTE, "explanation: %s",
		    s->out->explanation ? s->out->explanation : "");
	}
	ms_buf_free(&b);
	spf_finish(s, s->out->result);
	return STEP_WAIT;
}

static enum step
st_start(struct mailsec_spf *s, struct spf_frame *f)
{
	if (!domain_ok(f->domain)) {
		/* RFC 7208 4.3 */
		set_problem(s, "'%s' is not a usable domain name", f->domain);
		frame_done(s, MAILSEC_SPF_NONE, NULL);
		return STEP_NEXT;
	}
	slots_clear(s);
	f->st = ST_RECORD;
	if (spf_query(s, f->domain, MAILSEC_DNS_TXT) != MAILSEC_OK) {
		spf_finish(s, MAILSEC_SPF_TEMPERROR);
		return STEP_WAIT;
	}
	return s->pending > 0 ? STEP_WAIT : STEP_NEXT;
}

static void
spf_complete(struct mailsec_spf *s)
{
	struct mailsec_spf_outcome *o = s->out;

	slots_clear(s);
	while (s->depth > 0)
		frame_clear(&s->fr[--s->depth]);
	if (o->result == MAILSEC_SPF_FAIL && o->explanation == NULL)
		default_explanation(s);
	if (o->result != MAILSEC_SPF_FAIL) {
		free(o->explanation);
		o->explanation = NULL;
	}
	if (o->result != MAILSEC_SPF_TEMPERROR &&
	    o->result != MAILSEC_SPF_PERMERROR && o->result !=
	    MAILSEC_SPF_NONE) {
		free(o->problem);
		o->problem = NULL;
	}
	o->mechanism = s->mech;
	s->mech = NULL;
	if (s->trace_dropped > 0 && o->ntrace > 0) {
		/* The last slot says how much is missing. */
		size_t dropped = s->trace_dropped + 1;

		free(o->trace[--o->ntrace].text);
		spf_ev(s, MAILSEC_SPF_EV_NOTE, "(%zu more trace events not "
		    "kept)", dropped);
	}
}

static void
spf_run(struct mailsec_spf *s)
{
	enum step st = STEP_NEXT;
	struct spf_frame *f;

	while (!s->done) {
		f = top(s);
		switch (f->st) {
		case ST_START: st = st_start(s, f); break;
		case ST_RECORD: st = st_record(s, f); break;
		case ST_TERM: st = st_term(s, f); break;
		case ST_A: st = st_addr_answer(s, f, false); break;
		case ST_EXISTS: st = st_addr_answer(s, f, true); break;
		case ST_MX: st = st_mx(s, f); break;
		case ST_MX_ADDR: st = st_mx_addr(s, f); break;
		case ST_PTR: st = st_ptr(s, f); break;
		case ST_CHILD: st = st_child(s, f); break;
		case ST_REDIRECT: st = st_redirect(s, f); break;
		case ST_EXP: st = st_exp(s, f); break;
		case ST_EXP_TXT: st = st_exp_txt(s, f); break;
		case ST_EXP_TEXT: st = st_exp_text(s, f); break;
		case ST_PV_PTR: st = st_pv_ptr(s, f); break;
		case ST_PV_ADDR: st = st_pv_addr(s, f); break;
		}
		if (st == STEP_WAIT && !s->done && s->pending == 0)
			continue;	/* nothing was sent: go on */
		if (st == STEP_WAIT)
			break;
	}
	if (s->done) {
		spf_complete(s);
		if (s->cb != NULL)
			s->cb(s->cbarg, s);	/* may free s */
	}
}

/* ---- the request ------------------------------------------------------- */

static mailsec_err
parse_ip(struct mailsec_spf *s, const char *ip)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff };
	static const char hex[] = "0123456789abcdef";
	uint8_t a6[16];
	size_t o = 0;
	int i;

	if (inet_pton(AF_INET, ip, s->ip) == 1) {
		s->v6 = false;
	} else if (inet_pton(AF_INET6, ip, a6) == 1) {
		if (memcmp(a6, mapped, 12) == 0) {
			/* RFC 7208 5: an IPv4-mapped address is IPv4. */
			memcpy(s->ip, a6 + 12, 4);
			s->v6 = false;
		} else {
			memcpy(s->ip, a6, 16);
			s->v6 = true;
		}
	} else {
		return MAILSEC_EINVAL;
	}
	if (!s->v6) {
		/* dotted quad, as inet_ntop() writes it (without printf) */
		for (i = 0; i < 4; i++) {
			unsigned v = s->ip[i];

			if (v >= 100)
				s->ip_text[o++] = (char)('0' + v / 100);
			if (v >= 10)
				s->ip_text[o++] = (char)('0' + v / 10 % 10);
			s->ip_text[o++] = (char)('0' + v % 10);
			s->ip_text[o++] = i < 3 ? '.' : '\0';
		}
		memcpy(s->ip_dotted, s->ip_text, o);
		return MAILSEC_OK;
	}
	inet_ntop(AF_INET6, s->ip, s->ip_text, sizeof s->ip_text);
	/* RFC 7208 7.3: %{i} of IPv6 is the nibbles, dot-separated. */
	for (i = 0; i < 16; i++) {
		s->ip_dotted[o++] = hex[s->ip[i] >> 4];
		s->ip_dotted[o++] = '.';
		s->ip_dotted[o++] = hex[s->ip[i] & 15];
		s->ip_dotted[o++] = i < 15 ? '.' : '\0';
	}
	return MAILSEC_OK;
}

static char *
dupz(const char *p)
{
	return ms_memdupz(p, strlen(p));
}

/* Joins (a, alen) '@' (b, blen) in the arena. */
static const char *
arena_join(struct mailsec_spf *s, const char *a, size_t alen, const char *b,
    size_t blen)
{
	char *d;

	/* lengths are at most SPF_SENDER_MAX each: no overflow */
	if ((d = arena_alloc(s, alen + 1 + blen)) == NULL)
		return NULL;
	memcpy(d, a, alen);
	d[alen] = '@';
	memcpy(d + alen + 1, b, blen);
	return d;
}

mailsec_err
mailsec_spf_new(struct mailsec_resolver *r,
    const struct mailsec_spf_request *req, struct mailsec_spf **out,
    struct mailsec_diag *diag)
{
	struct mailsec_spf *s = NULL;
	const char *mf, *at, *dom, *local;
	mailsec_err err = MAILSEC_ENOMEM;
	size_t len, llen;

	if (out != NULL)
		*out = NULL;
	if (r == NULL || req == NULL || out == NULL || req->ip == NULL)
		return ms_diag(diag, MAILSEC_EINVAL, 0, 0,
		    "resolver, request and ip are required");
	mf = req->mail_from ? req->mail_from : "";
	if (strlen(mf) > SPF_SENDER_MAX || (req->helo != NULL &&
	    strlen(req->helo) > SPF_SENDER_MAX) || (req->receiver != NULL &&
	    strlen(req->receiver) > SPF_SENDER_MAX))
		return ms_diag(diag, MAILSEC_EINVAL, 0, 0,
		    "sender, HELO or receiver longer than %d bytes",
		    SPF_SENDER_MAX);
	if ((s = ms_calloc(1, sizeof *s)) == NULL)
		return MAILSEC_ENOMEM;
	s->r = r;
	arena_init(&s->arena);
	if (parse_ip(s, req->ip) != MAILSEC_OK) {
		err = ms_diag(diag, MAILSEC_EINVAL, 0, 0,
		    "'%s' is not an IPv4 or IPv6 address", req->ip);
		goto fail;
	}
	if ((s->out = ms_calloc(1, sizeof *s->out)) == NULL)
		goto fail;
	s->identity = req->identity;
	if (req->identity == MAILSEC_SPF_ID_MAILFROM && mf[0] == '\0')
		s->identity = MAILSEC_SPF_ID_HELO;
	if (req->helo != NULL && (s->helo = arena_dupz(s, req->helo)) == NULL)
		goto fail;
	if (req->receiver != NULL && (s->receiver = arena_dupz(s,
	    req->receiver)) == NULL)
		goto fail;
	local = "postmaster";
	llen = strlen(local);
	if (s->identity == MAILSEC_SPF_ID_MAILFROM) {
		/* RFC 7208 4.3: the domain after the last '@'; no or an
		 * empty local-part means "postmaster". */
		at = strrchr(mf, '@');
		dom = at ? at + 1 : mf;
		if (at != NULL && at > mf) {
			local = mf;
			llen = (size_t)(at - mf);
		}
	} else {
		dom = req->helo ? req->helo : "";
	}
	len = strlen(dom);
	if (len > 1 && dom[len - 1] == '.')
		len--;			/* trailing dot: same name */
	/* sender is local@domain; local and sdomain are its two parts */
	if ((s->sender = arena_join(s, local, llen, dom, len)) == NULL ||
	    (s->local = arena_dup(s, s->sender, llen)) == NULL ||
	    (s->sdomain = arena_dup(s, s->sender + llen + 1, len)) == NULL)
		goto fail;
	s->now = req->now;
	s->out->identity = s->identity;
	if ((s->out->sender = dupz(s->sender)) == NULL ||
	    (s->out->domain = dupz(s->sdomain)) == NULL)
		goto fail;
	*out = s;
	return MAILSEC_OK;
fail:
	mailsec_spf_free(s);
	return err;
}

void
mailsec_spf_set_trace(struct mailsec_spf *spf, bool on)
{
	if (spf != NULL)
		spf->trace_on = on;
}

void
mailsec_spf_set_cache(struct mailsec_spf *spf, struct mailsec_spf_cache *c)
{
	if (spf != NULL && !spf->started)
		spf->cache = c;
}

mailsec_err
mailsec_spf_start(struct mailsec_spf *s, mailsec_spf_done_cb cb, void *arg)
{
	if (s == NULL)
		return MAILSEC_EINVAL;
	if (s->started)
		return MAILSEC_ESTATE;
	s->started = true;
	s->cb = cb;
	s->cbarg = arg;
	spf_ev(s, MAILSEC_SPF_EV_NOTE, "check_host(%s, %s, %s) identity=%s",
	    s->ip_text, s->sdomain, s->sender,
	    s->identity == MAILSEC_SPF_ID_HELO ? "helo" : "mailfrom");
	if (frame_push(s, s->sdomain, false) != MAILSEC_OK) {
		spf_finish(s, MAILSEC_SPF_TEMPERROR);
		spf_complete(s);
		if (cb != NULL)
			cb(arg, s);
		return MAILSEC_OK;
	}
	spf_run(s);
	return MAILSEC_OK;
}

bool
mailsec_spf_done(const struct mailsec_spf *s)
{
	return s != NULL && s->done;
}

const struct mailsec_spf_outcome *
mailsec_spf_outcome(const struct mailsec_spf *s)
{
	return s != NULL && s->done ? s->out : NULL;
}

struct mailsec_spf_outcome *
mailsec_spf_take_outcome(struct mailsec_spf *s)
{
	struct mailsec_spf_outcome *o;

	if (s == NULL || !s->done)
		return NULL;
	o = s->out;
	s->out = NULL;
	return o;
}

void
mailsec_spf_free(struct mailsec_spf *s)
{
	if (s == NULL)
		return;
	slots_clear(s);
	while (s->depth > 0)
		frame_clear(&s->fr[--s->depth]);
	free(s->mech);
	mailsec_spf_outcome_free(s->out);
	arena_cleanup(&s->arena);
	free(s);
}

mailsec_err
mailsec_spf_check(struct mailsec_resolver *r,
    const struct mailsec_spf_request *req, bool trace,
    struct mailsec_spf_outcome **out, struct mailsec_diag *diag)
{
	struct timespec t0, t1;
	struct mailsec_spf *s;
	mailsec_err err;
	int64_t left;

	if (out == NULL)
		return MAILSEC_EINVAL;
	*out = NULL;
	if ((err = mailsec_spf_new(r, req, &s, diag)) != MAILSEC_OK)
		return err;
	mailsec_spf_set_trace(s, trace);
	if ((err = mailsec_spf_start(s, NULL, NULL)) != MAILSEC_OK)
		goto out;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!s->done) {
		if (mailsec_resolver_pending(r) == 0) {
			err = MAILSEC_ESTATE;	/* cannot happen */
			goto out;
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		left = SPF_TIME_MAX_MS - ((int64_t)(t1.tv_sec - t0.tv_sec) *
		    1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0) {
			/* RFC 7208 4.6.4: too long is temperror. */
			set_problem(s, "evaluation took longer than %d s",
			    SPF_TIME_MAX_MS / 1000);
			spf_finish(s, MAILSEC_SPF_TEMPERROR);
			spf_complete(s);
			break;
		}
		if ((err = mailsec_resolver_wait(r, (int)left)) != MAILSEC_OK)
			goto out;
	}
	*out = mailsec_spf_take_outcome(s);
	if (*out == NULL)
		err = MAILSEC_ENOMEM;
out:
	mailsec_spf_free(s);
	return err;
}
