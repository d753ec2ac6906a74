/*
 * lib/record/build.c - record builders: SPF (RFC 7208), DMARC (RFC
 * 9989), MTA-STS TXT and policy file (RFC 8461 3.1, 3.2), TLS-RPT (RFC
 * 8460 3); where each is published, and its zone-file line.
 *
 * Every builder lints what it wrote and refuses (MAILSEC_EINVAL, diag
 * naming the finding) to hand out a record with an error in it, so a
 * built record always passes the linter and the evaluators' parsers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "record/record_int.h"

/* Longest record a builder writes (RFC 7208 3.4 advises 450 for SPF;
 * the others are far shorter). */
#define BUILD_MAX 4096
/* Longest zone-file line mailsec_record_zone_line() writes. */
#define ZONE_LINE_MAX (4 * MAILSEC_LINT_INPUT_MAX)

/* Lints (p, len) as type t; EINVAL with the first error in diag. */
static mailsec_err
self_lint(enum mailsec_record_type t, const char *p, size_t len,
    struct mailsec_diag *diag)
{
	struct mailsec_lint_opts o = { 0 };
	struct mailsec_lint *l = NULL;
	mailsec_err err;
	size_t i;

	o.type = t;
	if ((err = mailsec_lint_record(p, len, &o, &l, diag)) != MAILSEC_OK)
		return err;
	for (i = 0; i < l->nfindings; i++) {
		const struct mailsec_finding *f = &l->findings[i];

		if (f->severity != MAILSEC_SEV_ERROR)
			continue;
		err = ms_diag(diag, MAILSEC_EINVAL, f->offset, 0, "%s: %s "
		    "(%s)", f->code, f->what, f->fix);
		break;
	}
	mailsec_lint_free(l);
	return err;
}

static mailsec_err
finish(struct ms_buf *b, enum mailsec_record_type t, char **out,
    struct mailsec_diag *diag)
{
	mailsec_err err;
	char *s;

	if (b->ptr == NULL)
		return ms_diag(diag, MAILSEC_ELIMIT, 0, 0, "record longer "
		    "than %d bytes", BUILD_MAX);
	if ((err = self_lint(t, b->ptr, b->len, diag)) != MAILSEC_OK) {
		ms_buf_free(b);
		return err;
	}
	if ((s = ms_buf_steal(b, NULL)) == NULL)
		return MAILSEC_ENOMEM;
	*out = s;
	return MAILSEC_OK;
}

/* An input string must be one word of printable ASCII. */
static mailsec_err
word_ok(const char *what, const char *s, struct mailsec_diag *diag)
{
	size_t i;

	if (s == NULL || s[0] == '\0')
		return ms_diag(diag, MAILSEC_EINVAL, 0, 0, "empty %s", what);
	for (i = 0; s[i] != '\0'; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f
		    || s[i] == ';' || s[i] == '"' || s[i] == '\\')
			return ms_diag(diag, MAILSEC_EINVAL, i, 0,
			    "%s '%.60s': space, ';', quote or non-ASCII byte",
			    what, s);
	return MAILSEC_OK;
}

mailsec_err
mailsec_record_spf(const struct mailsec_spf_build *b, char **out,
    struct mailsec_diag *diag)
{
	static const char all[] = { '-', '~', '?' };
	struct ms_buf buf;
	mailsec_err err = MAILSEC_OK;
	size_t i;

