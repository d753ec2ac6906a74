/*
 * lib/report/zip.c - the compressed containers reports arrive in, read
 * with every size bounded: gzip (RFC 1952, through zlib) and zip
 * archives (PKWARE APPNOTE.TXT 4.3: end of central directory record,
 * central directory headers, local file headers; members stored or
 * deflated, RFC 1951). Member names are kept as labels only: nothing
 * here touches the file system.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "core/core.h"
#include "report/report_int.h"

/* The end of central directory record: 22 bytes and a comment of at
 * most 65535 (APPNOTE 4.3.16). */
#define EOCD_LEN	22
#define EOCD_SCAN	(EOCD_LEN + 65535)
#define CDH_LEN		46	/* central directory header (4.3.12) */
#define LFH_LEN		30	/* local file header (4.3.7) */

static uint16_t
le16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t
le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

mailsec_err
ms_report_gunzip(const void *in, size_t len, size_t max, char **out,
    size_t *outlen, struct mailsec_diag *diag)
{
	const unsigned char *p = in;
	z_stream zs;
	char *buf = NULL, *nb;
	size_t cap, used = 0, pos = 0, chunk;
	mailsec_err err = MAILSEC_OK;
	int ret;

	*out = NULL;
	*outlen = 0;
	memset(&zs, 0, sizeof zs);
	if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
		return MAILSEC_ENOMEM;
	/* Start near a typical report's ratio; grow to max + 1 so that
	 * one byte past max is seen. */
	cap = len < max / 8 ? len * 8 + 4096 : max;
	if (cap > max)
		cap = max;
	if ((buf = malloc(cap + 2)) == NULL) {
		err = MAILSEC_ENOMEM;
		goto out;
	}
	for (;;) {
		chunk = len - pos < UINT_MAX ? len - pos : UINT_MAX;
		zs.next_in = (unsigned char *)(uintptr_t)(p + pos);
		zs.avail_in = (unsigned)chunk;
		if (cap + 1 - used == 0 || used > max) {
			err = ms_diag(diag, MAILSEC_ELIMIT, pos, 0, "gzip "
			    "inflates past %zu bytes", max);
			goto out;
		}
		chunk = cap + 1 - used < UINT_MAX ? cap + 1 - used : UINT_MAX;
		zs.next_out = (unsigned char *)buf + used;
		zs.avail_out = (unsigned)chunk;
		ret = inflate(&zs, Z_NO_FLUSH);
		pos += (size_t)(zs.next_in - (p + pos));
		used += chunk - zs.avail_out;
		if (used > max) {
			err = ms_diag(diag, MAILSEC_ELIMIT, pos, 0, "gzip "
			    "inflates past %zu bytes", max);
			goto out;
		}
		if (ret == Z_STREAM_END) {
			/* Concatenated members (RFC 1952 2.2); anything else
			 * after the trailer is ignored, as gzip(1) does. */
			if (len - pos >= 2 && p[pos] == 0x1f &&
			    p[pos + 1] == 0x8b) {
				if (inflateReset(&zs) != Z_OK) {
					err = MAILSEC_ENOMEM;
					goto out;
				}
				continue;
			}
			break;
		}
		if (ret == Z_MEM_ERROR) {
			err = MAILSEC_ENOMEM;
			goto out;
		}
		if (ret == Z_DATA_ERROR || ret == Z_NEED_DICT ||
		    ret == Z_STREAM_ERROR) {
			err = ms_diag(diag, MAILSEC_ESYNTAX, pos, 0, "corrupt "
			    "gzip data: %s", zs.msg != NULL ? zs.msg : "?");
			goto out;
		}
		if (pos == len && zs.avail_out != 0) {
			err = ms_diag(diag, MAILSEC_ESYNTAX, pos, 0, "gzip "
			    "stream truncated after %zu bytes", len);
			goto out;
		}
		if (zs.avail_out == 0 && cap < max) {
			cap = cap > max / 2 ? max : cap * 2;
			if ((nb = realloc(buf, cap + 2)) == NULL) {
				err = MAILSEC_ENOMEM;
				goto out;
			}
			buf = nb;
		}
	}
	buf[used] = '\0';
	*out = buf;
	*outlen = used;
	buf = NULL;
out:
	inflateEnd(&zs);
	free(buf);
	return err;
}

