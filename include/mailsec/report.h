/*
 * mailsec/report.h - DMARC aggregate reports (RFC 9990, and the RFC 7489
 * appendix C format): one model, a robust reader for what reporters
 * really send (XML with or without namespaces, gzip, zip, whole report
 * e-mails), a writer of valid reports (XML, gzip, the report e-mail) and
 * failure reports (RFC 9991, RFC 6591 AFRF).
 *
 * The model is plain data: every string is owned by the report and freed
 * by mailsec_agg_report_free(); every enum has an "unknown/absent" zero.
 * Nothing here touches files or sockets except through the caller's
 * buffers; the DNS check of external destinations goes through the
 * resolver like every other lookup.
 */
#ifndef MAILSEC_REPORT_H
#define MAILSEC_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mailsec/err.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- limits ------------------------------------------------------------ */

/* Input accepted by the reader: a compressed member or XML document
 * larger than this is refused (MAILSEC_ELIMIT): a zip or gzip bomb
 * never inflates past it. */
#define MAILSEC_REPORT_XML_MAX		((size_t)64 * 1024 * 1024)
/* Records in one report (the largest real ones hold a few 10,000). */
#define MAILSEC_REPORT_RECORDS_MAX	1000000
/* Auth results per record, reasons per record, errors per report. */
#define MAILSEC_REPORT_LIST_MAX		100

/* ---- the model --------------------------------------------------------- */

enum mailsec_report_format {
	MAILSEC_REPORT_FMT_UNKNOWN = 0,
	MAILSEC_REPORT_FMT_RFC7489,	/* <version>1.0</version> or none */
	MAILSEC_REPORT_FMT_RFC9990	/* <version>2.0</version>, namespace
					 * urn:ietf:params:xml:ns:dmarc-2.0 */
};

/* Disposition: policy_published p/sp/np and policy_evaluated. */
enum mailsec_report_disp {
	MAILSEC_RDISP_ABSENT = 0,
	MAILSEC_RDISP_NONE,
	MAILSEC_RDISP_QUARANTINE,
	MAILSEC_RDISP_REJECT,
	MAILSEC_RDISP_PASS		/* RFC 9990 ActionDispositionType */
};

enum mailsec_report_align {
	MAILSEC_RALIGN_ABSENT = 0, MAILSEC_RALIGN_RELAXED,
	MAILSEC_RALIGN_STRICT
};

/* DMARC pass/fail of one identifier (policy_evaluated dkim, spf). */
enum mailsec_report_eval {
	MAILSEC_REVAL_ABSENT = 0, MAILSEC_REVAL_PASS, MAILSEC_REVAL_FAIL
};

/* Results of auth_results: DKIM uses none..permerror, SPF adds
 * softfail. Read case-insensitively ("Pass" is pass); an unknown word is
 * MAILSEC_RRES_UNKNOWN with the text kept in raw_result. */
enum mailsec_report_result {
	MAILSEC_RRES_ABSENT = 0,
	MAILSEC_RRES_NONE,
	MAILSEC_RRES_PASS,
	MAILSEC_RRES_FAIL,
	MAILSEC_RRES_SOFTFAIL,
	MAILSEC_RRES_POLICY,
	MAILSEC_RRES_NEUTRAL,
	MAILSEC_RRES_TEMPERROR,
	MAILSEC_RRES_PERMERROR,
	MAILSEC_RRES_UNKNOWN
};

/* PolicyOverrideType (RFC 9990; RFC 7489 adds forwarded and
 * sampled_out). */
enum mailsec_report_override {
	MAILSEC_ROVR_ABSENT = 0,
	MAILSEC_ROVR_LOCAL_POLICY,
	MAILSEC_ROVR_MAILING_LIST,
	MAILSEC_ROVR_OTHER,
	MAILSEC_ROVR_POLICY_TEST_MODE,
	MAILSEC_ROVR_TRUSTED_FORWARDER,
	MAILSEC_ROVR_FORWARDED,		/* RFC 7489 */
	MAILSEC_ROVR_SAMPLED_OUT,	/* RFC 7489 */
	MAILSEC_ROVR_UNKNOWN
};

struct mailsec_report_reason {
	enum mailsec_report_override type;
	char *comment;			/* or NULL */
};