	if (out != NULL)
		*out = NULL;
	if (b == NULL || out == NULL || (unsigned)b->all >= sizeof all)
		return ms_diag(diag, MAILSEC_EINVAL, 0, 0, "bad arguments");
	ms_buf_init(&buf, BUILD_MAX);
	err = ms_buf_appendz(&buf, "v=spf1");
	if (err == MAILSEC_OK && b->mx)
		err = ms_buf_appendz(&buf, " mx");
	if (err == MAILSEC_OK && b->a)
		err = ms_buf_appendz(&buf, " a");
	for (i = 0; err == MAILSEC_OK && i < b->nip4; i++)
		if ((err = word_ok("ip4", b->ip4[i], diag)) == MAILSEC_OK)
			err = ms_buf_printf(&buf, " ip4:%s", b->ip4[i]);
	for (i = 0; err == MAILSEC_OK && i < b->nip6; i++)
		if ((err = word_ok("ip6", b->ip6[i], diag)) == MAILSEC_OK)
			err = ms_buf_printf(&buf, " ip6:%s", b->ip6[i]);
	for (i = 0; err == MAILSEC_OK && i < b->ninclude; i++)
		if ((err = word_ok("include", b->include[i], diag)) ==
		    MAILSEC_OK)
			err = ms_buf_printf(&buf, " include:%s",
			    b->include[i]);
	if (err == MAILSEC_OK && b->redirect != NULL) {
		if ((err = word_ok("redirect", b->redirect, diag)) ==
		    MAILSEC_OK)
			err = ms_buf_printf(&buf, " redirect=%s", b->redirect);
	} else if (err == MAILSEC_OK) {
		err = ms_buf_printf(&buf, " %call", all[b->all]);
	}
	if (err == MAILSEC_ELIMIT)
		return ms_diag(diag, err, 0, 0, "record longer than %d bytes",
		    BUILD_MAX);
	if (err != MAILSEC_OK) {
		ms_buf_free(&buf);
		return err;
	}
	return finish(&buf, MAILSEC_RECORD_SPF, out, diag);
}

/* A report URI: "mailto:" added to a bare address. */
static mailsec_err
uri_list(struct ms_buf *buf, const char *tag, const char *const *v, size_t n,
    struct mailsec_diag *diag)
{
	mailsec_err err;
	size_t i;

	for (i = 0; i < n; i++) {
		if ((err = word_ok(tag, v[i], diag)) != MAILSEC_OK)
			return err;
		if (strchr(v[i], ',') != NULL || strchr(v[i], '!') != NULL)
			return ms_diag(diag, MAILSEC_EINVAL, 0, 0, "%s '%.60s':"
			    " ',' and '!' must be percent-encoded", tag, v[i]);
		err = ms_buf_printf(buf, "%s%s%s", i ? "," : "",
		    strchr(v[i], ':') == NULL ? "mailto:" : "", v[i]);
		if (err != MAILSEC_OK)
			return err;
	}
	return MAILSEC_OK;
}

mailsec_err
mailsec_record_dmarc(const struct mailsec_dmarc_build *b, char **out,
    struct mailsec_diag *diag)
{
	struct ms_buf buf;
	const char *pn;
	mailsec_err err;

	if (out != NULL)
		*out = NULL;
	if (b == NULL || out == NULL || b->p > MAILSEC_DMARC_POLICY_REJECT ||
	    b->sp > MAILSEC_DMARC_POLICY_REJECT ||
	    b->np > MAILSEC_DMARC_POLICY_REJECT)
		return ms_diag(diag, MAILSEC_EINVAL, 0, 0, "bad arguments");
	pn = mailsec_dmarc_policy_name(b->p == MAILSEC_DMARC_POLICY_UNSET ?
	    MAILSEC_DMARC_POLICY_NONE : b->p);
	ms_buf_init(&buf, BUILD_MAX);
	err = ms_buf_printf(&buf, "v=DMARC1; p=%s", pn);
	if (err == MAILSEC_OK && b->sp != MAILSEC_DMARC_POLICY_UNSET)
		err = ms_buf_printf(&buf, "; sp=%s",
		    mailsec_dmarc_policy_name(b->sp));
	if (err == MAILSEC_OK && b->np != MAILSEC_DMARC_POLICY_UNSET)
		err = ms_buf_printf(&buf, "; np=%s",
		    mailsec_dmarc_policy_name(b->np));
	if (err == MAILSEC_OK && b->nrua > 0) {
		err = ms_buf_appendz(&buf, "; rua=");
		if (err == MAILSEC_OK)
			err = uri_list(&buf, "rua", b->rua, b->nrua, diag);
	}
	if (err == MAILSEC_OK && b->nruf > 0) {
		err = ms_buf_appendz(&buf, "; ruf=");
		if (err == MAILSEC_OK)
			err = uri_list(&buf, "ruf", b->ruf, b->nruf, diag);
	}
	if (err == MAILSEC_OK && b->adkim_strict)
		err = ms_buf_appendz(&buf, "; adkim=s");
	if (err == MAILSEC_OK && b->aspf_strict)
		err = ms_buf_appendz(&buf, "; aspf=s");
	if (err == MAILSEC_OK && b->fo != NULL) {
		if ((err = word_ok("fo", b->fo, diag)) == MAILSEC_OK)
			err = ms_buf_printf(&buf, "; fo=%s", b->fo);
	}
	if (err == MAILSEC_OK && b->testing)
		err = ms_buf_appendz(&buf, "; t=y");
	if (err != MAILSEC_OK) {
		ms_buf_free(&buf);
		return err;
	}
	return finish(&buf, MAILSEC_RECORD_DMARC, out, diag);
}

