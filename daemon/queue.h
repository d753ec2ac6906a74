/*
 * daemon/queue.h - the durable spool under STATE_DIR/queue/ and the
 * queue runner: local (Maildir) delivery, remote delivery through a
 * transport, retries and DSNs.
 *
 * Principle 6 of DESIGN.md: "250" is said only once the message and its
 * envelope are on stable storage. A message is streamed into
 * queue/tmp/ID while DATA arrives; queue_commit() hands it to a commit
 * thread that makes a whole batch of messages durable at once (data
 * synced, renamed into queue/incoming/, directory synced once) and only
 * then reports completion back on the event loop. The file format, the
 * durability argument and the recovery rules are in docs/queue.md.
 *
 * Threads: every function here is called from one thread (the event
 * loop's), except where noted. The queue owns a commit thread and, once
 * queue_runner_start() is called, a runner thread; create the queue
 * after fork(), never before (threads do not survive fork).
 */
#ifndef MAILSEC_DAEMON_QUEUE_H
#define MAILSEC_DAEMON_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mailsec/err.h>

#include "remote.h"

struct event_base;
struct mailsec_resolver;

/* Queue IDs: 16 characters of base32hex (RFC 4648 section 7, lowercase),
 * 80 bits: 34 bits of seconds since 2020-01-01, 20 bits of microseconds
 * (strictly increasing within a process), 22 bits of process ID, 4
 * random bits. Sortable by time, unique across processes and restarts,
 * safe as file names. */
#define QUEUE_ID_LEN 16

/* Limits (docs/queue.md). */
#define QUEUE_ENV_MAX ((size_t)4 * 1024 * 1024)	/* envelope block */
#define QUEUE_RCPT_MAX 10000			/* recipients per message */
#define QUEUE_SHOW_HEADER_MAX ((size_t)1024 * 1024)	/* queue_show() */

struct queue;
struct queue_msg;

enum queue_rcpt_status {
	QUEUE_RCPT_PENDING = 0,	/* not tried yet */
	QUEUE_RCPT_DONE,	/* delivered */
	QUEUE_RCPT_DEFERRED,	/* will be retried; reason says why */
	QUEUE_RCPT_FAILED	/* permanent failure; reason says why */
};

/* One recipient. Strings are NUL-terminated, borrowed. */
struct queue_rcpt {
	const char *addr;	/* forward-path without <> */
	const char *notify;	/* DSN NOTIFY= value, or NULL */
	const char *orcpt;	/* DSN ORCPT= as "type;address" with the
				 * address decoded from xtext (RFC 3461
				 * 4.2; printable ASCII), or NULL */
	enum queue_rcpt_status status;	/* from the state file */
	const char *reason;	/* why deferred/failed (the last error:
				 * "mx.example.org[192.0.2.1]: 451 4.3.0
				 * try later"), or the remote server's
				 * answer once done; NULL */
	/* From the state file (remote delivery): */
	unsigned attempts;	/* delivery attempts for this recipient */
	int code;		/* last SMTP reply code, 0: none */
	const char *status_code;	/* RFC 3463 "5.1.1" of the last
					 * answer, or NULL */
	const char *mx;		/* the host that answered last, NULL */
	const char *tls;	/* TLS of the last attempt ("TLSv1.3 ...",
				 * "none"), or NULL (never tried remotely) */
	bool dsn_done;		/* its final status was reported (or
				 * needed no DSN) */
};

/*
 * The envelope. Strings are NUL-terminated and borrowed (by
 * queue_msg_envelope(), for the call; in a struct queue_entry, from the
 * entry). NULL means "absent". They may hold any byte but NUL: the file
 * format escapes the rest.
 */
struct queue_env {
	const char *mail_from;	/* reverse-path without <>; "" is <> */
	uint64_t size;		/* SIZE= parameter, 0 if absent */
	const char *body;	/* BODY= "7BIT", "8BITMIME", "BINARYMIME" */
	bool smtputf8;		/* SMTPUTF8 given */
	const char *ret;	/* DSN RET= "FULL" or "HDRS" */
	const char *envid;	/* DSN ENVID= */
	const char *client_ip;
	const char *helo;
	const char *tls;	/* "TLSv1.3 TLS_AES_256_GCM_SHA384", NULL */
	const char *auth_user;	/* authenticated user, NULL */
	const char *quarantine;	/* why the policy quarantined it; not
				 * NULL: every recipient goes to the
				 * quarantine Maildir, never the inbox */
	int64_t received;	/* Unix time; 0 = when queue_msg_new() ran */
	const char *headers;	/* header fields to prepend at delivery */
	size_t headers_len;	/* (CRLF-terminated lines), may be 0 */
	const struct queue_rcpt *rcpt;
	size_t nrcpt;		/* 1..QUEUE_RCPT_MAX */
};

