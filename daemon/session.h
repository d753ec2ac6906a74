/*
 * daemon/session.h - one SMTP server session (RFC 5321) on a worker's
 * event loop: the greeting, commands with pipelining (RFC 2920),
 * STARTTLS (RFC 3207) and implicit TLS (RFC 8314), AUTH (RFC 4954),
 * DATA and BDAT (RFC 3030) streamed into the queue and the policy
 * pipeline, and the reply that the message is queued only once the
 * queue's commit says it is durable.
 *
 * Protocol decisions come from lib/smtp (mailsec/smtp.h); this file does
 * the I/O, the timeouts, the limits and the asynchronous steps.
 */
#ifndef GW_SESSION_H
#define GW_SESSION_H

#include <sys/socket.h>

#include "server.h"

/* Bytes of a header block held while it streams in (it is handed to the
 * pipeline whole: forged Authentication-Results are removed before it is
 * written). RFC 5322 sets no bound; this one keeps memory bounded. */
#define SESSION_HEADER_MAX	((size_t)1024 * 1024)

/* Input the session lets pile up before it stops reading (more than the
 * longest line: MAILSEC_SMTP_AUTH_LINE_MAX). */
#define SESSION_INPUT_MAX	((size_t)64 * 1024)

/* Seconds a closing session may take to flush its last reply. */
#define SESSION_LINGER_SECS	5

/*
 * Takes the accepted socket fd (non-blocking) from listener kind: checks
 * the connection limits (total and per client address; "421" and close
 * when over), then starts the session: TLS handshake first on an
 * implicit-TLS listener, else the greeting (after greet_pause_ms when
 * set, refusing clients that talk first).
 */
void session_accept(struct server_worker *w, enum gw_listener_kind kind,
    int fd, const struct sockaddr *sa, socklen_t salen);

/* SIGTERM: idle sessions get "421" and close; busy ones close after
 * their current transaction. */
void session_drain_all(struct server_worker *w);

/* Closes every session at once (the drain deadline). */
void session_close_all(struct server_worker *w);

#endif /* GW_SESSION_H */
