/*
 * fuzz/zone_txt.h: fuzz input as zone-file text, for the targets that
 * resolve it through the zone backend (fuzz_spf_record, fuzz_dmarc_record).
 */
#ifndef MAILSEC_FUZZ_ZONE_TXT_H
#define MAILSEC_FUZZ_ZONE_TXT_H

#include <stdio.h>
#include <string.h>

/* The room zone_txt needs for LEN octets under a name of up to 38. */
#define ZONE_TXT_CAP(len)	(40 + (len) * 4 + (len) / 255 * 3)

/*
 * Writes "NAME TXT \"...\"\n" at Z: the LEN octets at P as one TXT RR,
 * every octet escaped (\DDD), split into 255-octet character-strings.
 * CAP must be at least ZONE_TXT_CAP(len). Returns the length written.
 */
static inline size_t
zone_txt(char *z, size_t cap, const char *name, const char *p, size_t len)
{
	size_t i, n = (size_t)snprintf(z, cap, "%s TXT \"", name);

	for (i = 0; i < len; i++) {
		if (i > 0 && i % 255 == 0) {
			memcpy(z + n, "\" \"", 3);
			n += 3;
		}
		n += (size_t)snprintf(z + n, cap - n, "\\%03u",
		    (unsigned char)p[i]);
	}
	memcpy(z + n, "\"\n", 2);
	return n + 2;
}

#endif
