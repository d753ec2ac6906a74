/*
 * daemon/pipeline_int.h - the policy pipeline's inside, shared by
 * pipeline.c (loop, DNS, generations, keys, transactions) and
 * pipeline_verdict.c (decision, Authentication-Results, log line).
 *
 * Ownership: a struct pipeline holds the current generation (pl_gen:
 * everything derived from one configuration). Each transaction holds a
 * reference to the generation it started under, and each generation one
 * to its DNS resolver (pl_dns), so a reload never pulls keys, policy or
 * a resolver from under a running transaction.
 */
#ifndef MAILSEC_DAEMON_PIPELINE_INT_H
#define MAILSEC_DAEMON_PIPELINE_INT_H

#include <stdbool.h>
#include <stddef.h>

#include <event2/event.h>

#include <mailsec/mailsec.h>

#include "config.h"
#include "pipeline.h"

/* One signing key of a domain, loaded in pipeline_new/_reload. */
struct pl_key {
	char *selector;
	struct mailsec_dkim_key *key;
};

struct pl_sign_domain {
	char *domain;			/* normalized */
	struct pl_key *keys;
	size_t nkeys;
};

/* A resolver registered on the loop: fd event and deadline timer. */
struct pl_dns {
	unsigned refs;
	struct pipeline *p;
	struct mailsec_resolver *r;
	struct event *ev_fd;		/* NULL when the backend has no fd */
	struct event *ev_timer;
	enum gw_dns_mode mode;		/* what it was made from, to share */
	char *forward;			/* it across reloads */
	unsigned timeout_ms;
};

/* What one configuration gives transactions started under it. */
struct pl_gen {
	unsigned refs;
	struct pl_dns *dns;
	char *authserv_id;
	enum gw_dmarc_mode dmarc_mode;
	enum gw_action act_reject;	/* per DMARC disposition */
	enum gw_action act_quarantine;
	enum gw_action act_none;
	enum gw_action act_temperror;
	enum gw_action act_spf_fail;
	bool quarantine_maildir;
	char **trusted;			/* trusted forwarder domains */
	size_t ntrusted;
	char **sealers;			/* trusted ARC sealers */
	size_t nsealers;
	struct pl_sign_domain *sign;
	size_t nsign;
	char *sign_headers;		/* "from:to:..." (h= list) */
	unsigned sign_expire;		/* x= after t=, seconds; 0: none */
	/* ARC sealing of forwarded mail (arc { }); arc_key NULL: off */
	struct mailsec_dkim_key *arc_key;
	char *arc_domain;
	char *arc_selector;
	char *arc_headers;		/* AMS h=; NULL: the library's */
	enum mailsec_dkim_algorithm arc_alg;
};

struct report_store;

struct pipeline {
	struct event_base *base;
	struct pl_gen *gen;		/* for new transactions */
	struct mailsec_dkim_keycache *keycache;
	struct mailsec_spf_cache *spfcache;
	struct mailsec_dmarc_psl *psl;	/* loaded once, for RFC 7489 */
	struct report_store *reports;	/* DMARC evaluations recorded for
				   the aggregate reports; NULL: not */
	struct pl_msg *waiting;		/* ended, DKIM or ARC keys
				   outstanding */
	size_t nmsgs;
};

enum pl_state {
	PL_ST_NEW = 0,		/* after pl_msg_new */
	PL_ST_HEADER,		/* header block seen, body streaming */
	PL_ST_END,		/* pl_msg_end: waiting for SPF, DKIM and
			   ARC keys */
	PL_ST_DMARC,		/* DMARC evaluation running */
	PL_ST_DONE		/* verdict made */
};

struct pl_msg {
	struct pipeline *p;
	struct pl_gen *gen;
	enum pl_state state;
	char *ip;
	char *helo;
	char *auth_user;
	bool tls;
	char *mail_from;		/* NULL until pl_msg_mail_from */

	struct mailsec_spf *spf;
	bool spf_done;
	struct mailsec_dkim_verify *dkim;
	struct mailsec_arc_verify *arc;	/* with dkim: not for submission */
	struct mailsec_author *author;
	size_t ar_removed;		/* forged fields dropped */
	char *keep;			/* header copy without them */
	char *fail_hdr;			/* header copy for failure reports
				   (reports.failure), or NULL */
	size_t fail_hdrlen;

	struct mailsec_dkim_sign *sign;
	const struct pl_sign_domain *sign_dom;	/* in gen */
	char sign_note[288];		/* why nothing was signed */

	bool forwarded;			/* pl_msg_forwarded() */
	struct mailsec_arc_seal *seal;	/* forwarded mail from outside,
					   arc.seal on */
	char seal_note[288];		/* the log's arc_seal= */

	unsigned local;			/* MAILSEC_DMARC_LOCAL_* */
	char local_comment[300];
	char *arc_comment;		/* RFC 8617 7.2.2, for a trusted
					   sealer's override */
	const char *arc_sealer;		/* that sealer (in gen) */
	struct mailsec_dmarc *dmarc;

	mailsec_err fail;		/* a local error: tempfail */
	pl_done_cb *cb;
	void *cb_arg;
	unsigned busy;			/* callbacks on the stack */
	bool dead;			/* freed while busy */
	bool waiting;			/* on p->waiting */
	struct pl_msg *wnext;
	struct pl_msg **wprev;

	struct pl_verdict v;
	char *prepend;
	char *log;
	char *reply_text;
};

/* pipeline_verdict.c: fills m->v (and the strings it points to) from
 * what the stages found. Never fails: a local error becomes
 * PL_TEMPFAIL. */
void pl_verdict_make(struct pl_msg *m);
/* Records the message's DMARC evaluation in the report store (when the
 * pipeline has one and a policy applied) and hands a DMARC failure to
 * the failure reports (reports.failure); failures are logged only. */
void pl_report_record(struct pl_msg *m);

/* pipeline.c: the signer failed; the log's dkim_sign says why. */
void pl_sign_note_error(struct pl_msg *m, mailsec_err e,
    const struct mailsec_diag *diag);
/* pipeline.c: the sealer failed; the log's arc_seal says why and the
 * message goes on unsealed. */
void pl_seal_note_error(struct pl_msg *m, mailsec_err e,
    const struct mailsec_diag *diag);

/* True for printable US-ASCII without space (0x21-0x7e), and not
 * empty: safe as an Authentication-Results or log value. */
bool pl_token_safe(const char *p, size_t len);

#endif /* MAILSEC_DAEMON_PIPELINE_INT_H */
