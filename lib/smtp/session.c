/*
 * lib/smtp/session.c - which command may come when (RFC 5321 4.1.4, 4.3.2;
 * RFC 3030 2-4 for BDAT; RFC 3207 4.2 for STARTTLS; RFC 4954 4 for AUTH;
 * RFC 2920 3.1 for pipelining groups). No I/O: the daemon asks, replies,
 * and records what it accepted.
 */
#include <string.h>

#include "smtp/smtp_int.h"

static const char *const state_names[] = {
	[MAILSEC_SMTP_ST_GREETING] = "greeting",
	[MAILSEC_SMTP_ST_READY] = "ready",
	[MAILSEC_SMTP_ST_MAIL] = "mail",
	[MAILSEC_SMTP_ST_RCPT] = "rcpt",
	[MAILSEC_SMTP_ST_DATA] = "data",
	[MAILSEC_SMTP_ST_BDAT] = "bdat",
	[MAILSEC_SMTP_ST_QUIT] = "quit",
};

const char *
mailsec_smtp_state_name(enum mailsec_smtp_state st)
{
	if ((unsigned)st >= MS_ARRAY_LEN(state_names))
		return "unknown";
	return state_names[st];
}

void
mailsec_smtp_session_init(struct mailsec_smtp_session *s, unsigned caps,
    unsigned flags, uint64_t size_max, uint64_t rcpt_max)
{
	memset(s, 0, sizeof *s);
	s->state = MAILSEC_SMTP_ST_GREETING;
	s->caps = caps;
	s->flags = flags & (MAILSEC_SMTP_S_TLS | MAILSEC_SMTP_S_TLS_REQUIRED |
	    MAILSEC_SMTP_S_AUTH_REQUIRED);
	s->size_max = size_max;
	s->rcpt_max = rcpt_max;
}

unsigned
mailsec_smtp_session_caps(const struct mailsec_smtp_session *s)
{
	unsigned caps = s->caps;

	if (s->flags & MAILSEC_SMTP_S_TLS)
		caps &= ~MAILSEC_SMTP_CAP_STARTTLS;
	if (((s->flags & MAILSEC_SMTP_S_TLS_REQUIRED) &&
	    !(s->flags & MAILSEC_SMTP_S_TLS)) ||
	    (s->flags & MAILSEC_SMTP_S_AUTH))
		caps &= ~MAILSEC_SMTP_CAP_AUTH;
	return caps;
}

void
mailsec_smtp_session_parse_opts(const struct mailsec_smtp_session *s,
    struct mailsec_smtp_parse_opts *opts)
{
	memset(opts, 0, sizeof *opts);
	/* ESMTP parameters only after EHLO (RFC 5321 2.2.1). */
	if (s->flags & MAILSEC_SMTP_S_EHLO) {
		opts->caps = mailsec_smtp_session_caps(s);
		/* AUTH= stays valid once authenticated (RFC 4954 5). */
		if (s->flags & MAILSEC_SMTP_S_AUTH)
			opts->caps |= s->caps & MAILSEC_SMTP_CAP_AUTH;
	}
	opts->size_max = s->size_max;
	opts->smtputf8 = (s->flags & MAILSEC_SMTP_S_SMTPUTF8) != 0;
}

static bool
refuse(struct mailsec_smtp_reply *r, unsigned code, const char *status,
    const char *text)
{
	mailsec_smtp_reply_set(r, code, status, "%s", text);
	return false;
}

static bool
in_transaction(const struct mailsec_smtp_session *s)
{
	return s->state == MAILSEC_SMTP_ST_MAIL ||
	    s->state == MAILSEC_SMTP_ST_RCPT ||
	    s->state == MAILSEC_SMTP_ST_DATA ||
	    s->state == MAILSEC_SMTP_ST_BDAT;
}

