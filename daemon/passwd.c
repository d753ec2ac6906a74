/*
 * daemon/passwd.c - the password file (daemon/passwd.h): scrypt hashes
 * (RFC 7914, OpenSSL EVP_PBE_scrypt) in the "$scrypt$ln=,r=,p=$salt$hash"
 * form, constant-time verification, a strict line parser, and atomic
 * rewrites (temporary file, fsync, rename, directory fsync).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <mailsec/str.h>

#include "core/core.h"

#include "passwd.h"

#define SALT_LEN	16	/* bytes of fresh salt */
#define KEY_LEN		32	/* bytes of derived hash */
#define SALT_MIN	8	/* accepted when reading */
#define SALT_MAX	64
#define KEY_MIN		16
#define KEY_MAX		64
#define LN_MIN		1
#define LN_MAX		24
#define RP_MAX		64	/* r and p */

static const char b64chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Unpadded standard base64 of (p, n) into out; returns the length. */
static size_t
b64_encode(const unsigned char *p, size_t n, char *out)
{
	size_t i, o = 0;
	unsigned v;

	for (i = 0; i + 2 < n; i += 3) {
		v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
		out[o++] = b64chars[v >> 18 & 63];
		out[o++] = b64chars[v >> 12 & 63];
		out[o++] = b64chars[v >> 6 & 63];
		out[o++] = b64chars[v & 63];
	}
	if (n - i == 1) {
		v = (unsigned)p[i] << 16;
		out[o++] = b64chars[v >> 18 & 63];
		out[o++] = b64chars[v >> 12 & 63];
	} else if (n - i == 2) {
		v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8;
		out[o++] = b64chars[v >> 18 & 63];
		out[o++] = b64chars[v >> 12 & 63];
		out[o++] = b64chars[v >> 6 & 63];
	}
	out[o] = '\0';
	return o;
}

static int
b64_val(char c)
{
	const char *q;

	if (c == '\0' || (q = strchr(b64chars, c)) == NULL)
		return -1;
	return (int)(q - b64chars);
}

/*
 * Strict unpadded base64: no '=', no whitespace, unused low bits zero.
 * Returns the decoded length, or 0 on any error or when it would exceed
 * outsz.
 */
