/*
 * daemon/pipeline.h - the policy pipeline: verify, decide, stamp, sign.
 *
 * The gateway's SMTP sessions (and later the milter) hand each message
 * transaction to the pipeline as it arrives, so a message gets the same
 * verdict whichever front received it:
 *
 *   pl_msg_new()        at MAIL FROM: the client, HELO, AUTH user
 *   pl_msg_mail_from()  starts SPF at once (asynchronous DNS)
 *   pl_msg_forwarded()  at RCPT TO a forwarding alias: ARC-seal it
 *   pl_msg_header()     the header block, once: forged
 *                       Authentication-Results fields that carry our
 *                       authserv-id are dropped (RFC 8601 5); DKIM (and
 *                       ARC) verification starts, key lookups in flight
 *   pl_msg_body()       body bytes as DATA/BDAT streams: hashed, never
 *                       buffered whole
 *   pl_msg_end()        DMARC, then the verdict through a callback
 *
 * One struct pipeline per worker event loop: it owns the DNS resolver
 * (registered on the loop), the DKIM key cache, the DNS answer cache and
 * the signing keys. Nothing blocks the loop; every callback runs on it.
 * Not thread-safe: one pipeline per thread.
 */
#ifndef MAILSEC_DAEMON_PIPELINE_H
#define MAILSEC_DAEMON_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>

#include <mailsec/mailsec.h>

struct event_base;
struct gw_config;

struct pipeline;
struct pl_msg;

enum pl_action {
	PL_ACCEPT = 0,		/* queue for delivery */
	PL_QUARANTINE,		/* queue, then deliver to the quarantine
				   Maildir (or with a header; see
				   pl_verdict.quarantine_maildir) */
	PL_REJECT,		/* 5xx: refuse the message */
	PL_TEMPFAIL		/* 4xx: try later (DNS temporary failure
				   under a policy that asks for it) */
};

/* "accept", "quarantine", "reject", "tempfail". */
const char *pl_action_name(enum pl_action a);

/*
 * The outcome of one message. Owned by the pl_msg; valid until
 * pl_msg_free().
 */
struct pl_verdict {
	enum pl_action action;
	bool quarantine_maildir;	/* PL_QUARANTINE: to the quarantine
					   Maildir (false: delivered
					   normally with a header) */
	int reply_code;			/* for PL_REJECT / PL_TEMPFAIL:
					   550 / 451 ... */
	const char *reply_enhanced;	/* "5.7.1", "4.7.0" ... */
	const char *reply_text;		/* the reason, one line, safe to
					   send: "DMARC policy of example.org
					   rejects this message" */
	/* Header fields to prepend when the message is queued, in order,
	 * each folded and CRLF-terminated: our Authentication-Results,
	 * the ARC set (ARC-Seal, ARC-Message-Signature,
	 * ARC-Authentication-Results) of forwarded mail from outside,
	 * DKIM-Signature fields for authenticated senders, a quarantine
	 * header. */
	const char *prepend;
	size_t prepend_len;
	/* One log line's worth of key=value pairs: "spf=pass
	 * dkim=pass:example.org dmarc=pass policy=reject action=accept". */
	const char *log;
	/* The evaluations, for reports (issue 9) and tests; may be NULL
	 * when a stage did not run. */
	const struct mailsec_spf_outcome *spf;
	const struct mailsec_dmarc_outcome *dmarc;
};

/* Who is sending: fixed for the transaction. Strings are copied. */
struct pl_client {
	const char *ip;			/* client address, text form */
	const char *helo;		/* EHLO/HELO argument */
	const char *auth_user;		/* authenticated user, or NULL */
	bool tls;			/* the session is encrypted */
};

/*
 * Creates the pipeline for one worker: resolver per cfg (the embedded
 * recursive resolver, forwarders or a zone file), caches, signing keys
 * (read now: call before dropping privileges). The resolver's fd and
 * timer are registered on base. On failure err (errlen bytes) says what
 * and why.
 */
mailsec_err pipeline_new(struct event_base *base, const struct gw_config *cfg,
    struct pipeline **out, char *err, size_t errlen);

/*
 * Replaces the configuration (SIGHUP): new keys and policy apply to
 * transactions started afterwards; running ones finish with the old.
 * On failure the old configuration stays and err says why.
 */
mailsec_err pipeline_reload(struct pipeline *p, const struct gw_config *cfg,
    char *err, size_t errlen);

/* Frees p; every pl_msg must be freed first. NULL is a no-op. */
void pipeline_free(struct pipeline *p);

/* A transaction, at MAIL FROM. */
mailsec_err pl_msg_new(struct pipeline *p, const struct pl_client *c,
    struct pl_msg **out);

/*
 * The reverse-path without angle brackets ("" for the null path). Starts
 * SPF (MAIL FROM identity, or HELO for the null path) on the loop.
 * Authenticated senders are not SPF-checked; the caller has already
 * checked that the user may send as this address.
 */
mailsec_err pl_msg_mail_from(struct pl_msg *m, const char *reverse_path);

/*
 * The message goes (also) to recipients a forwarding alias expanded to
 * (daemon/forward.h); call before pl_msg_header(). With arc.seal on, a
 * message from outside (no AUTH user) is then ARC-sealed (RFC 8617 5.1)
 * while it streams: the AAR is our Authentication-Results, cv= the
 * chain status our validation found, and the set is prepended after
 * the Authentication-Results field. Submission is DKIM-signed instead.
 * MAILSEC_ESTATE after the header block.
 */
mailsec_err pl_msg_forwarded(struct pl_msg *m);

/*
 * The header block as received, through the empty line that ends it
 * (or the whole message when it has no body), CRLF line endings. Called
 * once, before pl_msg_body(). *keep receives the header block to store:
 * hdr itself when nothing was removed, else a copy owned by m without
 * the forged Authentication-Results fields. MAILSEC_ESYNTAX / ELIMIT
 * (with the reason in *reason, a static string) when the block is not a
 * message header: the session rejects with 550 5.6.0.
 */
mailsec_err pl_msg_header(struct pl_msg *m, const char *hdr, size_t len,
    struct mailsec_str *keep, const char **reason);

/* Body bytes, in any chunks, CRLF line endings. */
mailsec_err pl_msg_body(struct pl_msg *m, const char *p, size_t len);

/* Called once with the verdict, on the loop (possibly from inside
 * pl_msg_end() when nothing is pending). m stays valid until freed; the
 * callback may free it. */
typedef void pl_done_cb(void *arg, struct pl_msg *m,
    const struct pl_verdict *v);

/* End of data: waits for pending SPF/DKIM lookups, runs DMARC and the
 * configured actions, signs for authenticated senders. */
mailsec_err pl_msg_end(struct pl_msg *m, pl_done_cb *cb, void *arg);

/* Cancels pending lookups and frees m (a session that ends early);
 * no callback fires afterwards. NULL is a no-op. */
void pl_msg_free(struct pl_msg *m);

#endif /* MAILSEC_DAEMON_PIPELINE_H */
