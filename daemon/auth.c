/*
 * daemon/auth.c - password database, threaded password checks and AUTH
 * failure throttling (daemon/auth.h). RFC 4954.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <openssl/crypto.h>

#include "auth.h"
#include "log.h"
#include "passwd.h"

struct auth_db {
	_Atomic unsigned refs;
	struct gw_passwd *pw;	/* NULL: no file */
};

struct auth_req {
	struct auth_db *db;
	struct event *ev;
	auth_done_cb *cb;
	void *arg;
	bool cancelled;		/* loop thread only */
	bool ok;		/* set by the thread */
	size_t ulen, plen;
	char user[GW_PASSWD_USER_MAX + 1];
	char pass[GW_PASSWD_PASS_MAX + 1];
};

static _Atomic unsigned inflight;

static void
auth_warn(void *arg, const char *msg)
{
	(void)arg;
	log_warnx("auth: %s", msg);
}

mailsec_err
auth_db_load(const struct gw_config *cfg, struct auth_db **out,
    bool *missing, char *err, size_t errlen)
{
	struct auth_db *db;
	mailsec_err e;

	*out = NULL;
	*missing = false;
	if ((db = calloc(1, sizeof *db)) == NULL)
		return MAILSEC_ENOMEM;
	db->refs = 1;
	if (cfg->auth.password_file != NULL) {
		e = gw_passwd_load(cfg->auth.password_file, &db->pw,
		    auth_warn, NULL, err, errlen);
		if (e == MAILSEC_ENOTFOUND) {
			*missing = true;
			db->pw = NULL;
		} else if (e != MAILSEC_OK) {
			free(db);
			return e;
		}
	} else
		*missing = true;
	*out = db;
	return MAILSEC_OK;
}

const struct gw_passwd *
auth_db_passwd(const struct auth_db *db)
{
	return db != NULL ? db->pw : NULL;
}

void
auth_db_ref(struct auth_db *db)
{
	atomic_fetch_add(&db->refs, 1);
}

void
auth_db_unref(struct auth_db *db)
{
	if (db == NULL || atomic_fetch_sub(&db->refs, 1) != 1)
		return;
	gw_passwd_free(db->pw);
	free(db);
}

static void
req_free(struct auth_req *r)
{
	OPENSSL_cleanse(r->pass, sizeof r->pass);
	if (r->ev != NULL)
		event_free(r->ev);
	auth_db_unref(r->db);
	free(r);
}

static void *
auth_thread(void *arg)
{
	struct auth_req *r = arg;
	bool ok = false;

	if (r->db->pw != NULL &&
	    gw_passwd_check(r->db->pw, r->user, r->ulen, r->pass, r->plen,
	    &ok) != MAILSEC_OK)
		ok = false;
	if (r->db->pw == NULL) {
		/* no file: still one hash, so timing tells nothing */
		char h[GW_PASSWD_HASH_MAX];

		(void)gw_passwd_hash(r->pass, r->plen > 0 ? r->plen : 1, NULL,
		    h, sizeof h);
		ok = false;
	}
	r->ok = ok;
	OPENSSL_cleanse(r->pass, sizeof r->pass);
	event_active(r->ev, EV_READ, 0);
	/* r may be freed by the loop from here on */
	atomic_fetch_sub(&inflight, 1);
	return NULL;
}

static void
auth_on_done(evutil_socket_t fd, short what, void *arg)
{
	struct auth_req *r = arg;

	(void)fd;
	(void)what;
	if (!r->cancelled)
		r->cb(r->arg, r->ok);
	req_free(r);
}

mailsec_err
auth_check_start(struct event_base *base, struct auth_db *db,
    const char *user, size_t ulen, const char *pass, size_t plen,
    auth_done_cb *cb, void *arg, struct auth_req **out)
{
	struct auth_req *r;
	pthread_attr_t attr;
	pthread_t tid;
	int rc;

	*out = NULL;
	if (ulen > GW_PASSWD_USER_MAX || plen > GW_PASSWD_PASS_MAX)
		return MAILSEC_ELIMIT;
	if ((r = calloc(1, sizeof *r)) == NULL)
		return MAILSEC_ENOMEM;
	memcpy(r->user, user, ulen);
	r->ulen = ulen;
	memcpy(r->pass, pass, plen);
	r->plen = plen;
	r->cb = cb;
	r->arg = arg;
	r->db = db;
	auth_db_ref(db);
	if ((r->ev = event_new(base, -1, 0, auth_on_done, r)) == NULL) {
		req_free(r);
		return MAILSEC_ENOMEM;
	}
	atomic_fetch_add(&inflight, 1);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&tid, &attr, auth_thread, r);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		atomic_fetch_sub(&inflight, 1);
		req_free(r);
		return MAILSEC_ENOMEM;
	}
	*out = r;
	return MAILSEC_OK;
}

void
auth_check_cancel(struct auth_req *r)
{
	if (r != NULL)
		r->cancelled = true;
}

unsigned
auth_inflight(void)
{
	return atomic_load(&inflight);
}

uint32_t
auth_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 16777619u;
	}
	return h;
}

static uint64_t
seconds_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec;
}

#define THR_MINUTE(v)	((v) >> 32)
#define THR_PREV(v)	(((v) >> 16) & 0xffffu)
#define THR_CUR(v)	((v) & 0xffffu)

/* A slot seen from minute m: this minute's and the previous minute's
 * failures (a slot last written a minute ago has its count move back). */
static void
thr_counts(uint64_t v, uint64_t m, uint64_t *cur, uint64_t *prev)
{
	*cur = *prev = 0;
	if (THR_MINUTE(v) == m) {
		*cur = THR_CUR(v);
		*prev = THR_PREV(v);
	} else if (THR_MINUTE(v) + 1 == m) {
		*prev = THR_CUR(v);
	}
}

bool
auth_throttled_at(struct auth_throttle *t, const char *ip, unsigned limit,
    uint64_t now)
{
	uint64_t v = atomic_load(&t->slot[auth_hash(ip) %
	    AUTH_THROTTLE_SLOTS]);
	uint64_t m = (now / 60) & 0xffffffffu, cur, prev;

	if (limit == 0)
		return false;
	thr_counts(v, m, &cur, &prev);
	/* cur + prev * (60 - s) / 60 >= limit, in whole numbers */
	return cur * 60 + prev * (60 - now % 60) >= (uint64_t)limit * 60;
}

bool
auth_throttled(struct auth_throttle *t, const char *ip, unsigned limit)
{
	return auth_throttled_at(t, ip, limit, seconds_now());
}

void
auth_throttle_fail_at(struct auth_throttle *t, const char *ip, uint64_t now)
{
	_Atomic uint64_t *s = &t->slot[auth_hash(ip) % AUTH_THROTTLE_SLOTS];
	uint64_t m = (now / 60) & 0xffffffffu, cur, prev;
	uint64_t old = atomic_load(s), nv;

	do {
		thr_counts(old, m, &cur, &prev);
		if (cur < 0xffffu)
			cur++;
		nv = m << 32 | prev << 16 | cur;
	} while (!atomic_compare_exchange_weak(s, &old, nv));
}

void
auth_throttle_fail(struct auth_throttle *t, const char *ip)
{
	auth_throttle_fail_at(t, ip, seconds_now());
}
