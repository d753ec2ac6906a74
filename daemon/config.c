/*
 * daemon/config.c - the gateway configuration: defaults (the zero-config
 * behaviour), the option tables that map the conf_parse tree onto
 * struct gw_config, per-option and cross-option validation, and the
 * effective-configuration dump. docs/configuration.md is the reference.
 *
 * Every option lives in one table row (name, kind, offset, range), so the
 * loader, the "did you mean" search and the error texts agree.
 */
#include <sys/stat.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include <mailsec/dns.h>
#include <mailsec/domain.h>

#include "core/core.h"

#include "conf_parse.h"
#include "config.h"
#include "passwd.h"
#include "forward.h"

/* Paths derived from state_dir unless the file sets them. */
#define GW_PATH_CERT		0x01u
#define GW_PATH_KEY		0x02u
#define GW_PATH_PASSWD		0x04u
#define GW_PATH_MAILDIR		0x08u
#define GW_PATH_QUARANTINE	0x10u

#define GW_PATH_MAX		4096	/* bytes in a path option */
#define GW_NAME_MAX		32	/* user and group names */
#define GW_WORKERS_MAX		1024
#define GW_TABLE_MAX		32	/* rows in one option table */
#define GW_SUGGEST_MAXLEN	64	/* keys longer get no suggestion */
#define GW_DELIVERY_THREADS_MAX	256
#define GW_LIFETIME_MAX		(60 * 86400)	/* delivery.lifetime, s */
/* reports: org_name length; the longest address (RFC 5321 4.5.3.1.3
 * path, without the brackets). */
#define GW_REPORT_ORG_MAX	128
#define GW_REPORT_ADDR_MAX	256

/* Default signed header fields (RFC 6376 5.4.1's list, trimmed). */
static const char *const dkim_default_headers[] = {
	"from", "to", "cc", "subject", "date", "message-id", "reply-to",
	"in-reply-to", "references", "mime-version", "content-type",
	"content-transfer-encoding",
};

static const char *const listener_names[GW_LISTEN_COUNT] = {
	"mx", "submission", "submissions"
};

/* ---- small helpers ------------------------------------------------------ */

void
gw_strlist_free(struct gw_strlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static mailsec_err
strlist_add(struct gw_strlist *l, const char *s)
{
	char **nv;
	char *d;

	if ((d = strdup(s)) == NULL)
		return MAILSEC_ENOMEM;
	if ((nv = ms_reallocarray(l->v, l->n + 1, sizeof *nv)) == NULL) {
		free(d);
		return MAILSEC_ENOMEM;
	}
	l->v = nv;
	l->v[l->n++] = d;
	return MAILSEC_OK;
}

static bool
strlist_has(const struct gw_strlist *l, const char *s)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i], s) == 0)
			return true;
	return false;
}

static mailsec_err
set_str(char **dst, const char *s)
{
	char *d = NULL;

	if (s != NULL && (d = strdup(s)) == NULL)
		return MAILSEC_ENOMEM;
	free(*dst);
	*dst = d;
	return MAILSEC_OK;
}

static mailsec_err
set_join(char **dst, const char *dir, const char *rest)
{
	struct ms_buf b;
	size_t n = strlen(dir);

	ms_buf_init(&b, GW_PATH_MAX * 2);
	if (ms_buf_appendz(&b, dir) != MAILSEC_OK ||
	    (n > 0 && dir[n - 1] != '/' && ms_buf_appendc(&b, '/') !=
	    MAILSEC_OK) || ms_buf_appendz(&b, rest) != MAILSEC_OK)
		return MAILSEC_ENOMEM;
	free(*dst);
	*dst = ms_buf_steal(&b, NULL);
	return *dst == NULL ? MAILSEC_ENOMEM : MAILSEC_OK;
}

/* ---- enum names --------------------------------------------------------- */

struct enum_val {
	const char *name;
	int value;
};

static const struct enum_val log_vals[] = {
	{ "stderr", GW_LOG_STDERR }, { "syslog", GW_LOG_SYSLOG }, { NULL, 0 }
};
static const struct enum_val level_vals[] = {
	{ "error", GW_LOG_ERROR }, { "warning", GW_LOG_WARNING },
	{ "notice", GW_LOG_NOTICE }, { "info", GW_LOG_INFO },
	{ "debug", GW_LOG_DEBUG }, { NULL, 0 }
};
static const struct enum_val tlsver_vals[] = {
	{ "1.2", GW_TLS_1_2 }, { "1.3", GW_TLS_1_3 }, { NULL, 0 }
};
static const struct enum_val rcpt_vals[] = {
	{ "any", GW_RCPT_ANY }, { "listed", GW_RCPT_LISTED }, { NULL, 0 }
};
static const struct enum_val alg_vals[] = {
	{ "rsa-sha256", GW_DKIM_RSA_SHA256 },
	{ "ed25519-sha256", GW_DKIM_ED25519_SHA256 }, { NULL, 0 }
};
static const struct enum_val act_vals[] = {
	{ "reject", GW_ACT_REJECT }, { "quarantine", GW_ACT_QUARANTINE },
	{ "accept", GW_ACT_ACCEPT }, { NULL, 0 }
};
static const struct enum_val temp_vals[] = {
	{ "accept", GW_ACT_ACCEPT }, { "tempfail", GW_ACT_TEMPFAIL },
	{ NULL, 0 }
};
static const struct enum_val dmarc_vals[] = {
	{ "rfc9989", GW_DMARC_RFC9989 }, { "rfc7489", GW_DMARC_RFC7489 },
	{ NULL, 0 }
};
static const struct enum_val quar_vals[] = {
	{ "maildir", GW_QUARANTINE_MAILDIR },
	{ "header", GW_QUARANTINE_HEADER },
	{ NULL, 0 }
};
static const struct enum_val report_fmt_vals[] = {
	{ "rfc9990", GW_REPORT_RFC9990 }, { "rfc7489", GW_REPORT_RFC7489 },
	{ NULL, 0 }
};

static const char *
enum_name(const struct enum_val *v, int value)
{
	for (; v->name != NULL; v++)
		if (v->value == value)
			return v->name;
	return "?";
}

const char *
gw_action_name(enum gw_action a)
{
	if (a == GW_ACT_TEMPFAIL)
		return "tempfail";
	return enum_name(act_vals, (int)a);
}

/* ---- value checks ------------------------------------------------------- */

/*
 * A check looks at one string value; it returns NULL when the value is
 * fine (storing a normalized copy in *norm, or leaving it NULL to keep
 * the value as written) or the text of what is wrong and how to fix it.
 */
typedef const char *(*check_fn)(const char *v, char **norm);

static const char *
check_path(const char *v, char **norm)
{
	const unsigned char *p;

	(void)norm;
	if (*v == '\0')
		return "is empty; give a file or directory name";
	if (strlen(v) > GW_PATH_MAX)
		return "is longer than 4096 bytes";
	for (p = (const unsigned char *)v; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f)
			return "holds a control character";
	return NULL;
}

static const char *
check_domain(const char *v, char **norm)
{
	char out[MAILSEC_DOMAIN_MAX];

	if (mailsec_domain_normalize(v, strlen(v), out, sizeof out, NULL,
	    NULL) != MAILSEC_OK)
		return "is not a domain name (example: example.org)";
	if ((*norm = strdup(out)) == NULL)
		return "out of memory";
	return NULL;
}

static const char *
check_ip(const char *v, char **norm)
{
	unsigned char buf[16];

	(void)norm;
	if (inet_pton(AF_INET, v, buf) == 1 || inet_pton(AF_INET6, v, buf) == 1)
		return NULL;
	return "is not an IP address (write 127.0.0.1 or ::1, or 0.0.0.0 "
	    "or :: for every address)";
}

static const char *
check_forwarder(const char *v, char **norm)
{
	const char *at = strrchr(v, '@');
	char host[64];
	unsigned char buf[16];
	uint64_t port;
	size_t n;

	(void)norm;
	n = at != NULL ? (size_t)(at - v) : strlen(v);
	if (n == 0 || n >= sizeof host)
		goto bad;
	memcpy(host, v, n);
	host[n] = '\0';
	if (inet_pton(AF_INET, host, buf) != 1 &&
	    inet_pton(AF_INET6, host, buf) != 1)
		goto bad;
	if (at != NULL && (!conf_uint(at + 1, &port) || port == 0 ||
	    port > 65535))
		return "has a bad port after '@' (1-65535)";
	return NULL;
bad:
	return "is not a server address: write IP or IP@PORT (192.0.2.53, "
	    "2001:db8::53@5353); names are not allowed";
}

/* delivery.relay.host: a host name or an IP literal. */
static const char *
check_host(const char *v, char **norm)
{
	unsigned char buf[16];

	if (inet_pton(AF_INET, v, buf) == 1 || inet_pton(AF_INET6, v, buf) == 1)
		return NULL;
	if (check_domain(v, norm) != NULL)
		return "is not a host name or IP address (example: "
		    "smtp.example.org)";
	return NULL;
}

/* delivery.relay.user: an AUTH login (RFC 4616: no NUL; we also refuse
 * control bytes and spaces, which no login needs). */
static const char *
check_login(const char *v, char **norm)
{
	const unsigned char *p;

	(void)norm;
	if (*v == '\0')
		return "is empty; give the login name";
	for (p = (const unsigned char *)v; *p != '\0'; p++)
		if (*p <= 0x20 || *p == 0x7f)
			return "holds a space or a control character";
	return NULL;
}

static const char *
check_sysname(const char *v, char **norm)
{
	const char *p;

	(void)norm;
	if (*v == '\0' || *v == '-' || strlen(v) > GW_NAME_MAX)
		goto bad;
	for (p = v; *p != '\0'; p++)
		if (!ms_isalnum((unsigned char)*p) && *p != '_' &&
		    *p != '-' && *p != '.')
			goto bad;
	return NULL;
bad:
	return "is not a user or group name (up to 32 letters, digits, "
	    "'.', '_' or '-', not starting with '-')";
}

static const char *
check_header(const char *v, char **norm)
{
	const char *p;
	char *d;

	if (*v == '\0')
		goto bad;
	for (p = v; *p != '\0'; p++)
		/* RFC 5322 3.6.8 ftext: printable ASCII except ':' */
		if ((unsigned char)*p < 33 || (unsigned char)*p > 126 ||
		    *p == ':')
			goto bad;
	if ((d = strdup(v)) == NULL)
		return "out of memory";
	for (p = v; *p != '\0'; p++)
		d[p - v] = (char)ms_tolower((unsigned char)*p);
	*norm = d;
	return NULL;
bad:
	return "is not a header field name (printable ASCII, no ':' or "
	    "spaces; example: subject)";
}

/* A local part usable as a Maildir directory name. */
static bool
local_part_ok(const char *p, size_t n)
{
	size_t i;

	if (n == 0 || n > 64 || p[0] == '.')
		return false;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c < 0x21 || c == 0x7f || c == '/' || c == '@' ||
		    c == '\\')
			return false;
	}
	return true;
}

/* "local@domain" or, when at_domain, "@domain": normalized copy. */
static const char *
check_address_common(const char *v, char **norm, bool at_domain)
{
	const char *at = strrchr(v, '@');
	char dom[MAILSEC_DOMAIN_MAX];
	struct ms_buf b;
	size_t ln, i;

	if (at == NULL)
		return NULL;	/* the caller decides */
	ln = (size_t)(at - v);
	if (ln == 0 && !at_domain)
		return "has no local part before '@'";
	if (ln > 0 && !local_part_ok(v, ln))
		return "has a local part that cannot be a mailbox name "
		    "(no spaces, '/', '\\', control bytes or leading '.')";
	if (mailsec_domain_normalize(at + 1, strlen(at + 1), dom, sizeof dom,
	    NULL, NULL) != MAILSEC_OK)
		return "has no valid domain after '@'";
	ms_buf_init(&b, 512);
	for (i = 0; i < ln; i++)
		if (ms_buf_appendc(&b, (char)ms_tolower(
		    (unsigned char)v[i])) != MAILSEC_OK)
			return "out of memory";
	if (ms_buf_appendc(&b, '@') != MAILSEC_OK ||
	    ms_buf_appendz(&b, dom) != MAILSEC_OK)
		return "out of memory";
	if ((*norm = ms_buf_steal(&b, NULL)) == NULL)
		return "out of memory";
	return NULL;
}

static const char *
check_send_as(const char *v, char **norm)
{
	if (strchr(v, '@') == NULL)
		return "is not an address: write user@example.org, or "
		    "@example.org for every address of the domain";
	return check_address_common(v, norm, true);
}

