/*
 * daemon/auth.h - AUTH for the submission listeners (RFC 4954): the
 * password file as a shared, reference-counted database, password checks
 * off the event loop (scrypt costs about 0.1 s: a thread per check, the
 * answer posted back to the loop), and failure throttling per client
 * address across every worker process.
 */
#ifndef GW_AUTH_H
#define GW_AUTH_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mailsec/err.h>

#include "config.h"

struct event_base;
struct auth_db;
struct auth_req;

/*
 * Loads cfg->auth.password_file. A missing file gives an empty database
 * (every AUTH fails) and *missing = true; other errors fill err. The
 * database starts with one reference.
 */
mailsec_err auth_db_load(const struct gw_config *cfg, struct auth_db **out,
    bool *missing, char *err, size_t errlen);

/* The passwd file behind db (gw_config_recipient() reads it); NULL when
 * the file was missing. */
const struct gw_passwd *auth_db_passwd(const struct auth_db *db);

void auth_db_ref(struct auth_db *db);
void auth_db_unref(struct auth_db *db);	/* NULL is a no-op */

/* Called on the loop: ok when the login exists and the password matches. */
typedef void auth_done_cb(void *arg, bool ok);

/*
 * Checks (user, pass) in a new thread; cb fires on base's loop, never
 * from inside this call. The strings are copied (and wiped after use).
 * base must have been created after evthread_use_pthreads().
 */
mailsec_err auth_check_start(struct event_base *base, struct auth_db *db,
    const char *user, size_t ulen, const char *pass, size_t plen,
    auth_done_cb *cb, void *arg, struct auth_req **out);

/* The session went away: no callback; the request frees itself. */
void auth_check_cancel(struct auth_req *r);

/* Checks still running in threads (wait for 0 before freeing the loop). */
unsigned auth_inflight(void);

/* ---- throttling (shared memory, every worker) --------------------------- */

/*
 * One slot per hash of the client address: minute << 32 | the failures
 * of the minute before << 16 | the failures of this minute (each at most
 * 65535). The failures of the last 60 seconds are estimated as this
 * minute's plus the previous minute's weighted by the part of it still
 * inside the 60 seconds (a sliding window): failures that straddle a
 * minute boundary still add up, unlike a counter reset every minute.
 */
#define AUTH_THROTTLE_SLOTS	4096

struct auth_throttle {
	_Atomic uint64_t slot[AUTH_THROTTLE_SLOTS];
};

/* Whether ip already failed limit times in the last 60 seconds. */
bool auth_throttled(struct auth_throttle *t, const char *ip, unsigned limit);

/* Counts one failure for ip. */
void auth_throttle_fail(struct auth_throttle *t, const char *ip);

/* The same at a given time (seconds of a monotonic clock), for tests. */
bool auth_throttled_at(struct auth_throttle *t, const char *ip,
    unsigned limit, uint64_t now);
void auth_throttle_fail_at(struct auth_throttle *t, const char *ip,
    uint64_t now);

/* FNV-1a of a string: the slot hash, also used for per-IP counters. */
uint32_t auth_hash(const char *s);

#endif /* GW_AUTH_H */