struct mailsec_report_dkim {
	char *domain;
	char *selector;			/* or NULL */
	enum mailsec_report_result result;
	char *raw_result;		/* the word as written when result is
					 * MAILSEC_RRES_UNKNOWN, else NULL */
	char *human_result;		/* or NULL */
};

struct mailsec_report_spf {
	char *domain;
	bool helo;			/* scope "helo" (RFC 7489); else mfrom */
	enum mailsec_report_result result;
	char *raw_result;		/* as for DKIM */
	char *human_result;		/* or NULL */
};

struct mailsec_report_record {
	char *source_ip;		/* as written, validated as an IP */
	uint64_t count;
	enum mailsec_report_disp disposition;
	enum mailsec_report_eval dkim;	/* policy_evaluated */
	enum mailsec_report_eval spf;
	struct mailsec_report_reason *reasons;
	size_t nreasons;
	char *header_from;
	char *envelope_from;		/* or NULL */
	char *envelope_to;		/* or NULL */
	struct mailsec_report_dkim *dkim_results;
	size_t ndkim;
	struct mailsec_report_spf *spf_results;
	size_t nspf;
};

struct mailsec_agg_report {
	enum mailsec_report_format format;
	char *version;			/* as written, or NULL */
	/* report_metadata */
	char *org_name;
	char *email;
	char *extra_contact_info;	/* or NULL */
	char *report_id;
	int64_t date_begin;		/* Unix time */
	int64_t date_end;
	char **errors;
	size_t nerrors;
	char *generator;		/* RFC 9990, or NULL */
	/* policy_published */
	char *domain;
	enum mailsec_report_align adkim;
	enum mailsec_report_align aspf;
	enum mailsec_report_disp p;
	enum mailsec_report_disp sp;
	enum mailsec_report_disp np;	/* RFC 9990 */
	int pct;			/* RFC 7489; -1: absent */
	char *fo;			/* or NULL */
	bool testing;			/* RFC 9990 testing y */
	char *discovery_method;		/* RFC 9990 "psl"/"treewalk", NULL */
	struct mailsec_report_record *records;
	size_t nrecords;
	/* Set by the reader: one line per <record> it skipped because it
	 * could not be read ("record 2 (line 5): source_ip '108r.1' is not
	 * an IP address"); at most MAILSEC_REPORT_LIST_MAX of them, then
	 * one more saying how many further records were skipped. */
	char **warnings;
	size_t nwarnings;
};

/* Frees everything r owns and r itself; NULL is a no-op. */
MAILSEC_API void mailsec_agg_report_free(struct mailsec_agg_report *r);

/* Sums of a report: messages (the counts), and how many passed DMARC
 * (dkim or spf pass in policy_evaluated), SPF and DKIM. */
struct mailsec_report_totals {
	uint64_t messages;
	uint64_t dmarc_pass;
	uint64_t spf_pass;
	uint64_t dkim_pass;
};
MAILSEC_API void mailsec_agg_report_totals(const struct mailsec_agg_report *r,
    struct mailsec_report_totals *out);

/* "none", "pass", ... and the enums' inverse lookups. */
MAILSEC_API const char *mailsec_report_result_name(
    enum mailsec_report_result r);
MAILSEC_API const char *mailsec_report_disp_name(enum mailsec_report_disp d);
MAILSEC_API const char *mailsec_report_override_name(
    enum mailsec_report_override o);

/* ---- reading ------------------------------------------------------------ */

/*
 * Parses one aggregate report document (XML bytes). Lenient where real
 * reporters are sloppy and the meaning is still clear (no namespace or
 * the 0.1/0.2/2.0 ones, missing <version>, capitalised results, empty
 * <reason>, surrounding whitespace, invalid UTF-8 replaced, a stray
 * unclosed wrapper element); strict where meaning would be guessed (no
 * <feedback>, no <report_metadata> or <policy_published> domain). A
 * record that cannot be read (no source_ip or one that is not an IP
 * address, a count that is not a number) is left out and named in
 * (*out)->warnings; a document none of whose records can be read is
 * an error.
 * *out: a new report (mailsec_agg_report_free()). Errors: MAILSEC_ESYNTAX
 * (diag: what, where (line), why), MAILSEC_ELIMIT, MAILSEC_ENOMEM.
 */
MAILSEC_API mailsec_err mailsec_agg_report_parse(const char *xml, size_t len,
    struct mailsec_agg_report **out, struct mailsec_diag *diag);