static const char *
check_local_user(const char *v, char **norm)
{
	size_t i, n = strlen(v);

	if (strchr(v, '@') != NULL)
		return check_address_common(v, norm, false);
	if (!local_part_ok(v, n))
		return "is not a mailbox name (write alice or "
		    "alice@example.org; no spaces, '/', control bytes or "
		    "leading '.')";
	if ((*norm = strdup(v)) == NULL)
		return "out of memory";
	for (i = 0; i < n; i++)
		(*norm)[i] = (char)ms_tolower((unsigned char)v[i]);
	return NULL;
}

/* reports.org_name: free text in the report, one printable line. */
static const char *
check_report_org(const char *v, char **norm)
{
	size_t n = strlen(v), i;

	(void)norm;
	if (n == 0 || n > GW_REPORT_ORG_MAX)
		return "is not a name of 1 to 128 characters";
	for (i = 0; i < n; i++)
		if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
			return "holds control characters";
	return NULL;
}

/* reports.from, reports.ingest_address: local@domain. */
static const char *
check_report_addr(const char *v, char **norm)
{
	if (strchr(v, '@') == NULL)
		return "is not an address (write dmarc@example.org)";
	return check_address_common(v, norm, false);
}

static const char *
check_ciphers(const char *v, char **norm)
{
	SSL_CTX *ctx;
	int ok;

	(void)norm;
	if ((ctx = SSL_CTX_new(TLS_method())) == NULL)
		return "cannot be checked (OpenSSL failed)";
	ok = SSL_CTX_set_cipher_list(ctx, v);
	SSL_CTX_free(ctx);
	return ok == 1 ? NULL : "names no cipher OpenSSL knows (see "
	    "'openssl ciphers -v'; example: ECDHE+AESGCM:ECDHE+CHACHA20)";
}

static const char *
check_suites(const char *v, char **norm)
{
	SSL_CTX *ctx;
	int ok;

	(void)norm;
	if ((ctx = SSL_CTX_new(TLS_method())) == NULL)
		return "cannot be checked (OpenSSL failed)";
	ok = SSL_CTX_set_ciphersuites(ctx, v);
	SSL_CTX_free(ctx);
	return ok == 1 ? NULL : "is not a TLS 1.3 suite list (example: "
	    "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256)";
}

/* ---- option tables ------------------------------------------------------ */

enum opt_kind {
	O_STR,		/* string, optional check */
	O_PATH,		/* string, check_path, may mark a GW_PATH_* bit */
	O_BOOL,
	O_UINT,		/* unsigned in [min, max] */
	O_PORT,		/* uint16_t, 1-65535 */
	O_SIZE,		/* uint64_t bytes in [min, max] */
	O_TIME,		/* unsigned, in units of unit_ms, [min, max] */
	O_ENUM,		/* int-sized enum from vals */
	O_LIST,		/* gw_strlist, items checked */
	O_SECTION,	/* nested table at base + off */
	O_CUSTOM	/* fn does it all */
};

struct load;
struct opt;

typedef mailsec_err (*custom_fn)(struct load *ld, const struct opt *o,
    const struct conf_node *n, void *base, const char *path);

struct opt {
	const char *name;
	enum opt_kind kind;
	size_t off;
	uint64_t min, max;
	unsigned unit_ms;		/* O_TIME */
	const struct enum_val *vals;	/* O_ENUM */
	const struct opt *sub;		/* O_SECTION, labelled O_CUSTOM */
	check_fn check;			/* O_STR, O_LIST items */
	custom_fn fn;			/* O_CUSTOM */
	unsigned pathbit;		/* O_PATH */
	bool labelled;			/* section takes "name" */
	bool repeat;			/* may appear several times */
};

struct load {
	const char *name;
	char *err;
	size_t errlen;
	struct gw_config *cfg;
	const struct conf_node *root;
};

/* Values quoted in messages may hold control bytes: one line, always. */
static void
err_sanitize(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

static mailsec_err cfg_err(struct load *ld, unsigned line, const char *path,
    mailsec_err code, const char *fmt, ...) MS_PRINTF(5, 6);

static mailsec_err
cfg_err(struct load *ld, unsigned line, const char *path, mailsec_err code,
    const char *fmt, ...)
{
	va_list ap;
	int n;

	if (ld->errlen == 0)
		return code;
	if (line > 0)
		n = snprintf(ld->err, ld->errlen, "%s:%u: %s: ", ld->name,
		    line, path);
	else
		n = snprintf(ld->err, ld->errlen, "%s: %s: ", ld->name, path);
	if (n < 0 || (size_t)n >= ld->errlen)
		return code;
	va_start(ap, fmt);
	vsnprintf(ld->err + n, ld->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	err_sanitize(ld->err);
	return code;
}

static mailsec_err custom_workers(struct load *, const struct opt *,
    const struct conf_node *, void *, const char *);
static mailsec_err custom_user(struct load *, const struct opt *,
    const struct conf_node *, void *, const char *);
static mailsec_err custom_dkim_domain(struct load *, const struct opt *,
    const struct conf_node *, void *, const char *);
static mailsec_err custom_dkim_key(struct load *, const struct opt *,
    const struct conf_node *, void *, const char *);
static mailsec_err custom_forward(struct load *, const struct opt *,
    const struct conf_node *, void *, const char *);

#define ROW(nm, k, field) .name = nm, .kind = k, .off = field
#define GOFF(f) offsetof(struct gw_config, f)
#define LOFF(f) offsetof(struct gw_listener, f)
#define SEC(s, f) offsetof(struct s, f)

static const struct opt mx_opts[] = {
	{ ROW("enabled", O_BOOL, LOFF(enabled)) },
	{ ROW("address", O_LIST, LOFF(address)), .check = check_ip },
	{ ROW("port", O_PORT, LOFF(port)) },
	{ ROW("starttls", O_BOOL, LOFF(starttls)) },
	{ NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, 0, false, false }
};

static const struct opt sub_opts[] = {
	{ ROW("enabled", O_BOOL, LOFF(enabled)) },
	{ ROW("address", O_LIST, LOFF(address)), .check = check_ip },
	{ ROW("port", O_PORT, LOFF(port)) },
	{ NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, 0, false, false }
};

#define LISTENER(i) (GOFF(listen) + (i) * sizeof(struct gw_listener))
static const struct opt listen_opts[] = {
	{ ROW("mx", O_SECTION, LISTENER(GW_LISTEN_MX)), .sub = mx_opts },
	{ ROW("submission", O_SECTION, LISTENER(GW_LISTEN_SUBMISSION)),
	  .sub = sub_opts },
	{ ROW("submissions", O_SECTION, LISTENER(GW_LISTEN_SUBMISSIONS)),
	  .sub = sub_opts },
	{ NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, 0, false, false }
};

static const struct opt tls_opts[] = {
	{ ROW("cert", O_PATH, SEC(gw_tls, cert)), .pathbit = GW_PATH_CERT },
	{ ROW("key", O_PATH, SEC(gw_tls, key)), .pathbit = GW_PATH_KEY },
	{ ROW("min_version", O_ENUM, SEC(gw_tls, min_version)),
	  .vals = tlsver_vals },
	{ ROW("ciphers", O_STR, SEC(gw_tls, ciphers)), .check = check_ciphers },
	{ ROW("ciphersuites", O_STR, SEC(gw_tls, ciphersuites)),
	  .check = check_suites },
	{ NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, 0, false, false }
};

static const struct opt dns_opts[] = {
	{ ROW("forwarders", O_LIST, SEC(gw_dns, forwarders)),
	  .check = check_forwarder },
	{ ROW("zone", O_PATH, SEC(gw_dns, zone)) },
	{ ROW("timeout", O_TIME, SEC(gw_dns, timeout_ms)), .unit_ms = 1,
	  .min = 100, .max = 60000 },
	{ NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, 0, false, false }
};

static const struct opt local_opts[] = {
	{ ROW("domains", O_LIST, SEC(gw_local, domains)),
	  .check = check_domain },
	{ ROW("maildir", O_PATH, SEC(gw_local, maildir)),
	  .pathbit = GW_PATH_MAILDIR },
	{ ROW("recipients", O_ENUM, SEC(gw_local, recipients)),
	  .vals = rcpt_vals },
	{ ROW("users", O_LIST, SEC(gw_local, users)),
	  .check = check_local_user },
	{ NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, 0, false, false }
};

static const struct opt user_opts[] = {
	{ ROW("send_as", O_LIST, SEC(gw_auth_user, send_as)),
	  .check = check_send_as },
	{ NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, 0, false, false }
};

static const struct opt auth_opts[] = {
	{ ROW("password_file", O_PATH, SEC(gw_auth, password_file)),
	  .pathbit = GW_PATH_PASSWD },
	{ ROW("throttle", O_UINT, SEC(gw_auth, throttle)), .min = 1,
	  .max = 100000 },
	{ ROW("send_as_login", O_BOOL, SEC(gw_auth, send_as_login)) },
	{ ROW("user", O_CUSTOM, 0), .fn = custom_user, .sub = user_opts,
	  .labelled = true, .repeat = true },
	{ NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, 0, false, false }
};

static const struct opt dkim_key_opts[] = {
	{ ROW("file", O_PATH, SEC(gw_dkim_key, file)) },
	{ ROW("algorithm", O_ENUM, SEC(gw_dkim_key, algorithm)),
	  .vals = alg_vals },
	{ ROW("generate", O_BOOL, SEC(gw_dkim_key, generate)) },
	{ NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, 0, false, false }
};

static const struct opt dkim_domain_opts[] = {
	{ ROW("key", O_CUSTOM, 0), .fn = custom_dkim_key,
	  .sub = dkim_key_opts, .labelled = true, .repeat = true },
	{ NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, 0, false, false }
};

static const struct opt dkim_opts[] = {
	{ ROW("generate", O_BOOL, SEC(gw_dkim, generate)) },
	{ ROW("headers", O_LIST, SEC(gw_dkim, headers)),
	  .check = check_header },
	{ ROW("expire", O_TIME, SEC(gw_dkim, expire)), .unit_ms = 1000,
	  .min = 0, .max = 366 * 86400 },
	{ ROW("domain", O_CUSTOM, 0), .fn = custom_dkim_domain,
	  .sub = dkim_domain_opts, .labelled = true, .repeat = true },
	{ NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, 0, false, false }
};

static const struct opt policy_opts[] = {
	{ ROW("authserv_id", O_STR, SEC(gw_policy, authserv_id)),
	  .check = check_domain },
	{ ROW("dmarc_mode", O_ENUM, SEC(gw_policy, dmarc_mode)),
	  .vals = dmarc_vals },
	{ ROW("dmarc_reject", O_ENUM, SEC(gw_policy, dmarc_reject)),
	  .vals = act_vals },
	{ ROW("dmarc_quarantine", O_ENUM, SEC(gw_policy, dmarc_quarantine)),
	  .vals = act_vals },
	{ ROW("dmarc_none", O_ENUM, SEC(gw_policy, dmarc_none)),
	  .vals = act_vals },
	{ ROW("dmarc_temperror", O_ENUM, SEC(gw_policy, dmarc_temperror)),
	  .vals = temp_vals },
	{ ROW("spf_fail", O_ENUM, SEC(gw_policy, spf_fail)),
	  .vals = act_vals },
	{ ROW("quarantine", O_ENUM, SEC(gw_policy, quarantine)),
	  .vals = quar_vals },
	{ ROW("quarantine_dir", O_PATH, SEC(gw_policy, quarantine_dir)),
	  .pathbit = GW_PATH_QUARANTINE },
	{ ROW("trusted_forwarders", O_LIST,
	  SEC(gw_policy, trusted_forwarders)), .check = check_domain },
	{ ROW("arc_sealers", O_LIST, SEC(gw_policy, arc_sealers)),
	  .check = check_domain },
	{ NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, 0, false, false }
};

/*
 * arc.headers: a field the ARC-Message-Signature may sign. Not the ARC
 * fields or Authentication-Results (RFC 8617 4.1.2), nor Received and
 * X-Mailsec-Quarantine: the gateway adds those after sealing.
 */
static const char *
check_arc_header(const char *v, char **norm)
{
	static const char *const refused[] = {
		"arc-seal", "arc-message-signature",
		"arc-authentication-results", "authentication-results",
		"received", "x-mailsec-quarantine"
	};
	const char *why;
	size_t i;

	if ((why = check_header(v, norm)) != NULL)
		return why;
	for (i = 0; i < MS_ARRAY_LEN(refused); i++) {
		if (strcmp(*norm, refused[i]) == 0) {
			free(*norm);
			*norm = NULL;
			return "cannot be signed by an ARC-Message-Signature "
			    "(ARC fields and Authentication-Results: RFC "
			    "8617 4.1.2; Received and X-Mailsec-Quarantine "
			    "are added after sealing)";
		}
	}
	return NULL;
}

static const struct opt arc_opts[] = {
	{ ROW("seal", O_BOOL, SEC(gw_arc, seal)) },
	{ ROW("domain", O_STR, SEC(gw_arc, domain)), .check = check_domain },
	{ ROW("selector", O_STR, SEC(gw_arc, selector)),
	  .check = check_domain },
	{ ROW("key", O_PATH, SEC(gw_arc, key)) },
	{ ROW("generate", O_BOOL, SEC(gw_arc, generate)) },
	{ ROW("algorithm", O_ENUM, SEC(gw_arc, algorithm)),
	  .vals = alg_vals },
	{ ROW("headers", O_LIST, SEC(gw_arc, headers)),
	  .check = check_arc_header },
	{ NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, 0, false, false }
};

static const struct opt limits_opts[] = {
	{ ROW("message_size", O_SIZE, SEC(gw_limits, message_size)),
	  .min = 1024, .max = (uint64_t)4 * 1024 * 1024 * 1024 },
	{ ROW("recipients", O_UINT, SEC(gw_limits, recipients)), .min = 1,
	  .max = 100000 },
	{ ROW("line_length", O_UINT, SEC(gw_limits, line_length)),
	  .min = 512, .max = 65536 },
	{ ROW("timeout_command", O_TIME, SEC(gw_limits, timeout_command)),
	  .unit_ms = 1000, .min = 1, .max = 3600 },
	{ ROW("timeout_data", O_TIME, SEC(gw_limits, timeout_data)),
	  .unit_ms = 1000, .min = 1, .max = 3600 },
	{ ROW("timeout_tls", O_TIME, SEC(gw_limits, timeout_tls)),
	  .unit_ms = 1000, .min = 1, .max = 600 },
	{ ROW("connections", O_UINT, SEC(gw_limits, connections)), .min = 1,
	  .max = 1000000 },
	{ ROW("connections_per_ip", O_UINT,
	  SEC(gw_limits, connections_per_ip)), .min = 1, .max = 1000000 },
	{ ROW("auth_failures", O_UINT, SEC(gw_limits, auth_failures)),
	  .min = 1, .max = 1000 },
	{ ROW("errors", O_UINT, SEC(gw_limits, errors)), .min = 1,
	  .max = 100000 },
	{ NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, 0, false, false }
};

static const struct opt relay_opts[] = {
	{ ROW("host", O_STR, SEC(gw_relay, host)), .check = check_host },
	{ ROW("port", O_PORT, SEC(gw_relay, port)) },
	{ ROW("implicit_tls", O_BOOL, SEC(gw_relay, implicit_tls)) },
	{ ROW("user", O_STR, SEC(gw_relay, user)), .check = check_login },
	{ ROW("password_file", O_PATH, SEC(gw_relay, password_file)) },
	{ NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, 0, false, false }
};

static const struct opt delivery_tls_opts[] = {
	{ ROW("mta_sts", O_BOOL, SEC(gw_delivery_tls, mta_sts)) },
	{ ROW("dane", O_BOOL, SEC(gw_delivery_tls, dane)) },
	{ ROW("tlsrpt", O_BOOL, SEC(gw_delivery_tls, tlsrpt)) },
	{ ROW("ca_file", O_PATH, SEC(gw_delivery_tls, ca_file)) },
	{ ROW("https_port", O_UINT, SEC(gw_delivery_tls, https_port)),
	  .min = 1, .max = 65535 },
	{ NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, 0, false, false }
};

#define DLV(f) SEC(gw_delivery, f)
static const struct opt delivery_opts[] = {
	{ ROW("enabled", O_BOOL, DLV(enabled)) },
	{ ROW("helo", O_STR, DLV(helo)), .check = check_domain },
	{ ROW("port", O_PORT, DLV(port)) },
	{ ROW("threads", O_UINT, DLV(threads)), .min = 1,
	  .max = GW_DELIVERY_THREADS_MAX },
	{ ROW("per_destination", O_UINT, DLV(per_destination)), .min = 1,
	  .max = 1000 },
	{ ROW("lifetime", O_TIME, DLV(lifetime)), .unit_ms = 1000, .min = 1,
	  .max = GW_LIFETIME_MAX },
	{ ROW("delay_warning", O_TIME, DLV(delay_warning)), .unit_ms = 1000,
	  .min = 0, .max = GW_LIFETIME_MAX },
	{ ROW("bounce", O_BOOL, DLV(bounce)) },
	{ ROW("connect_timeout", O_TIME, DLV(connect_timeout)),
	  .unit_ms = 1000, .min = 1, .max = 600 },
	{ ROW("command_timeout", O_TIME, DLV(command_timeout)),
	  .unit_ms = 1000, .min = 1, .max = 3600 },
	{ ROW("data_timeout", O_TIME, DLV(data_timeout)), .unit_ms = 1000,
	  .min = 1, .max = 3600 },
	{ ROW("require_tls", O_BOOL, DLV(require_tls)) },
	{ ROW("relay", O_SECTION, DLV(relay)), .sub = relay_opts },
	{ ROW("tls", O_SECTION, DLV(tls)), .sub = delivery_tls_opts },
	{ NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, 0, false, false }
};

#define REP(f) SEC(gw_reports, f)
static const struct opt reports_opts[] = {
	{ ROW("send", O_BOOL, REP(send)) },
	{ ROW("period", O_TIME, REP(period)), .unit_ms = 1000, .min = 60,
	  .max = 86400 },
	{ ROW("org_name", O_STR, REP(org_name)), .check = check_report_org },
	{ ROW("from", O_STR, REP(from)), .check = check_report_addr },
	{ ROW("format", O_ENUM, REP(format)), .vals = report_fmt_vals },
	{ ROW("failure", O_BOOL, REP(failure)) },
	{ ROW("failure_redact", O_BOOL, REP(failure_redact)) },
	{ ROW("failure_rate", O_UINT, REP(failure_rate)), .min = 1,
	  .max = 10000 },
	{ ROW("ingest_address", O_STR, REP(ingest_address)),
	  .check = check_report_addr },
	{ NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, 0, false, false }
};

static const struct opt top_opts[] = {
	{ ROW("state_dir", O_PATH, GOFF(state_dir)) },
	{ ROW("user", O_STR, GOFF(user)), .check = check_sysname },
	{ ROW("group", O_STR, GOFF(group)), .check = check_sysname },
	{ ROW("workers", O_CUSTOM, GOFF(workers)), .fn = custom_workers },
	{ ROW("log", O_ENUM, GOFF(log)), .vals = log_vals },
	{ ROW("log_level", O_ENUM, GOFF(log_level)), .vals = level_vals },
	{ ROW("listen", O_SECTION, 0), .sub = listen_opts },
	{ ROW("tls", O_SECTION, GOFF(tls)), .sub = tls_opts },
	{ ROW("dns", O_SECTION, GOFF(dns)), .sub = dns_opts },
	{ ROW("local", O_SECTION, GOFF(local)), .sub = local_opts },
	{ ROW("auth", O_SECTION, GOFF(auth)), .sub = auth_opts },
	{ ROW("dkim", O_SECTION, GOFF(dkim)), .sub = dkim_opts },
	{ ROW("policy", O_SECTION, GOFF(policy)), .sub = policy_opts },
	{ ROW("forward", O_CUSTOM, GOFF(forward)), .fn = custom_forward },
	{ ROW("arc", O_SECTION, GOFF(arc)), .sub = arc_opts },
	{ ROW("limits", O_SECTION, GOFF(limits)), .sub = limits_opts },
	{ ROW("delivery", O_SECTION, GOFF(delivery)), .sub = delivery_opts },
	{ ROW("reports", O_SECTION, GOFF(reports)), .sub = reports_opts },
	{ NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, 0, false, false }
};

/* ---- "did you mean" ----------------------------------------------------- */

/* Levenshtein distance of two short strings (b at most 64 bytes). */
static size_t
edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j, prev, cur, t;
	size_t row[GW_SUGGEST_MAXLEN + 1];

	if (la > GW_SUGGEST_MAXLEN || lb > GW_SUGGEST_MAXLEN)
		return SIZE_MAX;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		prev = row[0];
		row[0] = i;
		for (j = 1; j <= lb; j++) {
			cur = row[j];
			t = prev + (ms_tolower((unsigned char)a[i - 1]) !=
			    ms_tolower((unsigned char)b[j - 1]));
			if (row[j] + 1 < t)
				t = row[j] + 1;
			if (row[j - 1] + 1 < t)
				t = row[j - 1] + 1;
			row[j] = t;
			prev = cur;
		}
	}
	return row[lb];
}

