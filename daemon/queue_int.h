/*
 * daemon/queue_int.h - what the spool (queue.c), the delivery runner
 * (queue_run.c), the control socket (control.c) and Maildir delivery
 * (maildir.c) share and nobody else sees: the queue's own structure, the
 * file format's constants, the readers of queue and state files and the
 * envelope value encoder. docs/queue.md has the formats.
 */
#ifndef MAILSEC_DAEMON_QUEUE_INT_H
#define MAILSEC_DAEMON_QUEUE_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <openssl/types.h>

#include <mailsec/err.h>

#include "core/core.h"
#include "queue.h"

/* ---- file format (docs/queue.md) ---------------------------------------- */

#define QF_MAGIC "mailsec-queue 1\n"
#define QF_MAGIC_LEN (sizeof(QF_MAGIC) - 1)
/* "trailer " 16 hex " " 16 hex " sha256 " 64 hex "\n" */
#define QF_TRAILER_LEN (8 + 16 + 1 + 16 + 8 + 64 + 1)
#define QF_STATE_MAGIC "mailsec-state 1\n"
#define QF_STATE_MAGIC_LEN (sizeof(QF_STATE_MAGIC) - 1)
#define QF_STATE_MAX ((size_t)4 * 1024 * 1024)

struct event;

/* A message being received, then committed (queue.c). */
struct queue_msg {
	struct queue *q;
	char id[QUEUE_ID_LEN + 1];
	int fd;
	EVP_MD_CTX *sha;
	char *buf;		/* QF_WBUF bytes not yet written */
	size_t buflen;
	uint64_t size;		/* message bytes so far */
	char *env;		/* encoded envelope block */
	size_t envlen;
	int64_t received;
	mailsec_err err;	/* sticky: first write error */
	bool created;		/* tmp/ID is ours (to remove on failure) */
	queue_commit_cb *cb;	/* event loop thread only */
	void *arg;
	struct queue_msg *next;
};

/*
 * The runner's copy of struct queue_local: reference-counted (under
 * q->mu), so a reload swaps it at once while deliveries in progress
 * finish under the one they started with.
 */
struct queue_local_cfg {
	unsigned refs;		/* under q->mu */
	unsigned gen;		/* changes with each reload */
	char **domains;		/* normalized */
	size_t ndomains;
	char host[256];		/* Maildir-safe host name */
	char mta[256];		/* Reporting-MTA (the host name) */
	unsigned rescan_secs;
	char *maildir;		/* NULL: STATE_DIR/mail */
	char *quarantine_dir;	/* NULL: STATE_DIR/quarantine */
	const struct queue_transport *transport;	/* retained */
	queue_resolver_fn *resolver_new;
	void *resolver_arg;
	unsigned threads;
	unsigned lifetime;	/* s */
	unsigned delay_warning;	/* s, 0: none */
	bool bounce;
};

/* One message for a delivery thread. */
struct qrun_work {
	char id[QUEUE_ID_LEN + 1];
	bool careful;		/* may have been (partly) delivered */
	bool force;		/* ignore its retry time */
	bool scan;		/* from a rescan (counted in nscan) */
};

struct queue {
	char *state_dir;
	int qfd, tmpfd, incfd, statefd, corruptfd, lockfd;
	struct event_base *base;
	struct event *ev;
	int efd;		/* eventfd: commits done */

	pthread_mutex_t mu;
	pthread_cond_t commit_cv;
	bool commit_started;
	pthread_t commit_thr;
	struct queue_msg *pending, **pending_tail;
	struct queue_msg *done, **done_tail;
	bool stopping;
	enum queue_sync_mode sync_mode;
	struct queue_commit_stats stats;

	/* The runner (queue_run.c); under mu unless noted. */
	pthread_cond_t run_cv;	/* the dispatcher waits here */
	pthread_cond_t work_cv;	/* the delivery threads wait here */
	bool run_started, run_stop, run_flush;
	pthread_t run_thr;	/* the dispatcher: rescans */
	pthread_t *workers;	/* the delivery threads */
	size_t nworkers;
	struct qrun_work *work;	/* FIFO: work[work_head..nwork) */
	size_t nwork, work_head, work_cap;
	size_t nscan;		/* rescan items queued or in progress */
	struct queue_local_cfg *cfg;	/* the current one (a reference) */
	unsigned cfg_gen;
	pthread_mutex_t deliver_mu;	/* one queue_run() at a time */
};

