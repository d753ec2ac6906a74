/*
 * mailsec/authres.h - the Authentication-Results header field (RFC 8601,
 * which revises RFC 7601): a model of one field, a parser, a generator
 * with correct quoting and folding, the result vocabularies of the
 * methods this project reports (spf, dkim, dmarc, arc, auth, iprev), and
 * the helpers a border MTA needs to remove forged fields that carry its
 * own authserv-id (RFC 8601 section 5).
 *
 * The same model serves ARC-Authentication-Results (RFC 8617 4.1.1): an
 * "i=N;" instance prefix, then the same payload.
 *
 * Text in the model is decoded: quoted-strings lose their quotes and
 * backslashes, folding (CRLF before WSP) is removed. Keywords (method,
 * result, ptype, property) come out of the parser in lower case, since
 * they are case-insensitive; authserv-id and values are kept as written.
 */
#ifndef MAILSEC_AUTHRES_H
#define MAILSEC_AUTHRES_H

#include <stdbool.h>
#include <stddef.h>

#include <mailsec/err.h>
#include <mailsec/msg.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Parser limits. Reaching one is an error (MAILSEC_ELIMIT), never a
 * truncation. RFC 8601 sets none; these are far above real fields. */
#define MAILSEC_AUTHRES_MAX_LEN		65536	/* octets of one value
						   (the message model's
						   default field limit) */
#define MAILSEC_AUTHRES_MAX_RESULTS	64	/* resinfo per field */
#define MAILSEC_AUTHRES_MAX_PROPS	32	/* propspec per resinfo */
#define MAILSEC_AUTHRES_MAX_NESTING	8	/* comment depth, RFC 5322
						   3.2.2 nests without bound */
#define MAILSEC_AUTHRES_MAX_VERSION	999999	/* a method-version */
#define MAILSEC_AUTHRES_MAX_INSTANCE	50	/* ARC i=, RFC 8617 4.2.1 */

/* The shortest header.b prefix worth reporting (RFC 6008 section 4:
 * enough to tell signatures apart; OpenDKIM reports 8). */
#define MAILSEC_AUTHRES_MIN_B_PREFIX	8

/* One "ptype.property=value" (RFC 8601 2.2, 2.3). */
struct mailsec_authres_prop {
	char *ptype;		/* "smtp", "header", "body", "policy", or an
				   unknown one (kept; RFC 8601 2.3 says
				   consumers ignore it) */
	char *property;		/* "mailfrom", "d", "dmarc", ... */
	char *value;		/* decoded; "user@example.org",
				   "@example.org", a token, or the text of
				   a quoted-string */
	char *comment;		/* the first comment after the value, or
				   NULL */
};

/* One resinfo: "method[/version]=result [reason=...] props..." */
struct mailsec_authres_result {
	char *method;			/* "spf", "dkim", ... */
	unsigned method_version;	/* "dkim/1": 1; 0 when absent */
	char *result;			/* "pass", "fail", ... */
	char *reason;			/* decoded reason=, or NULL */
	char *comment;			/* the first comment after the
					   result, or NULL */
	struct mailsec_authres_prop *props;
	size_t nprops;
	size_t nignored;		/* "key=value" items without a
					   ptype that the lenient parser
					   skipped (see
					   MAILSEC_AUTHRES_STRICT); not
					   compared by _equal */
};

/* One Authentication-Results (or ARC-Authentication-Results) field. */
struct mailsec_authres {
	unsigned instance;		/* ARC i= (1..50); 0: a plain AR
					   field */
	char *authserv_id;		/* as written, decoded; compare
					   case-insensitively */
	unsigned version;		/* authres-version; 0 when absent
					   (which means 1) */
	char *comment;			/* first comment after authserv-id,
					   or NULL */
	bool none;			/* "; none": nothing was checked
					   (then nresults is 0) */
	struct mailsec_authres_result *results;
	size_t nresults;
};

/* ---- model ------------------------------------------------------------- */

/*
 * A new, empty field for authserv_id (copied): none is true until
 * mailsec_authres_add_result() adds a result; a field without results is
 * generated as "authserv-id; none". *out: mailsec_authres_free().
 * MAILSEC_EINVAL (NULL or empty authserv_id, NULL out), MAILSEC_ENOMEM.
 */
MAILSEC_API mailsec_err mailsec_authres_new(const char *authserv_id,
    struct mailsec_authres **out);

/* Frees ar and everything it holds; NULL is a no-op. */
MAILSEC_API void mailsec_authres_free(struct mailsec_authres *ar);