/* Where else an option of exactly this name lives ("listen.mx.port"). */
static bool
find_elsewhere(const struct opt *tab, const char *key, const char *prefix,
    char *out, size_t outsz, unsigned depth)
{
	const struct opt *o;
	char path[256];

	if (depth > 4)
		return false;
	for (o = tab; o->name != NULL; o++) {
		int n = snprintf(path, sizeof path, "%s%s%s%s", prefix,
		    *prefix != '\0' ? "." : "", o->name,
		    o->labelled ? "[NAME]" : "");

		if (n < 0 || (size_t)n >= sizeof path)
			continue;	/* deeper than any real option */
		if (strcmp(o->name, key) == 0) {
			snprintf(out, outsz, "%s", path);
			return true;
		}
		if (o->sub != NULL &&
		    find_elsewhere(o->sub, key, path, out, outsz, depth + 1))
			return true;
	}
	return false;
}

static mailsec_err
unknown_option(struct load *ld, const struct opt *tab,
    const struct conf_node *n, const char *path)
{
	const struct opt *o, *best = NULL;
	size_t d, bestd = SIZE_MAX;
	char where[256];

	for (o = tab; o->name != NULL; o++) {
		d = edit_distance(n->key, o->name);
		/* "algo" for "algorithm": a prefix of three or more */
		if (d != 0 && strlen(n->key) >= 3 &&
		    strncmp(o->name, n->key, strlen(n->key)) == 0)
			d = 1;
		if (d < bestd) {
			bestd = d;
			best = o;
		}
	}
	if (best != NULL && bestd <= 2 && bestd < strlen(best->name))
		return cfg_err(ld, n->line, path, MAILSEC_ESYNTAX,
		    "unknown option; did you mean '%s'?", best->name);
	if (find_elsewhere(top_opts, n->key, "", where, sizeof where, 0))
		return cfg_err(ld, n->line, path, MAILSEC_ESYNTAX,
		    "unknown option here; did you mean '%s'?", where);
	return cfg_err(ld, n->line, path, MAILSEC_ESYNTAX,
	    "unknown option (see docs/configuration.md)");
}

/* ---- mapping ------------------------------------------------------------ */

static mailsec_err map_section(struct load *ld, const struct opt *tab,
    const struct conf_node *sec, void *base, const char *path,
    unsigned depth);

static mailsec_err
bad_enum(struct load *ld, const struct opt *o, const struct conf_node *n,
    const char *path)
{
	const struct enum_val *v;
	char list[256];
	size_t used = 0;
	int w;

	list[0] = '\0';
	for (v = o->vals; v->name != NULL; v++) {
		w = snprintf(list + used, sizeof list - used, "%s%s",
		    used > 0 ? ", " : "", v->name);
		if (w < 0 || (size_t)w >= sizeof list - used)
			break;
		used += (size_t)w;
	}
	return cfg_err(ld, n->line, path, MAILSEC_ESYNTAX,
	    "'%s' is not one of: %s", n->val, list);
}

static mailsec_err
bad_range_uint(struct load *ld, const struct opt *o,
    const struct conf_node *n, const char *path)
{
	return cfg_err(ld, n->line, path, MAILSEC_ESYNTAX,
	    "'%s' is not a whole number from %llu to %llu", n->val,
	    (unsigned long long)o->min, (unsigned long long)o->max);
}

/* Human form of a duration given in ms ("300s", "5min", "100ms"). */
static void
fmt_time(uint64_t ms, char *out, size_t outsz)
{
	if (ms % (86400 * 1000) == 0 && ms >= 86400 * 1000)
		snprintf(out, outsz, "%llud", (unsigned long long)(ms /
		    (86400 * 1000)));
	else if (ms % (3600 * 1000) == 0 && ms >= 3600 * 1000)
		snprintf(out, outsz, "%lluh", (unsigned long long)(ms /
		    (3600 * 1000)));
	else if (ms % 60000 == 0 && ms >= 60000)
		snprintf(out, outsz, "%llumin", (unsigned long long)(ms /
		    60000));
	else if (ms % 1000 == 0)
		snprintf(out, outsz, "%llus", (unsigned long long)(ms / 1000));
	else
		snprintf(out, outsz, "%llums", (unsigned long long)ms);
}