/*
 * Opens (creating as needed, mode 0700) STATE_DIR/queue/ and its
 * subdirectories tmp/, incoming/, state/, corrupt/. base is the event
 * loop commits complete on; NULL opens the spool for the read and
 * admin operations only (queue_list/show/delete: the CLI without a
 * daemon), and queue_commit() then fails with MAILSEC_ESTATE.
 * An opener with a base holds a shared lock on queue/lock, so
 * queue_recover() in another process refuses to run meanwhile.
 * Errors: MAILSEC_EIO (with diag text naming the path), ENOMEM.
 */
mailsec_err queue_open(struct queue **out, const char *state_dir,
    struct event_base *base, struct mailsec_diag *diag);

/*
 * Stops the runner, lets the commit thread finish every pending commit
 * (their callbacks fire from here, with their outcome) and frees the
 * queue. Messages still being written (no queue_commit() yet) must have
 * been committed or aborted before. NULL is a no-op.
 */
void queue_close(struct queue *q);

/* Recovery report of queue_recover(). */
struct queue_recover_stats {
	size_t tmp_removed;	/* unfinished files in tmp/ (never acked) */
	size_t torn_removed;	/* incoming/ files with no valid trailer */
	size_t corrupt_moved;	/* checksum mismatch: moved to corrupt/ */
	size_t recovered;	/* complete messages left in the queue */
	size_t state_removed;	/* state files of finished messages */
};

/*
 * Crash recovery; run once at start, before any session commits, by the
 * one process that owns the queue directory (it takes queue/lock
 * exclusively and fails with MAILSEC_ESTATE when another process holds
 * it). Removes tmp/ files, removes incoming/ files that are torn (too
 * short, no trailer, lengths that disagree with the file size: such a
 * file was never acknowledged, see docs/queue.md), moves those whose
 * checksum is wrong to corrupt/ (never silently lost), and keeps the
 * complete ones, each exactly once.
 */
mailsec_err queue_recover(struct queue *q, struct queue_recover_stats *st);

/* ---- receiving -------------------------------------------------------- */

/*
 * Starts a message with a new queue ID. Its file queue/tmp/ID (O_EXCL,
 * 0600) is created once the message outgrows its 64 KiB memory buffer,
 * else by the commit thread: no disk I/O on the event loop for small
 * messages. Errors: ENOMEM.
 */
mailsec_err queue_msg_new(struct queue *q, struct queue_msg **out);

/* The message's queue ID (QUEUE_ID_LEN characters, NUL-terminated);
 * valid until the commit callback returns or queue_msg_abort(). */
const char *queue_msg_id(const struct queue_msg *m);

/*
 * Appends message bytes (as they stream from DATA/BDAT, already
 * dot-unstuffed, CRLF lines). Buffered in at most 64 KiB, written to the
 * file (from this thread) each time the buffer fills. MAILSEC_EIO when
 * the disk refuses (the message is then unusable: abort it);
 * MAILSEC_ESTATE after queue_msg_envelope().
 */
mailsec_err queue_msg_write(struct queue_msg *m, const void *p, size_t len);

/* Bytes appended so far. */
uint64_t queue_msg_size(const struct queue_msg *m);

/*
 * Records the envelope (copied; call once, before queue_commit()).
 * MAILSEC_EINVAL: no recipient, too many, NULL mail_from or address;
 * MAILSEC_ELIMIT: the envelope block would exceed QUEUE_ENV_MAX.
 */
mailsec_err queue_msg_envelope(struct queue_msg *m,
    const struct queue_env *env);

/* Drops a message that will not be committed (client gone, policy
 * reject): the tmp file is removed. NULL is a no-op. */
void queue_msg_abort(struct queue_msg *m);

/*
 * Called on the event loop once the commit is over. err MAILSEC_OK: the
 * data, envelope and directory entry are durable; "250" may be sent.
 * Otherwise (MAILSEC_EIO...) the message is not queued: reply 451.
 * id is valid during the call only.
 */
typedef void queue_commit_cb(void *arg, mailsec_err err, const char *id);

/*
 * Finishes m (pending bytes, envelope, trailer) and queues it for the
 * commit thread, which groups it with every other pending commit. cb
 * fires exactly once, from the event loop (never from inside this
 * call), after the message is durable or has failed. The queue owns m
 * from here on; m stays valid until cb returns. Must follow
 * queue_msg_envelope() (else cb gets MAILSEC_ESTATE). On a queue opened
 * without an event loop, cb fires at once with MAILSEC_ESTATE.
 */
void queue_commit(struct queue *q, struct queue_msg *m, queue_commit_cb *cb,
    void *arg);

