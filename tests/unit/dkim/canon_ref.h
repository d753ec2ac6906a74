/*
 * tests/unit/dkim/canon_ref.h - the reference body canonicalizers the
 * DKIM canonicalization tests and fuzz/fuzz_dkim_canon.c compare
 * lib/dkim/canon.c with, written from RFC 6376 3.4.3 / 3.4.4 the plain
 * way: split at CRLF, transform each line, drop trailing empty lines;
 * simple turns nothing into one CRLF.
 */
#ifndef MS_TEST_CANON_REF_H
#define MS_TEST_CANON_REF_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include <mailsec/dkim.h>

/* Canonicalizes the body (in, n) by c into out (room for 2n + 2 bytes);
 * returns its length. */
static size_t
canon_ref_body(enum mailsec_dkim_canon c, const char *in, size_t n,
    char *out)
{
	size_t i = 0, o = 0, keep = 0, start, end, k, before;
	bool wsp;

	while (i < n) {
		start = i;
		while (i < n && !(in[i] == '\r' && i + 1 < n &&
		    in[i + 1] == '\n'))
			i++;
		end = i;
		before = o;
		if (c == MAILSEC_DKIM_RELAXED) {
			wsp = false;
			for (k = start; k < end; k++) {
				if (in[k] == ' ' || in[k] == '\t') {
					wsp = true;
					continue;
				}
				if (wsp)
					out[o++] = ' ';
				wsp = false;
				out[o++] = in[k];
			}
		} else {
			memcpy(out + o, in + start, end - start);
			o += end - start;
		}
		out[o++] = '\r';
		out[o++] = '\n';
		if (o - before > 2)	/* not an empty line */
			keep = o;
		if (i < n)
			i += 2;		/* the CRLF */
	}
	if (c == MAILSEC_DKIM_SIMPLE && keep == 0) {
		out[0] = '\r';
		out[1] = '\n';
		keep = 2;
	}
	return keep;
}

#endif /* MS_TEST_CANON_REF_H */