/* Human form of a size ("35m", "512k", "1000"). */
static void
fmt_size(uint64_t v, char *out, size_t outsz)
{
	if (v >= 1024 * 1024 * 1024 && v % (1024 * 1024 * 1024) == 0)
		snprintf(out, outsz, "%llug", (unsigned long long)(v >> 30));
	else if (v >= 1024 * 1024 && v % (1024 * 1024) == 0)
		snprintf(out, outsz, "%llum", (unsigned long long)(v >> 20));
	else if (v >= 1024 && v % 1024 == 0)
		snprintf(out, outsz, "%lluk", (unsigned long long)(v >> 10));
	else
		snprintf(out, outsz, "%llu", (unsigned long long)v);
}

static mailsec_err
map_list(struct load *ld, const struct opt *o, const struct conf_node *n,
    struct gw_strlist *l, const char *path)
{
	struct gw_strlist nl = { NULL, 0 };
	const struct conf_node *it, *first;
	const char *why;
	char *norm;
	mailsec_err err;

	first = n->kind == CONF_LIST ? n->child : n;
	for (it = first; it != NULL; it = n->kind == CONF_LIST ? it->next :
	    NULL) {
		norm = NULL;
		if (o->check != NULL &&
		    (why = o->check(it->val, &norm)) != NULL) {
			gw_strlist_free(&nl);
			return cfg_err(ld, it->line, path, MAILSEC_ESYNTAX,
			    "'%s' %s", it->val, why);
		}
		if (strlist_has(&nl, norm != NULL ? norm : it->val)) {
			free(norm);
			gw_strlist_free(&nl);
			return cfg_err(ld, it->line, path, MAILSEC_ESYNTAX,
			    "'%s' is listed twice", it->val);
		}
		err = strlist_add(&nl, norm != NULL ? norm : it->val);
		free(norm);
		if (err != MAILSEC_OK) {
			gw_strlist_free(&nl);
			return cfg_err(ld, it->line, path, err,
			    "out of memory");
		}
	}
	gw_strlist_free(l);
	*l = nl;
	return MAILSEC_OK;
}

static mailsec_err
map_scalar(struct load *ld, const struct opt *o, const struct conf_node *n,
    void *base, const char *path)
{
	void *field = (char *)base + o->off;
	const struct enum_val *ev;
	const char *why;
	char *norm = NULL, lo[32], hi[32];
	uint64_t v;
	bool b;
	mailsec_err err;

	switch (o->kind) {
	case O_STR:
	case O_PATH:
		why = o->kind == O_PATH ? check_path(n->val, &norm) :
		    o->check != NULL ? o->check(n->val, &norm) : NULL;
		if (why != NULL) {
			free(norm);
			return cfg_err(ld, n->line, path, MAILSEC_ESYNTAX,
			    "'%s' %s", n->val, why);
		}
		err = set_str(field, norm != NULL ? norm : n->val);
		free(norm);
		if (err != MAILSEC_OK)
			return cfg_err(ld, n->line, path, err, "out of memory");
		ld->cfg->explicit_paths |= o->pathbit;
		return MAILSEC_OK;
	case O_BOOL:
		if (!conf_bool(n->val, &b))
			return cfg_err(ld, n->line, path, MAILSEC_ESYNTAX,
			    "'%s' is not yes or no (yes/no, true/false, "
			    "on/off)", n->val);
		*(bool *)field = b;
		return MAILSEC_OK;
	case O_UINT:
		if (!conf_uint(n->val, &v) || v < o->min || v > o->max)
			return bad_range_uint(ld, o, n, path);
		*(unsigned *)field = (unsigned)v;
		return MAILSEC_OK;
	case O_PORT:
		if (!conf_uint(n->val, &v) || v < 1 || v > 65535)
			return cfg_err(ld, n->line, path, MAILSEC_ESYNTAX,
			    "%s is not a port (1-65535)", n->val);
		*(uint16_t *)field = (uint16_t)v;
		return MAILSEC_OK;
	case O_SIZE:
		if (!conf_size(n->val, &v) || v < o->min || v > o->max) {
			fmt_size(o->min, lo, sizeof lo);
			fmt_size(o->max, hi, sizeof hi);
			return cfg_err(ld, n->line, path, MAILSEC_ESYNTAX,
			    "'%s' is not a size from %s to %s (bytes, or a "
			    "number with k, m or g: 35m)", n->val, lo, hi);
		}
		*(uint64_t *)field = v;
		return MAILSEC_OK;
	case O_TIME:
		fmt_time(o->min * o->unit_ms, lo, sizeof lo);
		fmt_time(o->max * o->unit_ms, hi, sizeof hi);
		if (!conf_time(n->val, &v)) {
			size_t l = strlen(n->val);

			return cfg_err(ld, n->line, path, MAILSEC_ESYNTAX,
			    "'%s' is not a duration (a number with ms, s, "
			    "min, h or d: 300s)%s", n->val,
			    l > 0 && ms_tolower((unsigned char)n->val[l - 1])
			    == 'm' ? "; for minutes write min" : "");
		}
		if (v % o->unit_ms != 0 || v / o->unit_ms < o->min ||
		    v / o->unit_ms > o->max)
			return cfg_err(ld, n->line, path, MAILSEC_ESYNTAX,
			    "'%s' is out of range (%s to %s%s)", n->val, lo, hi,
			    v % o->unit_ms != 0 ? ", whole seconds" : "");
		*(unsigned *)field = (unsigned)(v / o->unit_ms);
		return MAILSEC_OK;
	case O_ENUM:
		for (ev = o->vals; ev->name != NULL; ev++) {
			if (ms_ascii_eqz(n->val, n->vlen, ev->name)) {
				*(int *)field = ev->value;
				return MAILSEC_OK;
			}
		}
		return bad_enum(ld, o, n, path);
	default:
		break;
	}
	return cfg_err(ld, n->line, path, MAILSEC_EINVAL, "internal error");
}

static mailsec_err
map_one(struct load *ld, const struct opt *o, const struct conf_node *n,
    void *base, const char *path, unsigned depth)
{
	if (n->label != NULL && !o->labelled)
		return cfg_err(ld, n->line, path, MAILSEC_ESYNTAX,
		    "takes no name (write: %s { ... })", o->name);
	if (o->labelled && n->label == NULL)
		return cfg_err(ld, n->line, path, MAILSEC_ESYNTAX,
		    "needs a name: %s \"NAME\" { ... }", o->name);
	switch (o->kind) {
	case O_SECTION:
		if (n->kind != CONF_SECTION)
			return cfg_err(ld, n->line, path, MAILSEC_ESYNTAX,
			    "is a section: write %s { ... }", o->name);
		return map_section(ld, o->sub, n, (char *)base + o->off, path,
		    depth + 1);
	case O_CUSTOM:
		return o->fn(ld, o, n, base, path);
	case O_LIST:
		if (n->kind == CONF_SECTION)
			return cfg_err(ld, n->line, path, MAILSEC_ESYNTAX,
			    "is a list, not a section: write %s [a, b];",
			    o->name);
		return map_list(ld, o, n,
		    (struct gw_strlist *)(void *)((char *)base + o->off), path);
	default:
		if (n->kind == CONF_SECTION)
			return cfg_err(ld, n->line, path, MAILSEC_ESYNTAX,
			    "takes a value, not a section: write %s VALUE;",
			    o->name);
		if (n->kind == CONF_LIST)
			return cfg_err(ld, n->line, path, MAILSEC_ESYNTAX,
			    "takes one value, not a list");
		return map_scalar(ld, o, n, base, path);
	}
}

static void
join_path(char *out, size_t outsz, const char *parent, const char *key)
{
	snprintf(out, outsz, "%s%s%s", parent, *parent != '\0' ? "." : "",
	    key);
}

static mailsec_err
map_section(struct load *ld, const struct opt *tab,
    const struct conf_node *sec, void *base, const char *ppath,
    unsigned depth)
{
	unsigned seen[GW_TABLE_MAX] = { 0 };
	const struct conf_node *n;
	const struct opt *o;
	char path[512];
	size_t i;
	mailsec_err err;

	if (depth > CONF_MAX_DEPTH)
		return MAILSEC_ELIMIT;
	for (n = sec->child; n != NULL; n = n->next) {
		join_path(path, sizeof path, ppath, n->key);
		for (i = 0, o = tab; o->name != NULL; o++, i++)
			if (strcmp(o->name, n->key) == 0)
				break;
		if (o->name == NULL)
			return unknown_option(ld, tab, n, path);
		if (seen[i] != 0 && !o->repeat)
			return cfg_err(ld, n->line, path, MAILSEC_ESYNTAX,
			    "set twice (first on line %u); keep one", seen[i]);
		seen[i] = n->line;
		err = map_one(ld, o, n, base, path, depth);
		if (err != MAILSEC_OK)
			return err;
	}
	return MAILSEC_OK;
}

static mailsec_err
custom_workers(struct load *ld, const struct opt *o,
    const struct conf_node *n, void *base, const char *path)
{
	uint64_t v;

	if (n->kind != CONF_SCALAR)
		return cfg_err(ld, n->line, path, MAILSEC_ESYNTAX,
		    "takes one value: auto or a number");
	if (strcmp(n->val, "auto") == 0) {
		long c = sysconf(_SC_NPROCESSORS_ONLN);

		v = c > 0 ? (uint64_t)c : 1;
		if (v > GW_WORKERS_MAX)
			v = GW_WORKERS_MAX;
	} else if (!conf_uint(n->val, &v) || v < 1 || v > GW_WORKERS_MAX) {
		return cfg_err(ld, n->line, path, MAILSEC_ESYNTAX,
		    "'%s' is not auto or a number from 1 to %d", n->val,
		    GW_WORKERS_MAX);
	}
	*(unsigned *)(void *)((char *)base + o->off) = (unsigned)v;
	return MAILSEC_OK;
}

static mailsec_err
custom_user(struct load *ld, const struct opt *o, const struct conf_node *n,
    void *base, const char *ppath)
{
	struct gw_auth *a = base;
	struct gw_auth_user *u;
	char path[512];
	size_t i;

	snprintf(path, sizeof path, "%s[%s]", ppath, n->label);
	if (n->kind != CONF_SECTION)
		return cfg_err(ld, n->line, path, MAILSEC_ESYNTAX,
		    "is a section: user \"NAME\" { send_as [...]; }");
	if (*n->label == '\0' || strchr(n->label, ':') != NULL)
		return cfg_err(ld, n->line, path, MAILSEC_ESYNTAX,
		    "is not a login name (not empty, no ':')");
	for (i = 0; i < a->nusers; i++)
		if (strcmp(a->users[i].name, n->label) == 0)
			return cfg_err(ld, n->line, path, MAILSEC_ESYNTAX,
			    "is configured twice; merge the two sections");
	u = ms_reallocarray(a->users, a->nusers + 1, sizeof *u);
	if (u == NULL)
		return cfg_err(ld, n->line, path, MAILSEC_ENOMEM,
		    "out of memory");
	a->users = u;
	u = &a->users[a->nusers];
	memset(u, 0, sizeof *u);
	if ((u->name = strdup(n->label)) == NULL)
		return cfg_err(ld, n->line, path, MAILSEC_ENOMEM,
		    "out of memory");
	a->nusers++;
	return map_section(ld, o->sub, n, u, path, 2);
}

/*
 * The label of section n, which names one entry of a list (a DKIM domain
 * or selector): n must be a section (usage shows one), its label a name
 * (else it is not what), normalized into *norm (the caller's to free).
 */
static mailsec_err
entry_section(struct load *ld, const struct conf_node *n, const char *path,
    const char *usage, const char *what, char **norm)
{
	*norm = NULL;
	if (n->kind != CONF_SECTION)
		return cfg_err(ld, n->line, path, MAILSEC_ESYNTAX,
		    "is a section: %s", usage);
	if (check_domain(n->label, norm) != NULL) {
		free(*norm);
		*norm = NULL;
		return cfg_err(ld, n->line, path, MAILSEC_ESYNTAX,
		    "'%s' is not %s", n->label, what);
	}
	return MAILSEC_OK;
}

/* Grows the array v of n elements by one; NULL (v kept, error set) when
 * out of memory. */
static void *
entry_grow(struct load *ld, const struct conf_node *n, const char *path,
    void *v, size_t nv, size_t size)
{
	if ((v = ms_reallocarray(v, nv + 1, size)) == NULL)
		cfg_err(ld, n->line, path, MAILSEC_ENOMEM, "out of memory");
	return v;
}

