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
 * by the list. */
struct mailsec_addr {
	char *local;		/* local-part, quoting removed
				   ("a b"@x -> a b) */
	char *domain;		/* domain as written (comments and folding
				   removed); a domain-literal keeps brackets */
	char *domain_norm;	/* mailsec_domain_normalize() of domain, or
				   NULL when it is not a valid domain name
				   (literals, bad IDN) */
	char *display;		/* display-name raw text (encoded words kept
				   as written), or NULL when none */
	char *group;		/* name of the enclosing group, or NULL */
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
 * contributes none). On error (MAILSEC_ESYNTAX, MAILSEC_ELIMIT), *out is
 * untouched and diag says where and why. On success the caller frees
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
	struct mailsec_diag diag;	/* for UNPARSEABLE: where and why */
};

/*
 * Finds the author of msg. Never picks "the first address" silently: the
 * status says which case it is and every address is listed. Returns
 * MAILSEC_OK whatever the status (only ENOMEM fails); free *out with
 * mailsec_author_free().
 */
MAILSEC_API mailsec_err mailsec_msg_author(const struct mailsec_msg *msg,
    struct mailsec_author **out);

MAILSEC_API void mailsec_author_free(struct mailsec_author *author);

#ifdef __cplusplus
}
#endif
#endif /* MAILSEC_ADDR_H */