/* What mailsec_report_extract() found in its input. */
enum mailsec_report_kind {
	MAILSEC_REPORT_KIND_AGGREGATE = 1,	/* XML aggregate report */
	MAILSEC_REPORT_KIND_FAILURE,		/* RFC 6591 / 9991 AFRF */
	MAILSEC_REPORT_KIND_TLSRPT		/* RFC 8460 JSON */
};

/* One document found inside an input. */
struct mailsec_report_doc {
	enum mailsec_report_kind kind;
	char *data;			/* the XML / JSON / AFRF part bytes */
	size_t len;
	char *name;			/* attachment or member file name, or
					 * NULL */
};

/*
 * Finds the reports in an input of any supported shape: XML as is,
 * gzip (also a gzip labelled application/octet-stream or with a wrong
 * file name), zip (the XML members; stored or deflated), and whole
 * e-mails (MIME, any nesting depth within limits; base64 and
 * quoted-printable; message/feedback-report parts as failure reports;
 * application/tlsrpt+gzip/json as TLS reports). The kind is decided
 * from the content, not the label. *docs: an array of *ndocs documents
 * (mailsec_report_docs_free()). MAILSEC_ENOTFOUND: no report in it;
 * MAILSEC_ESYNTAX: a broken container (diag says which and where);
 * MAILSEC_ELIMIT: a member inflates past MAILSEC_REPORT_XML_MAX.
 */
MAILSEC_API mailsec_err mailsec_report_extract(const void *in, size_t len,
    struct mailsec_report_doc **docs, size_t *ndocs,
    struct mailsec_diag *diag);
MAILSEC_API void mailsec_report_docs_free(struct mailsec_report_doc *docs,
    size_t ndocs);

/* ---- writing ----------------------------------------------------------- */

/*
 * Writes r as an XML document: RFC 9990 (namespace
 * urn:ietf:params:xml:ns:dmarc-2.0, valid against its schema) or, with
 * format MAILSEC_REPORT_FMT_RFC7489, the RFC 7489 appendix C form (no
 * namespace). Both carry <version>1.0</version>: RFC 9990 3.1.1.2 says
 * the element "MUST have the value 1.0"; the namespace tells the formats
 * apart. format MAILSEC_REPORT_FMT_UNKNOWN takes r->format (RFC 9990 when
 * that is unknown too). Fields the chosen format lacks are left out
 * (RFC 7489: generator, np, testing, discovery_method, human_result of
 * SPF; RFC 9990: pct, SPF results of scope helo); values it has no name
 * for are mapped (docs/reports.md, "Writing reports"); RFC 7489's
 * required sp, pct and fo get their defaults (p, 100, "0") when absent.
 * Strings are escaped; bytes that are not UTF-8 or not XML 1.0
 * characters become U+FFFD. *out: malloc'd, *outlen bytes
 * (NUL-terminated), at most MAILSEC_REPORT_XML_MAX (else ELIMIT).
 * MAILSEC_EINVAL: r lacks a required field or holds a value the format
 * cannot express (diag names it).
 */
MAILSEC_API mailsec_err mailsec_agg_report_write(
    const struct mailsec_agg_report *r, enum mailsec_report_format format,
    char **out, size_t *outlen, struct mailsec_diag *diag);

/* gzip (RFC 1952) of (in, len) into *out (malloc'd); no file name, time
 * 0 in the member header, so equal input gives equal bytes.
 * MAILSEC_ELIMIT: len above MAILSEC_REPORT_XML_MAX. */
MAILSEC_API mailsec_err mailsec_report_gzip(const void *in, size_t len,
    void **out, size_t *outlen);

/*
 * The report's file name as RFC 9990 3.5.2 says: "receiver!policy-domain!
 * begin!end!unique-id.xml.gz" (unique-id optional, here the letters and
 * digits of report_id, at most MAILSEC_REPORT_UID_MAX of them; left out
 * when report_id has none). receiver and r->domain must be domain names
 * (a final dot is dropped), the dates not negative: else MAILSEC_EINVAL.
 * buf: at least 512 bytes; MAILSEC_ELIMIT when the name does not fit.
 */
#define MAILSEC_REPORT_UID_MAX		64
MAILSEC_API mailsec_err mailsec_agg_report_filename(
    const struct mailsec_agg_report *r, const char *receiver, char *buf,
    size_t bufsz);