static mailsec_err
custom_dkim_domain(struct load *ld, const struct opt *o,
    const struct conf_node *n, void *base, const char *ppath)
{
	struct gw_dkim *dk = base;
	struct gw_dkim_domain *d;
	char path[512], *norm;
	size_t i;
	mailsec_err err;

	snprintf(path, sizeof path, "%s[%s]", ppath, n->label);
	if ((err = entry_section(ld, n, path, "domain \"example.org\" { key "
	    "\"SEL\" { file ...; } }", "a domain name (example: example.org)",
	    &norm)) != MAILSEC_OK)
		return err;
	for (i = 0; i < dk->ndomains; i++) {
		if (strcmp(dk->domains[i].domain, norm) == 0) {
			free(norm);
			return cfg_err(ld, n->line, path, MAILSEC_ESYNTAX,
			    "is configured twice; merge the two sections");
		}
	}
	if ((d = entry_grow(ld, n, path, dk->domains, dk->ndomains,
	    sizeof *d)) == NULL) {
		free(norm);
		return MAILSEC_ENOMEM;
	}
	dk->domains = d;
	d = &dk->domains[dk->ndomains++];
	memset(d, 0, sizeof *d);
	d->domain = norm;
	if ((err = map_section(ld, o->sub, n, d, path, 2)) != MAILSEC_OK)
		return err;
	if (d->nkeys == 0)
		return cfg_err(ld, n->line, path, MAILSEC_ESYNTAX,
		    "has no key; add key \"SELECTOR\" { file \"...\"; }");
	return MAILSEC_OK;
}

static mailsec_err
custom_dkim_key(struct load *ld, const struct opt *o,
    const struct conf_node *n, void *base, const char *ppath)
{
	struct gw_dkim_domain *d = base;
	struct gw_dkim_key *k;
	char path[512], *norm;
	size_t i;
	mailsec_err err;

	snprintf(path, sizeof path, "%s[%s]", ppath, n->label);
	if ((err = entry_section(ld, n, path, "key \"SELECTOR\" { file "
	    "\"...\"; }", "a selector (DNS labels: s2024, mail.eu)", &norm)) !=
	    MAILSEC_OK)
		return err;
	for (i = 0; i < d->nkeys; i++) {
		if (strcmp(d->keys[i].selector, norm) == 0) {
			free(norm);
			return cfg_err(ld, n->line, path, MAILSEC_ESYNTAX,
			    "is configured twice for this domain");
		}
	}
	if ((k = entry_grow(ld, n, path, d->keys, d->nkeys, sizeof *k)) ==
	    NULL) {
		free(norm);
		return MAILSEC_ENOMEM;
	}
	d->keys = k;
	k = &d->keys[d->nkeys++];
	memset(k, 0, sizeof *k);
	k->selector = norm;
	k->algorithm = GW_DKIM_RSA_SHA256;
	if ((err = map_section(ld, o->sub, n, k, path, 3)) != MAILSEC_OK)
		return err;
	if (k->file == NULL)
		return cfg_err(ld, n->line, path, MAILSEC_ESYNTAX,
		    "has no file; add file \"/path/to/%s.%s.private\";",
		    k->selector, d->domain);
	return MAILSEC_OK;
}

/*
 * forward { "alias@example.org" ["x@example.net", ...]; "@example.org"
 * "y@example.net"; }: one entry per alias, its targets a list or one
 * value. That the aliases are at local domains is checked once the
 * whole file is read (forward_arc_check()).
 */
static mailsec_err
custom_forward(struct load *ld, const struct opt *o,
    const struct conf_node *n, void *base, const char *ppath)
{
	static const struct opt targets = { ROW("forward", O_LIST, 0),
	    .check = fwd_check_target };
	struct gw_forward *fw = (struct gw_forward *)(void *)((char *)base +
	    o->off);
	struct gw_forward_alias *a;
	const struct conf_node *it;
	const char *why;
	char path[512], *norm;
	size_t i;
	mailsec_err err;

	if (n->kind != CONF_SECTION)
		return cfg_err(ld, n->line, ppath, MAILSEC_ESYNTAX, "is a "
		    "section: forward { \"alias@example.org\" "
		    "[\"someone@example.net\"]; }");
	for (it = n->child; it != NULL; it = it->next) {
		snprintf(path, sizeof path, "%s[%s]", ppath, it->key);
		if (it->kind == CONF_SECTION)
			return cfg_err(ld, it->line, path, MAILSEC_ESYNTAX,
			    "takes addresses, not a section: \"%s\" "
			    "[\"someone@example.net\"];", it->key);
		if ((why = fwd_check_alias(it->key, &norm)) != NULL) {
			free(norm);
			return cfg_err(ld, it->line, path, MAILSEC_ESYNTAX,
			    "'%s' %s", it->key, why);
		}
		for (i = 0; i < fw->n; i++) {
			if (strcmp(fw->aliases[i].from, norm) == 0) {
				free(norm);
				return cfg_err(ld, it->line, path,
				    MAILSEC_ESYNTAX, "is configured twice "
				    "(first on line %u); merge the two lists",
				    fw->aliases[i].line);
			}
		}
		if ((a = entry_grow(ld, it, path, fw->aliases, fw->n,
		    sizeof *a)) == NULL) {
			free(norm);
			return MAILSEC_ENOMEM;
		}
		fw->aliases = a;
		a = &fw->aliases[fw->n++];
		memset(a, 0, sizeof *a);
		a->from = norm;
		a->line = it->line;
		if ((err = map_list(ld, &targets, it, &a->to, path)) !=
		    MAILSEC_OK)
			return err;
		if (a->to.n == 0)
			return cfg_err(ld, it->line, path, MAILSEC_ESYNTAX,
			    "forwards to nobody; list at least one address");
		if (a->to.n > FWD_TARGETS_MAX)
			return cfg_err(ld, it->line, path, MAILSEC_ESYNTAX,
			    "has %zu targets, at most %d; use a mailing "
			    "list", a->to.n, FWD_TARGETS_MAX);
	}
	return MAILSEC_OK;
}

/* ---- defaults and derived values ---------------------------------------- */

static void
dkim_domain_free(struct gw_dkim_domain *d)
{
	size_t i;

	for (i = 0; i < d->nkeys; i++) {
		free(d->keys[i].selector);
		free(d->keys[i].file);
	}
	free(d->keys);
	free(d->domain);
}

void
gw_config_free(struct gw_config *cfg)
{
	size_t i;

	if (cfg == NULL)
		return;
	free(cfg->source);
	free(cfg->state_dir);
	free(cfg->user);
	free(cfg->group);
	for (i = 0; i < GW_LISTEN_COUNT; i++)
		gw_strlist_free(&cfg->listen[i].address);
	free(cfg->tls.cert);
	free(cfg->tls.key);
	free(cfg->tls.ciphers);
	free(cfg->tls.ciphersuites);
	gw_strlist_free(&cfg->dns.forwarders);
	free(cfg->dns.zone);
	gw_strlist_free(&cfg->local.domains);
	free(cfg->local.maildir);
	gw_strlist_free(&cfg->local.users);
	free(cfg->auth.password_file);
	for (i = 0; i < cfg->auth.nusers; i++) {
		free(cfg->auth.users[i].name);
		gw_strlist_free(&cfg->auth.users[i].send_as);
	}
	free(cfg->auth.users);
	gw_strlist_free(&cfg->dkim.headers);
	for (i = 0; i < cfg->dkim.ndomains; i++)
		dkim_domain_free(&cfg->dkim.domains[i]);
	free(cfg->dkim.domains);
	free(cfg->policy.authserv_id);
	free(cfg->policy.quarantine_dir);
	gw_strlist_free(&cfg->policy.trusted_forwarders);
	gw_strlist_free(&cfg->policy.arc_sealers);
	for (i = 0; i < cfg->forward.n; i++) {
		free(cfg->forward.aliases[i].from);
		gw_strlist_free(&cfg->forward.aliases[i].to);
	}
	free(cfg->forward.aliases);
	free(cfg->arc.domain);
	free(cfg->arc.selector);
	free(cfg->arc.key);
	gw_strlist_free(&cfg->arc.headers);
	free(cfg->delivery.helo);
	free(cfg->delivery.relay.host);
	free(cfg->delivery.relay.user);
	free(cfg->delivery.relay.password_file);
	free(cfg->delivery.tls.ca_file);
	free(cfg->reports.org_name);
	free(cfg->reports.from);
	free(cfg->reports.ingest_address);
	memset(cfg, 0, sizeof *cfg);
}

/* The host name, normalized, else "localhost": the default of
 * policy.authserv_id and delivery.helo. */
static mailsec_err
set_host_name(char **dst)
{
	char host[256], out[MAILSEC_DOMAIN_MAX];

	if (gethostname(host, sizeof host) != 0)
		host[0] = '\0';
	host[sizeof host - 1] = '\0';
	if (host[0] == '\0' || mailsec_domain_normalize(host, strlen(host),
	    out, sizeof out, NULL, NULL) != MAILSEC_OK)
		snprintf(out, sizeof out, "localhost");
	return set_str(dst, out);
}

/*
 * (Re)computes what follows from state_dir and the local domains: the
 * paths the file did not set and the generated DKIM keys.
 */
static mailsec_err
derive(struct gw_config *cfg)
{
	struct gw_dkim *dk = &cfg->dkim;
	struct gw_dkim_domain *d;
	struct ms_buf b;
	const char *sd = cfg->state_dir;
	size_t i, j;
	bool found;

	if (!(cfg->explicit_paths & GW_PATH_CERT) &&
	    set_join(&cfg->tls.cert, sd, "tls/cert.pem") != MAILSEC_OK)
		return MAILSEC_ENOMEM;
	if (!(cfg->explicit_paths & GW_PATH_KEY) &&
	    set_join(&cfg->tls.key, sd, "tls/key.pem") != MAILSEC_OK)
		return MAILSEC_ENOMEM;
	cfg->tls.generate = !(cfg->explicit_paths &
	    (GW_PATH_CERT | GW_PATH_KEY));
	if (!(cfg->explicit_paths & GW_PATH_PASSWD) &&
	    set_join(&cfg->auth.password_file, sd, "passwd") != MAILSEC_OK)
		return MAILSEC_ENOMEM;
	if (!(cfg->explicit_paths & GW_PATH_MAILDIR) &&
	    set_join(&cfg->local.maildir, sd, "mail") != MAILSEC_OK)
		return MAILSEC_ENOMEM;
	if (!(cfg->explicit_paths & GW_PATH_QUARANTINE) &&
	    set_join(&cfg->policy.quarantine_dir, sd, "quarantine") !=
	    MAILSEC_OK)
		return MAILSEC_ENOMEM;

	/* drop the derived DKIM domains, then add them again */
	for (i = 0, j = 0; i < dk->ndomains; i++) {
		if (dk->domains[i].derived)
			dkim_domain_free(&dk->domains[i]);
		else
			dk->domains[j++] = dk->domains[i];
	}
	dk->ndomains = j;
	if (!dk->generate)
		return MAILSEC_OK;
	for (i = 0; i < cfg->local.domains.n; i++) {
		const char *dom = cfg->local.domains.v[i];

		found = false;
		for (j = 0; j < dk->ndomains; j++)
			if (strcmp(dk->domains[j].domain, dom) == 0)
				found = true;
		if (found)
			continue;
		d = ms_reallocarray(dk->domains, dk->ndomains + 1, sizeof *d);
		if (d == NULL)
			return MAILSEC_ENOMEM;
		dk->domains = d;
		d = &dk->domains[dk->ndomains];
		memset(d, 0, sizeof *d);
		d->derived = true;
		d->domain = strdup(dom);
		d->keys = calloc(1, sizeof *d->keys);
		dk->ndomains++;
		if (d->domain == NULL || d->keys == NULL)
			return MAILSEC_ENOMEM;
		d->nkeys = 1;
		d->keys[0].algorithm = GW_DKIM_RSA_SHA256;
		d->keys[0].generate = true;
		if ((d->keys[0].selector = strdup("mailsec")) == NULL)
			return MAILSEC_ENOMEM;
		/* `mailsec dkim keygen` names: DIR/SELECTOR.DOMAIN.private */
		ms_buf_init(&b, GW_PATH_MAX * 2);
		if (ms_buf_printf(&b, "dkim/mailsec.%s.private", dom) !=
		    MAILSEC_OK)
			return MAILSEC_ENOMEM;
		if (set_join(&d->keys[0].file, sd, b.ptr) != MAILSEC_OK) {
			ms_buf_free(&b);
			return MAILSEC_ENOMEM;
		}
		ms_buf_free(&b);
	}
	return MAILSEC_OK;
}

