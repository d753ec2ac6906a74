/*
 * daemon/config.h - the gateway configuration: one struct, loaded from
 * mailsec.conf (syntax: daemon/conf_parse.h), validated, with defaults
 * that are exactly the zero-configuration behaviour (docs/configuration.md
 * is the reference; examples/mailsec.conf shows every option).
 *
 * Errors name the file, the line, the option, what is wrong and the fix:
 *   "mailsec.conf:12: listen.mx.port: 70000 is not a port (1-65535)".
 */
#ifndef GW_CONFIG_H
#define GW_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <mailsec/err.h>

/* Room for any error text gw_config_* writes (longer ones are cut). */
#define GW_CONFIG_ERR_MAX	512

/* A list of owned NUL-terminated strings. */
struct gw_strlist {
	char **v;
	size_t n;
};

/* Frees the strings and the array; l is left empty. */
void gw_strlist_free(struct gw_strlist *l);

enum gw_log_target { GW_LOG_STDERR, GW_LOG_SYSLOG };
enum gw_log_level {
	GW_LOG_ERROR, GW_LOG_WARNING, GW_LOG_NOTICE, GW_LOG_INFO, GW_LOG_DEBUG
};

enum gw_listener_kind {
	GW_LISTEN_MX,		/* port 25: STARTTLS offered, no AUTH */
	GW_LISTEN_SUBMISSION,	/* port 587: STARTTLS required before AUTH */
	GW_LISTEN_SUBMISSIONS,	/* port 465: implicit TLS (RFC 8314) */
	GW_LISTEN_COUNT
};

struct gw_listener {
	bool enabled;
	struct gw_strlist address;	/* IPv4/IPv6 literals to bind */
	uint16_t port;
	bool starttls;		/* offer STARTTLS (mx only; submission: yes) */
	bool implicit_tls;	/* TLS from the first byte (submissions) */
	bool auth;		/* AUTH offered (submission, submissions) */
};

enum gw_tls_version { GW_TLS_1_2, GW_TLS_1_3 };

struct gw_tls {
	char *cert;		/* PEM chain */
	char *key;		/* PEM private key */
	bool generate;		/* self-signed into state_dir when missing */
	enum gw_tls_version min_version;
	char *ciphers;		/* TLS 1.2 cipher list, NULL: OpenSSL's */
	char *ciphersuites;	/* TLS 1.3 suites, NULL: OpenSSL's */
};

enum gw_dns_mode { GW_DNS_EMBEDDED, GW_DNS_FORWARD, GW_DNS_ZONE };

struct gw_dns {
	enum gw_dns_mode mode;
	struct gw_strlist forwarders;	/* IP[@PORT] (mode FORWARD) */
	char *zone;			/* zone file (mode ZONE) */
	unsigned timeout_ms;		/* per query */
};

enum gw_recipients { GW_RCPT_ANY, GW_RCPT_LISTED };

struct gw_local {
	struct gw_strlist domains;	/* normalized (lowercase A-labels) */
	char *maildir;			/* <maildir>/<domain>/<user>/ */
	enum gw_recipients recipients;
	struct gw_strlist users;	/* local parts or addresses */
};

struct gw_auth_user {
	char *name;			/* login name */
	struct gw_strlist send_as;	/* "addr@domain" or "@domain" */
};

struct gw_auth {
	char *password_file;
	unsigned throttle;	/* AUTH failures per client IP per minute */
	bool send_as_login;	/* a login that is an address may send as it */
	struct gw_auth_user *users;
	size_t nusers;
};

enum gw_dkim_alg { GW_DKIM_RSA_SHA256, GW_DKIM_ED25519_SHA256 };

struct gw_dkim_key {
	char *selector;
	char *file;
	enum gw_dkim_alg algorithm;
	bool generate;		/* create the key file when missing */
};

struct gw_dkim_domain {
	char *domain;			/* normalized */
	struct gw_dkim_key *keys;
	size_t nkeys;
	bool derived;		/* added for a local domain (generate) */
};

