/*
 * fuzz/fuzz_lint.c - libFuzzer target for the record linter
 * (lib/record/): the input is linted as detected and as each type in
 * turn, then with resolution over a zone that publishes it as the SPF
 * record of example.org (include and redirect walks, void lookups) and
 * as the DMARC record of example.org (report authorization). Findings
 * must be bounded, printable, with a fix for every error and warning.
 * The first byte, when it is a digit 0..6, chooses a forced type only.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mailsec/record.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)	do { if (!(c)) abort(); } while (0)

static void
printable(const char *s, size_t cap)
{
	size_t i;

	for (i = 0; i < cap && s[i] != '\0'; i++)
		CHECK(s[i] >= 0x20 && s[i] < 0x7f);
	CHECK(i < cap);
}

static void
lint(const char *p, size_t len, enum mailsec_record_type t,
    struct mailsec_resolver *r, const char *domain)
{
	struct mailsec_lint_opts o = { 0 };
	struct mailsec_lint *l = NULL;
	mailsec_err err;
	size_t i;

	o.type = t;
	o.resolver = r;
	o.domain = domain;
	o.selector = domain != NULL ? "s1" : NULL;
	err = mailsec_lint_record(p, len, &o, &l, NULL);
	if (err != MAILSEC_OK) {
		CHECK(err == MAILSEC_ELIMIT && len > MAILSEC_LINT_INPUT_MAX);
		CHECK(l == NULL);
		return;
	}
	CHECK(l->nfindings <= MAILSEC_FINDINGS_MAX);
	CHECK(t == MAILSEC_RECORD_UNKNOWN || l->type == t);
	for (i = 0; i < l->nfindings; i++) {
		const struct mailsec_finding *f = &l->findings[i];

		printable(f->what, sizeof f->what);
		printable(f->fix, sizeof f->fix);
		printable(f->code, sizeof f->code);
		CHECK(f->code[0] != '\0');
		CHECK(f->severity <= MAILSEC_SEV_ERROR);
		CHECK(f->severity == MAILSEC_SEV_INFO || f->fix[0] != '\0' ||
		    strcmp(f->code, "too-many-findings") == 0);
		CHECK(!f->has_offset || f->offset <= len);
	}
	for (i = 0; i < l->nflat; i++)
		CHECK(l->flat[i] != NULL);
	mailsec_lint_free(l);
}

static char zone_buf[8192];

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mailsec_resolver *r = NULL;
	const char *p = (const char *)data;
	size_t k, n, i;
	int t;

	if (size > 0 && data[0] >= '0' && data[0] <= '6') {
		lint(p + 1, size - 1, (enum mailsec_record_type)(data[0] - '0'),
		    NULL, NULL);
		return 0;
	}
	(void)mailsec_record_detect(p, size);
	for (t = MAILSEC_RECORD_UNKNOWN; t <= MAILSEC_RECORD_TLSRPT; t++)
		lint(p, size, (enum mailsec_record_type)t, NULL, NULL);
	/* Resolved: the input as TXT data (escaped) in a small zone. */
	if (size > 1000)
		return 0;
	n = (size_t)snprintf(zone_buf, sizeof zone_buf,
	    "$ORIGIN example.org.\n"
	    "inc TXT \"v=spf1 a:nx1.example.org include:example.org -all\"\n"
	    "red TXT \"v=spf1 redirect=example.org\"\n"
	    "h A 192.0.2.1\nh MX 10 h\n"
	    "example.org._report._dmarc.example.net. TXT \"v=DMARC1\"\n"
	    "@ TXT \"");
	for (i = 0; i < size && n + 8 < sizeof zone_buf; i++) {
		unsigned char c = data[i];

		if (c == '"' || c == '\\' || c < 0x20 || c >= 0x7f)
			k = (size_t)snprintf(zone_buf + n, sizeof zone_buf - n,
			    "\\%03u", c);
		else {
			zone_buf[n] = (char)c;
			k = 1;
		}
		n += k;
	}
	n += (size_t)snprintf(zone_buf + n, sizeof zone_buf - n, "\"\n");
	if (mailsec_resolver_new_zone_mem(zone_buf, n, NULL, &r, NULL) !=
	    MAILSEC_OK)
		return 0;
	lint(p, size, MAILSEC_RECORD_SPF, r, "example.org");
	lint(p, size, MAILSEC_RECORD_DMARC, r, "example.org");
	lint(p, size, MAILSEC_RECORD_DKIM, r, "example.org");
	mailsec_resolver_free(r);
	return 0;
}