mailsec_err
gw_config_defaults(struct gw_config *cfg)
{
	static const uint16_t ports[GW_LISTEN_COUNT] = { 2525, 2587, 2465 };
	long cpus;
	size_t i;

	memset(cfg, 0, sizeof *cfg);
	if (set_str(&cfg->source, "(defaults)") != MAILSEC_OK ||
	    set_str(&cfg->state_dir, "./var") != MAILSEC_OK)
		goto nomem;
	cpus = sysconf(_SC_NPROCESSORS_ONLN);
	cfg->workers = cpus < 1 ? 1 : cpus > GW_WORKERS_MAX ?
	    GW_WORKERS_MAX : (unsigned)cpus;
	cfg->log = GW_LOG_STDERR;
	cfg->log_level = GW_LOG_INFO;
	for (i = 0; i < GW_LISTEN_COUNT; i++) {
		cfg->listen[i].enabled = true;
		cfg->listen[i].port = ports[i];
		if (strlist_add(&cfg->listen[i].address, "127.0.0.1") !=
		    MAILSEC_OK)
			goto nomem;
	}
	cfg->listen[GW_LISTEN_MX].starttls = true;
	cfg->listen[GW_LISTEN_SUBMISSION].starttls = true;
	cfg->listen[GW_LISTEN_SUBMISSION].auth = true;
	cfg->listen[GW_LISTEN_SUBMISSIONS].implicit_tls = true;
	cfg->listen[GW_LISTEN_SUBMISSIONS].auth = true;
	cfg->tls.min_version = GW_TLS_1_2;
	cfg->dns.mode = GW_DNS_EMBEDDED;
	cfg->dns.timeout_ms = 5000;
	if (strlist_add(&cfg->local.domains, "localhost") != MAILSEC_OK)
		goto nomem;
	cfg->local.recipients = GW_RCPT_ANY;
	cfg->auth.throttle = 5;
	cfg->auth.send_as_login = true;
	cfg->dkim.generate = true;
	for (i = 0; i < MS_ARRAY_LEN(dkim_default_headers); i++)
		if (strlist_add(&cfg->dkim.headers, dkim_default_headers[i]) !=
		    MAILSEC_OK)
			goto nomem;
	cfg->dkim.expire = 0;
	if (set_host_name(&cfg->policy.authserv_id) != MAILSEC_OK)
		goto nomem;
	cfg->policy.dmarc_mode = GW_DMARC_RFC9989;
	cfg->policy.dmarc_reject = GW_ACT_REJECT;
	cfg->policy.dmarc_quarantine = GW_ACT_QUARANTINE;
	cfg->policy.dmarc_none = GW_ACT_ACCEPT;
	cfg->policy.dmarc_temperror = GW_ACT_ACCEPT;
	cfg->policy.spf_fail = GW_ACT_ACCEPT;
	cfg->policy.quarantine = GW_QUARANTINE_MAILDIR;
	cfg->limits.message_size = (uint64_t)35 * 1024 * 1024;
	cfg->limits.recipients = 100;
	cfg->limits.line_length = 2048;
	/* RFC 5321 4.5.3.2.7 (server: 5 min) and 4.5.3.2.5 (data: 3 min) */
	cfg->limits.timeout_command = 300;
	cfg->limits.timeout_data = 180;
	cfg->limits.timeout_tls = 60;
	cfg->limits.connections = 1000;
	cfg->limits.connections_per_ip = 20;
	cfg->limits.auth_failures = 3;
	cfg->limits.errors = 10;
	/* Delivery: RFC 5321 4.5.3.2 timeouts (connect: ours; command 5
	 * min; the final dot 10 min); 4.5.4.1: give up after 4-5 days. */
	cfg->delivery.enabled = true;
	if (set_host_name(&cfg->delivery.helo) != MAILSEC_OK)
		goto nomem;
	cfg->delivery.port = 25;
	cfg->delivery.threads = 4;
	cfg->delivery.per_destination = 4;
	cfg->delivery.lifetime = 5 * 86400;
	cfg->delivery.delay_warning = 4 * 3600;
	cfg->delivery.bounce = true;
	cfg->delivery.connect_timeout = 30;
	cfg->delivery.command_timeout = 300;
	cfg->delivery.data_timeout = 600;
	cfg->delivery.require_tls = false;
	cfg->delivery.relay.port = 587;
	cfg->delivery.tls.mta_sts = true;
	cfg->delivery.tls.dane = true;
	cfg->delivery.tls.tlsrpt = true;
	cfg->delivery.tls.https_port = 443;
	/* Reports: aggregate ones daily (RFC 9990 3.1.1.4: typically one
	 * UTC day); failure reports off (privacy; RFC 9991 8). */
	cfg->reports.send = true;
	cfg->reports.period = 86400;
	if (set_host_name(&cfg->reports.org_name) != MAILSEC_OK)
		goto nomem;
	cfg->reports.format = GW_REPORT_RFC9990;
	cfg->reports.failure = false;
	cfg->reports.failure_redact = true;
	cfg->reports.failure_rate = 10;
	if (derive(cfg) != MAILSEC_OK)
		goto nomem;
	return MAILSEC_OK;
nomem:
	gw_config_free(cfg);
	return MAILSEC_ENOMEM;
}

mailsec_err
gw_config_set_state_dir(struct gw_config *cfg, const char *dir)
{
	char *norm = NULL;

	if (dir == NULL || check_path(dir, &norm) != NULL)
		return MAILSEC_EINVAL;
	if (set_str(&cfg->state_dir, dir) != MAILSEC_OK)
		return MAILSEC_ENOMEM;
	return derive(cfg);
}

/* ---- cross-option checks ------------------------------------------------ */

/* The line of root.a.b (b may be NULL), or 0 when the file lacks it. */
static unsigned
line_of(const struct conf_node *root, const char *a, const char *b,
    const char *c)
{
	const struct conf_node *n = conf_get(root, a);

	if (n != NULL && b != NULL) {
		const struct conf_node *m = n->kind == CONF_SECTION ?
		    conf_get(n, b) : NULL;

		if (m == NULL)
			return n->line;
		n = m;
		if (c != NULL) {
			m = n->kind == CONF_SECTION ? conf_get(n, c) : NULL;
			if (m != NULL)
				n = m;
		}
	}
	return n != NULL ? n->line : 0;
}

static bool
addr_overlaps(const char *a, const char *b)
{
	bool a6 = strchr(a, ':') != NULL, b6 = strchr(b, ':') != NULL;

	if (strcmp(a, b) == 0)
		return true;
	if (a6 != b6)
		return false;
	return strcmp(a, a6 ? "::" : "0.0.0.0") == 0 ||
	    strcmp(b, b6 ? "::" : "0.0.0.0") == 0;
}

static mailsec_err
cross_check(struct load *ld)
{
	struct gw_config *c = ld->cfg;
	const struct conf_node *r = ld->root;
	struct gw_listener *a, *b;
	char path[64];
	size_t i, j, x, y;
	bool any = false;
	unsigned pc = c->explicit_paths & (GW_PATH_CERT | GW_PATH_KEY);

	if (pc == GW_PATH_CERT)
		return cfg_err(ld, line_of(r, "tls", "cert", NULL), "tls.cert",
		    MAILSEC_ESYNTAX, "set without tls.key; set both, or "
		    "neither for a generated self-signed certificate");
	if (pc == GW_PATH_KEY)
		return cfg_err(ld, line_of(r, "tls", "key", NULL), "tls.key",
		    MAILSEC_ESYNTAX, "set without tls.cert; set both, or "
		    "neither for a generated self-signed certificate");
	if (c->dns.zone != NULL && c->dns.forwarders.n > 0)
		return cfg_err(ld, line_of(r, "dns", "zone", NULL), "dns.zone",
		    MAILSEC_ESYNTAX, "and dns.forwarders exclude each other; "
		    "keep one");
	c->dns.mode = c->dns.zone != NULL ? GW_DNS_ZONE :
	    c->dns.forwarders.n > 0 ? GW_DNS_FORWARD : GW_DNS_EMBEDDED;
	if (c->local.domains.n == 0)
		return cfg_err(ld, line_of(r, "local", "domains", NULL),
		    "local.domains", MAILSEC_ESYNTAX, "is empty; list at least "
		    "one domain (localhost)");
	if (!strlist_has(&c->dkim.headers, "from"))
		return cfg_err(ld, line_of(r, "dkim", "headers", NULL),
		    "dkim.headers", MAILSEC_ESYNTAX, "must include from "
		    "(RFC 6376 5.4)");
	for (i = 0; i < GW_LISTEN_COUNT; i++) {
		a = &c->listen[i];
		if (!a->enabled)
			continue;
		any = true;
		if (a->address.n == 0) {
			snprintf(path, sizeof path, "listen.%s.address",
			    listener_names[i]);
			return cfg_err(ld, line_of(r, "listen",
			    listener_names[i], "address"), path,
			    MAILSEC_ESYNTAX, "is empty; give an address or "
			    "set enabled no");
		}
		for (j = 0; j < i; j++) {
			b = &c->listen[j];
			if (!b->enabled || a->port != b->port)
				continue;
			for (x = 0; x < a->address.n; x++)
				for (y = 0; y < b->address.n; y++) {
					if (!addr_overlaps(a->address.v[x],
					    b->address.v[y]))
						continue;
					snprintf(path, sizeof path,
					    "listen.%s.port",
					    listener_names[i]);
					return cfg_err(ld, line_of(r, "listen",
					    listener_names[i], "port"), path,
					    MAILSEC_ESYNTAX, "%u on %s is "
					    "already listen.%s's; choose "
					    "another port", (unsigned)a->port,
					    a->address.v[x], listener_names[j]);
				}
		}
	}
	if (!any)
		return cfg_err(ld, line_of(r, "listen", NULL, NULL), "listen",
		    MAILSEC_ESYNTAX, "every listener is disabled; enable at "
		    "least one");
	if (c->delivery.relay.user != NULL &&
	    c->delivery.relay.password_file == NULL)
		return cfg_err(ld, line_of(r, "delivery", "relay", "user"),
		    "delivery.relay.user", MAILSEC_ESYNTAX, "set without "
		    "delivery.relay.password_file; set both for AUTH");
	if (c->delivery.relay.password_file != NULL &&
	    c->delivery.relay.user == NULL)
		return cfg_err(ld, line_of(r, "delivery", "relay",
		    "password_file"), "delivery.relay.password_file",
		    MAILSEC_ESYNTAX, "set without delivery.relay.user; set "
		    "both for AUTH");
	if (c->delivery.relay.user != NULL && c->delivery.relay.host == NULL)
		return cfg_err(ld, line_of(r, "delivery", "relay", "user"),
		    "delivery.relay.user", MAILSEC_ESYNTAX, "set without "
		    "delivery.relay.host; name the smarthost");
	if (c->reports.ingest_address != NULL) {
		const char *at = strrchr(c->reports.ingest_address, '@');

		if (!gw_config_is_local(c, at + 1, strlen(at + 1)))
			return cfg_err(ld, line_of(r, "reports",
			    "ingest_address", NULL), "reports.ingest_address",
			    MAILSEC_ESYNTAX, "'%s' is not at a local domain; "
			    "add its domain to local.domains",
			    c->reports.ingest_address);
	}
	if (c->limits.message_size > (uint64_t)SIZE_MAX)
		return cfg_err(ld, line_of(r, "limits", "message_size", NULL),
		    "limits.message_size", MAILSEC_ESYNTAX, "is too large for "
		    "this system");
	return MAILSEC_OK;
}

/*
 * forward and arc, once the whole file is read: an alias is local mail,
 * so its domain must be a local domain; sealing needs a domain, a
 * selector and a key.
 */
static mailsec_err
forward_arc_check(struct load *ld)
{
	const struct gw_config *c = ld->cfg;
	const struct gw_forward_alias *a;
	const char *dom;
	char path[512];
	size_t i;

	for (i = 0; i < c->forward.n; i++) {
		a = &c->forward.aliases[i];
		dom = strrchr(a->from, '@') + 1;
		if (strlist_has(&c->local.domains, dom))
			continue;
		snprintf(path, sizeof path, "forward[%s]", a->from);
		return cfg_err(ld, a->line, path, MAILSEC_ESYNTAX, "%s is not "
		    "a local domain; add it to local.domains (mail to an "
		    "alias is local mail)", dom);
	}
	if (!c->arc.seal)
		return MAILSEC_OK;
	if (c->arc.domain == NULL || c->arc.selector == NULL ||
	    c->arc.key == NULL)
		return cfg_err(ld, line_of(ld->root, "arc", "seal", NULL),
		    "arc.seal", MAILSEC_ESYNTAX, "needs arc.%s; set domain, "
		    "selector and key (the seals' d=, s= and private key)",
		    c->arc.domain == NULL ? "domain" : c->arc.selector == NULL ?
		    "selector" : "key");
	return MAILSEC_OK;
}