static size_t
b64_decode(const char *p, size_t n, unsigned char *out, size_t outsz)
{
	size_t i, o = 0;
	unsigned acc = 0, bits = 0;
	int v;

	if (n % 4 == 1 || (n / 4) * 3 + (n % 4 ? n % 4 - 1 : 0) > outsz)
		return 0;
	for (i = 0; i < n; i++) {
		if ((v = b64_val(p[i])) < 0)
			return 0;
		acc = (acc << 6 | (unsigned)v) & 0xffffu;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	if ((acc & ((1u << bits) - 1)) != 0)
		return 0;	/* non-canonical final character */
	return o;
}

struct parsed_hash {
	unsigned ln, r, p;
	unsigned char salt[SALT_MAX];
	size_t saltlen;
	unsigned char key[KEY_MAX];
	size_t keylen;
};

static bool
parse_num(const char **pp, const char *end, const char *name, unsigned max,
    unsigned *out)
{
	const char *p = *pp;
	size_t nl = strlen(name);
	unsigned v = 0;

	if ((size_t)(end - p) < nl + 1 || memcmp(p, name, nl) != 0 ||
	    p[nl] != '=')
		return false;
	p += nl + 1;
	if (p >= end || !ms_isdigit((unsigned char)*p) || *p == '0')
		return false;
	while (p < end && ms_isdigit((unsigned char)*p)) {
		v = v * 10 + (unsigned)(*p - '0');
		if (v > max)
			return false;
		p++;
	}
	*out = v;
	*pp = p;
	return true;
}

static mailsec_err
parse_hash(const char *h, size_t len, struct parsed_hash *ph)
{
	static const char prefix[] = "$scrypt$";
	const char *p = h, *end = h + len, *s;

	if (len < sizeof prefix - 1 || memcmp(h, prefix, sizeof prefix - 1))
		return MAILSEC_ESYNTAX;
	p += sizeof prefix - 1;
	if (!parse_num(&p, end, "ln", LN_MAX, &ph->ln) || ph->ln < LN_MIN ||
	    p >= end || *p++ != ',' ||
	    !parse_num(&p, end, "r", RP_MAX, &ph->r) ||
	    p >= end || *p++ != ',' ||
	    !parse_num(&p, end, "p", RP_MAX, &ph->p) ||
	    p >= end || *p++ != '$')
		return MAILSEC_ESYNTAX;
	for (s = p; p < end && *p != '$'; p++)
		;
	if (p >= end)
		return MAILSEC_ESYNTAX;
	ph->saltlen = b64_decode(s, (size_t)(p - s), ph->salt,
	    sizeof ph->salt);
	if (ph->saltlen < SALT_MIN)
		return MAILSEC_ESYNTAX;
	s = ++p;
	ph->keylen = b64_decode(s, (size_t)(end - s), ph->key,
	    sizeof ph->key);
	if (ph->keylen < KEY_MIN)
		return MAILSEC_ESYNTAX;
	return MAILSEC_OK;
}

/* Memory scrypt needs, or 0 when the parameters are out of bounds. */
static unsigned long long
scrypt_mem(unsigned ln, unsigned r, unsigned p)
{
	unsigned long long n;

	if (ln < LN_MIN || ln > LN_MAX || r < 1 || r > RP_MAX || p < 1 ||
	    p > RP_MAX)
		return 0;
	n = 1ull << ln;
	/* OpenSSL: 128 r (N + 2) for V and X, plus 128 r p for B */
	return 128ull * r * (n + 2) + 128ull * r * p;
}

static mailsec_err
derive(const char *pass, size_t plen, const unsigned char *salt,
    size_t saltlen, unsigned ln, unsigned r, unsigned p, unsigned char *key,
    size_t keylen)
{
	unsigned long long mem = scrypt_mem(ln, r, p);

	if (mem == 0 || mem > GW_SCRYPT_MAXMEM)
		return MAILSEC_ELIMIT;
	if (EVP_PBE_scrypt(pass, plen, salt, saltlen, 1ull << ln, r, p,
	    mem + 4096, key, keylen) != 1)
		return MAILSEC_ENOMEM;
	return MAILSEC_OK;
}

mailsec_err
gw_passwd_hash(const char *pass, size_t plen,
    const struct gw_scrypt_params *params, char *out, size_t outsz)
{
	struct gw_scrypt_params def = { GW_SCRYPT_LN, GW_SCRYPT_R,
	    GW_SCRYPT_P };
	unsigned char salt[SALT_LEN], key[KEY_LEN];
	char s64[SALT_LEN * 2], k64[KEY_LEN * 2];
	mailsec_err err;
	int n;

	if (outsz > 0)
		out[0] = '\0';
	if (params == NULL)
		params = &def;
	if (pass == NULL || plen == 0 || plen > GW_PASSWD_PASS_MAX ||
	    scrypt_mem(params->ln, params->r, params->p) == 0)
		return MAILSEC_EINVAL;
	if (RAND_bytes(salt, sizeof salt) != 1)
		return MAILSEC_ENOMEM;
	err = derive(pass, plen, salt, sizeof salt, params->ln, params->r,
	    params->p, key, sizeof key);
	if (err == MAILSEC_ELIMIT)
		err = MAILSEC_EINVAL;
	if (err != MAILSEC_OK)
		goto out;
	b64_encode(salt, sizeof salt, s64);
	b64_encode(key, sizeof key, k64);
	n = snprintf(out, outsz, "$scrypt$ln=%u,r=%u,p=%u$%s$%s", params->ln,
	    params->r, params->p, s64, k64);
	if (n < 0 || (size_t)n >= outsz) {
		if (outsz > 0)
			out[0] = '\0';
		err = MAILSEC_EINVAL;
	}
out:
	OPENSSL_cleanse(key, sizeof key);
	return err;
}

mailsec_err
gw_passwd_verify(const char *hash, size_t hlen, const char *pass,
    size_t plen, bool *match)
{
	struct parsed_hash ph;
	unsigned char key[KEY_MAX];
	mailsec_err err;

	*match = false;
	if (hash == NULL || (pass == NULL && plen > 0))
		return MAILSEC_EINVAL;
	if ((err = parse_hash(hash, hlen, &ph)) != MAILSEC_OK)
		return err;
	if (plen > GW_PASSWD_PASS_MAX)
		plen = GW_PASSWD_PASS_MAX + 1;	/* hashed, never matches */
	err = derive(pass != NULL ? pass : "", plen, ph.salt, ph.saltlen, ph.ln,
	    ph.r, ph.p, key, ph.keylen);
	if (err == MAILSEC_OK)
		*match = CRYPTO_memcmp(key, ph.key, ph.keylen) == 0 &&
		    plen <= GW_PASSWD_PASS_MAX;
	OPENSSL_cleanse(key, sizeof key);
	return err;
}

bool
gw_passwd_hash_ok(const char *p, size_t len)
{
	struct parsed_hash ph;

	return len < GW_PASSWD_HASH_MAX &&
	    parse_hash(p, len, &ph) == MAILSEC_OK &&
	    scrypt_mem(ph.ln, ph.r, ph.p) <= GW_SCRYPT_MAXMEM;
}

bool
gw_passwd_user_ok(const char *p, size_t len)
{
	size_t i = 0, n;

	if (len == 0 || len > GW_PASSWD_USER_MAX)
		return false;
	while (i < len) {
		unsigned char c = (unsigned char)p[i];

		if (c >= 0x80) {
			if ((n = mailsec_utf8_len(p + i, len - i)) == 0)
				return false;
			i += n;
			continue;
		}
		if (c <= 0x20 || c == 0x7f || c == ':')
			return false;
		i++;
	}
	return true;
}

/* ---- the file ----------------------------------------------------------- */

static mailsec_err pw_err(char *err, size_t errlen, mailsec_err code,
    const char *fmt, ...) MS_PRINTF(4, 5);

static mailsec_err
pw_err(char *err, size_t errlen, mailsec_err code, const char *fmt, ...)
{
	va_list ap;

	if (errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return code;
}

static void
entry_free(struct gw_passwd_entry *e)
{
	free(e->user);
	if (e->hash != NULL)
		OPENSSL_cleanse(e->hash, strlen(e->hash));
	free(e->hash);
	free(e->extra);
	free(e->raw);
}

void
gw_passwd_free(struct gw_passwd *pw)
{
	size_t i;

	if (pw == NULL)
		return;
	for (i = 0; i < pw->n; i++)
		entry_free(&pw->v[i]);
	free(pw->v);
	free(pw);
}

mailsec_err
gw_passwd_new(struct gw_passwd **out)
{
	*out = calloc(1, sizeof **out);
	return *out == NULL ? MAILSEC_ENOMEM : MAILSEC_OK;
}

static struct gw_passwd_entry *
entry_add(struct gw_passwd *pw)
{
	struct gw_passwd_entry *v;

	v = ms_reallocarray(pw->v, pw->n + 1, sizeof *v);
	if (v == NULL)
		return NULL;
	pw->v = v;
	memset(&v[pw->n], 0, sizeof *v);
	return &v[pw->n++];
}

static struct gw_passwd_entry *
find_entry(const struct gw_passwd *pw, const char *user, size_t ulen)
{
	size_t i;

	for (i = 0; i < pw->n; i++) {
		const char *u = pw->v[i].user;

		if (u != NULL && strlen(u) == ulen &&
		    memcmp(u, user, ulen) == 0)
			return &pw->v[i];
	}
	return NULL;
}

const struct gw_passwd_entry *
gw_passwd_find(const struct gw_passwd *pw, const char *user, size_t ulen)
{
	return find_entry(pw, user, ulen);
}

static mailsec_err
parse_line(struct gw_passwd *pw, const char *p, size_t n, unsigned line,
    const char *name, char *err, size_t errlen)
{
	struct gw_passwd_entry *e;
	const struct gw_passwd_entry *dup;
	const char *c1, *c2, *end = p + n;

	if (n > GW_PASSWD_LINE_MAX)
		return pw_err(err, errlen, MAILSEC_ELIMIT, "%s:%u: line "
		    "longer than %d bytes", name, line, GW_PASSWD_LINE_MAX);
	if (memchr(p, '\0', n) != NULL || memchr(p, '\r', n) != NULL)
		return pw_err(err, errlen, MAILSEC_ESYNTAX, "%s:%u: NUL or CR "
		    "byte in the line", name, line);
	if (n == 0 || p[0] == '#') {
		if ((e = entry_add(pw)) == NULL ||
		    (e->raw = ms_memdupz(p, n)) == NULL)
			return pw_err(err, errlen, MAILSEC_ENOMEM,
			    "%s: out of memory", name);
		e->line = line;
		return MAILSEC_OK;
	}
	if ((c1 = memchr(p, ':', n)) == NULL)
		return pw_err(err, errlen, MAILSEC_ESYNTAX, "%s:%u: no ':' "
		    "after the login name (lines are user:HASH)", name, line);
	if (!gw_passwd_user_ok(p, (size_t)(c1 - p)))
		return pw_err(err, errlen, MAILSEC_ESYNTAX, "%s:%u: bad login "
		    "name (1-%d bytes, no spaces, ':' or control characters)",
		    name, line, GW_PASSWD_USER_MAX);
	c2 = memchr(c1 + 1, ':', (size_t)(end - c1 - 1));
	if (!gw_passwd_hash_ok(c1 + 1, (size_t)((c2 != NULL ? c2 : end) -
	    c1 - 1)))
		return pw_err(err, errlen, MAILSEC_ESYNTAX, "%s:%u: the "
		    "password hash is not $scrypt$ln=N,r=N,p=N$SALT$HASH "
		    "(set it again with 'mailsec passwd')", name, line);
	if ((dup = gw_passwd_find(pw, p, (size_t)(c1 - p))) != NULL)
		return pw_err(err, errlen, MAILSEC_ESYNTAX, "%s:%u: login "
		    "listed twice (first on line %u); remove one", name, line,
		    dup->line);
	if (pw->nusers >= GW_PASSWD_USERS_MAX)
		return pw_err(err, errlen, MAILSEC_ELIMIT, "%s:%u: more than "
		    "%d logins", name, line, GW_PASSWD_USERS_MAX);
	if ((e = entry_add(pw)) == NULL)
		return pw_err(err, errlen, MAILSEC_ENOMEM, "%s: out of memory",
		    name);
	e->line = line;
	e->user = ms_memdupz(p, (size_t)(c1 - p));
	e->hash = ms_memdupz(c1 + 1, (size_t)((c2 != NULL ? c2 : end) - c1 -
	    1));
	if (c2 != NULL)
		e->extra = ms_memdupz(c2 + 1, (size_t)(end - c2 - 1));
	if (e->user == NULL || e->hash == NULL ||
	    (c2 != NULL && e->extra == NULL))
		return pw_err(err, errlen, MAILSEC_ENOMEM, "%s: out of memory",
		    name);
	pw->nusers++;
	return MAILSEC_OK;
}

mailsec_err
gw_passwd_parse(const char *text, size_t len, const char *name,
    struct gw_passwd **out, char *err, size_t errlen)
{
	struct gw_passwd *pw;
	const char *p = text, *end = text + len, *nl;
	unsigned line = 0;
	mailsec_err e;

	*out = NULL;
	if (errlen > 0)
		err[0] = '\0';
	if (name == NULL)
		name = "(passwd)";
	if (len > GW_PASSWD_FILE_MAX)
		return pw_err(err, errlen, MAILSEC_ELIMIT, "%s: larger than "
		    "%d bytes", name, GW_PASSWD_FILE_MAX);
	if ((e = gw_passwd_new(&pw)) != MAILSEC_OK)
		return pw_err(err, errlen, e, "%s: out of memory", name);
	while (p < end) {
		line++;
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		e = parse_line(pw, p, (size_t)(nl - p), line, name, err,
		    errlen);
		if (e != MAILSEC_OK) {
			gw_passwd_free(pw);
			return e;
		}
		p = nl < end ? nl + 1 : end;
	}
	*out = pw;
	return MAILSEC_OK;
}

static void
warnf(gw_passwd_warn_fn warn, void *arg, const char *fmt, ...)
    MS_PRINTF(3, 4);

static void
warnf(gw_passwd_warn_fn warn, void *arg, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (warn == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	warn(arg, msg);
}

/* Warns about a file (or its directory) that others can change. */
static void
check_modes(const char *path, const struct stat *st, gw_passwd_warn_fn warn,
    void *arg)
{
	struct stat dst;
	char *copy, *dir;

	if (st->st_mode & S_IWOTH)
		warnf(warn, arg, "%s: world-writable: anyone can add a login; "
		    "chmod 600 it", path);
	else if (st->st_mode & S_IWGRP)
		warnf(warn, arg, "%s: group-writable: the group can add a "
		    "login; chmod 600 it", path);
	if (st->st_mode & S_IROTH)
		warnf(warn, arg, "%s: world-readable: password hashes are "
		    "exposed to guessing; chmod 600 it", path);
	if ((copy = strdup(path)) == NULL)
		return;
	dir = dirname(copy);
	if (stat(dir, &dst) == 0 && (dst.st_mode & S_IWOTH) &&
	    !(dst.st_mode & S_ISVTX))
		warnf(warn, arg, "%s: its directory %s is world-writable: "
		    "anyone can replace the file; chmod o-w the directory",
		    path, dir);
	free(copy);
}

mailsec_err
gw_passwd_load(const char *path, struct gw_passwd **out,
    gw_passwd_warn_fn warn, void *warn_arg, char *err, size_t errlen)
{
	struct ms_buf b;
	struct stat st, lst;
	char chunk[8192];
	ssize_t n;
	int fd;
	mailsec_err e;

	*out = NULL;
	if (errlen > 0)
		err[0] = '\0';
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return pw_err(err, errlen, errno == ENOENT ? MAILSEC_ENOTFOUND :
		    MAILSEC_EIO, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		return pw_err(err, errlen, MAILSEC_EIO, "%s: not a regular "
		    "file", path);
	}
	if (lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode))
		warnf(warn, warn_arg, "%s: is a symbolic link; the checks "
		    "below are about its target", path);
	check_modes(path, &st, warn, warn_arg);
	ms_buf_init(&b, GW_PASSWD_FILE_MAX);
	for (;;) {
		n = read(fd, chunk, sizeof chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if ((e = ms_buf_append(&b, chunk, (size_t)n)) != MAILSEC_OK) {
			close(fd);
			return pw_err(err, errlen, e, "%s: %s", path,
			    e == MAILSEC_ELIMIT ? "file too large" :
			    "out of memory");
		}
	}
	if (n < 0) {
		e = pw_err(err, errlen, MAILSEC_EIO, "%s: %s", path,
		    strerror(errno));
		close(fd);
		ms_buf_free(&b);
		return e;
	}
	close(fd);
	e = gw_passwd_parse(b.ptr != NULL ? b.ptr : "", b.len, path, out, err,
	    errlen);
	if (b.ptr != NULL)
		OPENSSL_cleanse(b.ptr, b.len);
	ms_buf_free(&b);
	return e;
}

/* A fixed hash at the default cost: unknown logins are checked against
 * it so they take as long as known ones. */
static const char dummy_hash[] =
    "$scrypt$ln=15,r=8,p=1$bWFpbHNlYy1kdW1teS1zYQ$"
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

mailsec_err
gw_passwd_check(const struct gw_passwd *pw, const char *user, size_t ulen,
    const char *pass, size_t plen, bool *ok)
{
	const struct gw_passwd_entry *e;
	mailsec_err err;
	bool match = false;

	*ok = false;
	e = pw != NULL ? gw_passwd_find(pw, user, ulen) : NULL;
	if (e == NULL) {
		(void)gw_passwd_verify(dummy_hash, sizeof dummy_hash - 1, pass,
		    plen, &match);
		return MAILSEC_OK;
	}
	err = gw_passwd_verify(e->hash, strlen(e->hash), pass, plen, &match);
	*ok = err == MAILSEC_OK && match;
	return err;
}

mailsec_err
gw_passwd_set(struct gw_passwd *pw, const char *user, const char *hash)
{
	struct gw_passwd_entry *e;
	char *h;

	if (!gw_passwd_user_ok(user, strlen(user)) ||
	    !gw_passwd_hash_ok(hash, strlen(hash)))
		return MAILSEC_EINVAL;
	if ((h = strdup(hash)) == NULL)
		return MAILSEC_ENOMEM;
	e = find_entry(pw, user, strlen(user));
	if (e != NULL) {
		OPENSSL_cleanse(e->hash, strlen(e->hash));
		free(e->hash);
		e->hash = h;
		return MAILSEC_OK;
	}
	if (pw->nusers >= GW_PASSWD_USERS_MAX) {
		free(h);
		return MAILSEC_ELIMIT;
	}
	if ((e = entry_add(pw)) == NULL) {
		free(h);
		return MAILSEC_ENOMEM;
	}
	e->hash = h;
	if ((e->user = strdup(user)) == NULL) {
		free(h);
		pw->n--;
		return MAILSEC_ENOMEM;
	}
	pw->nusers++;
	return MAILSEC_OK;
}

mailsec_err
gw_passwd_delete(struct gw_passwd *pw, const char *user)
{
	const struct gw_passwd_entry *e;
	size_t i;

	if ((e = gw_passwd_find(pw, user, strlen(user))) == NULL)
		return MAILSEC_ENOTFOUND;
	i = (size_t)(e - pw->v);
	entry_free(&pw->v[i]);
	memmove(&pw->v[i], &pw->v[i + 1], (pw->n - i - 1) * sizeof *pw->v);
	pw->n--;
	pw->nusers--;
	return MAILSEC_OK;
}

static bool
write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		p += w;
		n -= (size_t)w;
	}
	return true;
}

mailsec_err
gw_passwd_save(const struct gw_passwd *pw, const char *path, char *err,
    size_t errlen)
{
	struct ms_buf text, tmp;
	const struct gw_passwd_entry *e;
	char *copy = NULL, *dir;
	size_t i;
	int fd = -1, dfd, cr;
	bool created = false;
	mailsec_err rc = MAILSEC_EIO;

	if (errlen > 0)
		err[0] = '\0';
	ms_buf_init(&text, GW_PASSWD_FILE_MAX);
	ms_buf_init(&tmp, 8192);
	for (i = 0; i < pw->n; i++) {
		e = &pw->v[i];
		if ((e->user == NULL ? ms_buf_printf(&text, "%s\n", e->raw) :
		    e->extra != NULL ? ms_buf_printf(&text, "%s:%s:%s\n",
		    e->user, e->hash, e->extra) : ms_buf_printf(&text,
		    "%s:%s\n", e->user, e->hash)) != MAILSEC_OK) {
			rc = pw_err(err, errlen, MAILSEC_ENOMEM, "%s: out of "
			    "memory or too large", path);
			goto out;
		}
	}
	if (ms_buf_printf(&tmp, "%s.tmp.XXXXXX", path) != MAILSEC_OK) {
		rc = pw_err(err, errlen, MAILSEC_ENOMEM, "%s: out of memory",
		    path);
		goto out;
	}
	/* mkstemp creates the file 0600 whatever the umask */
	if ((fd = mkstemp(tmp.ptr)) == -1) {
		pw_err(err, errlen, MAILSEC_EIO, "%s: %s", tmp.ptr,
		    strerror(errno));
		goto out;
	}
	created = true;
	if (fchmod(fd, 0600) == -1 ||
	    !write_all(fd, text.ptr != NULL ? text.ptr : "", text.len) ||
	    fsync(fd) == -1) {
		pw_err(err, errlen, MAILSEC_EIO, "%s: %s", tmp.ptr,
		    strerror(errno));
		goto out;
	}
	cr = close(fd);
	fd = -1;
	if (cr != 0) {
		pw_err(err, errlen, MAILSEC_EIO, "%s: %s", tmp.ptr,
		    strerror(errno));
		goto out;
	}
	if (rename(tmp.ptr, path) == -1) {
		pw_err(err, errlen, MAILSEC_EIO, "%s: rename: %s", path,
		    strerror(errno));
		goto out;
	}
	created = false;
	/* the rename is durable once the directory is */
	if ((copy = strdup(path)) == NULL) {
		rc = pw_err(err, errlen, MAILSEC_ENOMEM, "%s: out of memory",
		    path);
		goto out;
	}
	dir = dirname(copy);
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    fsync(dfd) == -1) {
		pw_err(err, errlen, MAILSEC_EIO, "%s: fsync: %s", dir,
		    strerror(errno));
		if (dfd != -1)
			close(dfd);
		goto out;
	}
	close(dfd);
	rc = MAILSEC_OK;
out:
	if (fd != -1)
		close(fd);
	if (created)
		unlink(tmp.ptr);
	free(copy);
	if (text.ptr != NULL)
		OPENSSL_cleanse(text.ptr, text.len);
	ms_buf_free(&text);
	ms_buf_free(&tmp);
	return rc;
}
