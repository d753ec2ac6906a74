/*
 * daemon/control.h - the local control socket STATE_DIR/control (unix
 * stream, mode 0600) through which `mailsec queue` talks to the running
 * daemon, and the client side the CLI uses.
 *
 * Protocol (docs/queue.md, "Control protocol"): one request line per
 * connection ("list", "show ID", "delete ID", "flush", LF-terminated, at
 * most CONTROL_LINE_MAX bytes); the daemon answers and closes:
 *
 *   entry ID SIZE ACTIVE ENVLEN STATELEN LF  ENVLEN bytes  STATELEN bytes
 *   headers LEN LF  LEN bytes                      (show only)
 *   ok LF                                          success, last line
 *   error NAME TEXT LF                             failure, last line
 *
 * The envelope and state blocks are the queue's own on-disk texts, so one
 * parser (queue_entry_parse()) reads them in the daemon and in the CLI.
 */
#ifndef MAILSEC_DAEMON_CONTROL_H
#define MAILSEC_DAEMON_CONTROL_H

#include <stddef.h>

#include <mailsec/err.h>

#include "queue.h"

struct event_base;
struct control;

#define CONTROL_LINE_MAX 256
#define CONTROL_RESP_MAX ((size_t)256 * 1024 * 1024)
#define CONTROL_TIMEOUT_SECS 30

/*
 * Listens on STATE_DIR/control (a stale socket file is replaced; the
 * socket is chmod 0600 and the state directory is 0700) and serves the
 * queue q on base. Requests are handled on the loop (list reads the
 * spool synchronously: an admin operation). MAILSEC_ELIMIT: the path
 * does not fit sun_path; MAILSEC_EIO (diag says why).
 */
mailsec_err control_listen(struct control **out, struct event_base *base,
    const char *state_dir, struct queue *q, struct mailsec_diag *diag);

/* Closes the listener and open connections, removes the socket file.
 * NULL is a no-op. */
void control_close(struct control *c);

/*
 * Client: connects to STATE_DIR/control, sends req (one line, without
 * LF) and reads the whole answer into *resp (NUL-terminated, free()).
 * MAILSEC_ENOTFOUND: no daemon listens there; MAILSEC_ETIMEOUT;
 * MAILSEC_EIO.
 */
mailsec_err control_request(const char *state_dir, const char *req,
    char **resp, size_t *resplen, struct mailsec_diag *diag);

/*
 * Client: parses an answer. *entries and *n receive the entries (may be
 * none; queue_entries_free()), *hdr (if hdr non-NULL) the headers block
 * of a show (free(), NULL if none). An "error" answer returns
 * MAILSEC_ENOTFOUND / ESTATE / EINVAL (by its NAME, else EIO) with the
 * daemon's text in diag; a malformed answer MAILSEC_ESYNTAX.
 */
mailsec_err control_parse(const char *resp, size_t len,
    struct queue_entry **entries, size_t *n, char **hdr, size_t *hdrlen,
    struct mailsec_diag *diag);

#endif /* MAILSEC_DAEMON_CONTROL_H */