/* ---- loading ------------------------------------------------------------ */

mailsec_err
gw_config_load_mem(const char *text, size_t len, const char *name,
    struct gw_config *cfg, char *err, size_t errlen)
{
	struct conf_node *root = NULL;
	struct load ld;
	mailsec_err e;

	if (name == NULL)
		name = "(config)";
	if (errlen > 0)
		err[0] = '\0';
	memset(&ld, 0, sizeof ld);
	ld.name = name;
	ld.err = err;
	ld.errlen = errlen;
	ld.cfg = cfg;
	if ((e = gw_config_defaults(cfg)) != MAILSEC_OK) {
		if (errlen > 0)
			snprintf(err, errlen, "%s: out of memory", name);
		return e;
	}
	e = conf_parse(text, len, name, &root, err, errlen);
	if (e != MAILSEC_OK)
		goto out;
	ld.root = root;
	if ((e = set_str(&cfg->source, name)) != MAILSEC_OK) {
		cfg_err(&ld, 0, "config", e, "out of memory");
		goto out;
	}
	if ((e = map_section(&ld, top_opts, root, cfg, "", 0)) != MAILSEC_OK)
		goto out;
	if ((e = derive(cfg)) != MAILSEC_OK) {
		cfg_err(&ld, 0, "config", e, "out of memory");
		goto out;
	}
	e = cross_check(&ld);
	if (e == MAILSEC_OK)
		e = forward_arc_check(&ld);
out:
	conf_free(root);
	if (e != MAILSEC_OK)
		gw_config_free(cfg);
	return e;
}

mailsec_err
gw_config_load(const char *path, struct gw_config *cfg, char *err,
    size_t errlen)
{
	struct ms_buf b;
	struct stat st;
	char chunk[8192];
	ssize_t n;
	int fd;
	mailsec_err e;

	memset(cfg, 0, sizeof *cfg);
	if (errlen > 0)
		err[0] = '\0';
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errlen > 0)
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return MAILSEC_EIO;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		if (errlen > 0)
			snprintf(err, errlen, "%s: not a regular file", path);
		close(fd);
		return MAILSEC_EIO;
	}
	ms_buf_init(&b, CONF_MAX_FILE);
	for (;;) {
		n = read(fd, chunk, sizeof chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if ((e = ms_buf_append(&b, chunk, (size_t)n)) != MAILSEC_OK) {
			close(fd);
			if (errlen > 0)
				snprintf(err, errlen, "%s: %s", path,
				    e == MAILSEC_ELIMIT ? "larger than 1 MiB" :
				    "out of memory");
			return e;
		}
	}
	if (n < 0) {
		if (errlen > 0)
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		ms_buf_free(&b);
		return MAILSEC_EIO;
	}
	close(fd);
	e = gw_config_load_mem(b.ptr != NULL ? b.ptr : "", b.len, path, cfg,
	    err, errlen);
	ms_buf_free(&b);
	return e;
}

/* ---- questions ---------------------------------------------------------- */

/* The domain normalized for comparison, or false. */
static bool
norm_domain(const char *d, size_t len, char *out)
{
	return mailsec_domain_normalize(d, len, out, MAILSEC_DOMAIN_MAX, NULL,
	    NULL) == MAILSEC_OK;
}

bool
gw_config_is_local(const struct gw_config *cfg, const char *domain,
    size_t len)
{
	char d[MAILSEC_DOMAIN_MAX];

	if (!norm_domain(domain, len, d))
		return false;
	return strlist_has(&cfg->local.domains, d);
}

mailsec_err
gw_config_mailbox_path(const struct gw_config *cfg, const char *local,
    size_t llen, const char *domain, size_t dlen, char *out, size_t outsz)
{
	char d[MAILSEC_DOMAIN_MAX];
	size_t i, n, mlen;

	if (outsz > 0)
		out[0] = '\0';
	if (!local_part_ok(local, llen) || memchr(local, '\0', llen) != NULL)
		return MAILSEC_EINVAL;
	if (!norm_domain(domain, dlen, d) ||
	    !strlist_has(&cfg->local.domains, d))
		return MAILSEC_ENOTFOUND;
	mlen = strlen(cfg->local.maildir);
	/* maildir '/' domain '/' local NUL */
	n = mlen + 1 + strlen(d) + 1 + llen + 1;
	if (n > outsz)
		return MAILSEC_ELIMIT;
	memcpy(out, cfg->local.maildir, mlen);
	out[mlen] = '/';
	memcpy(out + mlen + 1, d, strlen(d));
	n = mlen + 1 + strlen(d);
	out[n++] = '/';
	for (i = 0; i < llen; i++)
		out[n++] = (char)ms_tolower((unsigned char)local[i]);
	out[n] = '\0';
	return MAILSEC_OK;
}

enum gw_rcpt_verdict
gw_config_recipient(const struct gw_config *cfg, const struct gw_passwd *pw,
    const char *local, size_t llen, const char *domain, size_t dlen)
{
	struct ms_buf b;
	char d[MAILSEC_DOMAIN_MAX];
	size_t i, ll;
	bool found;

	if (domain == NULL || dlen == 0)
		return ms_ascii_eqz(local, llen, "postmaster") ? GW_RCPT_OK :
		    GW_RCPT_NOT_LOCAL;
	if (!norm_domain(domain, dlen, d) ||
	    !strlist_has(&cfg->local.domains, d))
		return GW_RCPT_NOT_LOCAL;
	if (ms_ascii_eqz(local, llen, "postmaster"))
		return GW_RCPT_OK;
	if (!local_part_ok(local, llen) || memchr(local, '\0', llen) != NULL)
		return GW_RCPT_BAD_MAILBOX;
	if (cfg->local.recipients == GW_RCPT_ANY)
		return GW_RCPT_OK;
	/* local.users holds lowercased "local" and "local@domain" */
	ll = strlen(d);
	found = false;
	for (i = 0; i < cfg->local.users.n && !found; i++) {
		const char *u = cfg->local.users.v[i];

		found = (strlen(u) == llen && ms_ascii_eq(u, llen, local,
		    llen)) || (strlen(u) == llen + 1 + ll &&
		    ms_ascii_eq(u, llen, local, llen) && u[llen] == '@' &&
		    strcmp(u + llen + 1, d) == 0);
	}
	if (!found && pw != NULL) {
		ms_buf_init(&b, 1024);
		found = gw_passwd_find(pw, local, llen) != NULL ||
		    (ms_buf_append(&b, local, llen) == MAILSEC_OK &&
		    ms_buf_appendc(&b, '@') == MAILSEC_OK &&
		    ms_buf_appendz(&b, d) == MAILSEC_OK &&
		    gw_passwd_find(pw, b.ptr, b.len) != NULL);
		ms_buf_free(&b);
	}
	return found ? GW_RCPT_OK : GW_RCPT_NO_SUCH_USER;
}

/* local@domain of (p, len): lowercased local, normalized domain. */
static bool
norm_address(const char *p, size_t len, struct ms_buf *b)
{
	const char *at = NULL;
	char d[MAILSEC_DOMAIN_MAX];
	size_t i;

	for (i = len; i > 0; i--) {
		if (p[i - 1] == '@') {
			at = p + i - 1;
			break;
		}
	}
	if (at == NULL || at == p)
		return false;
	if (!norm_domain(at + 1, (size_t)(p + len - at - 1), d))
		return false;
	for (i = 0; p + i < at; i++) {
		if (p[i] == '\0' || ms_buf_appendc(b, (char)ms_tolower(
		    (unsigned char)p[i])) != MAILSEC_OK)
			return false;
	}
	return ms_buf_appendc(b, '@') == MAILSEC_OK &&
	    ms_buf_appendz(b, d) == MAILSEC_OK;
}

bool
gw_config_sender_allowed(const struct gw_config *cfg, const char *user,
    const char *addr, size_t alen)
{
	const struct gw_auth_user *u = NULL;
	struct ms_buf a, l;
	const char *dom;
	size_t i;
	bool ok = false;

	if (user == NULL || addr == NULL)
		return false;
	ms_buf_init(&a, 1024);
	ms_buf_init(&l, 1024);
	if (!norm_address(addr, alen, &a))
		goto out;
	dom = strrchr(a.ptr, '@');
	if (cfg->auth.send_as_login && strchr(user, '@') != NULL &&
	    norm_address(user, strlen(user), &l) && strcmp(l.ptr, a.ptr) == 0) {
		ok = true;
		goto out;
	}
	for (i = 0; i < cfg->auth.nusers; i++)
		if (strcmp(cfg->auth.users[i].name, user) == 0)
			u = &cfg->auth.users[i];
	if (u == NULL)
		goto out;
	for (i = 0; i < u->send_as.n; i++) {
		const char *s = u->send_as.v[i];

		if ((s[0] == '@' && strcmp(s, dom) == 0) ||
		    strcmp(s, a.ptr) == 0) {
			ok = true;
			break;
		}
	}
out:
	ms_buf_free(&a);
	ms_buf_free(&l);
	return ok;
}

/* ---- dump --------------------------------------------------------------- */

/* A value as a quoted string when it is not a plain word. */
static void
dump_val(FILE *f, const char *s)
{
	const char *p;
	bool word = *s != '\0';

	for (p = s; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		if (c <= 0x20 || c >= 0x7f ||
		    strchr(";{}[],=\"'#\\", c) != NULL)
			word = false;
	}
	if (word && !(s[0] == '/' && (s[1] == '/' || s[1] == '*'))) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (p = s; *p != '\0'; p++) {
		switch (*p) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\t': fputs("\\t", f); break;
		case '\r': fputs("\\r", f); break;
		default: fputc(*p, f); break;
		}
	}
	fputc('"', f);
}

static void
dump_list(FILE *f, const char *indent, const char *key,
    const struct gw_strlist *l)
{
	size_t i;

	fprintf(f, "%s%s [", indent, key);
	for (i = 0; i < l->n; i++) {
		fputs(i > 0 ? ", " : "", f);
		dump_val(f, l->v[i]);
	}
	fputs("];\n", f);
}

static void
dump_kv(FILE *f, const char *indent, const char *key, const char *v)
{
	fprintf(f, "%s%s ", indent, key);
	dump_val(f, v);
	fputs(";\n", f);
}

/* Derived paths are shown commented out, so a reload derives them too. */
static void
dump_path(FILE *f, const struct gw_config *c, const char *indent,
    const char *key, const char *v, unsigned bit)
{
	if (c->explicit_paths & bit) {
		dump_kv(f, indent, key, v);
		return;
	}
	fprintf(f, "%s# %s ", indent, key);
	dump_val(f, v);
	fputs(";  (from state_dir)\n", f);
}

static void
dump_time(FILE *f, const char *indent, const char *key, uint64_t ms)
{
	char t[32];

	fmt_time(ms, t, sizeof t);
	fprintf(f, "%s%s %s;\n", indent, key, ms == 0 ? "0" : t);
}

static const char *
yn(bool b)
{
	return b ? "yes" : "no";
}

static void
dump_forward_arc(FILE *f, const struct gw_config *c)
{
	const struct gw_arc *a = &c->arc;
	const struct gw_strlist *to;
	size_t i, j;

	fputs("forward {\n", f);
	for (i = 0; i < c->forward.n; i++) {
		fputc('\t', f);
		dump_val(f, c->forward.aliases[i].from);
		fputs(" [", f);
		to = &c->forward.aliases[i].to;
		for (j = 0; j < to->n; j++) {
			fputs(j > 0 ? ", " : "", f);
			dump_val(f, to->v[j]);
		}
		fputs("];\n", f);
	}
	fprintf(f, "}\narc {\n\tseal %s;\n", yn(a->seal));
	if (a->domain != NULL)
		dump_kv(f, "\t", "domain", a->domain);
	if (a->selector != NULL)
		dump_kv(f, "\t", "selector", a->selector);
	if (a->key != NULL)
		dump_kv(f, "\t", "key", a->key);
	fprintf(f, "\tgenerate %s;\n\talgorithm %s;\n", yn(a->generate),
	    enum_name(alg_vals, (int)a->algorithm));
	if (a->headers.n > 0)
		dump_list(f, "\t", "headers", &a->headers);
	else
		fputs("\t# headers [...];  (DKIM's list and dkim-signature, "
		    "over-signed)\n", f);
	fputs("}\n", f);
}