/* Inflates one member into a new buffer of exactly usize bytes. */
static mailsec_err
member_data(const unsigned char *data, size_t csize, unsigned method,
    size_t usize, uint32_t crc, size_t off, char **out,
    struct mailsec_diag *diag)
{
	z_stream zs;
	char *buf;
	int ret;

	if ((buf = malloc(usize + 2)) == NULL)
		return MAILSEC_ENOMEM;
	if (method == 0) {
		if (csize != usize) {
			free(buf);
			return ms_diag(diag, MAILSEC_ESYNTAX, off, 0, "zip: "
			    "stored member sizes differ");
		}
		memcpy(buf, data, usize);
	} else {
		memset(&zs, 0, sizeof zs);
		if (inflateInit2(&zs, -MAX_WBITS) != Z_OK) {
			free(buf);
			return MAILSEC_ENOMEM;
		}
		/* Both sizes are below 4 GiB (no ZIP64). One byte more
		 * room than stated shows a member that lies about its
		 * size. */
		zs.next_in = (unsigned char *)(uintptr_t)data;
		zs.avail_in = (unsigned)csize;
		zs.next_out = (unsigned char *)buf;
		zs.avail_out = (unsigned)usize + 1;
		ret = inflate(&zs, Z_FINISH);
		inflateEnd(&zs);
		if (ret == Z_MEM_ERROR) {
			free(buf);
			return MAILSEC_ENOMEM;
		}
		if (ret != Z_STREAM_END || zs.total_out != usize) {
			free(buf);
			return ms_diag(diag, MAILSEC_ESYNTAX, off, 0, "zip: "
			    "member %s", ret == Z_STREAM_END ? "size differs "
			    "from its header" : ret == Z_DATA_ERROR ?
			    "is corrupt" : "is truncated or larger than its "
			    "header says");
		}
	}
	if ((uint32_t)crc32(0L, (unsigned char *)buf, (uInt)usize) != crc) {
		free(buf);
		return ms_diag(diag, MAILSEC_ESYNTAX, off, 0, "zip: member "
		    "CRC-32 mismatch");
	}
	buf[usize] = '\0';
	*out = buf;
	return MAILSEC_OK;
}

void
ms_zip_members_free(struct ms_zip_member *m, size_t n)
{
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < n; i++)
		free(m[i].data);
	free(m);
}

mailsec_err
ms_zip_read(const void *in, size_t len, size_t budget, size_t maxmembers,
    struct ms_zip_member **members, size_t *nmembers,
    struct mailsec_diag *diag)
{
	const unsigned char *p = in, *e, *h, *lh;
	struct ms_zip_member *m = NULL;
	size_t eocd, stop, cdoff, cdsize, cdend, entries, i, n = 0;
	size_t nlen, xlen, clen, lho, data, csize, usize;
	unsigned flags, method;
	mailsec_err err = MAILSEC_OK;

