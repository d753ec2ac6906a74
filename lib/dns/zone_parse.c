/*
 * lib/dns/zone_parse.c - the master-file parser of the zone backend:
 * RFC 1035 section 5.1 (entries, $ORIGIN, parentheses, comments, quoted
 * character-strings, \X and \DDD escapes), RFC 2308 section 4 ($TTL),
 * RFC 3597 section 5 (TYPEnnn and the \# generic RDATA form), and test
 * directives of ours: $TIMEOUT, $SERVFAIL and $BOGUS (forced failures),
 * $SECURE on|off (answers marked DNSSEC-secure) (docs/dns.md).
 *
 * The text is read in entries: the items up to the end of a line that is
 * not inside parentheses. Items keep their escapes; each use (a name, a
 * character-string, a number) decodes them.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/zone_int.h"

#define ZONE_DEFAULT_TTL	3600u	/* no $TTL and no TTL stated yet */
#define ZONE_TTL_MAX		2147483647u	/* RFC 2181 section 8 */
#define ZONE_STRING_MAX		255u	/* RFC 1035 3.3 character-string */
#define ZONE_RDATA_MAX		65535u	/* RFC 1035 3.2.1 RDLENGTH */
#define ZONE_SHOW_MAX		40	/* bytes of an item quoted in a diag */

#define T_SOA	6
#define T_DNAME	39
#define T_OPT	41

enum zkind {
	ZK_DECODED,		/* parsed into struct mailsec_dns_rr */
	ZK_SOA,			/* checked, stored as type and TTL */
	ZK_OPAQUE,		/* known, RDATA not checked, stored as type */
	ZK_GENERIC,		/* only TYPEnnn \# len hex (RFC 3597) */
	ZK_DNAME,		/* refused: it would change resolution */
	ZK_META			/* refused: not a data type */
};

static const struct {
	const char *name;
	uint16_t type;
	enum zkind kind;
} ztypes[] = {
	{ "A", MAILSEC_DNS_A, ZK_DECODED },
	{ "NS", MAILSEC_DNS_NS, ZK_DECODED },
	{ "CNAME", MAILSEC_DNS_CNAME, ZK_DECODED },
	{ "SOA", T_SOA, ZK_SOA },
	{ "PTR", MAILSEC_DNS_PTR, ZK_DECODED },
	{ "HINFO", 13, ZK_OPAQUE },
	{ "MX", MAILSEC_DNS_MX, ZK_DECODED },
	{ "TXT", MAILSEC_DNS_TXT, ZK_DECODED },
	{ "RP", 17, ZK_OPAQUE },
	{ "AAAA", MAILSEC_DNS_AAAA, ZK_DECODED },
	{ "LOC", 29, ZK_OPAQUE },
	{ "SRV", 33, ZK_OPAQUE },
	{ "NAPTR", 35, ZK_OPAQUE },
	{ "DNAME", T_DNAME, ZK_DNAME },
	{ "DS", 43, ZK_OPAQUE },
	{ "SSHFP", 44, ZK_OPAQUE },
	{ "RRSIG", 46, ZK_OPAQUE },
	{ "NSEC", 47, ZK_OPAQUE },
	{ "DNSKEY", 48, ZK_OPAQUE },
	{ "NSEC3", 50, ZK_OPAQUE },
	{ "NSEC3PARAM", 51, ZK_OPAQUE },
	{ "TLSA", MAILSEC_DNS_TLSA, ZK_DECODED },
	{ "SMIMEA", 53, ZK_OPAQUE },
	{ "CDS", 59, ZK_OPAQUE },
	{ "CDNSKEY", 60, ZK_OPAQUE },
	{ "OPENPGPKEY", 61, ZK_OPAQUE },
	{ "SVCB", 64, ZK_OPAQUE },
	{ "HTTPS", 65, ZK_OPAQUE },
	{ "SPF", MAILSEC_DNS_SPF, ZK_DECODED },
	{ "URI", 256, ZK_OPAQUE },
	{ "CAA", 257, ZK_OPAQUE },
};

/* One item of an entry, escapes not decoded. */
struct zitem {
	const char *p;		/* for a quoted item: inside the quotes */
	size_t len;
	size_t off;		/* where it starts in the text */
	size_t line;
	bool quoted;
};

struct zparse {
	struct ms_zone *z;
	struct mailsec_diag *diag;
	const char *text;
	size_t len;
	size_t pos;
	size_t line;
	struct zitem *items;	/* MS_ZONE_MAX_ITEMS */
	size_t nitems;
	bool blank;		/* entry starts with a blank: previous owner */
	struct ms_zname origin;
	struct ms_zname owner;
	bool have_owner;
	uint32_t dollar_ttl;	/* $TTL, RFC 2308 section 4 */
	bool have_dollar_ttl;
	uint32_t last_ttl;	/* last TTL stated, RFC 1035 5.1 */
	bool have_last_ttl;
};

/* ---- diagnostics -------------------------------------------------------- */

static mailsec_err MS_PRINTF(5, 0)
vperr(struct zparse *zp, mailsec_err err, size_t off, size_t line,
    const char *fmt, va_list ap)
{
	char msg[224];

	vsnprintf(msg, sizeof msg, fmt, ap);
	return ms_diag(zp->diag, err, off, line, "line %zu: %s", line, msg);
}

static mailsec_err MS_PRINTF(5, 6)
perr(struct zparse *zp, mailsec_err err, size_t off, size_t line,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err = vperr(zp, err, off, line, fmt, ap);
	va_end(ap);
	return err;
}

/* An error about one item. */
static mailsec_err MS_PRINTF(4, 5)
ierr(struct zparse *zp, mailsec_err err, const struct zitem *it,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err = vperr(zp, err, it->off, it->line, fmt, ap);
	va_end(ap);
	return err;
}

/* An item for a message: printable ASCII kept, other bytes as '?',
 * shortened with "..." past ZONE_SHOW_MAX bytes. */