/* The session that committed m went away: the commit still completes
 * (and the message will be delivered) but cb will not fire. Event loop
 * thread only, between queue_commit() and the callback. */
void queue_commit_cancel(struct queue_msg *m);

/* Group commit figures (for logs and the bench). */
struct queue_commit_stats {
	uint64_t commits;	/* messages committed */
	uint64_t batches;	/* sync rounds */
	uint64_t max_batch;	/* largest batch */
};
void queue_commit_stats(struct queue *q, struct queue_commit_stats *st);

/* How a batch's data is made durable (docs/queue.md, "group commit"). */
enum queue_sync_mode {
	QUEUE_SYNC_AUTO = 0,	/* fdatasync for one file, syncfs for more */
	QUEUE_SYNC_FILES,	/* fdatasync every file of the batch */
	QUEUE_SYNC_FS		/* one syncfs() per batch */
};
void queue_set_sync_mode(struct queue *q, enum queue_sync_mode mode);

/*
 * Writes a complete message (bytes: CRLF lines, as if received) with
 * envelope env into the queue synchronously: tmp/ID, fsync, rename into
 * incoming/ (never replacing), fsync of incoming/. When it returns
 * MAILSEC_OK the message is durable and a running runner has been handed
 * its ID. id_out (QUEUE_ID_LEN + 1 bytes) receives the ID; may be NULL.
 * For DSNs (the runner's threads) and reports; any thread.
 * Errors: those of queue_msg_envelope(), MAILSEC_EIO, ENOMEM.
 */
mailsec_err queue_inject(struct queue *q, const struct queue_env *env,
    const void *bytes, size_t len, char *id_out);

/* ---- delivery ----------------------------------------------------------- */

/*
 * Remote delivery of one message to the recipients it has in one domain:
 * remote_deliver() (daemon/remote.h) in the daemon, a fake in tests.
 * res is the calling delivery thread's own resolver (NULL when the
 * configuration has no resolver factory). Must give every rcpt a result.
 */
struct queue_transport {
	mailsec_err (*deliver)(void *arg, struct mailsec_resolver *res,
	    const char *domain, const struct remote_msg *msg,
	    struct remote_rcpt *rcpts, size_t n, struct remote_info *info);
	void *arg;
};

/* Creates a resolver for one delivery thread (each owns one: resolvers
 * are not thread-safe). Called from that thread. */
typedef mailsec_err queue_resolver_fn(void *arg,
    struct mailsec_resolver **out);

struct queue_local {
	const char *const *domains;	/* local domains (any case) */
	size_t ndomains;
	const char *hostname;	/* Maildir names; NULL: gethostname() */
	unsigned rescan_secs;	/* runner rescans incoming/; 0: 300 */
	const char *maildir;	/* Maildir root (<root>/<domain>/<user>/);
				 * NULL: STATE_DIR/mail */
	const char *quarantine_dir;	/* root for quarantined messages;
					 * NULL: STATE_DIR/quarantine */
	/* Remote delivery (retained, not copied: must outlive the
	 * runner). NULL: remote recipients are deferred "no relay
	 * configured". */
	const struct queue_transport *transport;
	queue_resolver_fn *resolver_new;	/* NULL: no resolver */
	void *resolver_arg;			/* retained too */
	unsigned threads;	/* delivery threads; 0: 4 (start only) */
	unsigned lifetime;	/* s after received a deferred recipient
				 * fails; 0: 5 days */
	unsigned delay_warning;	/* s after received: one delay DSN; 0:
				 * none */
	bool bounce;		/* DSNs (RFC 3464) for failures, delays */
	const char *mta_name;	/* Reporting-MTA, MAILER-DAEMON@...;
				 * NULL: the host name */
};

/* What one queue_run() pass did. */
struct queue_run_stats {
	size_t messages;	/* messages looked at */
	size_t delivered;	/* recipients delivered */
	size_t deferred;	/* recipients left for later */
	size_t failed;		/* recipients failed for good */
	size_t removed;		/* messages finished and removed */
	size_t busy;		/* locked by another runner: skipped */
};

/*
 * Starts the runner: a dispatcher thread and cfg->threads delivery
 * threads. Messages are delivered as soon as their commit is durable,
 * every queue file is looked at on start, on queue_flush() and every
 * rescan_secs (those whose retry time came); one thread handles a
 * message at a time (an exclusive flock on its file). Recipients in a
 * local domain go to <maildir>/<domain>/<local-part>/ (Maildir, created
 * as needed); the others, grouped by domain, go through cfg->transport
 * (without one they stay queued as "deferred: no relay configured"),
 * with retries (backoff from 60 s doubling to 4 h) until cfg->lifetime,
 * then fail; failures and delays are reported to the sender with DSNs
 * (queue_inject()). A message whose envelope has "quarantine" goes, for
 * every recipient (local or not: quarantined mail is never relayed), to
 * <quarantine_dir>/<domain>/<local-part>/ instead. cfg is copied (the
 * transport and resolver factory are retained). MAILSEC_ESTATE: already
 * started; EINVAL: a domain that does not normalize; EIO: no thread.
 */