struct gw_dkim {
	bool generate;		/* keys for local domains without any */
	struct gw_strlist headers;	/* header fields signed (h=) */
	unsigned expire;	/* x= seconds after t=, 0: no x= */
	struct gw_dkim_domain *domains;
	size_t ndomains;
};

enum gw_action {
	GW_ACT_ACCEPT, GW_ACT_QUARANTINE, GW_ACT_REJECT, GW_ACT_TEMPFAIL
};
enum gw_dmarc_mode { GW_DMARC_RFC9989, GW_DMARC_RFC7489 };
enum gw_quarantine { GW_QUARANTINE_MAILDIR, GW_QUARANTINE_HEADER };

struct gw_policy {
	char *authserv_id;
	enum gw_dmarc_mode dmarc_mode;
	enum gw_action dmarc_reject;	/* domain publishes p=reject */
	enum gw_action dmarc_quarantine;	/* p=quarantine */
	enum gw_action dmarc_none;	/* p=none */
	enum gw_action dmarc_temperror;	/* DNS trouble: accept|tempfail */
	enum gw_action spf_fail;	/* SPF fail on its own */
	enum gw_quarantine quarantine;
	char *quarantine_dir;		/* Maildir for quarantine maildir */
	struct gw_strlist trusted_forwarders;	/* domains */
	struct gw_strlist arc_sealers;		/* domains */
};

/* forward: local addresses whose mail goes on to other addresses
 * (daemon/forward.h, docs/forwarding.md). */
struct gw_forward_alias {
	char *from;		/* "local@domain" (local part lowercased,
				   domain normalized) or "@domain" */
	struct gw_strlist to;	/* 1..FWD_TARGETS_MAX targets, "local@domain"
				   (local part as written) */
	unsigned line;		/* in the file, for messages */
};

struct gw_forward {
	struct gw_forward_alias *aliases;
	size_t n;
};

/* arc: ARC sealing (RFC 8617 5.1) of forwarded mail from outside. */
struct gw_arc {
	bool seal;		/* seal forwarded mail (default no) */
	char *domain;		/* d= of AMS and AS (normalized) */
	char *selector;		/* s= */
	char *key;		/* key file (PEM or base64 Ed25519 seed) */
	bool generate;		/* create the key file when missing */
	enum gw_dkim_alg algorithm;
	struct gw_strlist headers;	/* AMS h=; empty: the library's list
					   (DKIM's and DKIM-Signature,
					   over-signed) */
};

struct gw_limits {
	uint64_t message_size;		/* bytes (SIZE) */
	unsigned recipients;		/* RCPT per transaction */
	unsigned line_length;		/* command line, CRLF included */
	unsigned timeout_command;	/* s, waiting for a command */
	unsigned timeout_data;		/* s, between DATA/BDAT blocks */
	unsigned timeout_tls;		/* s, TLS handshake */
	unsigned connections;		/* in total (per worker share) */
	unsigned connections_per_ip;
	unsigned auth_failures;		/* per session, then disconnect */
	unsigned errors;		/* 4xx/5xx replies, then disconnect */
};

/* delivery.relay: a smarthost all non-local mail goes to. */
struct gw_relay {
	char *host;		/* NULL: deliver to the MX hosts */
	uint16_t port;		/* 587 (STARTTLS) or 465 (implicit_tls) */
	bool implicit_tls;
	char *user;		/* AUTH login, NULL: no AUTH */
	char *password_file;	/* the password, first line of the file */
};

/* delivery.tls: the outbound TLS policy (daemon/tlspolicy.h). */
struct gw_delivery_tls {
	bool mta_sts;		/* RFC 8461 */
	bool dane;		/* RFC 7672 */
	bool tlsrpt;		/* RFC 8460 */
	char *ca_file;		/* trust anchors, NULL: the system's */
	unsigned https_port;	/* MTA-STS policy fetch port, 0: 443 */
};

