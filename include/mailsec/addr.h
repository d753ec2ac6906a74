/*
 * mailsec/addr.h - address lists (RFC 5322 section 3.4, obsolete forms of
 * section 4.4, RFC 6532 UTF-8) and the author of a message as DMARC needs
 * it (RFC 9989 section 4.4 and the From cases of its section 11).
 */
#ifndef MAILSEC_ADDR_H
#define MAILSEC_ADDR_H

#include <stddef.h>

#include <mailsec/err.h>
#include <mailsec/msg.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One addr-spec found in a list. Strings are NUL-terminated copies owned
 * by the list. local and domain are never NULL (local may be "" for
 * ""@x); display and group are never "" (NULL instead). */
struct mailsec_addr {
	char *local;		/* local-part, quoting removed
				   ("a b"@x -> a b); obs-local-part words
				   joined by single dots, CFWS removed
				   (john . doe -> john.doe) */
	char *domain;		/* domain as written (comments and folding
				   removed); a domain-literal keeps brackets;
				   "example.org." keeps its final dot */
	char *domain_norm;	/* mailsec_domain_normalize() of domain, or
				   NULL when it is not a valid domain name
				   (literals, bad IDN) */
	char *display;		/* display-name raw text: the bytes from its
				   first word to its last, as written (quotes,
				   escapes, inner comments and encoded words
				   kept), or NULL when none */
	char *group;		/* raw name of the enclosing group (same form
				   as display, at most 998 bytes), or NULL */
};

struct mailsec_addr_list {
	size_t count;
	struct mailsec_addr *addrs;
};

/* Hard limit on addresses in one list. */
#define MAILSEC_ADDR_MAX 1000

/*
 * Parses an address-list field value (the unfolded value of From, Sender,
 * Reply-To, To, Cc). Groups contribute their members (an empty group
 * contributes none, but counts as the list's one required address, so
 * "undisclosed-recipients:;" parses to count 0). Obsolete forms of RFC
 * 5322 4.4 are accepted; forms RFC 5322 refuses are refused, notably an
 * unquoted ',' in a display name ("Doe, John <j@x>": "Doe" is not an
 * address), "<>", an address without "@domain", a missing '>' or ';',
 * trailing text after an address, comments nested over 16 deep. The
 * one leniency is a final dot in a domain ("user@example.org.").
 * On error (MAILSEC_ESYNTAX, MAILSEC_ELIMIT: more than MAILSEC_ADDR_MAX
 * addresses or an over-long group name; MAILSEC_EINVAL: out is NULL),
 * *out is untouched and diag says where (byte offset into p; line 0) and
 * why (the text does not repeat the offset). On success the caller frees
 * *out with mailsec_addr_list_free().
 */
MAILSEC_API mailsec_err mailsec_addr_parse_list(const char *p, size_t len,
    struct mailsec_addr_list **out, struct mailsec_diag *diag);

MAILSEC_API void mailsec_addr_list_free(struct mailsec_addr_list *list);

/* What DMARC needs to know about From. */
enum mailsec_author_status {
	MAILSEC_AUTHOR_OK = 0,		/* one From field, one address with
					   a valid domain */
	MAILSEC_AUTHOR_NO_FROM,		/* no From field */
	MAILSEC_AUTHOR_MULTIPLE_FROM,	/* several From fields */
	MAILSEC_AUTHOR_MULTIPLE_ADDRS,	/* one From, several addresses */
	MAILSEC_AUTHOR_UNPARSEABLE	/* From does not parse, holds no
					   address, or an address without a
					   usable domain */
};

/* "ok", "no_from", "multiple_from", "multiple_addresses", "unparseable" */
MAILSEC_API const char *mailsec_author_status_name(
    enum mailsec_author_status s);

struct mailsec_author {
	enum mailsec_author_status status;
	size_t from_fields;		/* From fields in the message */
	struct mailsec_addr_list *addrs;/* every address of every From
					   field that parsed (never NULL;
					   may be empty) */
	size_t ndomains;		/* distinct normalized author
					   domains in addrs */
	char **domains;			/* those domains, in first-seen
					   order (DMARC may evaluate each) */
	struct mailsec_diag diag;	/* for UNPARSEABLE: where and why;
					   also set for MULTIPLE_FROM when a
					   field did not parse. Text starts
					   "From field N, offset M:" for a
					   syntax error (offset: into that
					   field's value), or "address N" for
					   an unusable domain (offset 0) */
};

/*
 * Finds the author of msg (RFC 9989 3.2.2, 5.3.1, 11.5). Never picks "the
 * first address" silently: the status says which case it is and every
 * address is listed. Precedence: NO_FROM, MULTIPLE_FROM (every field is
 * still parsed and collected), then for the one field UNPARSEABLE (also
 * when only one of several addresses lacks a usable domain), then
 * MULTIPLE_ADDRS (even when all share one domain: ndomains says so),
 * then OK. addrs holds at most MAILSEC_ADDR_MAX addresses in all; a
 * From field that would exceed it is not collected and diag says so.
 * The author holds copies: msg may be freed first. Returns MAILSEC_OK
 * whatever the status (only ENOMEM fails; EINVAL for NULL arguments);
 * free *out with mailsec_author_free().
 */
MAILSEC_API mailsec_err mailsec_msg_author(const struct mailsec_msg *msg,
    struct mailsec_author **out);

MAILSEC_API void mailsec_author_free(struct mailsec_author *author);

#ifdef __cplusplus
}
#endif
#endif /* MAILSEC_ADDR_H */
