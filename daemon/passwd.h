/*
 * daemon/passwd.h - the gateway's password file (auth.password_file):
 * one line per login, "user:HASH" optionally followed by ":" and more
 * fields the gateway keeps but does not read; '#' lines and blank lines
 * are comments. HASH is scrypt (RFC 7914) through OpenSSL, written in the
 * self-describing form passlib also uses:
 *
 *   $scrypt$ln=15,r=8,p=1$<salt>$<hash>
 *
 * with N = 2^ln, a 16-byte random salt and a 32-byte hash, both in
 * unpadded standard base64. `mailsec passwd` manages the file.
 */
#ifndef GW_PASSWD_H
#define GW_PASSWD_H

#include <stdbool.h>
#include <stddef.h>

#include <mailsec/err.h>

#define GW_PASSWD_FILE_MAX	(16 * 1024 * 1024)	/* bytes */
#define GW_PASSWD_USERS_MAX	100000		/* logins in one file */
#define GW_PASSWD_USER_MAX	255		/* bytes in a login name */
#define GW_PASSWD_LINE_MAX	4096		/* bytes in one line */
#define GW_PASSWD_PASS_MAX	1024		/* bytes in a password */
#define GW_PASSWD_HASH_MAX	256		/* room for any hash text */

/* scrypt cost: N = 2^ln, block size r, parallelism p. */
struct gw_scrypt_params {
	unsigned ln, r, p;
};

/* The default cost (32 MiB, about 0.1 s): ln=15, r=8, p=1. */
#define GW_SCRYPT_LN	15
#define GW_SCRYPT_R	8
#define GW_SCRYPT_P	1
/* Hashes asking for more memory than this are refused, not computed. */
#define GW_SCRYPT_MAXMEM	((unsigned long long)1024 * 1024 * 1024)

/*
 * Hashes the password (pass, plen) with a fresh random salt; params NULL
 * means the default cost. out receives the NUL-terminated hash text
 * (outsz >= GW_PASSWD_HASH_MAX is always enough). Returns MAILSEC_OK,
 * MAILSEC_EINVAL (params out of range, plen 0 or over
 * GW_PASSWD_PASS_MAX, out too small) or MAILSEC_ENOMEM (OpenSSL failed).
 */
mailsec_err gw_passwd_hash(const char *pass, size_t plen,
    const struct gw_scrypt_params *params, char *out, size_t outsz);

/*
 * Checks (pass, plen) against the hash text (hash, hlen) in constant time
 * (CRYPTO_memcmp). *match is set on MAILSEC_OK. MAILSEC_ESYNTAX: not a
 * $scrypt$ hash this code can read; MAILSEC_ELIMIT: its cost exceeds
 * GW_SCRYPT_MAXMEM; MAILSEC_ENOMEM: OpenSSL failed.
 */
mailsec_err gw_passwd_verify(const char *hash, size_t hlen,
    const char *pass, size_t plen, bool *match);

/* Whether (p, len) is a well-formed hash text (syntax and bounds only). */
bool gw_passwd_hash_ok(const char *p, size_t len);

/* Whether (p, len) can be a login: 1..GW_PASSWD_USER_MAX bytes of
 * printable ASCII or UTF-8, no ':', spaces or control characters. */
bool gw_passwd_user_ok(const char *p, size_t len);

struct gw_passwd_entry {
	char *user;		/* NULL: a comment or blank line, kept */
	char *hash;		/* hash text */
	char *extra;		/* what follows "user:hash:", or NULL */
	char *raw;		/* comment line as read (user == NULL) */
	unsigned line;		/* 1-based line it came from, 0 if added */
};

struct gw_passwd {
	struct gw_passwd_entry *v;
	size_t n;
	size_t nusers;
};

/* Called with one line of text per warning (file mode, for example). */
typedef void (*gw_passwd_warn_fn)(void *arg, const char *msg);

/* An empty file in memory. MAILSEC_ENOMEM or MAILSEC_OK. */
mailsec_err gw_passwd_new(struct gw_passwd **out);

/*
 * Parses (text, len); name is used in messages. Malformed lines are
 * errors naming the line: "passwd:3: no ':' after the login name".
 * Returns MAILSEC_OK, MAILSEC_ESYNTAX, MAILSEC_ELIMIT or MAILSEC_ENOMEM.
 */
mailsec_err gw_passwd_parse(const char *text, size_t len, const char *name,
    struct gw_passwd **out, char *err, size_t errlen);

/*
 * Reads and parses the file at path. A file others may write (or that
 * sits in a directory others may write without the sticky bit) or may
 * read is loaded, but warn (if non-NULL) is told so, with the fix.
 * MAILSEC_ENOTFOUND: no such file; MAILSEC_EIO: unreadable or not a
 * regular file; else as gw_passwd_parse().
 */
mailsec_err gw_passwd_load(const char *path, struct gw_passwd **out,
    gw_passwd_warn_fn warn, void *warn_arg, char *err, size_t errlen);

/* The entry for the login (user, ulen), or NULL. */
const struct gw_passwd_entry *gw_passwd_find(const struct gw_passwd *pw,
    const char *user, size_t ulen);

/*
 * Authenticates: *ok is true only when the login exists and the password
 * matches. An unknown login costs one hash computation too, so timing
 * does not tell which logins exist. Errors as gw_passwd_verify().
 */
mailsec_err gw_passwd_check(const struct gw_passwd *pw, const char *user,
    size_t ulen, const char *pass, size_t plen, bool *ok);

/*
 * Adds the login or replaces its hash (extra fields kept). MAILSEC_EINVAL:
 * bad login name or hash text; MAILSEC_ELIMIT: GW_PASSWD_USERS_MAX.
 */
mailsec_err gw_passwd_set(struct gw_passwd *pw, const char *user,
    const char *hash);

/* Removes the login; MAILSEC_ENOTFOUND if it is not there. */
mailsec_err gw_passwd_delete(struct gw_passwd *pw, const char *user);

/*
 * Writes the file atomically: a temporary file beside path (mode 0600),
 * written, fsync'd, renamed over path, and the directory fsync'd.
 * MAILSEC_EIO with err set on failure (path is then unchanged).
 */
mailsec_err gw_passwd_save(const struct gw_passwd *pw, const char *path,
    char *err, size_t errlen);

/* Frees pw; NULL is a no-op. */
void gw_passwd_free(struct gw_passwd *pw);

#endif /* GW_PASSWD_H */
