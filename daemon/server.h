/*
 * daemon/server.h - `mailsec serve`: the master process that binds the
 * listeners and supervises one worker per core, and the worker's state
 * that sessions share (daemon/session.h). docs/gateway.md tells the
 * story; DESIGN.md "Scale" the why.
 *
 *   master: config, certificate and DKIM key generation, queue recovery,
 *           one SO_REUSEPORT socket per listener address per worker,
 *           fork, respawn, SIGHUP/SIGTERM forwarding
 *   worker: event loop, TLS context, password db, pipeline, queue (with
 *           its runner), control socket (worker 0), privileges dropped,
 *           sessions
 */
#ifndef GW_SERVER_H
#define GW_SERVER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "auth.h"
#include "config.h"

struct event_base;
struct event;
struct evconnlistener;
struct pipeline;
struct queue;
struct control;
struct session;

/* Per-address connection counters: one slot per address hash. Two
 * addresses sharing a slot share a limit (refusal comes early, never
 * late). */
#define SERVER_IP_SLOTS		65536

/* State every worker shares (an anonymous MAP_SHARED mapping made by the
 * master before fork()). */
struct server_shared {
	_Atomic unsigned conns;				/* open sessions */
	_Atomic unsigned short ip_conns[SERVER_IP_SLOTS];
	struct auth_throttle auth;
};

/* What `mailsec serve` was told on its command line (kept for reload). */
struct server_opts {
	const char *config;	/* --config FILE or NULL (defaults) */
	const char *state_dir;	/* --state-dir DIR or NULL */
	const char *dns;	/* --dns SERVER[@PORT][,...] */
	const char *dns_zone;	/* --dns-zone FILE */
	unsigned workers;	/* --workers N (0: the configuration's) */
	unsigned greet_pause_ms;	/* --greet-pause MS (0: none) */
	bool foreground;
	bool check_config;
	bool verbose;
};

/* One listening socket of a worker. */
struct server_listener {
	enum gw_listener_kind kind;
	int fd;
	struct evconnlistener *ev;
};

struct server_worker {
	unsigned index;			/* 0..workers-1 */
	struct event_base *base;
	const struct server_opts *opts;
	struct gw_config *cfg;		/* current; replaced on reload */
	SSL_CTX *tls;			/* current; sessions keep their SSL */
	struct auth_db *auth;
	struct pipeline *pl;
	struct queue *q;
	struct control *ctl;
	struct server_shared *shm;
	struct server_listener *ls;
	size_t nls;
	struct session *sessions;	/* every open session (list) */
	unsigned nsessions;
	uint64_t next_id;		/* session ids */
	bool draining;			/* SIGTERM: no new sessions */
	struct event *ev_drain;		/* drain deadline */
	char hostname[256];		/* greeting, EHLO, Received */
	unsigned conn_max;		/* connections (total) */
};

/*
 * Loads the configuration the options describe (--config over the
 * defaults, then --state-dir, --dns / --dns-zone). On failure err says
 * why. MAILSEC_OK or the loader's error.
 */
mailsec_err server_config_load(const struct server_opts *o,
    struct gw_config *cfg, char *err, size_t errlen);

/* Runs the master until SIGTERM/SIGINT; returns the exit status. */
int server_run(const struct server_opts *o);

#endif /* GW_SERVER_H */
