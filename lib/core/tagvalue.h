/*
 * lib/core/tagvalue.h - the one tag=value list tokenizer (RFC 6376 3.2),
 * shared by DKIM signatures and key records, ARC sets and DMARC records.
 *
 *   tag-list  =  tag-spec *( ";" tag-spec ) [ ";" ]
 *   tag-spec  =  [FWS] tag-name [FWS] "=" [FWS] tag-value [FWS]
 *   tag-name  =  ALPHA *ALNUMPUNC
 *   tag-value =  [ tval *( 1*(WSP / FWS) tval ) ]
 *   tval      =  1*VALCHAR        (VALCHAR: %x21-3A / %x3C-7E)
 *
 * The input may be a raw header field value with folding (CRLF WSP); a
 * CRLF not followed by WSP is refused. Duplicate tag names are refused
 * (RFC 6376 3.2: "Tags with duplicate names MUST NOT occur"). Tag names
 * are case-sensitive; interpretation of values is the caller's.
 */
#ifndef MS_TAGVALUE_H
#define MS_TAGVALUE_H

#include <stddef.h>
#include <string.h>

#include <mailsec/err.h>
#include <mailsec/str.h>

/* A tag list longer than this many tags is refused with MAILSEC_ELIMIT;
 * DKIM-Signature defines 14 tags, key records 7. */
#define MS_TAGLIST_MAX_TAGS 64

struct ms_tag {
	struct mailsec_str name;	/* tag name */
	struct mailsec_str value;	/* value, surrounding FWS trimmed
					   (inner FWS kept as written) */
	size_t raw_start;		/* offset just after '=' */
	size_t raw_end;			/* offset of the ';' ending the tag,
					   or the input length */
};

struct ms_taglist {
	size_t count;
	struct ms_tag tags[MS_TAGLIST_MAX_TAGS];
};

/*
 * Tokenizes (p, len) into tl. Views point into p. Errors: MAILSEC_ESYNTAX
 * (with the offset in diag) for a malformed list or a duplicate tag,
 * MAILSEC_ELIMIT for more than MS_TAGLIST_MAX_TAGS tags.
 * An empty list (or only FWS) is valid and has no tags.
 */
mailsec_err ms_taglist_parse(const char *p, size_t len,
    struct ms_taglist *tl, struct mailsec_diag *diag);

/* The tag named name (case-sensitive), or NULL. Inline: callers pass
 * literals, whose length the compiler knows. */
static inline const struct ms_tag *
ms_taglist_get(const struct ms_taglist *tl, const char *name)
{
	size_t i, n = strlen(name);

	for (i = 0; i < tl->count; i++)
		if (tl->tags[i].name.len == n &&
		    memcmp(tl->tags[i].name.ptr, name, n) == 0)
			return &tl->tags[i];
	return NULL;
}

/*
 * Copies value without any FWS (SP, HTAB, CR, LF) into out (at most outsz
 * bytes); returns the length, or (size_t)-1 when it does not fit. For
 * values where whitespace is insignificant (base64, h= lists).
 */
size_t ms_tag_strip_fws(struct mailsec_str value, char *out, size_t outsz);

#endif /* MS_TAGVALUE_H */