/* ---- helpers ------------------------------------------------------------ */

/* Writes the whole of len bytes, retrying short writes and EINTR: 0 or
 * -1 (errno set). Also used by maildir.c. */
int qf_write_all(int fd, const void *p, size_t len);

/* Reads the whole of len bytes at off: 0, or -1 (errno EIO when the file
 * is shorter). Also used by maildir.c. */
int qf_pread_all(int fd, void *p, size_t len, off_t off);

/* Opens the directory name under parent, creating it (0700) if needed. */
int qf_open_dir(int parent, const char *name);

/* Unix time now. */
int64_t qf_now(void);

/* Sets *flag under q->mu, wakes the thread waiting on cv and joins it. */
void qf_thread_stop(struct queue *q, bool *flag, pthread_cond_t *cv,
    pthread_t thr);

/* The queue IDs in dirfd (incoming/ or state/), sorted (free() *out). */
mailsec_err qf_scan_ids(int dirfd, char (**out)[QUEUE_ID_LEN + 1],
    size_t *n);

/* ---- queue and state files ---------------------------------------------- */

/* What the trailer of an open queue file says. */
struct qf_info {
	uint64_t msg_len;
	uint64_t env_len;
	unsigned char sha[32];
	off_t file_size;
};

enum qf_check { QF_OK, QF_TORN, QF_CORRUPT, QF_IOERR };

/* Reads the magic and the trailer; QF_TORN when either is missing or the
 * lengths disagree with the file size. */
enum qf_check qf_trailer(int fd, struct qf_info *in);

/* Reads the envelope block (NUL-terminated, free()). */
mailsec_err qf_read_env(int fd, const struct qf_info *in, char **env);

/* Reads state/ID; "" (allocated) when there is none. */
mailsec_err qf_read_state(struct queue *q, const char *id, char **out,
    size_t *len);

/*
 * Opens incoming/ID read-only. MAILSEC_EINVAL: not a queue ID;
 * MAILSEC_ENOTFOUND: no such file; MAILSEC_EIO.
 */
mailsec_err qf_open(struct queue *q, const char *id, int *fd);

/* The raw texts of one queued message (queue_entry_texts()). */
struct qf_texts {
	char *env;		/* envelope block, NUL-terminated */
	size_t envlen;
	char *state;		/* state file, "" when there is none */
	size_t statelen;
	uint64_t size;		/* message bytes */
	bool active;		/* a runner holds it */
};

/* Fills t; the caller frees it with qf_texts_free(). On an error t is
 * left empty. Errors: those of qf_open(), MAILSEC_ESYNTAX (not a
 * complete queue file), ENOMEM, EIO, ELIMIT (state file too big). */
mailsec_err qf_texts_read(struct queue *q, const char *id,
    struct qf_texts *t);
void qf_texts_free(struct qf_texts *t);

/* ---- envelope values ---------------------------------------------------- */

/* Appends "key value\n", the value %XX-escaped (docs/queue.md). */
mailsec_err qf_env_put(struct ms_buf *b, const char *key, const char *v,
    size_t len);
/* The same for a C string; nothing when v is NULL. */
mailsec_err qf_env_putz(struct ms_buf *b, const char *key, const char *v);

/* ---- the runner (queue_run.c) ------------------------------------------- */

/* Hands the committed messages of a batch to the runner (commit thread;
 * nothing when no runner runs). */
void qrun_handoff(struct queue *q, const struct queue_msg *batch);

/* The same for one message (queue_inject(); any thread). */
void qrun_handoff_id(struct queue *q, const char *id);

/* Stops the runner thread if it runs and frees the runner's state (from
 * queue_close()). */
void qrun_stop(struct queue *q);

#endif /* MAILSEC_DAEMON_QUEUE_INT_H */