/*
 * Appends a result "method=result" (both copied). The functions below
 * that take no index work on the last result added. Pointers into
 * ar->results are valid until the next add. MAILSEC_EINVAL (NULL
 * argument), MAILSEC_ELIMIT (MAILSEC_AUTHRES_MAX_RESULTS), MAILSEC_ENOMEM.
 * Syntax and vocabulary are checked by the generator, not here.
 */
MAILSEC_API mailsec_err mailsec_authres_add_result(struct mailsec_authres *ar,
    const char *method, const char *result);

/* Sets the last result's reason (copied; NULL removes it). MAILSEC_EINVAL
 * when there is no result yet. */
MAILSEC_API mailsec_err mailsec_authres_set_reason(struct mailsec_authres *ar,
    const char *reason);

/* Sets the last result's comment (copied; NULL removes it). */
MAILSEC_API mailsec_err mailsec_authres_set_comment(
    struct mailsec_authres *ar, const char *comment);

/* Appends "ptype.property=value" (and a comment, may be NULL) to the last
 * result; all copied. MAILSEC_ELIMIT at MAILSEC_AUTHRES_MAX_PROPS. */
MAILSEC_API mailsec_err mailsec_authres_add_prop(struct mailsec_authres *ar,
    const char *ptype, const char *property, const char *value,
    const char *comment);

/*
 * True when a and b hold the same field: instance, authserv-id (exact),
 * version, none, comments, and every result with its properties in
 * order. nignored is not compared (the generator never writes skipped
 * items). Two NULLs are equal.
 */
MAILSEC_API bool mailsec_authres_equal(const struct mailsec_authres *a,
    const struct mailsec_authres *b);

/* ---- parser ------------------------------------------------------------ */

/* Flags for mailsec_authres_parse(). */
#define MAILSEC_AUTHRES_STRICT	0x1u	/* exactly the RFC 8601 grammar */
#define MAILSEC_AUTHRES_AAR	0x2u	/* an ARC-Authentication-Results
					   value: "i=N;" first (RFC 8617
					   4.1.1) */

/*
 * Parses the value of one Authentication-Results field (the text after
 * the colon, folded or unfolded, a final CRLF allowed) in (p, len):
 *
 *   authres-header = [CFWS] authserv-id [ CFWS authres-version ]
 *                    ( no-result / 1*resinfo ) [CFWS]
 *
 * with comments (nested) and folding wherever CFWS may stand, quoted-
 * string authserv-id, reason and values, method versions ("dkim/1"),
 * "none", and unknown methods and ptypes kept. UTF-8 (RFC 6532) is
 * accepted in comments and quoted-strings.
 *
 * Without MAILSEC_AUTHRES_STRICT the parser accepts two things real
 * fields carry that the grammar does not: an unquoted value with '/',
 * '=' or '?' (DKIM header.b base64 prefixes, "header.b=Qgi/FoC0"), and
 * "key=value" items without a ptype after a result (Microsoft's
 * "action=none", "version=TLSv1.2"), which are skipped and counted in
 * nignored. With the flag both are syntax errors.
 *
 * On success *out is the model (mailsec_authres_free()). On error *out
 * is NULL and diag (if non-NULL) holds the byte offset into (p, len) and
 * the reason:
 *   MAILSEC_ESYNTAX       not the grammar above
 *   MAILSEC_ELIMIT        a MAILSEC_AUTHRES_MAX_* limit
 *   MAILSEC_EUNSUPPORTED  an authres-version other than 1 (RFC 8601 2.6:
 *                         what follows may not be in a known format)
 *   MAILSEC_EINVAL        out is NULL, or p is NULL with len > 0
 *   MAILSEC_ENOMEM
 */
MAILSEC_API mailsec_err mailsec_authres_parse(const char *p, size_t len,
    unsigned flags, struct mailsec_authres **out, struct mailsec_diag *diag);

/*
 * Only the authserv-id of the field value in (p, len) (after the "i=N;"
 * prefix with MAILSEC_AUTHRES_AAR), decoded, into *out (free()). The
 * rest of the field is not looked at, so a field that does not parse
 * still says whom it claims to come from. MAILSEC_ESYNTAX when there is
 * no authserv-id.
 */
MAILSEC_API mailsec_err mailsec_authres_authserv_id(const char *p,
    size_t len, unsigned flags, char **out, struct mailsec_diag *diag);