const char *
mailsec_mtasts_mode_name(enum mailsec_mtasts_mode m)
{
	switch (m) {
	case MAILSEC_MTASTS_ENFORCE: return "enforce";
	case MAILSEC_MTASTS_TESTING: return "testing";
	case MAILSEC_MTASTS_NONE: return "none";
	}
	return "unknown";
}

mailsec_err
mailsec_record_mtasts(const struct mailsec_mtasts_build *b, char **txt,
    char **policy, struct mailsec_diag *diag)
{
	struct ms_buf t, pol;
	char id[40];
	struct tm tm;
	time_t now;
	mailsec_err err;
	size_t i;

	if (txt != NULL)
		*txt = NULL;
	if (policy != NULL)
		*policy = NULL;
	if (b == NULL || txt == NULL || policy == NULL ||
	    (unsigned)b->mode > MAILSEC_MTASTS_NONE ||
	    b->max_age > MAILSEC_MTASTS_MAX_AGE_MAX)
		return ms_diag(diag, MAILSEC_EINVAL, 0, 0, "bad arguments");
	if (b->id != NULL) {
		if ((err = word_ok("id", b->id, diag)) != MAILSEC_OK)
			return err;
		if (strlen(b->id) >= sizeof id)
			return ms_diag(diag, MAILSEC_EINVAL, 0, 0, "id longer "
			    "than 32 characters");
		memcpy(id, b->id, strlen(b->id) + 1);
	} else {
		now = b->now != 0 ? (time_t)b->now : time(NULL);
		if (gmtime_r(&now, &tm) == NULL ||
		    strftime(id, sizeof id, "%Y%m%d%H%M%S", &tm) == 0)
			return ms_diag(diag, MAILSEC_EINVAL, 0, 0, "bad time");
	}
	for (i = 0; i < b->nmx; i++)
		if ((err = word_ok("mx", b->mx[i], diag)) != MAILSEC_OK)
			return err;
	ms_buf_init(&t, BUILD_MAX);
	err = ms_buf_printf(&t, "v=STSv1; id=%s", id);
	if (err != MAILSEC_OK)
		return err;
	if ((err = finish(&t, MAILSEC_RECORD_MTASTS, txt, diag)) !=
	    MAILSEC_OK)
		return err;
	ms_buf_init(&pol, MAILSEC_LINT_INPUT_MAX);
	err = ms_buf_printf(&pol, "version: STSv1\r\nmode: %s\r\n",
	    mailsec_mtasts_mode_name(b->mode));
	for (i = 0; err == MAILSEC_OK && i < b->nmx; i++)
		err = ms_buf_printf(&pol, "mx: %s\r\n", b->mx[i]);
	if (err == MAILSEC_OK)
		err = ms_buf_printf(&pol, "max_age: %u\r\n", b->max_age ?
		    b->max_age : MAILSEC_MTASTS_MAX_AGE_DEFAULT);
	if (err == MAILSEC_OK)
		err = finish(&pol, MAILSEC_RECORD_MTASTS_POLICY, policy, diag);
	if (err != MAILSEC_OK) {
		ms_buf_free(&pol);
		free(*txt);
		*txt = NULL;
	}
	return err;
}

mailsec_err
mailsec_record_tlsrpt(const struct mailsec_tlsrpt_build *b, char **out,
    struct mailsec_diag *diag)
{
	struct ms_buf buf;
	mailsec_err err;