/* delivery: the queue runner's remote delivery (docs/queue.md). */
struct gw_delivery {
	bool enabled;		/* off: remote recipients wait (deferred) */
	char *helo;		/* EHLO name; default: the host name */
	uint16_t port;		/* destination port (25) */
	unsigned threads;	/* delivery threads per runner */
	unsigned per_destination;	/* connections per destination */
	unsigned lifetime;	/* s a message may stay queued */
	unsigned delay_warning;	/* s before a delay DSN, 0: none */
	bool bounce;		/* DSNs for failures and delays */
	unsigned connect_timeout;	/* s */
	unsigned command_timeout;	/* s */
	unsigned data_timeout;	/* s, the final dot */
	bool require_tls;	/* never plaintext, any destination */
	struct gw_relay relay;
	struct gw_delivery_tls tls;
};

/* reports: DMARC aggregate and failure reports from the gateway
 * (docs/reports.md, "In the gateway"). */
enum gw_report_format { GW_REPORT_RFC9990, GW_REPORT_RFC7489 };

struct gw_reports {
	bool send;		/* aggregate reports on schedule */
	unsigned period;	/* s: 86400 (a UTC day), 60..86399 testing */
	char *org_name;		/* report_metadata org_name */
	char *from;		/* reporting address; NULL: derived
				 * (gw_config_reports_from()) */
	enum gw_report_format format;
	bool failure;		/* failure reports (RFC 9991) */
	bool failure_redact;	/* local parts hashed */
	unsigned failure_rate;	/* reports per destination per hour */
	char *ingest_address;	/* reports to it are imported; NULL */
};

struct gw_config {
	char *source;		/* the file name, or "(defaults)" */
	char *state_dir;
	char *user;		/* drop privileges to (NULL: stay) */
	char *group;
	unsigned workers;	/* processes (default: online CPUs) */
	enum gw_log_target log;
	enum gw_log_level log_level;
	struct gw_listener listen[GW_LISTEN_COUNT];
	struct gw_tls tls;
	struct gw_dns dns;
	struct gw_local local;
	struct gw_auth auth;
	struct gw_dkim dkim;
	struct gw_policy policy;
	struct gw_limits limits;
	struct gw_forward forward;
	struct gw_arc arc;
	struct gw_delivery delivery;
	struct gw_reports reports;
	unsigned explicit_paths;	/* internal: GW_PATH_* set by file */
};

/*
 * Fills cfg with the zero-configuration defaults (state_dir "./var",
 * listeners on 127.0.0.1:2525/2587/2465, generated TLS and DKIM keys,
 * the embedded resolver, local domain "localhost"). cfg is overwritten,
 * not freed first. MAILSEC_OK or MAILSEC_ENOMEM (cfg then empty).
 */
mailsec_err gw_config_defaults(struct gw_config *cfg);

/*
 * Loads the file at path over the defaults: on success *cfg holds the
 * complete, validated configuration (gw_config_free() it). On failure cfg
 * is left empty (safe to free) and err (errlen > 0) holds one line such as
 * "mailsec.conf:12: listen.mx.port: 70000 is not a port (1-65535)".
 * Returns MAILSEC_OK, MAILSEC_EIO (unreadable file), MAILSEC_ESYNTAX (a
 * syntax error or a value refused), MAILSEC_ELIMIT (a parser bound) or
 * MAILSEC_ENOMEM.
 */
mailsec_err gw_config_load(const char *path, struct gw_config *cfg,
    char *err, size_t errlen);

/* The same from memory; name is used in messages and as cfg->source. */
mailsec_err gw_config_load_mem(const char *text, size_t len,
    const char *name, struct gw_config *cfg, char *err, size_t errlen);

/*
 * Moves the state directory (mailsec serve --state-dir): every path the
 * file did not set (TLS files, password file, Maildir root, quarantine,
 * generated DKIM keys) is derived again from dir.
 */
mailsec_err gw_config_set_state_dir(struct gw_config *cfg, const char *dir);

/* Frees what cfg owns and zeroes it; NULL is a no-op. */
void gw_config_free(struct gw_config *cfg);

/*
 * Writes the effective configuration in mailsec.conf syntax (every option,
 * defaults included); gw_config_load_mem() of the output gives the same
 * configuration back. For `mailsec serve --check-config -v`.
 */
