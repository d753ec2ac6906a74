/*
 * lib/core/base64.c - one base64 decoder (RFC 4648 4) for every area, in
 * two modes: strict, as SASL wants it (RFC 4954 4), and lenient with
 * folding white space, as DKIM tag values carry it (RFC 6376 2.6, 3.5);
 * one encoder, into the caller's buffer (SASL credentials leave no copy
 * behind; DKIM's ms_b64_encode appends its output to an ms_buf).
 */
#include "core/core.h"

/* Base64 values; 64: FWS (CR, LF, SP, TAB), 65: '=', 66: anything else. */
static const unsigned char b64_tab[256] = {
	66, 66, 66, 66, 66, 66, 66, 66, 66, 64, 64, 66, 66, 64, 66, 66,
	66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66,
	64, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 62, 66, 66, 66, 63,
	52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 66, 66, 66, 65, 66, 66,
	66, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
	15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 66, 66, 66, 66, 66,
	66, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
	41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 66, 66, 66, 66, 66,
	66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66,
	66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66,
	66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66,
	66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66,
	66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66,
	66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66,
	66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66,
	66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66,
};

size_t
ms_base64_decode(const char *p, size_t len, unsigned mode, unsigned char *out,
    size_t outsz)
{
	const unsigned char *s = (const unsigned char *)p;
	bool strict = mode == MS_B64_STRICT;
	size_t i = 0, n = 0, pad = 0;
	uint32_t acc = 0;
	unsigned bits = 0, v;

	/* Strict: whole groups of four, so '=' can only end the last. */
	if (strict && len % 4 != 0)
		return (size_t)-1;
	for (;;) {
		/* Four data characters at a time while there is room: the
		 * common case of a DKIM b= value between its folds. */
		while (bits == 0 && pad == 0 && i + 4 <= len &&
		    n + 3 <= outsz) {
			uint32_t q = (uint32_t)b64_tab[s[i]] << 18 |
			    (uint32_t)b64_tab[s[i + 1]] << 12 |
			    (uint32_t)b64_tab[s[i + 2]] << 6 | b64_tab[s[i + 3]];

			if ((b64_tab[s[i]] | b64_tab[s[i + 1]] |
			    b64_tab[s[i + 2]] | b64_tab[s[i + 3]]) >= 64)
				break;
			out[n] = (unsigned char)(q >> 16);
			out[n + 1] = (unsigned char)(q >> 8);
			out[n + 2] = (unsigned char)q;
			n += 3;
			i += 4;
		}
		if (i >= len)
			break;
		v = b64_tab[s[i++]];
		if (v == 64) {
			if (strict)
				return (size_t)-1;
			continue;	/* FWS */
		}
		if (v == 65) {
			if (++pad > 2)
				return (size_t)-1;
			continue;
		}
		if (v == 66 || pad > 0)
			return (size_t)-1;	/* not base64; data after '=' */
		acc = (acc << 6) | v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n >= outsz)
				return (size_t)-1;
			out[n++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	/* Leftover bits must be a valid tail: 0, 2 or 4 bits; strict wants
	 * them zero (RFC 4648 3.5). With whole groups of four the number of
	 * '=' then matches the tail. */
	if (bits == 6 || (strict && acc != 0))
		return (size_t)-1;
	return n;
}

mailsec_err
ms_base64_encode(const unsigned char *p, size_t len, char *out, size_t outsz,
    size_t *outlen)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i, o = 0, need;
	uint32_t v;

	/* 4 * ceil(len / 3) characters and the NUL must fit. */
	if (!ms_size_mul(len / 3 + (len % 3 != 0), 4, &need) || need >= outsz)
		return MAILSEC_ELIMIT;
	for (i = 0; i + 2 < len; i += 3) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		out[o++] = tab[v >> 18];
		out[o++] = tab[(v >> 12) & 63];
		out[o++] = tab[(v >> 6) & 63];
		out[o++] = tab[v & 63];
	}
	if (i < len) {
		v = (uint32_t)p[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)p[i + 1] << 8;
		out[o++] = tab[v >> 18];
		out[o++] = tab[(v >> 12) & 63];
		out[o++] = i + 1 < len ? tab[(v >> 6) & 63] : '=';
		out[o++] = '=';
	}
	out[o] = '\0';
	if (outlen != NULL)
		*outlen = o;
	return MAILSEC_OK;
}