	*members = NULL;
	*nmembers = 0;
	if (len < EOCD_LEN)
		return ms_diag(diag, MAILSEC_ESYNTAX, len, 0, "zip: truncated "
		    "(%zu bytes, no end of central directory)", len);
	stop = len > EOCD_SCAN ? len - EOCD_SCAN : 0;
	for (eocd = len - EOCD_LEN;; eocd--) {
		if (memcmp(p + eocd, "PK\5\6", 4) == 0)
			break;
		if (eocd == stop)
			return ms_diag(diag, MAILSEC_ESYNTAX, len, 0, "zip: "
			    "no end of central directory (truncated?)");
	}
	e = p + eocd;
	entries = le16(e + 10);
	cdsize = le32(e + 12);
	cdoff = le32(e + 16);
	if (le16(e + 4) != 0 || le16(e + 6) != 0 || le16(e + 8) != entries)
		return ms_diag(diag, MAILSEC_ESYNTAX, eocd, 0, "zip: "
		    "multi-disk archives are not supported");
	if (entries == 0xffff || cdsize == 0xffffffff || cdoff == 0xffffffff)
		return ms_diag(diag, MAILSEC_ESYNTAX, eocd, 0, "zip: ZIP64 "
		    "archives are not supported");
	if (cdoff > eocd || cdsize > eocd - cdoff)
		return ms_diag(diag, MAILSEC_ESYNTAX, eocd, 0, "zip: central "
		    "directory outside the archive (truncated?)");
	if (entries > maxmembers)
		return ms_diag(diag, MAILSEC_ELIMIT, eocd, 0, "zip: %zu "
		    "members, more than %zu", entries, maxmembers);
	if (entries > 0 && (m = ms_calloc(entries, sizeof *m)) == NULL)
		return MAILSEC_ENOMEM;
	cdend = cdoff + cdsize;
	h = p + cdoff;
	for (i = 0; i < entries; i++, h += CDH_LEN + nlen + xlen + clen) {
		size_t hoff = (size_t)(h - p);

		if (cdend - hoff < CDH_LEN || memcmp(h, "PK\1\2", 4) != 0) {
			err = ms_diag(diag, MAILSEC_ESYNTAX, hoff, 0, "zip: "
			    "bad central directory entry %zu", i + 1);
			goto out;
		}
		flags = le16(h + 8);
		method = le16(h + 10);
		csize = le32(h + 20);
		usize = le32(h + 24);
		nlen = le16(h + 28);
		xlen = le16(h + 30);
		clen = le16(h + 32);
		lho = le32(h + 42);
		if (cdend - hoff - CDH_LEN < nlen + xlen + clen) {
			err = ms_diag(diag, MAILSEC_ESYNTAX, hoff, 0, "zip: "
			    "central directory entry %zu overruns", i + 1);
			goto out;
		}
		/* Directories hold no report. */
		if (nlen > 0 && h[CDH_LEN + nlen - 1] == '/' && usize == 0)
			continue;
		if (flags & 0x1) {
			err = ms_diag(diag, MAILSEC_ESYNTAX, hoff, 0, "zip: "
			    "member %zu is encrypted", i + 1);
			goto out;
		}
		if (method != 0 && method != 8) {
			err = ms_diag(diag, MAILSEC_ESYNTAX, hoff, 0, "zip: "
			    "member %zu: compression method %u is not "
			    "supported", i + 1, method);
			goto out;
		}
		if (usize > budget) {
			err = ms_diag(diag, MAILSEC_ELIMIT, hoff, 0, "zip: "
			    "member %zu inflates to %zu bytes, past the %zu "
			    "allowed", i + 1, usize, budget);
			goto out;
		}
		if (lho > cdoff || cdoff - lho < LFH_LEN ||
		    memcmp(p + lho, "PK\3\4", 4) != 0) {
			err = ms_diag(diag, MAILSEC_ESYNTAX, lho, 0, "zip: "
			    "member %zu: no local header where the directory "
			    "says", i + 1);
			goto out;
		}
		lh = p + lho;
		data = lho + LFH_LEN + le16(lh + 26) + le16(lh + 28);
		if (data > cdoff || cdoff - data < csize) {
			err = ms_diag(diag, MAILSEC_ESYNTAX, lho, 0, "zip: "
			    "member %zu runs past the archive (truncated?)",
			    i + 1);
			goto out;
		}
		if ((err = member_data(p + data, csize, method, usize,
		    le32(h + 16), data, &m[n].data, diag)) != MAILSEC_OK)
			goto out;
		m[n].name = (const char *)h + CDH_LEN;
		m[n].namelen = nlen;
		m[n].len = usize;
		n++;
		budget -= usize;
	}
	*members = m;
	*nmembers = n;
	m = NULL;
out:
	ms_zip_members_free(m, n);
	return err;
}