/* The report e-mail to one rua address. */
struct mailsec_report_mail {
	const char *from;		/* our reporting address */
	const char *to;			/* the rua mailto: address */
	const char *receiver;		/* our domain (file name, subject) */
	const char *message_id_domain;
	int64_t now;			/* Date: */
};

/*
 * Composes the whole message (header, a short text part, the gzip'd
 * report as application/gzip with its file name; Subject "Report Domain:
 * D Submitter: S Report-ID: <ID>") into *out (malloc'd, CRLF lines).
 * to may carry the "mailto:" of the rua URI. The Report-ID part of the
 * Subject is left out when report_id is not RFC 9990 3.5.1 ridtxt; the
 * Message-ID is derived from report_id and the period, so a re-sent
 * report keeps it. MAILSEC_EINVAL (diag): a missing or unusable address
 * or domain (control characters, 8-bit bytes: no header injection).
 */
MAILSEC_API mailsec_err mailsec_agg_report_mail(
    const struct mailsec_agg_report *r, const void *gz, size_t gzlen,
    const struct mailsec_report_mail *m, char **out, size_t *outlen,
    struct mailsec_diag *diag);

/* The failure report (RFC 9991 / RFC 6591): what happened to one
 * message. */
struct mailsec_failure_report {
	const char *from;		/* our reporting address */
	const char *to;			/* the ruf mailto: address */
	const char *reporting_mta;	/* our host name */
	const char *source_ip;
	int64_t arrival;		/* Unix time */
	const char *original_mail_from;	/* or NULL */
	const char *original_rcpt_to;	/* or NULL (redacted: left out) */
	const char *reported_domain;	/* the policy domain */
	const char *auth_failure;	/* "dmarc", "dkim", "spf" */
	const char *authentication_results;	/* our A-R field value */
	const char *dkim_domain;	/* for auth_failure "dkim", or NULL */
	const char *dkim_selector;
	const char *spf_dns;		/* for auth_failure "spf", or NULL */
	const char *message_id_domain;
	int64_t now;
	bool redact;			/* local parts of addresses in the
					 * reported header replaced by a hash;
					 * the body is never included */
	const char *headers;		/* the original header section */
	size_t headers_len;
	/* RFC 9991 4 Identity-Alignment ("dkim", "spf", "dkim, spf" or
	 * "none"); NULL: from auth_failure ("dmarc": "dkim, spf"). */
	const char *identity_alignment;
	const char *dkim_identity;	/* DKIM-Identity (i=), or NULL */
};

/*
 * Composes the AFRF message: multipart/report; report-type=
 * feedback-report with a text part, message/feedback-report
 * (Feedback-Type: auth-failure) and text/rfc822-headers of the original
 * (redacted as asked). *out malloc'd, CRLF lines. Only the header
 * section of headers is used (up to the first empty line). Redaction
 * replaces every local part before an '@' (in the reported header, in
 * Original-Mail-From and Authentication-Results) by the first 16 hex
 * digits of the SHA-256 of the local part, unsalted: equal addresses
 * give equal tokens, and a guessed address can be confirmed.
 * MAILSEC_EINVAL (diag): a missing field, or one with control
 * characters (no header injection).
 */
MAILSEC_API mailsec_err mailsec_failure_report_compose(
    const struct mailsec_failure_report *f, char **out, size_t *outlen,
    struct mailsec_diag *diag);

struct mailsec_resolver;

/*
 * RFC 9990 4 (and RFC 9991 5 for ruf): may reports about policy_domain
 * (where the DMARC record was found) go to an address at dest_domain?
 * Yes without a query when both have the same Organizational Domain
 * (RFC 9989 4.10.2 tree walk through the resolver; equal names need no
 * walk). Otherwise yes when the TXT record set at
 * <policy_domain>._report._dmarc.<dest_domain> holds a record whose
 * first tag is v=DMARC1. *authorized false: not authorized (also when
 * the name is longer than DNS allows). MAILSEC_EDNS: a temporary DNS
 * failure decided it (retry later; *authorized false); MAILSEC_EINVAL:
 * a name that is not a domain name.
 */
MAILSEC_API mailsec_err mailsec_report_dest_verify(
    struct mailsec_resolver *res, const char *policy_domain,
    const char *dest_domain, bool *authorized, struct mailsec_diag *diag);

#ifdef __cplusplus
}
#endif

#endif /* MAILSEC_REPORT_H */
