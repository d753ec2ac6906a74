/*
 * fuzz/fuzz_dkim_taglist.c - libFuzzer target for the tag=value tokenizer
 * (lib/core/tagvalue.c, RFC 6376 3.2) and the DKIM-Signature parser
 * (lib/dkim/sig.c, RFC 6376 3.5).
 *
 * Checks the tokenizer's invariants on success: every name and value
 * inside the input, raw spans ordered and inside, names unique, values of
 * VALCHAR and FWS only. Then parses the same bytes as a signature.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "core/tagvalue.h"
#include "dkim/dkim_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)	do { if (!(c)) abort(); } while (0)

static int
inside(struct mailsec_str s, const char *p, size_t len)
{
	return s.ptr >= p && s.len <= len &&
	    (size_t)(s.ptr - p) <= len - s.len;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	struct ms_taglist tl;
	struct ms_dkim_sig *sig;
	char why[200];
	size_t i, j, k;

	if (ms_taglist_parse(p, size, &tl, NULL) == MAILSEC_OK) {
		CHECK(tl.count <= MS_TAGLIST_MAX_TAGS);
		for (i = 0; i < tl.count; i++) {
			const struct ms_tag *t = &tl.tags[i];

			CHECK(inside(t->name, p, size) && t->name.len > 0);
			CHECK(inside(t->value, p, size));
			CHECK(t->raw_start <= t->raw_end && t->raw_end <= size);
			CHECK((size_t)(t->value.ptr - p) >= t->raw_start);
			CHECK((size_t)(t->value.ptr - p) + t->value.len <=
			    t->raw_end);
			for (k = 0; k < t->value.len; k++) {
				unsigned char c = (unsigned char)t->value.ptr[k];

				CHECK(c != ';' && (c == ' ' || c == '\t' ||
				    c == '\r' || c == '\n' ||
				    (c >= 0x21 && c <= 0x7e)));
			}
			for (j = 0; j < i; j++)
				CHECK(!(tl.tags[j].name.len == t->name.len &&
				    memcmp(tl.tags[j].name.ptr, t->name.ptr,
				    t->name.len) == 0));
			CHECK(ms_taglist_get(&tl, "") == NULL);
		}
	}
	sig = malloc(sizeof *sig);
	if (sig == NULL)
		return 0;
	why[0] = '\0';
	if (ms_dkim_sig_parse(p, size, MS_DKIM_SIG_DKIM, sig, why,
	    sizeof why) == MAILSEC_DKIM_R_OK) {
		CHECK(sig->domain.len > 0 && sig->selector.len > 0);
		CHECK(sig->bhlen > 0 && sig->blen > 0);
		CHECK(sig->b_start <= sig->b_end && sig->b_end <= size);
	} else {
		CHECK(why[0] != '\0');
	}
	free(sig);
	return 0;
}