void gw_config_dump(const struct gw_config *cfg, FILE *f);

/* ---- questions the daemon asks ----------------------------------------- */

/* Whether domain (any case, optional final dot) is a local domain. */
bool gw_config_is_local(const struct gw_config *cfg, const char *domain,
    size_t len);

/*
 * The Maildir for local@domain: "<maildir>/<domain>/<local>" with the
 * domain lowercased and the local part lowercased (ASCII). Refuses
 * (MAILSEC_EINVAL) local parts that could leave the directory or that
 * a file name cannot hold: empty, ".", "..", a leading '.', '/', NUL or
 * control bytes; MAILSEC_ENOTFOUND if domain is not local;
 * MAILSEC_ELIMIT if out is too small.
 */
mailsec_err gw_config_mailbox_path(const struct gw_config *cfg,
    const char *local, size_t llen, const char *domain, size_t dlen,
    char *out, size_t outsz);

/*
 * Whether the authenticated user may use addr (local@domain) as the
 * envelope sender or From: addresses listed for the user in
 * auth.user "NAME" { send_as [...] }, "@domain" entries for any address
 * at that domain, and the login itself when it is an address and
 * auth.send_as_login is on. Everything else is refused.
 */
bool gw_config_sender_allowed(const struct gw_config *cfg, const char *user,
    const char *addr, size_t alen);

struct gw_passwd;

enum gw_rcpt_verdict {
	GW_RCPT_NOT_LOCAL,	/* not a local domain: relay rules apply */
	GW_RCPT_OK,		/* deliver locally */
	GW_RCPT_NO_SUCH_USER,	/* local domain, recipients listed, unknown */
	GW_RCPT_BAD_MAILBOX	/* local part cannot be a Maildir name */
};

/*
 * What to do with RCPT TO local@domain. postmaster (any case) at a local
 * domain, or without a domain (domain NULL or dlen 0: "RCPT
 * TO:<Postmaster>"), is always GW_RCPT_OK (RFC 5321 4.5.1). With
 * local.recipients listed, the local part must be in local.users (alone
 * or as local@domain) or be a login in pw (as "local" or "local@domain";
 * pw may be NULL).
 */
enum gw_rcpt_verdict gw_config_recipient(const struct gw_config *cfg,
    const struct gw_passwd *pw, const char *local, size_t llen,
    const char *domain, size_t dlen);

/* Names of enum values as the file spells them. */
const char *gw_action_name(enum gw_action a);

/*
 * The reporting address: reports.from, else
 * "dmarc-noreply@<first local domain>". MAILSEC_ELIMIT when it does not
 * fit buf.
 */
mailsec_err gw_config_reports_from(const struct gw_config *cfg, char *buf,
    size_t bufsz);

/*
 * The DNS settings a thread makes its own resolver from (the delivery
 * threads, the report schedule, the failure reports): dns.forwarders
 * joined by ',' and dns.zone as mailsec_resolver_new_from_args() takes
 * them, and the per-query timeout. Owned strings.
 */
struct mailsec_resolver;

struct gw_dns_args {
	char *forward;		/* or NULL */
	char *zone;		/* or NULL */
	unsigned timeout_ms;	/* 0: the resolver's default */
};

/* From cfg's dns section; MAILSEC_ENOMEM (a left empty). */
mailsec_err gw_dns_args_make(struct gw_dns_args *a,
    const struct gw_config *cfg);
/* A copy of s into d; MAILSEC_ENOMEM (d left empty). */
mailsec_err gw_dns_args_copy(struct gw_dns_args *d,
    const struct gw_dns_args *s);
/* Frees the strings and zeroes a. */
void gw_dns_args_free(struct gw_dns_args *a);
/* A new resolver as a says (its timeout set); diag says why not. */
mailsec_err gw_dns_args_resolver(const struct gw_dns_args *a,
    struct mailsec_resolver **out, struct mailsec_diag *diag);

#endif /* GW_CONFIG_H */