static bool
check_auth(const struct mailsec_smtp_session *s,
    const struct mailsec_smtp_cmd *cmd, struct mailsec_smtp_reply *r)
{
	unsigned want;

	if ((s->caps & MAILSEC_SMTP_CAP_AUTH) == 0)
		return refuse(r, 502, "5.5.1", "Command not implemented");
	if (!(s->flags & MAILSEC_SMTP_S_EHLO) ||
	    s->state == MAILSEC_SMTP_ST_GREETING)
		return refuse(r, 503, "5.5.1", "Send EHLO first");
	if (s->flags & MAILSEC_SMTP_S_AUTH)
		return refuse(r, 503, "5.5.1", "Already authenticated");
	if (in_transaction(s))
		return refuse(r, 503, "5.5.1",
		    "AUTH not allowed during a mail transaction");
	if ((s->flags & MAILSEC_SMTP_S_TLS_REQUIRED) &&
	    !(s->flags & MAILSEC_SMTP_S_TLS))
		return refuse(r, 538, "5.7.11", "Encryption required for "
		    "requested authentication mechanism");
	want = cmd->auth_mech == MAILSEC_SMTP_SASL_PLAIN ?
	    MAILSEC_SMTP_CAP_AUTH_PLAIN :
	    cmd->auth_mech == MAILSEC_SMTP_SASL_LOGIN ?
	    MAILSEC_SMTP_CAP_AUTH_LOGIN : 0;
	if ((s->caps & want) == 0)
		return refuse(r, 504, "5.5.4",
		    "Unrecognized authentication type");
	return true;
}

bool
mailsec_smtp_session_check(const struct mailsec_smtp_session *s,
    const struct mailsec_smtp_cmd *cmd, struct mailsec_smtp_reply *r)
{
	bool greeted = s->state != MAILSEC_SMTP_ST_GREETING;

	if (s->state == MAILSEC_SMTP_ST_QUIT ||
	    s->state == MAILSEC_SMTP_ST_DATA)
		return refuse(r, 503, "5.5.1", "Bad sequence of commands");
	switch (cmd->verb) {
	case MAILSEC_SMTP_HELO:
	case MAILSEC_SMTP_EHLO:
	case MAILSEC_SMTP_RSET:
	case MAILSEC_SMTP_NOOP:
	case MAILSEC_SMTP_QUIT:
	case MAILSEC_SMTP_HELP:
	case MAILSEC_SMTP_VRFY:
	case MAILSEC_SMTP_EXPN:
		return true;
	case MAILSEC_SMTP_MAIL:
		if (!greeted)
			return refuse(r, 503, "5.5.1", "Send EHLO/HELO first");
		if (in_transaction(s))
			return refuse(r, 503, "5.5.1", "Nested MAIL command");
		if ((s->flags & MAILSEC_SMTP_S_TLS_REQUIRED) &&
		    !(s->flags & MAILSEC_SMTP_S_TLS))
			return refuse(r, 530, "5.7.0",
			    "Must issue a STARTTLS command first");
		if ((s->flags & MAILSEC_SMTP_S_AUTH_REQUIRED) &&
		    !(s->flags & MAILSEC_SMTP_S_AUTH))
			return refuse(r, 530, "5.7.0",
			    "Authentication required");
		return true;
	case MAILSEC_SMTP_RCPT:
		if (s->state != MAILSEC_SMTP_ST_MAIL &&
		    s->state != MAILSEC_SMTP_ST_RCPT)
			return refuse(r, 503, "5.5.1", "Need MAIL before RCPT");
		if (s->rcpt_max > 0 && s->nrcpt >= s->rcpt_max)
			return refuse(r, 452, "4.5.3", "Too many recipients");
		return true;
	case MAILSEC_SMTP_DATA:
		if (s->state == MAILSEC_SMTP_ST_BDAT)
			return refuse(r, 503, "5.5.1",
			    "DATA not allowed after BDAT");
		if (s->state == MAILSEC_SMTP_ST_MAIL)
			return refuse(r, 503, "5.5.1", "Need RCPT before DATA");
		if (s->state != MAILSEC_SMTP_ST_RCPT)
			return refuse(r, 503, "5.5.1", "Need MAIL before DATA");
		return true;
	case MAILSEC_SMTP_BDAT:
		/* Whatever the answer, the daemon drains bdat_size bytes. */
		if ((s->caps & MAILSEC_SMTP_CAP_CHUNKING) == 0 ||
		    !(s->flags & MAILSEC_SMTP_S_EHLO))
			return refuse(r, 502, "5.5.1",
			    "Command not implemented");
		if (s->flags & MAILSEC_SMTP_S_BDAT_FAILED)
			return refuse(r, 554, "5.5.1",
			    "Previous BDAT failed; send RSET");
		if (s->bdat_last)
			return refuse(r, 503, "5.5.1", "BDAT after LAST");
		if (s->state == MAILSEC_SMTP_ST_MAIL)
			return refuse(r, 503, "5.5.1", "Need RCPT before BDAT");
		if (s->state != MAILSEC_SMTP_ST_RCPT &&
		    s->state != MAILSEC_SMTP_ST_BDAT)
			return refuse(r, 503, "5.5.1", "Need MAIL before BDAT");
		return true;
	case MAILSEC_SMTP_STARTTLS:
		if ((s->caps & MAILSEC_SMTP_CAP_STARTTLS) == 0)
			return refuse(r, 502, "5.5.1",
			    "Command not implemented");
		if (s->flags & MAILSEC_SMTP_S_TLS)
			return refuse(r, 503, "5.5.1", "TLS already active");
		if (!greeted)
			return refuse(r, 503, "5.5.1", "Send EHLO first");
		if (in_transaction(s))
			return refuse(r, 503, "5.5.1",
			    "STARTTLS not allowed during a mail transaction");
		return true;
	case MAILSEC_SMTP_AUTH:
		return check_auth(s, cmd, r);
	default:
		return refuse(r, 500, "5.5.2", "Command unrecognized");
	}
}

