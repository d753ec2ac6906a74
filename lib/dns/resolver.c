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
 */
#include <errno.h>
#include <stdio.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dns/dns_int.h"

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
};

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
ms_dns_name_dup(const char *name, char **out)
{
	size_t len = strlen(name), i, label = 0;

	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len > MS_DNS_MAX_NAME)
		return MAILSEC_EINVAL;
	for (i = 0; i < len; i++) {
		if (name[i] == '.') {
			/* empty labels ("a..b", ".a") are not names */
			if (label == 0)
				return MAILSEC_EINVAL;
			label = 0;
		} else if (++label > MS_DNS_MAX_LABEL) {
			return MAILSEC_EINVAL;
		}
	}
	*out = ms_memdupz(name, len);
	return *out != NULL ? MAILSEC_OK : MAILSEC_ENOMEM;
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
	free(q->name);
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

mailsec_err
mailsec_resolver_query(struct mailsec_resolver *r, const char *name,
    uint16_t type, mailsec_dns_cb cb, void *arg, uint64_t *qid)
{
	struct ms_dns_query *q;
	mailsec_err err;

	if (r == NULL || name == NULL || cb == NULL || type == 0)
		return MAILSEC_EINVAL;
	q = calloc(1, sizeof *q);
	if (q == NULL)
		return MAILSEC_ENOMEM;
	err = ms_dns_name_dup(name, &q->name);
	if (err != MAILSEC_OK) {
		free(q);
		return err;
	}
	q->id = r->next_id++;
	q->type = type;
	q->cb = cb;
	q->arg = arg;
	q->r = r;
	q->deadline = ms_monotonic_ms() + r->timeout_ms;
	q->next = r->pending;
	if (r->pending != NULL)
		r->pending->prev = q;
	r->pending = q;
	r->npending++;
	err = r->ops->start(r->impl, q);
	if (err != MAILSEC_OK) {
		/* a backend that failed may still have finished it */
		if (q->res == NULL) {
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

void
ms_dns_finish(struct ms_dns_query *q, struct mailsec_dns_result *res)
{
	struct mailsec_resolver *r = q->r;

	if (res == NULL) {
		res = ms_dns_result_new(q->name, q->type, MAILSEC_DNS_SERVFAIL);
		if (res != NULL)
			snprintf(res->why, sizeof res->why, "out of memory");
	}
	q->res = res;
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

mailsec_err
mailsec_resolver_process(struct mailsec_resolver *r)
{
	struct ms_dns_query *q;
	struct mailsec_dns_result *res;
	mailsec_err err;

	err = r->ops->process(r->impl);
	expire(r);
	r->batch = r->done;
	r->done = r->done_tail = NULL;
	while ((q = r->batch) != NULL) {
		r->batch = q->next;
		if (r->batch != NULL)
			r->batch->prev = NULL;
		r->npending--;
		res = q->res;
		q->res = NULL;
		if (res != NULL)
			q->cb(q->arg, res);
		r->delivered++;
		query_free(q);
	}
	return err;
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
		err = mailsec_resolver_process(r);
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