static void
dump_delivery(FILE *f, const struct gw_delivery *d)
{
	fprintf(f, "delivery {\n\tenabled %s;\n", yn(d->enabled));
	dump_kv(f, "\t", "helo", d->helo);
	fprintf(f, "\tport %u;\n\tthreads %u;\n\tper_destination %u;\n",
	    (unsigned)d->port, d->threads, d->per_destination);
	dump_time(f, "\t", "lifetime", (uint64_t)d->lifetime * 1000);
	dump_time(f, "\t", "delay_warning", (uint64_t)d->delay_warning *
	    1000);
	fprintf(f, "\tbounce %s;\n", yn(d->bounce));
	dump_time(f, "\t", "connect_timeout",
	    (uint64_t)d->connect_timeout * 1000);
	dump_time(f, "\t", "command_timeout",
	    (uint64_t)d->command_timeout * 1000);
	dump_time(f, "\t", "data_timeout", (uint64_t)d->data_timeout * 1000);
	fprintf(f, "\trequire_tls %s;\n\trelay {\n", yn(d->require_tls));
	if (d->relay.host != NULL)
		dump_kv(f, "\t\t", "host", d->relay.host);
	fprintf(f, "\t\tport %u;\n\t\timplicit_tls %s;\n",
	    (unsigned)d->relay.port, yn(d->relay.implicit_tls));
	if (d->relay.user != NULL)
		dump_kv(f, "\t\t", "user", d->relay.user);
	if (d->relay.password_file != NULL)
		dump_kv(f, "\t\t", "password_file", d->relay.password_file);
	fprintf(f, "\t}\n\ttls {\n\t\tmta_sts %s;\n\t\tdane %s;\n"
	    "\t\ttlsrpt %s;\n", yn(d->tls.mta_sts), yn(d->tls.dane),
	    yn(d->tls.tlsrpt));
	if (d->tls.ca_file != NULL)
		dump_kv(f, "\t\t", "ca_file", d->tls.ca_file);
	fprintf(f, "\t\thttps_port %u;\n\t}\n}\n", d->tls.https_port);
}

static void
dump_reports(FILE *f, const struct gw_config *c)
{
	const struct gw_reports *r = &c->reports;
	char from[GW_REPORT_ADDR_MAX];

	fprintf(f, "reports {\n\tsend %s;\n", yn(r->send));
	dump_time(f, "\t", "period", (uint64_t)r->period * 1000);
	dump_kv(f, "\t", "org_name", r->org_name);
	if (r->from != NULL)
		dump_kv(f, "\t", "from", r->from);
	else if (gw_config_reports_from(c, from, sizeof from) == MAILSEC_OK) {
		fputs("\t# from ", f);
		dump_val(f, from);
		fputs(";  (from local.domains)\n", f);
	}
	fprintf(f, "\tformat %s;\n\tfailure %s;\n\tfailure_redact %s;\n"
	    "\tfailure_rate %u;\n", enum_name(report_fmt_vals,
	    (int)r->format), yn(r->failure), yn(r->failure_redact),
	    r->failure_rate);
	if (r->ingest_address != NULL)
		dump_kv(f, "\t", "ingest_address", r->ingest_address);
	fputs("}\n", f);
}

mailsec_err
gw_config_reports_from(const struct gw_config *cfg, char *buf, size_t bufsz)
{
	int n;

	if (cfg->reports.from != NULL)
		n = snprintf(buf, bufsz, "%s", cfg->reports.from);
	else
		n = snprintf(buf, bufsz, "dmarc-noreply@%s",
		    cfg->local.domains.n > 0 ? cfg->local.domains.v[0] :
		    "localhost");
	if (n < 0 || (size_t)n >= bufsz) {
		if (bufsz > 0)
			buf[0] = '\0';
		return MAILSEC_ELIMIT;
	}
	return MAILSEC_OK;
}

mailsec_err
gw_dns_args_make(struct gw_dns_args *a, const struct gw_config *cfg)
{
	struct ms_buf b;
	size_t i;
	bool ok = true;

	memset(a, 0, sizeof *a);
	a->timeout_ms = cfg->dns.timeout_ms;
	if (cfg->dns.mode == GW_DNS_ZONE)
		a->zone = ms_strdup_ok(cfg->dns.zone, &ok);
	if (cfg->dns.mode == GW_DNS_FORWARD && cfg->dns.forwarders.n > 0) {
		ms_buf_init(&b, 65536);
		for (i = 0; i < cfg->dns.forwarders.n && ok; i++)
			if ((i > 0 && ms_buf_appendc(&b, ',') != MAILSEC_OK) ||
			    ms_buf_appendz(&b, cfg->dns.forwarders.v[i]) !=
			    MAILSEC_OK)
				ok = false;
		if (ok && (a->forward = ms_buf_steal(&b, NULL)) == NULL)
			ok = false;
	}
	if (!ok) {
		gw_dns_args_free(a);
		return MAILSEC_ENOMEM;
	}
	return MAILSEC_OK;
}

mailsec_err
gw_dns_args_copy(struct gw_dns_args *d, const struct gw_dns_args *s)
{
	bool ok = true;

	d->forward = ms_strdup_ok(s->forward, &ok);
	d->zone = ms_strdup_ok(s->zone, &ok);
	d->timeout_ms = s->timeout_ms;
	if (!ok) {
		gw_dns_args_free(d);
		return MAILSEC_ENOMEM;
	}
	return MAILSEC_OK;
}

void
gw_dns_args_free(struct gw_dns_args *a)
{
	free(a->forward);
	free(a->zone);
	memset(a, 0, sizeof *a);
}

mailsec_err
gw_dns_args_resolver(const struct gw_dns_args *a,
    struct mailsec_resolver **out, struct mailsec_diag *diag)
{
	mailsec_err e;

	*out = NULL;
	if ((e = mailsec_resolver_new_from_args(a->forward, a->zone, out,
	    diag)) != MAILSEC_OK) {
		if (*out != NULL)
			mailsec_resolver_free(*out);
		*out = NULL;
		return e;
	}
	if (a->timeout_ms > 0)
		mailsec_resolver_set_timeout(*out, a->timeout_ms);
	return MAILSEC_OK;
}

void
gw_config_dump(const struct gw_config *c, FILE *f)
{
	const struct gw_listener *l;
	const struct gw_dkim_domain *d;
	char sz[32];
	size_t i, j;

	fprintf(f, "# effective configuration (source: %s)\n", c->source);
	dump_kv(f, "", "state_dir", c->state_dir);
	if (c->user != NULL)
		dump_kv(f, "", "user", c->user);
	if (c->group != NULL)
		dump_kv(f, "", "group", c->group);
	fprintf(f, "workers %u;\n", c->workers);
	fprintf(f, "log %s;\n", enum_name(log_vals, (int)c->log));
	fprintf(f, "log_level %s;\n", enum_name(level_vals,
	    (int)c->log_level));

	fputs("listen {\n", f);
	for (i = 0; i < GW_LISTEN_COUNT; i++) {
		l = &c->listen[i];
		fprintf(f, "\t%s {\n\t\tenabled %s;\n", listener_names[i],
		    yn(l->enabled));
		dump_list(f, "\t\t", "address", &l->address);
		fprintf(f, "\t\tport %u;\n", (unsigned)l->port);
		if (i == GW_LISTEN_MX)
			fprintf(f, "\t\tstarttls %s;\n", yn(l->starttls));
		fputs("\t}\n", f);
	}
	fputs("}\n", f);

	fputs("tls {\n", f);
	dump_path(f, c, "\t", "cert", c->tls.cert, GW_PATH_CERT);
	dump_path(f, c, "\t", "key", c->tls.key, GW_PATH_KEY);
	fprintf(f, "\tmin_version %s;\n", enum_name(tlsver_vals,
	    (int)c->tls.min_version));
	if (c->tls.ciphers != NULL)
		dump_kv(f, "\t", "ciphers", c->tls.ciphers);
	if (c->tls.ciphersuites != NULL)
		dump_kv(f, "\t", "ciphersuites", c->tls.ciphersuites);
	fputs("}\n", f);

	fputs("dns {\n", f);
	if (c->dns.forwarders.n > 0)
		dump_list(f, "\t", "forwarders", &c->dns.forwarders);
	if (c->dns.zone != NULL)
		dump_kv(f, "\t", "zone", c->dns.zone);
	dump_time(f, "\t", "timeout", c->dns.timeout_ms);
	fputs("}\n", f);

	fputs("local {\n", f);
	dump_list(f, "\t", "domains", &c->local.domains);
	dump_path(f, c, "\t", "maildir", c->local.maildir, GW_PATH_MAILDIR);
	fprintf(f, "\trecipients %s;\n", enum_name(rcpt_vals,
	    (int)c->local.recipients));
	if (c->local.users.n > 0)
		dump_list(f, "\t", "users", &c->local.users);
	fputs("}\n", f);

	fputs("auth {\n", f);
	dump_path(f, c, "\t", "password_file", c->auth.password_file,
	    GW_PATH_PASSWD);
	fprintf(f, "\tthrottle %u;\n\tsend_as_login %s;\n", c->auth.throttle,
	    yn(c->auth.send_as_login));
	for (i = 0; i < c->auth.nusers; i++) {
		fputs("\tuser ", f);
		dump_val(f, c->auth.users[i].name);
		fputs(" {\n", f);
		dump_list(f, "\t\t", "send_as", &c->auth.users[i].send_as);
		fputs("\t}\n", f);
	}
	fputs("}\n", f);

	fputs("dkim {\n", f);
	fprintf(f, "\tgenerate %s;\n", yn(c->dkim.generate));
	dump_list(f, "\t", "headers", &c->dkim.headers);
	dump_time(f, "\t", "expire", (uint64_t)c->dkim.expire * 1000);
	for (i = 0; i < c->dkim.ndomains; i++) {
		d = &c->dkim.domains[i];
		if (d->derived) {
			fprintf(f, "\t# domain %s: key mailsec in %s "
			    "(generated)\n", d->domain, d->keys[0].file);
			continue;
		}
		fputs("\tdomain ", f);
		dump_val(f, d->domain);
		fputs(" {\n", f);
		for (j = 0; j < d->nkeys; j++) {
			fputs("\t\tkey ", f);
			dump_val(f, d->keys[j].selector);
			fputs(" {\n", f);
			dump_kv(f, "\t\t\t", "file", d->keys[j].file);
			fprintf(f, "\t\t\talgorithm %s;\n\t\t\tgenerate %s;\n",
			    enum_name(alg_vals, (int)d->keys[j].algorithm),
			    yn(d->keys[j].generate));
			fputs("\t\t}\n", f);
		}
		fputs("\t}\n", f);
	}
	fputs("}\n", f);

	fputs("policy {\n", f);
	dump_kv(f, "\t", "authserv_id", c->policy.authserv_id);
	fprintf(f, "\tdmarc_mode %s;\n", enum_name(dmarc_vals,
	    (int)c->policy.dmarc_mode));
	fprintf(f, "\tdmarc_reject %s;\n\tdmarc_quarantine %s;\n"
	    "\tdmarc_none %s;\n\tdmarc_temperror %s;\n\tspf_fail %s;\n",
	    gw_action_name(c->policy.dmarc_reject),
	    gw_action_name(c->policy.dmarc_quarantine),
	    gw_action_name(c->policy.dmarc_none),
	    gw_action_name(c->policy.dmarc_temperror),
	    gw_action_name(c->policy.spf_fail));
	fprintf(f, "\tquarantine %s;\n", enum_name(quar_vals,
	    (int)c->policy.quarantine));
	dump_path(f, c, "\t", "quarantine_dir", c->policy.quarantine_dir,
	    GW_PATH_QUARANTINE);
	dump_list(f, "\t", "trusted_forwarders",
	    &c->policy.trusted_forwarders);
	dump_list(f, "\t", "arc_sealers", &c->policy.arc_sealers);
	fputs("}\n", f);
	dump_forward_arc(f, c);

	fmt_size(c->limits.message_size, sz, sizeof sz);
	fprintf(f, "limits {\n\tmessage_size %s;\n\trecipients %u;\n"
	    "\tline_length %u;\n", sz, c->limits.recipients,
	    c->limits.line_length);
	dump_time(f, "\t", "timeout_command",
	    (uint64_t)c->limits.timeout_command * 1000);
	dump_time(f, "\t", "timeout_data",
	    (uint64_t)c->limits.timeout_data * 1000);
	dump_time(f, "\t", "timeout_tls",
	    (uint64_t)c->limits.timeout_tls * 1000);
	fprintf(f, "\tconnections %u;\n\tconnections_per_ip %u;\n"
	    "\tauth_failures %u;\n\terrors %u;\n}\n", c->limits.connections,
	    c->limits.connections_per_ip, c->limits.auth_failures,
	    c->limits.errors);
	dump_delivery(f, &c->delivery);
	dump_reports(f, c);
}
