/*
 * lib/report/report_int.h - DMARC report reading, library-internal: the
 * bounded inflaters (gzip, RFC 1952; zip members, PKWARE APPNOTE 4.3)
 * used by the extractor, and the reader's named limits.
 */
#ifndef MS_REPORT_INT_H
#define MS_REPORT_INT_H

#include <stddef.h>
#include <stdint.h>

#include <mailsec/report.h>

/* One element's text (a domain, a comment, a human_result): report
 * fields are short; a longer one is refused, not truncated. */
#define MS_REPORT_TEXT_MAX	((size_t)64 * 1024)
/* A record's count. 10^12 messages from one IP in one report is beyond
 * any real reporter, and keeps the sum over MAILSEC_REPORT_RECORDS_MAX
 * records (10^18) inside uint64_t. */
#define MS_REPORT_COUNT_MAX	UINT64_C(1000000000000)
/* Elements the parser looks down through for <feedback> (a stray
 * wrapper such as an unclosed <xs:schema> puts it one level down). */
#define MS_REPORT_WRAP_DEPTH	2

/* Frees what one record owns and zeroes it (model.c; the reader drops
 * a record it could not read with it). */
void ms_report_record_clear(struct mailsec_report_record *rec);

/* Extraction: MIME and container nesting (multipart in message/rfc822
 * in multipart, a gzip in a zip...), and MIME parts and zip members in
 * one input. */
#define MS_REPORT_DEPTH_MAX	10
#define MS_REPORT_PARTS_MAX	100
/* An input handed to mailsec_report_extract(): a report e-mail carries
 * the compressed report base64-encoded, so twice the document limit. */
#define MS_REPORT_INPUT_MAX	(2 * MAILSEC_REPORT_XML_MAX)

/* One zip member: its name (borrowed from the archive, never used as a
 * path) and its inflated bytes (malloc'd). */
struct ms_zip_member {
	const char *name;
	size_t namelen;
	char *data;
	size_t len;
};

/*
 * Inflates a gzip stream (one or more members, RFC 1952 2.2) into *out
 * (malloc'd, NUL-terminated, *outlen bytes). At most max bytes are ever
 * produced: more is MAILSEC_ELIMIT. A truncated or corrupt stream (or a
 * CRC mismatch) is MAILSEC_ESYNTAX.
 */
mailsec_err ms_report_gunzip(const void *in, size_t len, size_t max,
    char **out, size_t *outlen, struct mailsec_diag *diag);

/*
 * Reads a zip archive: the end-of-central-directory record, each central
 * directory entry and its local header, and inflates every file member
 * (stored or deflate; directories skipped) with its size and CRC-32
 * checked. *members: an array of *nmembers (ms_zip_members_free()).
 * budget: the sum of inflated bytes allowed; a member whose stated or
 * real size passes it is MAILSEC_ELIMIT, as are more than maxmembers
 * members. A truncated or inconsistent archive, ZIP64, encryption or
 * another method is MAILSEC_ESYNTAX.
 */
mailsec_err ms_zip_read(const void *in, size_t len, size_t budget,
    size_t maxmembers, struct ms_zip_member **members, size_t *nmembers,
    struct mailsec_diag *diag);
void ms_zip_members_free(struct ms_zip_member *m, size_t n);

#endif /* MS_REPORT_INT_H */
