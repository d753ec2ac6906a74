/*
 * lib/core/tagvalue.c - tag=value list tokenizer, RFC 6376 section 3.2.
 */
#include <string.h>

#include "core/core.h"
#include "core/tagvalue.h"

static int
is_valchar(unsigned char c)
{
	return (c >= 0x21 && c <= 0x3a) || (c >= 0x3c && c <= 0x7e);
}

/*
 * Skips FWS from *i; a CRLF must be followed by WSP (RFC 5322 FWS).
 * Returns 0, or -1 on a CR/LF that is not folding.
 */
static int
skip_fws(const char *p, size_t len, size_t *i)
{
	size_t j = *i;

	while (j < len) {
		if (ms_iswsp((unsigned char)p[j])) {
			j++;
		} else if (p[j] == '\r' || p[j] == '\n') {
			if (p[j] == '\r') {
				if (j + 1 >= len || p[j + 1] != '\n')
					return -1;
				j++;
			}
			j++;
			if (j >= len || !ms_iswsp((unsigned char)p[j]))
				return -1;
		} else {
			break;
		}
	}
	*i = j;
	return 0;
}

mailsec_err
ms_taglist_parse(const char *p, size_t len, struct ms_taglist *tl,
    struct mailsec_diag *diag)
{
	size_t i = 0, k, start;
	struct ms_tag *t;

	tl->count = 0;
	if (p == NULL && len > 0)
		return MAILSEC_EINVAL;
	for (;;) {
		if (skip_fws(p, len, &i) < 0)
			return ms_diag(diag, MAILSEC_ESYNTAX, i, 0,
			    "line break that is not folding whitespace");
		if (i >= len)
			break;
		/* An empty tag-spec is only allowed as the optional final
		 * ';', which the loop consumed already. */
		if (!ms_isalpha((unsigned char)p[i]))
			return ms_diag(diag, MAILSEC_ESYNTAX, i, 0,
			    "tag name expected");
		if (tl->count >= MS_TAGLIST_MAX_TAGS)
			return ms_diag(diag, MAILSEC_ELIMIT, i, 0,
			    "more than %d tags", MS_TAGLIST_MAX_TAGS);
		t = &tl->tags[tl->count];
		start = i;
		while (i < len && (ms_isalnum((unsigned char)p[i]) ||
		    p[i] == '_'))
			i++;
		t->name.ptr = p + start;
		t->name.len = i - start;
		if (skip_fws(p, len, &i) < 0)
			return ms_diag(diag, MAILSEC_ESYNTAX, i, 0,
			    "line break that is not folding whitespace");
		if (i >= len || p[i] != '=')
			return ms_diag(diag, MAILSEC_ESYNTAX, i, 0,
			    "'=' expected after tag name '%.*s'",
			    (int)t->name.len, t->name.ptr);
		i++;
		t->raw_start = i;
		if (skip_fws(p, len, &i) < 0)
			return ms_diag(diag, MAILSEC_ESYNTAX, i, 0,
			    "line break that is not folding whitespace");
		t->value.ptr = p + i;
		t->value.len = 0;
		/* tval *( FWS tval ): remember the end of the last tval. */
		while (i < len && p[i] != ';') {
			if (is_valchar((unsigned char)p[i])) {
				i++;
				t->value.len = (size_t)(p + i - t->value.ptr);
				continue;
			}
			if (ms_iswsp((unsigned char)p[i]) || p[i] == '\r' ||
			    p[i] == '\n') {
				if (skip_fws(p, len, &i) < 0)
					return ms_diag(diag, MAILSEC_ESYNTAX,
					    i, 0, "line break that is not "
					    "folding whitespace");
				continue;
			}
			return ms_diag(diag, MAILSEC_ESYNTAX, i, 0,
			    "invalid byte 0x%02x in the value of tag '%.*s'",
			    (unsigned char)p[i], (int)t->name.len,
			    t->name.ptr);
		}
		t->raw_end = i;
		for (k = 0; k < tl->count; k++)
			if (tl->tags[k].name.len == t->name.len &&
			    memcmp(tl->tags[k].name.ptr, t->name.ptr,
			    t->name.len) == 0)
				return ms_diag(diag, MAILSEC_ESYNTAX, start, 0,
				    "duplicate tag '%.*s'", (int)t->name.len,
				    t->name.ptr);
		tl->count++;
		if (i >= len)
			break;
		i++;	/* the ';' */
	}
	return MAILSEC_OK;
}

const struct ms_tag *
ms_taglist_get(const struct ms_taglist *tl, const char *name)
{
	size_t i, n = strlen(name);

	for (i = 0; i < tl->count; i++)
		if (tl->tags[i].name.len == n &&
		    memcmp(tl->tags[i].name.ptr, name, n) == 0)
			return &tl->tags[i];
	return NULL;
}

size_t
ms_tag_strip_fws(struct mailsec_str value, char *out, size_t outsz)
{
	size_t i, n = 0;
	char c;

	for (i = 0; i < value.len; i++) {
		c = value.ptr[i];
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			continue;
		if (n >= outsz)
			return (size_t)-1;
		out[n++] = c;
	}
	return n;
}