	if (out != NULL)
		*out = NULL;
	if (b == NULL || out == NULL)
		return ms_diag(diag, MAILSEC_EINVAL, 0, 0, "bad arguments");
	if (b->nrua == 0)
		return ms_diag(diag, MAILSEC_EINVAL, 0, 0, "TLS-RPT needs at "
		    "least one rua address");
	ms_buf_init(&buf, BUILD_MAX);
	err = ms_buf_appendz(&buf, "v=TLSRPTv1; rua=");
	if (err == MAILSEC_OK)
		err = uri_list(&buf, "rua", b->rua, b->nrua, diag);
	if (err != MAILSEC_OK) {
		ms_buf_free(&buf);
		return err;
	}
	return finish(&buf, MAILSEC_RECORD_TLSRPT, out, diag);
}

mailsec_err
mailsec_record_owner(enum mailsec_record_type t, const char *domain,
    const char *selector, char **out)
{
	struct ms_buf b;
	mailsec_err err;
	size_t dl;

	if (out != NULL)
		*out = NULL;
	if (out == NULL || domain == NULL || (dl = strlen(domain)) == 0 ||
	    !ms_rec_domain_ok(domain, dl))
		return MAILSEC_EINVAL;
	if (domain[dl - 1] == '.')
		dl--;
	ms_buf_init(&b, 1024);
	switch (t) {
	case MAILSEC_RECORD_SPF:
		err = ms_buf_printf(&b, "%.*s", (int)dl, domain);
		break;
	case MAILSEC_RECORD_DMARC:
		err = ms_buf_printf(&b, "_dmarc.%.*s", (int)dl, domain);
		break;
	case MAILSEC_RECORD_DKIM:
		if (selector == NULL || !ms_rec_domain_ok(selector,
		    strlen(selector)))
			return MAILSEC_EINVAL;
		err = ms_buf_printf(&b, "%s._domainkey.%.*s", selector,
		    (int)dl, domain);
		break;
	case MAILSEC_RECORD_MTASTS:
		err = ms_buf_printf(&b, "_mta-sts.%.*s", (int)dl, domain);
		break;
	case MAILSEC_RECORD_MTASTS_POLICY:
		err = ms_buf_printf(&b, "https://mta-sts.%.*s/.well-known/"
		    "mta-sts.txt", (int)dl, domain);
		break;
	case MAILSEC_RECORD_TLSRPT:
		err = ms_buf_printf(&b, "_smtp._tls.%.*s", (int)dl, domain);
		break;
	default:
		return MAILSEC_EINVAL;
	}
	if (err != MAILSEC_OK)
		return err;
	if ((*out = ms_buf_steal(&b, NULL)) == NULL)
		return MAILSEC_ENOMEM;
	return MAILSEC_OK;
}

mailsec_err
mailsec_record_zone_line(const char *owner, uint32_t ttl, const char *text,
    size_t len, char **out)
{
	struct ms_buf b;
	mailsec_err err;
	size_t i, k, n;

	if (out != NULL)
		*out = NULL;
	if (out == NULL || owner == NULL || (text == NULL && len > 0))
		return MAILSEC_EINVAL;
	ms_buf_init(&b, ZONE_LINE_MAX);
	err = ms_buf_appendz(&b, owner);
	if (err == MAILSEC_OK && ttl != 0)
		err = ms_buf_printf(&b, " %u", ttl);
	if (err == MAILSEC_OK)
		err = ms_buf_appendz(&b, " IN TXT");
	/* RFC 1035 3.3: character-strings of at most 255 octets */
	for (i = 0; err == MAILSEC_OK && (i < len || i == 0); i += n) {
		n = len - i > 255 ? 255 : len - i;
		err = ms_buf_appendz(&b, " \"");
		for (k = 0; err == MAILSEC_OK && k < n; k++) {
			unsigned char c = (unsigned char)text[i + k];

			if (c == '"' || c == '\\')
				err = ms_buf_printf(&b, "\\%c", c);
			else if (c < 0x20 || c >= 0x7f)
				err = ms_buf_printf(&b, "\\%03u", c);
			else
				err = ms_buf_appendc(&b, (char)c);
		}
		if (err == MAILSEC_OK)
			err = ms_buf_appendc(&b, '"');
		if (len == 0)
			break;
	}
	if (err != MAILSEC_OK)
		return err;
	if ((*out = ms_buf_steal(&b, NULL)) == NULL)
		return MAILSEC_ENOMEM;
	return MAILSEC_OK;
}
