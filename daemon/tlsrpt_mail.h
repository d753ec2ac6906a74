/*
 * daemon/tlsrpt_mail.h - how a finished TLS-RPT report (RFC 8460,
 * daemon/tlsrpt.c) leaves the daemon: to a mailto: rua as the e-mail of
 * RFC 8460 5.3 (multipart/report; report-type="tlsrpt", a text part and
 * the gzip'd JSON as application/tlsrpt+gzip), to an https: rua as a
 * POST (5.4). Also the file name and Report-ID of a report, shared by
 * the report builder and the mail, so that both say the same.
 */
#ifndef GW_TLSRPT_MAIL_H
#define GW_TLSRPT_MAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mailsec/err.h>

struct mailsec_resolver;

/* Longest domain name (RFC 1035 2.3.4, presentation form). */
#define TLSRPT_NAME_MAX		253
/* Room for a file name: sender!domain!begin!end!unique.json.gz. */
#define TLSRPT_FNAME_MAX	(2 * TLSRPT_NAME_MAX + 96)
/* Room for a Report-ID (domain!begin!end!unique@sender). */
#define TLSRPT_ID_MAX		TLSRPT_FNAME_MAX
/* Longest reporting or rua address (RFC 5321 4.5.3.1.3: a path of 256
 * octets with its angle brackets). */
#define TLSRPT_ADDR_MAX		254
/* Random bytes in a file name's unique part (hex: twice as many). */
#define TLSRPT_UNIQUE_BYTES	8
/* Largest composed mail: the gzip'd report in base64 (4/3 and line
 * ends) and the header; the report itself is at most 16 MiB before
 * gzip (TLSP_RPT_JSON_MAX). */
#define TLSRPT_MAIL_MAX		((size_t)32 * 1024 * 1024)

/*
 * The RFC 8460 5.3 file name of the report of policy domain `domain`
 * for the UTC day `day` (days since 1970-01-01) made by `sender` (our
 * domain): "sender!domain!begin!end!unique.json.gz", begin and end the
 * day's first and last second, unique the hex of rnd
 * (TLSRPT_UNIQUE_BYTES). out: TLSRPT_FNAME_MAX bytes at least.
 * MAILSEC_EINVAL: sender or domain is not a host name.
 */
mailsec_err tlsrpt_filename(const char *sender, const char *domain,
    int64_t day, const unsigned char *rnd, char *out, size_t outsz);

/*
 * What a file name of tlsrpt_filename() says: the Report-ID
 * "domain!begin!end!unique@sender" (a msg-id without its brackets, RFC
 * 5322 3.6.4: the report's "report-id" and the mail's Message-ID and
 * Subject), the sender (TLS-Report-Submitter) and the policy domain.
 * Any output may be NULL; id: TLSRPT_ID_MAX bytes, the names
 * TLSRPT_NAME_MAX + 1. MAILSEC_ESYNTAX: not such a file name.
 */
mailsec_err tlsrpt_filename_parse(const char *fname, char *id, size_t idsz,
    char *sender, char *domain, int64_t *begin);

/*
 * The address of a "mailto:" rua (RFC 8460 3, RFC 6068): the scheme
 * (any case) dropped, header fields after '?' ignored, %XX decoded;
 * then it must be one addr-spec (dot-atom local part, host name domain)
 * of printable ASCII. out: TLSRPT_ADDR_MAX + 1 bytes at least.
 * MAILSEC_ESYNTAX otherwise.
 */
mailsec_err tlsrpt_mailto_addr(const char *rua, char *out, size_t outsz);

/* One report mail. Every string is borrowed. */
struct tlsrpt_mail {
	const char *from;	/* the reporting address: From: */
	const char *to;		/* the rua's address: To: */
	const char *org_name;	/* who reports, in the text part */
	const char *filename;	/* of tlsrpt_filename(): the attachment's
				   name; Report-ID, Submitter and policy
				   domain come from it */
	int64_t date;		/* Date: (Unix time) */
	const void *gz;		/* the gzip'd JSON report */
	size_t len;
};

/*
 * Composes the RFC 8460 5.3 mail of m: From, To, Subject "Report Domain:
 * D Submitter: S Report-ID: <ID>", Date, Message-ID <ID>,
 * TLS-Report-Domain, TLS-Report-Submitter, Auto-Submitted, MIME-Version
 * and Content-Type multipart/report; report-type="tlsrpt"; a text/plain
 * part, then the report as application/tlsrpt+gzip (base64) named
 * m->filename. CRLF lines, 7bit. *out (malloc'd, NUL-terminated, *outlen
 * bytes before the NUL) is the caller's. Values that could add a line or
 * a field (CR, LF, another control byte, 8-bit bytes, an address that is
 * not an addr-spec) are refused: MAILSEC_EINVAL; a file name not of
 * tlsrpt_filename(): MAILSEC_ESYNTAX; MAILSEC_ELIMIT, MAILSEC_ENOMEM.
 * Bytes of org_name outside printable ASCII become '?'.
 */
mailsec_err tlsrpt_mail_compose(const struct tlsrpt_mail *m, char **out,
    size_t *outlen);

/*
 * POSTs a report to an https: rua as application/tlsrpt+gzip (RFC 8460
 * 5.4): any 2xx is taken. ca_file: trust anchors (NULL: the system's);
 * res: names resolved through it (NULL: the system resolver). why
 * (whysz > 0) says what failed. MAILSEC_EIO (not 2xx, or the transfer),
 * MAILSEC_EINVAL, MAILSEC_ENOMEM.
 */
mailsec_err tlsrpt_post(const char *url, const char *ca_file,
    struct mailsec_resolver *res, const void *gz, size_t len, char *why,
    size_t whysz);

#endif /* GW_TLSRPT_MAIL_H */