static const char *
show(const struct zitem *it, char *buf, size_t size)
{
	size_t i, n = 0;
	unsigned char c;

	for (i = 0; i < it->len && n + 4 < size && i < ZONE_SHOW_MAX; i++) {
		c = (unsigned char)it->p[i];
		buf[n++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	if (i < it->len && n + 4 <= size) {
		memcpy(buf + n, "...", 3);
		n += 3;
	}
	buf[n] = '\0';
	return buf;
}

/* ---- the lexer ---------------------------------------------------------- */

/* RFC 1035 5.1: items end at blanks, line ends, comments, parentheses
 * and quotes. */
static bool
is_delim(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ';' ||
	    c == '(' || c == ')' || c == '"';
}

static mailsec_err
lex_quoted(struct zparse *zp, struct zitem *it)
{
	const char *t = zp->text;
	size_t start = ++zp->pos;

	while (zp->pos < zp->len) {
		if (t[zp->pos] == '"') {
			it->p = t + start;
			it->len = zp->pos - start;
			it->quoted = true;
			zp->pos++;
			return MAILSEC_OK;
		}
		if (t[zp->pos] == '\\' && zp->pos + 1 < zp->len)
			zp->pos++;
		/* text literals may hold line ends, RFC 1035 5.1 */
		if (t[zp->pos] == '\n')
			zp->line++;
		zp->pos++;
	}
	return ierr(zp, MAILSEC_ESYNTAX, it, "quoted string is never closed");
}

static mailsec_err
lex_word(struct zparse *zp, struct zitem *it)
{
	const char *t = zp->text;
	size_t start = zp->pos;

	while (zp->pos < zp->len && !is_delim(t[zp->pos])) {
		if (t[zp->pos] == '\\') {
			if (zp->pos + 1 >= zp->len)
				return perr(zp, MAILSEC_ESYNTAX, zp->pos,
				    zp->line, "'\\' at the end of the input");
			if (t[zp->pos + 1] == '\n' || t[zp->pos + 1] == '\r')
				return perr(zp, MAILSEC_ESYNTAX, zp->pos,
				    zp->line, "'\\' at the end of a line");
			zp->pos++;
		}
		zp->pos++;
	}
	it->p = t + start;
	it->len = zp->pos - start;
	it->quoted = false;
	return MAILSEC_OK;
}

/*
 * Reads the next entry into zp->items; nitems is 0 at the end of the
 * text. Called at the start of a line.
 */
static mailsec_err
lex_entry(struct zparse *zp)
{
	const char *t = zp->text;
	size_t open_off = 0, open_line = 0;
	bool open = false, bol = true;
	struct zitem *it;
	mailsec_err err;
	char c;

	zp->nitems = 0;
	zp->blank = false;
	while (zp->pos < zp->len) {
		c = t[zp->pos];
		if (bol) {
			bol = false;
			if (!open && zp->nitems == 0)
				zp->blank = c == ' ' || c == '\t';
		}
		switch (c) {
		case ' ':
		case '\t':
		case '\r':
			zp->pos++;
			continue;
		case ';':
			while (zp->pos < zp->len && t[zp->pos] != '\n')
				zp->pos++;
			continue;
		case '\n':
			zp->pos++;
			zp->line++;
			bol = true;
			if (!open && zp->nitems > 0)
				return MAILSEC_OK;
			continue;
		case '(':
			if (open)
				return perr(zp, MAILSEC_ESYNTAX, zp->pos,
				    zp->line, "'(' inside parentheses");
			open = true;
			open_off = zp->pos++;
			open_line = zp->line;
			continue;
		case ')':
			if (!open)
				return perr(zp, MAILSEC_ESYNTAX, zp->pos,
				    zp->line, "')' without '('");
			open = false;
			zp->pos++;
			continue;
		default:
			break;
		}
		if (zp->nitems == MS_ZONE_MAX_ITEMS)
			return perr(zp, MAILSEC_ELIMIT, zp->pos, zp->line,
			    "more than %u items in one entry",
			    MS_ZONE_MAX_ITEMS);
		it = &zp->items[zp->nitems++];
		it->off = zp->pos;
		it->line = zp->line;
		err = c == '"' ? lex_quoted(zp, it) : lex_word(zp, it);
		if (err != MAILSEC_OK)
			return err;
	}
	if (open)
		return perr(zp, MAILSEC_ESYNTAX, open_off, open_line,
		    "'(' is never closed");
	return MAILSEC_OK;
}

/* ---- escapes, names ----------------------------------------------------- */

/*
 * Decodes the escape at p[*i] == '\\' (RFC 1035 5.1: \DDD is an octet in
 * decimal, \X is X) into *out and moves *i past it.
 */
static bool
unescape(const char *p, size_t len, size_t *i, uint8_t *out)
{
	size_t j = *i + 1;
	unsigned v;

	if (j >= len)
		return false;
	if (!ms_isdigit((unsigned char)p[j])) {
		*out = (uint8_t)p[j];
		*i = j + 1;
		return true;
	}
	if (len - j < 3 || !ms_isdigit((unsigned char)p[j + 1]) ||
	    !ms_isdigit((unsigned char)p[j + 2]))
		return false;
	v = (unsigned)(p[j] - '0') * 100 + (unsigned)(p[j + 1] - '0') * 10 +
	    (unsigned)(p[j + 2] - '0');
	if (v > 255)
		return false;
	*out = (uint8_t)v;
	*i = j + 3;
	return true;
}

static bool
label_add(struct ms_zname *n, const uint8_t *lab, size_t len)
{
	if (n->len + 1 + len > MS_ZONE_WIRE_MAX - 1)
		return false;
	n->w[n->len++] = (uint8_t)len;
	memcpy(n->w + n->len, lab, len);
	n->len += len;
	return true;
}

/*
 * Parses a name in presentation form: labels split by unescaped dots.
 * *absolute tells whether it ended with one. "." is the root, and so is
 * "" (which only API names can be). *why says what is wrong.
 */
static mailsec_err
name_parse(const char *p, size_t len, struct ms_zname *out, bool *absolute,
    const char **why)
{
	uint8_t lab[MS_DNS_MAX_LABEL];
	size_t i = 0, n = 0;
	bool abs = false;
	uint8_t c;

	out->len = 0;
	if (len == 1 && p[0] == '.') {
		*absolute = true;
		return MAILSEC_OK;
	}
	while (i < len) {
		if (p[i] == '.') {
			if (n == 0) {
				*why = "empty label";
				return MAILSEC_ESYNTAX;
			}
			if (!label_add(out, lab, n)) {
				*why = "name longer than 253 octets";
				return MAILSEC_ELIMIT;
			}
			n = 0;
			i++;
			abs = true;
			continue;
		}
		if (p[i] != '\\') {
			c = (uint8_t)p[i++];
		} else if (!unescape(p, len, &i, &c)) {
			*why = "bad escape (\\X or \\DDD up to \\255)";
			return MAILSEC_ESYNTAX;
		}
		if (n == MS_DNS_MAX_LABEL) {
			*why = "label longer than 63 octets";
			return MAILSEC_ELIMIT;
		}
		lab[n++] = c;
		abs = false;
	}
	if (n > 0 && !label_add(out, lab, n)) {
		*why = "name longer than 253 octets";
		return MAILSEC_ELIMIT;
	}
	*absolute = abs;
	return MAILSEC_OK;
}

mailsec_err
ms_zname_from_text(const char *s, size_t len, struct ms_zname *out)
{
	const char *why;
	bool abs;

	if (name_parse(s, len, out, &abs, &why) != MAILSEC_OK)
		return MAILSEC_EINVAL;
	return MAILSEC_OK;
}

/*
 * Writes n as text: key form (lowercase, every byte but [a-z0-9_-] as
 * \DDD) or presentation form (case kept, LDH and '_' as they are, '.' as
 * "\.", other bytes \DDD, as unbound.c prints names). buf holds
 * MS_ZONE_TEXT_MAX bytes: at most 4 per wire octet.
 */
static size_t
name_write(const struct ms_zname *n, char *buf, bool key)
{
	size_t i = 0, k = 0, j, l;
	unsigned c;

	while (i < n->len) {
		l = n->w[i++];
		if (k > 0)
			buf[k++] = '.';
		for (j = 0; j < l; j++) {
			c = n->w[i + j];
			if (key)
				c = (unsigned)ms_tolower((int)c);
			if (ms_isalnum((int)c) || c == '-' || c == '_') {
				buf[k++] = (char)c;
			} else if (c == '.' && !key) {
				buf[k++] = '\\';
				buf[k++] = '.';
			} else {
				buf[k++] = '\\';
				buf[k++] = (char)('0' + c / 100);
				buf[k++] = (char)('0' + c / 10 % 10);
				buf[k++] = (char)('0' + c % 10);
			}
		}
		i += l;
	}
	buf[k] = '\0';
	return k;
}

size_t
ms_zname_key(const struct ms_zname *n, char *key)
{
	return name_write(n, key, true);
}

char *
ms_zname_text(const struct ms_zname *n)
{
	char buf[MS_ZONE_TEXT_MAX];
	size_t len;

	len = name_write(n, buf, false);
	return ms_memdupz(buf, len);
}

/* A name item of the file: '@' is the origin, relative names get it
 * appended (RFC 1035 5.1). what names the item in messages. */
static mailsec_err
item_name(struct zparse *zp, const struct zitem *it, const char *what,
    struct ms_zname *out)
{
	char sb[64];
	const char *why = "";
	bool abs = false;
	mailsec_err err;

	if (it->quoted)
		return ierr(zp, MAILSEC_ESYNTAX, it,
		    "%s \"%s\" must not be quoted", what,
		    show(it, sb, sizeof sb));
	if (it->len == 1 && it->p[0] == '@') {
		*out = zp->origin;
		return MAILSEC_OK;
	}
	err = name_parse(it->p, it->len, out, &abs, &why);
	if (err != MAILSEC_OK)
		return ierr(zp, err, it, "%s '%s': %s", what,
		    show(it, sb, sizeof sb), why);
	if (!abs) {
		if (out->len + zp->origin.len > MS_ZONE_WIRE_MAX - 1)
			return ierr(zp, MAILSEC_ELIMIT, it,
			    "%s '%s' with the origin appended is longer "
			    "than 253 octets", what, show(it, sb, sizeof sb));
		memcpy(out->w + out->len, zp->origin.w, zp->origin.len);
		out->len += zp->origin.len;
	}
	return MAILSEC_OK;
}

/* ---- numbers, types, classes -------------------------------------------- */

static bool
num_parse(const char *p, size_t len, uint32_t max, uint32_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (len == 0)
		return false;
	for (i = 0; i < len; i++) {
		if (!ms_isdigit((unsigned char)p[i]))
			return false;
		v = v * 10 + (uint64_t)(p[i] - '0');
		if (v > max)
			return false;
	}
	*out = (uint32_t)v;
	return true;
}

static uint32_t
ttl_unit(char c)
{
	switch (ms_tolower((unsigned char)c)) {
	case 's':
		return 1;
	case 'm':
		return 60;
	case 'h':
		return 3600;
	case 'd':
		return 86400;
	case 'w':
		return 604800;
	default:
		return 0;
	}
}

/* A TTL: seconds, or BIND's units ("1h30m", "2w"), at most 2^31 - 1. */
static bool
ttl_parse(const struct zitem *it, uint32_t *out)
{
	uint64_t total = 0, v = 0;
	bool digits = false, units = false;
	uint32_t mult;
	size_t i;

	if (it->quoted || it->len == 0)
		return false;
	for (i = 0; i < it->len; i++) {
		if (ms_isdigit((unsigned char)it->p[i])) {
			v = v * 10 + (uint64_t)(it->p[i] - '0');
			if (v > ZONE_TTL_MAX)
				return false;
			digits = true;
			continue;
		}
		mult = ttl_unit(it->p[i]);
		if (!digits || mult == 0)
			return false;
		total += v * mult;
		if (total > ZONE_TTL_MAX)
			return false;
		v = 0;
		digits = false;
		units = true;
	}
	if (digits) {
		if (units)
			return false;
		total = v;
	}
	*out = (uint32_t)total;
	return true;
}

/* Mnemonics from the table, or TYPEnnn (RFC 3597 section 5). */
static bool
type_lookup(const struct zitem *it, uint16_t *type, enum zkind *kind)
{
	uint32_t v;
	size_t i;

	if (it->quoted)
		return false;
	for (i = 0; i < MS_ARRAY_LEN(ztypes); i++) {
		if (ms_ascii_eqz(it->p, it->len, ztypes[i].name)) {
			*type = ztypes[i].type;
			*kind = ztypes[i].kind;
			return true;
		}
	}
	if (it->len <= 4 || !ms_ascii_eq(it->p, 4, "TYPE", 4) ||
	    !num_parse(it->p + 4, it->len - 4, 65535, &v) || v == 0)
		return false;
	*type = (uint16_t)v;
	*kind = ZK_GENERIC;
	for (i = 0; i < MS_ARRAY_LEN(ztypes); i++)
		if (ztypes[i].type == v)
			*kind = ztypes[i].kind;
	/* RFC 6895 3.1: OPT and 128-255 are not data */
	if (v == T_OPT || (v >= 128 && v <= 255))
		*kind = ZK_META;
	return true;
}

enum zclass { ZC_NONE, ZC_IN, ZC_OTHER };

static enum zclass
class_lookup(const struct zitem *it)
{
	static const char *const others[] = { "CH", "CS", "HS", "NONE",
	    "ANY" };
	uint32_t v;
	size_t i;

	if (it->quoted)
		return ZC_NONE;
	if (ms_ascii_eqz(it->p, it->len, "IN"))
		return ZC_IN;
	for (i = 0; i < MS_ARRAY_LEN(others); i++)
		if (ms_ascii_eqz(it->p, it->len, others[i]))
			return ZC_OTHER;
	if (it->len > 5 && ms_ascii_eq(it->p, 5, "CLASS", 5) &&
	    num_parse(it->p + 5, it->len - 5, 65535, &v))
		return v == 1 ? ZC_IN : ZC_OTHER;
	return ZC_NONE;
}

/* ---- RDATA -------------------------------------------------------------- */

/* Checks that an RDATA has exactly want items. */
static mailsec_err
rdata_count(struct zparse *zp, const struct zitem *typeit,
    const struct zitem *it, size_t n, size_t want, const char *what)
{
	char sb[64], tb[24];

	if (n < want)
		return ierr(zp, MAILSEC_ESYNTAX, typeit, "%s needs %s",
		    show(typeit, tb, sizeof tb), what);
	if (n > want)
		return ierr(zp, MAILSEC_ESYNTAX, &it[want],
		    "unexpected '%s' after the %s data",
		    show(&it[want], sb, sizeof sb),
		    show(typeit, tb, sizeof tb));
	return MAILSEC_OK;
}

/*
 * An address for inet_pton(): only the characters it may hold, copied
 * with a NUL (an item may contain NUL bytes, inet_pton would stop there).
 */
static mailsec_err
rdata_addr(struct zparse *zp, const struct zitem *it, int af, uint8_t *out)
{
	char buf[48], sb[64];
	size_t i, max = af == AF_INET ? 15 : 45;
	unsigned char c;
	bool ok = !it->quoted && it->len > 0 && it->len <= max;

	for (i = 0; ok && i < it->len; i++) {
		c = (unsigned char)it->p[i];
		ok = ms_isdigit(c) || c == '.' ||
		    (af == AF_INET6 && (ms_isxdigit(c) || c == ':'));
	}
	if (ok) {
		memcpy(buf, it->p, it->len);
		buf[it->len] = '\0';
		ok = inet_pton(af, buf, out) == 1;
	}
	if (!ok)
		return ierr(zp, MAILSEC_ESYNTAX, it,
		    "%s address '%s' is not an %s address",
		    af == AF_INET ? "A" : "AAAA", show(it, sb, sizeof sb),
		    af == AF_INET ? "IPv4" : "IPv6");
	return MAILSEC_OK;
}

/* A name in RDATA, as presentation text ("" for the root). */
static mailsec_err
rdata_name(struct zparse *zp, const struct zitem *it, const char *what,
    char **out)
{
	struct ms_zname n;
	mailsec_err err;

	err = item_name(zp, it, what, &n);
	if (err != MAILSEC_OK)
		return err;
	*out = ms_zname_text(&n);
	if (*out == NULL)
		return ierr(zp, MAILSEC_ENOMEM, it, "out of memory");
	return MAILSEC_OK;
}

static mailsec_err
rdata_u8(struct zparse *zp, const struct zitem *it, const char *what,
    uint8_t *out)
{
	char sb[64];
	uint32_t v;

	if (it->quoted || !num_parse(it->p, it->len, 255, &v))
		return ierr(zp, MAILSEC_ESYNTAX, it,
		    "%s '%s' is not a number from 0 to 255", what,
		    show(it, sb, sizeof sb));
	*out = (uint8_t)v;
	return MAILSEC_OK;
}

/*
 * Hex digits spread over n items (RFC 6698 2.2 and RFC 3597 5 allow
 * blanks inside), at most max octets, into a new allocation.
 */
static mailsec_err
rdata_hex(struct zparse *zp, const struct zitem *it, size_t n,
    const char *what, size_t max, uint8_t **out, size_t *outlen)
{
	char sb[64];
	size_t i, j, digits = 0, k = 0;
	uint8_t *buf;

	for (i = 0; i < n; i++) {
		for (j = 0; j < it[i].len; j++)
			if (!ms_isxdigit((unsigned char)it[i].p[j]))
				break;
		if (it[i].quoted || j < it[i].len)
			return ierr(zp, MAILSEC_ESYNTAX, &it[i],
			    "%s '%s' is not hexadecimal", what,
			    show(&it[i], sb, sizeof sb));
		digits += it[i].len;
		if (digits / 2 > max)
			return ierr(zp, MAILSEC_ELIMIT, &it[i],
			    "%s longer than %zu octets", what, max);
	}
	if (digits % 2 != 0)
		return ierr(zp, MAILSEC_ESYNTAX, &it[n - 1],
		    "%s has an odd number of hex digits", what);
	buf = malloc(digits / 2 + 1);
	if (buf == NULL)
		return ierr(zp, MAILSEC_ENOMEM, it, "out of memory");
	for (i = 0; i < n; i++) {
		for (j = 0; j < it[i].len; j++, k++) {
			if (k % 2 == 0)
				buf[k / 2] = (uint8_t)(ms_hexval(
				    (unsigned char)it[i].p[j]) << 4);
			else
				buf[k / 2] |= (uint8_t)ms_hexval(
				    (unsigned char)it[i].p[j]);
		}
	}
	*out = buf;
	*outlen = digits / 2;
	return MAILSEC_OK;
}

/* TXT and SPF: one or more character-strings (RFC 1035 3.3.14, RFC 7208
 * 3.3), quoted or not, each at most 255 octets. */
static mailsec_err
rdata_txt(struct zparse *zp, const struct zitem *typeit,
    const struct zitem *it, size_t n, struct mailsec_dns_rr *rr)
{
	char sb[64], tb[24];
	size_t i, j, slen, total = 0;
	struct ms_buf b;
	uint8_t c;
	mailsec_err err;

	if (n == 0)
		return ierr(zp, MAILSEC_ESYNTAX, typeit,
		    "%s needs at least one string",
		    show(typeit, tb, sizeof tb));
	/* the total is checked after each string: room for one more */
	ms_buf_init(&b, ZONE_RDATA_MAX + ZONE_STRING_MAX);
	for (i = 0; i < n; i++) {
		slen = 0;
		for (j = 0; j < it[i].len; slen++) {
			if (it[i].p[j] != '\\') {
				c = (uint8_t)it[i].p[j++];
			} else if (!unescape(it[i].p, it[i].len, &j, &c)) {
				ms_buf_free(&b);
				return ierr(zp, MAILSEC_ESYNTAX, &it[i],
				    "bad escape in string '%s'",
				    show(&it[i], sb, sizeof sb));
			}
			if (slen == ZONE_STRING_MAX) {
				ms_buf_free(&b);
				return ierr(zp, MAILSEC_ELIMIT, &it[i],
				    "string '%s' is longer than 255 octets",
				    show(&it[i], sb, sizeof sb));
			}
			if ((err = ms_buf_appendc(&b, (char)c)) != MAILSEC_OK)
				return ierr(zp, err, &it[i], "out of memory");
		}
		total += 1 + slen;
		if (total > ZONE_RDATA_MAX) {
			ms_buf_free(&b);
			return ierr(zp, MAILSEC_ELIMIT, &it[i],
			    "%s data longer than 65535 octets",
			    show(typeit, tb, sizeof tb));
		}
	}
	rr->u.txt.data = ms_buf_steal(&b, &rr->u.txt.len);
	if (rr->u.txt.data == NULL)
		return ierr(zp, MAILSEC_ENOMEM, typeit, "out of memory");
	rr->u.txt.nstrings = n;
	return MAILSEC_OK;
}

/* SOA (RFC 1035 3.3.13): checked, then kept as type and TTL only. */
static mailsec_err
rdata_soa(struct zparse *zp, const struct zitem *typeit,
    const struct zitem *it, size_t n)
{
	static const char *const fields[] = { "refresh", "retry", "expire",
	    "minimum" };
	struct ms_zname name;
	char sb[64];
	uint32_t v;
	size_t i;
	mailsec_err err;

	err = rdata_count(zp, typeit, it, n, 7,
	    "MNAME RNAME SERIAL REFRESH RETRY EXPIRE MINIMUM");
	if (err == MAILSEC_OK)
		err = item_name(zp, &it[0], "SOA MNAME", &name);
	if (err == MAILSEC_OK)
		err = item_name(zp, &it[1], "SOA RNAME", &name);
	if (err != MAILSEC_OK)
		return err;
	if (it[2].quoted || !num_parse(it[2].p, it[2].len, UINT32_MAX, &v))
		return ierr(zp, MAILSEC_ESYNTAX, &it[2],
		    "SOA serial '%s' is not a number",
		    show(&it[2], sb, sizeof sb));
	for (i = 0; i < MS_ARRAY_LEN(fields); i++)
		if (!ttl_parse(&it[3 + i], &v))
			return ierr(zp, MAILSEC_ESYNTAX, &it[3 + i],
			    "SOA %s '%s' is not a time", fields[i],
			    show(&it[3 + i], sb, sizeof sb));
	return MAILSEC_OK;
}

/* An uncompressed wire name at p[*off] (RFC 1035 3.1). */
static bool
wire_name(const uint8_t *p, size_t len, size_t *off, struct ms_zname *n)
{
	size_t l;

	n->len = 0;
	for (;;) {
		if (*off >= len)
			return false;
		l = p[(*off)++];
		if (l == 0)
			return true;
		if (l > MS_DNS_MAX_LABEL || l > len - *off ||
		    !label_add(n, p + *off, l))
			return false;
		*off += l;
	}
}

/* Decodes generic RDATA (RFC 3597 \#) of a type the layer decodes. */
static mailsec_err
rdata_wire(struct mailsec_dns_rr *rr, const uint8_t *p, size_t len)
{
	struct ms_zname n;
	size_t off = 0, i, nstr = 0;
	char **name = NULL;

	switch (rr->type) {
	case MAILSEC_DNS_A:
		if (len != 4)
			return MAILSEC_ESYNTAX;
		memcpy(rr->u.a, p, 4);
		return MAILSEC_OK;
	case MAILSEC_DNS_AAAA:
		if (len != 16)
			return MAILSEC_ESYNTAX;
		memcpy(rr->u.aaaa, p, 16);
		return MAILSEC_OK;
	case MAILSEC_DNS_MX:
		if (len < 2)
			return MAILSEC_ESYNTAX;
		rr->u.mx.preference = (uint16_t)(p[0] << 8 | p[1]);
		off = 2;
		name = &rr->u.mx.exchange;
		break;
	case MAILSEC_DNS_NS:
	case MAILSEC_DNS_CNAME:
	case MAILSEC_DNS_PTR:
		name = &rr->u.name;
		break;
	case MAILSEC_DNS_TXT:
	case MAILSEC_DNS_SPF:
		/* length-prefixed strings filling the RDATA exactly */
		for (i = 0; i < len; i += 1 + (size_t)p[i])
			nstr++;
		if (nstr == 0 || i != len)
			return MAILSEC_ESYNTAX;
		rr->u.txt.data = malloc(len - nstr + 1);
		if (rr->u.txt.data == NULL)
			return MAILSEC_ENOMEM;
		for (i = 0; i < len; i += 1 + (size_t)p[i]) {
			memcpy(rr->u.txt.data + rr->u.txt.len, p + i + 1, p[i]);
			rr->u.txt.len += p[i];
		}
		rr->u.txt.data[rr->u.txt.len] = '\0';
		rr->u.txt.nstrings = nstr;
		return MAILSEC_OK;
	case MAILSEC_DNS_TLSA:
		if (len < 3)
			return MAILSEC_ESYNTAX;
		rr->u.tlsa.usage = p[0];
		rr->u.tlsa.selector = p[1];
		rr->u.tlsa.mtype = p[2];
		if (len > 3) {
			rr->u.tlsa.data = malloc(len - 3);
			if (rr->u.tlsa.data == NULL)
				return MAILSEC_ENOMEM;
			memcpy(rr->u.tlsa.data, p + 3, len - 3);
			rr->u.tlsa.len = len - 3;
		}
		return MAILSEC_OK;
	default:
		return MAILSEC_OK;
	}
	if (!wire_name(p, len, &off, &n) || off != len)
		return MAILSEC_ESYNTAX;
	*name = ms_zname_text(&n);
	return *name != NULL ? MAILSEC_OK : MAILSEC_ENOMEM;
}

/* RFC 3597 section 5: \# length hex... */
static mailsec_err
rdata_generic(struct zparse *zp, const struct zitem *typeit,
    const struct zitem *it, size_t n, enum zkind kind,
    struct mailsec_dns_rr *rr)
{
	char tb[24];
	uint8_t *data = NULL;
	size_t dlen = 0;
	uint32_t want;
	mailsec_err err;

	if (n < 2 || it[1].quoted ||
	    !num_parse(it[1].p, it[1].len, ZONE_RDATA_MAX, &want))
		return ierr(zp, MAILSEC_ESYNTAX, n < 2 ? &it[0] : &it[1],
		    "\\# needs a length from 0 to 65535, then hex");
	if (n > 2) {
		err = rdata_hex(zp, &it[2], n - 2, "\\# data", ZONE_RDATA_MAX,
		    &data, &dlen);
		if (err != MAILSEC_OK)
			return err;
	}
	if (dlen != want) {
		free(data);
		return ierr(zp, MAILSEC_ESYNTAX, &it[1],
		    "\\# length %u but %zu octets of data", (unsigned)want,
		    dlen);
	}
	err = MAILSEC_OK;
	if (kind == ZK_DECODED)
		err = rdata_wire(rr, data, dlen);
	free(data);
	if (err == MAILSEC_ESYNTAX)
		return ierr(zp, err, &it[0], "\\# data is not valid %s RDATA",
		    show(typeit, tb, sizeof tb));
	if (err != MAILSEC_OK)
		return ierr(zp, err, &it[0], "out of memory");
	return MAILSEC_OK;
}

/* The RDATA of a type the layer decodes, in its presentation form. */
static mailsec_err
rdata_decoded(struct zparse *zp, const struct zitem *typeit,
    const struct zitem *it, size_t n, struct mailsec_dns_rr *rr)
{
	char sb[64];
	uint32_t v;
	mailsec_err err;

	switch (rr->type) {
	case MAILSEC_DNS_A:
		err = rdata_count(zp, typeit, it, n, 1, "an IPv4 address");
		return err != MAILSEC_OK ? err :
		    rdata_addr(zp, &it[0], AF_INET, rr->u.a);
	case MAILSEC_DNS_AAAA:
		err = rdata_count(zp, typeit, it, n, 1, "an IPv6 address");
		return err != MAILSEC_OK ? err :
		    rdata_addr(zp, &it[0], AF_INET6, rr->u.aaaa);
	case MAILSEC_DNS_MX:
		err = rdata_count(zp, typeit, it, n, 2,
		    "a preference and an exchange");
		if (err != MAILSEC_OK)
			return err;
		if (it[0].quoted || !num_parse(it[0].p, it[0].len, 65535, &v))
			return ierr(zp, MAILSEC_ESYNTAX, &it[0],
			    "MX preference '%s' is not a number from 0 to "
			    "65535", show(&it[0], sb, sizeof sb));
		rr->u.mx.preference = (uint16_t)v;
		return rdata_name(zp, &it[1], "MX exchange",
		    &rr->u.mx.exchange);
	case MAILSEC_DNS_NS:
	case MAILSEC_DNS_CNAME:
	case MAILSEC_DNS_PTR:
		err = rdata_count(zp, typeit, it, n, 1, "a domain name");
		return err != MAILSEC_OK ? err :
		    rdata_name(zp, &it[0], mailsec_dns_type_name(rr->type),
		    &rr->u.name);
	case MAILSEC_DNS_TXT:
	case MAILSEC_DNS_SPF:
		return rdata_txt(zp, typeit, it, n, rr);
	case MAILSEC_DNS_TLSA:
		/* RFC 6698 2.2: usage selector type hex */
		if (n < 4)
			return rdata_count(zp, typeit, it, n, 4,
			    "usage, selector, matching type and hex data");
		if ((err = rdata_u8(zp, &it[0], "TLSA usage",
		    &rr->u.tlsa.usage)) != MAILSEC_OK ||
		    (err = rdata_u8(zp, &it[1], "TLSA selector",
		    &rr->u.tlsa.selector)) != MAILSEC_OK ||
		    (err = rdata_u8(zp, &it[2], "TLSA matching type",
		    &rr->u.tlsa.mtype)) != MAILSEC_OK)
			return err;
		return rdata_hex(zp, &it[3], n - 3, "TLSA data",
		    ZONE_RDATA_MAX - 3, &rr->u.tlsa.data, &rr->u.tlsa.len);
	default:
		return MAILSEC_OK;
	}
}

/* ---- entries ------------------------------------------------------------ */

/* $TIMEOUT name [TYPE...], $SERVFAIL name [TYPE...], $BOGUS name
 * [TYPE...] (a SERVFAIL whose result says bogus) */
static mailsec_err
entry_test_directive(struct zparse *zp, enum mailsec_dns_status status,
    bool bogus)
{
	const struct zitem *it = zp->items;
	struct ms_zname name;
	char sb[64];
	enum zkind kind;
	uint16_t type;
	size_t i;
	mailsec_err err;

	if (zp->nitems < 2)
		return ierr(zp, MAILSEC_ESYNTAX, &it[0], "%s needs a name",
		    show(&it[0], sb, sizeof sb));
	err = item_name(zp, &it[1], "directive name", &name);
	if (err != MAILSEC_OK)
		return err;
	if (zp->nitems == 2)
		err = ms_zone_add_dir(zp->z, &name, 0, status, bogus);
	for (i = 2; i < zp->nitems && err == MAILSEC_OK; i++) {
		if (!type_lookup(&it[i], &type, &kind))
			return ierr(zp, MAILSEC_ESYNTAX, &it[i],
			    "unknown type '%s'", show(&it[i], sb, sizeof sb));
		err = ms_zone_add_dir(zp->z, &name, type, status, bogus);
	}
	if (err == MAILSEC_ELIMIT)
		return ierr(zp, err, &it[0], "more than %u directives or %u "
		    "names", MS_ZONE_MAX_DIRECTIVES, MS_ZONE_MAX_NAMES);
	if (err != MAILSEC_OK)
		return ierr(zp, err, &it[0], "out of memory");
	return MAILSEC_OK;
}

static mailsec_err
entry_directive(struct zparse *zp)
{
	const struct zitem *it = zp->items;
	struct ms_zname name;
	char sb[64];
	mailsec_err err;

	if (ms_ascii_eqz(it->p, it->len, "$ORIGIN")) {
		if (zp->nitems != 2)
			return ierr(zp, MAILSEC_ESYNTAX, it,
			    "$ORIGIN needs one name");
		/* a relative $ORIGIN is relative to the current one */
		err = item_name(zp, &it[1], "$ORIGIN", &name);
		if (err == MAILSEC_OK)
			zp->origin = name;
		return err;
	}
	if (ms_ascii_eqz(it->p, it->len, "$TTL")) {
		if (zp->nitems != 2)
			return ierr(zp, MAILSEC_ESYNTAX, it,
			    "$TTL needs one value");
		if (!ttl_parse(&it[1], &zp->dollar_ttl))
			return ierr(zp, MAILSEC_ESYNTAX, &it[1],
			    "$TTL '%s' is not a TTL (0 to 2147483647 seconds)",
			    show(&it[1], sb, sizeof sb));
		zp->have_dollar_ttl = true;
		return MAILSEC_OK;
	}
	if (ms_ascii_eqz(it->p, it->len, "$INCLUDE"))
		return ierr(zp, MAILSEC_EUNSUPPORTED, it,
		    "$INCLUDE is not supported: put everything in one file");
	if (ms_ascii_eqz(it->p, it->len, "$TIMEOUT"))
		return entry_test_directive(zp, MAILSEC_DNS_TIMEOUT, false);
	if (ms_ascii_eqz(it->p, it->len, "$SERVFAIL"))
		return entry_test_directive(zp, MAILSEC_DNS_SERVFAIL, false);
	if (ms_ascii_eqz(it->p, it->len, "$BOGUS"))
		return entry_test_directive(zp, MAILSEC_DNS_SERVFAIL, true);
	if (ms_ascii_eqz(it->p, it->len, "$SECURE")) {
		/* records after it are DNSSEC-secure (on) or not (off) */
		if (zp->nitems != 2 || it[1].quoted)
			return ierr(zp, MAILSEC_ESYNTAX, it,
			    "$SECURE needs 'on' or 'off'");
		if (ms_ascii_eqz(it[1].p, it[1].len, "on"))
			zp->z->secure_now = true;
		else if (ms_ascii_eqz(it[1].p, it[1].len, "off"))
			zp->z->secure_now = false;
		else
			return ierr(zp, MAILSEC_ESYNTAX, &it[1],
			    "$SECURE needs 'on' or 'off', not '%s'",
			    show(&it[1], sb, sizeof sb));
		return MAILSEC_OK;
	}
	return ierr(zp, MAILSEC_ESYNTAX, it, "unknown directive '%s'",
	    show(it, sb, sizeof sb));
}

/* [owner] [TTL] [class] type RDATA, TTL and class in either order. */
static mailsec_err
entry_rr(struct zparse *zp)
{
	const struct zitem *it = zp->items, *typeit;
	struct mailsec_dns_rr rr;
	char sb[64];
	bool have_ttl = false, have_class = false;
	enum zclass cls;
	enum zkind kind;
	uint32_t ttl = 0;
	size_t i = 0;
	mailsec_err err;

	memset(&rr, 0, sizeof rr);
	if (!zp->blank) {
		err = item_name(zp, &it[0], "owner", &zp->owner);
		if (err != MAILSEC_OK)
			return err;
		zp->have_owner = true;
		i = 1;
	} else if (!zp->have_owner) {
		return ierr(zp, MAILSEC_ESYNTAX, &it[0],
		    "no owner: the first record starts with a blank");
	}
	for (; i < zp->nitems; i++) {
		if (!it[i].quoted && it[i].len > 0 &&
		    ms_isdigit((unsigned char)it[i].p[0])) {
			if (have_ttl)
				return ierr(zp, MAILSEC_ESYNTAX, &it[i],
				    "a second TTL '%s'",
				    show(&it[i], sb, sizeof sb));
			if (!ttl_parse(&it[i], &ttl))
				return ierr(zp, MAILSEC_ESYNTAX, &it[i],
				    "TTL '%s' is not a number from 0 to "
				    "2147483647", show(&it[i], sb, sizeof sb));
			have_ttl = true;
		} else if ((cls = class_lookup(&it[i])) != ZC_NONE) {
			if (have_class)
				return ierr(zp, MAILSEC_ESYNTAX, &it[i],
				    "a second class '%s'",
				    show(&it[i], sb, sizeof sb));
			if (cls != ZC_IN)
				return ierr(zp, MAILSEC_EUNSUPPORTED, &it[i],
				    "class '%s' is not supported (only IN)",
				    show(&it[i], sb, sizeof sb));
			have_class = true;
		} else {
			break;
		}
	}
	if (i == zp->nitems)
		return ierr(zp, MAILSEC_ESYNTAX, &it[i - 1],
		    "no record type");
	typeit = &it[i++];
	if (!type_lookup(typeit, &rr.type, &kind))
		return ierr(zp, MAILSEC_ESYNTAX, typeit, "unknown type '%s'",
		    show(typeit, sb, sizeof sb));
	if (kind == ZK_DNAME)
		return ierr(zp, MAILSEC_EUNSUPPORTED, typeit,
		    "DNAME is not supported");
	if (kind == ZK_META)
		return ierr(zp, MAILSEC_ESYNTAX, typeit,
		    "'%s' is a meta type, not a record type",
		    show(typeit, sb, sizeof sb));
	if (have_ttl) {
		zp->last_ttl = ttl;
		zp->have_last_ttl = true;
	} else if (zp->have_dollar_ttl) {
		ttl = zp->dollar_ttl;
	} else {
		ttl = zp->have_last_ttl ? zp->last_ttl : ZONE_DEFAULT_TTL;
	}
	rr.ttl = ttl;

	if (i < zp->nitems && !it[i].quoted && it[i].len == 2 &&
	    memcmp(it[i].p, "\\#", 2) == 0)
		err = rdata_generic(zp, typeit, &it[i], zp->nitems - i, kind,
		    &rr);
	else if (kind == ZK_GENERIC)
		err = ierr(zp, MAILSEC_ESYNTAX, typeit,
		    "%s needs the RFC 3597 form: \\# length hex",
		    show(typeit, sb, sizeof sb));
	else if (kind == ZK_SOA)
		err = rdata_soa(zp, typeit, &it[i], zp->nitems - i);
	else if (kind == ZK_OPAQUE && i == zp->nitems)
		err = ierr(zp, MAILSEC_ESYNTAX, typeit, "%s needs data",
		    show(typeit, sb, sizeof sb));
	else if (kind == ZK_OPAQUE)
		err = MAILSEC_OK;
	else
		err = rdata_decoded(zp, typeit, &it[i], zp->nitems - i, &rr);
	if (err != MAILSEC_OK) {
		ms_dns_rr_cleanup(&rr);
		return err;
	}
	err = ms_zone_add_rr(zp->z, &zp->owner, &rr, it[0].line, it[0].off);
	if (err == MAILSEC_ELIMIT)
		return ierr(zp, err, &it[0], "more than %u records or %u names",
		    MS_ZONE_MAX_RECORDS, MS_ZONE_MAX_NAMES);
	if (err != MAILSEC_OK)
		return ierr(zp, err, &it[0], "out of memory");
	return MAILSEC_OK;
}

mailsec_err
ms_zone_parse(struct ms_zone *z, const char *text, size_t len,
    const char *origin, struct mailsec_diag *diag)
{
	struct zparse zp;
	const char *nl;
	size_t p, end, line;
	mailsec_err err;

	memset(&zp, 0, sizeof zp);
	zp.z = z;
	zp.diag = diag;
	zp.text = text;
	zp.len = len;
	zp.line = 1;
	if (len > MS_ZONE_MAX_SIZE)
		return ms_diag(diag, MAILSEC_ELIMIT, 0, 0,
		    "zone larger than %u bytes", MS_ZONE_MAX_SIZE);
	if (origin != NULL &&
	    ms_zname_from_text(origin, strlen(origin), &zp.origin) !=
	    MAILSEC_OK)
		return ms_diag(diag, MAILSEC_EINVAL, 0, 0,
		    "origin is not a domain name");
	for (p = 0, line = 1; p < len; line++) {
		nl = memchr(text + p, '\n', len - p);
		end = nl != NULL ? (size_t)(nl - text) : len;
		if (end - p > MS_ZONE_MAX_LINE)
			return ms_diag(diag, MAILSEC_ELIMIT, p, line,
			    "line %zu: longer than %u bytes", line,
			    MS_ZONE_MAX_LINE);
		p = end + 1;
	}
	zp.items = ms_calloc(MS_ZONE_MAX_ITEMS, sizeof *zp.items);
	if (zp.items == NULL)
		return ms_diag(diag, MAILSEC_ENOMEM, 0, 0, "out of memory");
	for (;;) {
		err = lex_entry(&zp);
		if (err != MAILSEC_OK || zp.nitems == 0)
			break;
		if (!zp.blank && !zp.items[0].quoted &&
		    zp.items[0].len > 0 && zp.items[0].p[0] == '$')
			err = entry_directive(&zp);
		else
			err = entry_rr(&zp);
		if (err != MAILSEC_OK)
			break;
	}
	free(zp.items);
	return err;
}