static void
clear_tx(struct mailsec_smtp_session *s)
{
	s->nrcpt = 0;
	s->bdat_last = false;
	s->flags &= ~(MAILSEC_SMTP_S_BDAT_FAILED | MAILSEC_SMTP_S_SMTPUTF8);
}

void
mailsec_smtp_session_accept(struct mailsec_smtp_session *s,
    const struct mailsec_smtp_cmd *cmd)
{
	switch (cmd->verb) {
	case MAILSEC_SMTP_HELO:
		clear_tx(s);
		s->flags &= ~MAILSEC_SMTP_S_EHLO;
		s->state = MAILSEC_SMTP_ST_READY;
		break;
	case MAILSEC_SMTP_EHLO:
		clear_tx(s);
		s->flags |= MAILSEC_SMTP_S_EHLO;
		s->state = MAILSEC_SMTP_ST_READY;
		break;
	case MAILSEC_SMTP_RSET:
		clear_tx(s);
		if (s->state != MAILSEC_SMTP_ST_GREETING)
			s->state = MAILSEC_SMTP_ST_READY;
		break;
	case MAILSEC_SMTP_MAIL:
		clear_tx(s);
		if (cmd->params.present & MAILSEC_SMTP_P_SMTPUTF8)
			s->flags |= MAILSEC_SMTP_S_SMTPUTF8;
		s->state = MAILSEC_SMTP_ST_MAIL;
		break;
	case MAILSEC_SMTP_RCPT:
		s->nrcpt++;
		s->state = MAILSEC_SMTP_ST_RCPT;
		break;
	case MAILSEC_SMTP_DATA:
		s->state = MAILSEC_SMTP_ST_DATA;
		break;
	case MAILSEC_SMTP_BDAT:
		if (cmd->bdat_last)
			mailsec_smtp_session_end_message(s);
		else
			s->state = MAILSEC_SMTP_ST_BDAT;
		break;
	case MAILSEC_SMTP_QUIT:
		s->state = MAILSEC_SMTP_ST_QUIT;
		break;
	case MAILSEC_SMTP_AUTH:
		s->flags |= MAILSEC_SMTP_S_AUTH;
		break;
	default:
		break;
	}
}

void
mailsec_smtp_session_end_message(struct mailsec_smtp_session *s)
{
	clear_tx(s);
	s->state = MAILSEC_SMTP_ST_READY;
}

bool
mailsec_smtp_session_starttls(struct mailsec_smtp_session *s,
    size_t buffered_after)
{
	clear_tx(s);
	s->flags &= ~(MAILSEC_SMTP_S_EHLO | MAILSEC_SMTP_S_AUTH);
	s->flags |= MAILSEC_SMTP_S_TLS;
	s->state = MAILSEC_SMTP_ST_GREETING;
	return buffered_after > 0;
}

bool
mailsec_smtp_session_sync_error(const struct mailsec_smtp_session *s,
    const struct mailsec_smtp_cmd *cmd, size_t buffered_after)
{
	if (buffered_after == 0)
		return false;
	if (!(s->flags & MAILSEC_SMTP_S_EHLO) ||
	    !(mailsec_smtp_session_caps(s) & MAILSEC_SMTP_CAP_PIPELINING))
		return true;
	switch (cmd->verb) {
	case MAILSEC_SMTP_HELO:
	case MAILSEC_SMTP_EHLO:
	case MAILSEC_SMTP_DATA:
	case MAILSEC_SMTP_VRFY:
	case MAILSEC_SMTP_EXPN:
	case MAILSEC_SMTP_NOOP:
	case MAILSEC_SMTP_QUIT:
	case MAILSEC_SMTP_STARTTLS:
	case MAILSEC_SMTP_AUTH:
		return true;
	default:
		return false;
	}
}