/*
 * True when the Authentication-Results value in (p, len) carries
 * authserv_id: ASCII case-insensitive, one trailing dot on either side
 * ignored (a forger's "EXAMPLE.COM." claims the same ADMD). Whether the
 * rest of the field parses does not matter (RFC 8601 section 5: remove
 * what claims to come from inside). False for NULL arguments or a field
 * without an authserv-id.
 */
MAILSEC_API bool mailsec_authres_is_ours(const char *p, size_t len,
    const char *authserv_id);

/*
 * Index of the first Authentication-Results field at or after start in
 * msg that carries authserv_id (as mailsec_authres_is_ours()), or
 * (size_t)-1. Iterate with
 *   for (i = mailsec_authres_msg_find(m, id, 0); i != (size_t)-1;
 *       i = mailsec_authres_msg_find(m, id, i + 1))
 */
MAILSEC_API size_t mailsec_authres_msg_find(const struct mailsec_msg *msg,
    const char *authserv_id, size_t start);

/* Number of Authentication-Results fields in msg carrying authserv_id. */
MAILSEC_API size_t mailsec_authres_msg_count(const struct mailsec_msg *msg,
    const char *authserv_id);

/* ---- vocabularies ------------------------------------------------------ */

/*
 * The result words of a known method (RFC 8601 2.7 and the IANA "Email
 * Authentication Result Names" registry: spf and sender-id, dkim and
 * domainkeys, dmarc (RFC 9989 9.2), arc (RFC 8617 10.1), auth, iprev),
 * NULL-terminated; NULL for a method this library does not know. The
 * method name is compared case-insensitively.
 */
MAILSEC_API const char *const *mailsec_authres_result_words(
    const char *method);

/* True when method is known (mailsec_authres_result_words() != NULL). */
MAILSEC_API bool mailsec_authres_method_known(const char *method);

/*
 * True when result may be generated for method: a word of its vocabulary
 * for a known method, any Keyword for an unknown one.
 */
MAILSEC_API bool mailsec_authres_result_valid(const char *method,
    const char *result);

/* ---- generator --------------------------------------------------------- */

/* Flags for struct mailsec_authres_gen. */
#define MAILSEC_AUTHRES_GEN_ONELINE	0x1u	/* never fold */

/* How to lay the value out. NULL options mean the defaults shown. */
struct mailsec_authres_gen {
	size_t first_col;	/* columns the caller writes before the
				   value on the first line (24, the length
				   of "Authentication-Results: ") */
	size_t width;		/* fold before passing this column (78;
				   RFC 5322 2.1.1); 0 means 78 */
	const char *eol;	/* line break of a fold ("\r\n"); NULL
				   means "\r\n" */
	size_t b_prefix;	/* dkim header.b values cut to this many
				   characters; 0 keeps them whole, else at
				   least MAILSEC_AUTHRES_MIN_B_PREFIX */
	unsigned flags;		/* MAILSEC_AUTHRES_GEN_* */
};

#define MAILSEC_AUTHRES_GEN_DEFAULTS { 24, 78, "\r\n", 0, 0 }

/*
 * Writes the value of an Authentication-Results field for ar (without
 * the field name and without a final line break) into *out (free(); its
 * length in *outlen when outlen is non-NULL).
 *
 * Values are written bare when they are a MIME token (RFC 2045 5.1) or
 * "[local-part] @ domain-name", else as a quoted-string with '\' and '"'
 * escaped; comments escape '(', ')' and '\'. Results are separated by
 * "; ". Lines fold before passing opt->width columns, only where CFWS
 * may stand (between items, with CRLF TAB, the TAB counted as 8
 * columns, or at a space inside a comment); a token or quoted-string is
 * never broken, so one longer than the width stands alone on its line.
 * Reasons and comments have control bytes and invalid UTF-8 replaced by
 * '?'.
 *
 * MAILSEC_EINVAL (with diag) when ar cannot be written: empty authserv-
 * id, a method, result, ptype or property that is not a Keyword (RFC
 * 5321 4.1.2), a result word unknown for a known method
 * (mailsec_authres_result_valid()), a value or authserv-id holding
 * control bytes or invalid UTF-8, version other than 0 or 1, instance
 * above 50, b_prefix below 8; MAILSEC_ELIMIT when a line would pass 998
 * octets (RFC 5322 2.1.1); MAILSEC_ENOMEM.
 */
MAILSEC_API mailsec_err mailsec_authres_generate(
    const struct mailsec_authres *ar, const struct mailsec_authres_gen *opt,
    char **out, size_t *outlen, struct mailsec_diag *diag);

#ifdef __cplusplus
}
#endif
#endif /* MAILSEC_AUTHRES_H */