mailsec_err queue_runner_start(struct queue *q, const struct queue_local *cfg);

/*
 * Replaces the running runner's configuration (local domains, Maildir
 * roots, host name, rescan period: the SIGHUP reload) without stopping
 * it. cfg is copied and checked here; the runner takes it before its
 * next delivery (a delivery in progress finishes under the old one), then
 * makes a forced pass, so mail deferred for a domain that just became
 * local is delivered now. Does not block on deliveries. MAILSEC_ESTATE:
 * no runner; EINVAL: a domain that does not normalize (the old
 * configuration stays); ENOMEM.
 */
mailsec_err queue_runner_reconfigure(struct queue *q,
    const struct queue_local *cfg);

/*
 * One synchronous pass over incoming/ (the runner's work, for tests and
 * tools; cfg NULL: the runner's). force: ignore retry times. Safe
 * against a runner in this or another process: a message is delivered
 * under an exclusive lock on its file.
 */
mailsec_err queue_run(struct queue *q, const struct queue_local *cfg,
    bool force, struct queue_run_stats *st);

/* Asks the runner for a pass now, retry times ignored (any thread). */
void queue_flush(struct queue *q);

/* ---- inspection (the `mailsec queue` operations) ------------------------ */

/* One queued message as read from its file and state file. */
struct queue_entry {
	char id[QUEUE_ID_LEN + 1];
	uint64_t size;		/* message bytes (without the prepended
				 * header fields) */
	struct queue_env env;	/* borrows from the entry */
	unsigned attempts;	/* delivery passes so far */
	int64_t next_attempt;	/* Unix time of the next, 0 = now */
	int64_t last_attempt;	/* Unix time of the last, 0 = none */
	bool delay_dsn;		/* the delay DSN was sent */
	bool active;		/* being delivered right now */
	/* owned storage */
	char *env_text;
	char *state_text;
	struct queue_rcpt *rcpts;
};

/*
 * Lists the queue sorted by ID (arrival order): *out is an array of *n
 * entries (queue_entries_free()). Files that vanish or fail to parse
 * while listing are skipped.
 */
mailsec_err queue_list(struct queue *q, struct queue_entry **out, size_t *n);
void queue_entries_free(struct queue_entry *e, size_t n);

/*
 * Reads one message: its entry and its header section (up to the empty
 * line, at most QUEUE_SHOW_HEADER_MAX bytes) into *hdr (free()).
 * MAILSEC_ENOTFOUND: no such queued message; EINVAL: not a queue ID.
 */
mailsec_err queue_show(struct queue *q, const char *id,
    struct queue_entry *out, char **hdr, size_t *hdrlen);
void queue_entry_cleanup(struct queue_entry *e);

/*
 * Removes a queued message (its file and state). MAILSEC_ENOTFOUND: no
 * such message; MAILSEC_ESTATE: being delivered right now (try again).
 */
mailsec_err queue_delete(struct queue *q, const char *id);

/* ---- helpers shared with control.c and the CLI -------------------------- */

/* The queue IDs in incoming/, sorted (free() *ids). */
mailsec_err queue_ids(struct queue *q, char (**ids)[QUEUE_ID_LEN + 1],
    size_t *n);

/* True if (p, len) has the shape of a queue ID. */
bool queue_id_valid(const char *p, size_t len);

/* Fills id (QUEUE_ID_LEN + 1 bytes) with a new queue ID (any thread). */
void queue_id_new(char *id);

/* Reads the raw texts of a message (the envelope block and the state
 * file, each NUL-terminated, free()) plus the message size; the state
 * text is "" when there is none. Used by the control protocol. */
mailsec_err queue_entry_texts(struct queue *q, const char *id, char **env,
    size_t *envlen, char **state, size_t *statelen, uint64_t *size,
    bool *active);

/*
 * Builds an entry from those texts (copied): the envelope parser and the
 * state parser in one. MAILSEC_ESYNTAX (diag names the line) when the
 * envelope is malformed.
 */
mailsec_err queue_entry_parse(struct queue_entry *out, const char *id,
    uint64_t size, const char *env, size_t envlen, const char *state,
    size_t statelen, struct mailsec_diag *diag);

/* "pending", "done", "deferred", "failed". */
const char *queue_rcpt_status_name(enum queue_rcpt_status s);

#endif /* MAILSEC_DAEMON_QUEUE_H */
