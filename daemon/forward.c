/*
 * daemon/forward.c - forwarding aliases (daemon/forward.h): the checks
 * of the forward { } section, the lookup at RCPT TO and the ORCPT of an
 * expanded recipient (RFC 3461 4.2).
 *
 * Addresses: RFC 5321 4.1.2 (Dot-string, Mailbox) and 4.5.3.1.1 (local
 * part length); domains as mailsec_domain_normalize() gives them.
 */
#include <stdlib.h>
#include <string.h>

#include <mailsec/domain.h>

#include "core/core.h"
#include "forward.h"

/* "@" + the longest normalized domain, or local "@" domain. */
#define FWD_ADDR_MAX	(FWD_LOCAL_MAX + 1 + MAILSEC_DOMAIN_MAX)
/* The ORCPT type written for an alias (RFC 3461 4.2). */
#define FWD_ORCPT_TYPE	"rfc822;"

/* atext of RFC 5322 3.2.3 (ASCII). */
static bool
is_atext(unsigned char c)
{
	return ms_isalpha(c) || ms_isdigit(c) ||
	    (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* Dot-string (RFC 5321 4.1.2): atoms of atext joined by single dots. */
static bool
dot_string_ok(const char *p, size_t n)
{
	size_t i;

	if (n == 0 || n > FWD_LOCAL_MAX || p[0] == '.' || p[n - 1] == '.')
		return false;
	for (i = 0; i < n; i++) {
		if (p[i] == '.') {
			if (p[i - 1] == '.')
				return false;
			continue;
		}
		if (!is_atext((unsigned char)p[i]))
			return false;
	}
	return true;
}

/* local (lowercased when lower) "@" normalized domain into *norm. */
static const char *
make_addr(const char *local, size_t llen, bool lower, const char *domain,
    char **norm)
{
	char dom[MAILSEC_DOMAIN_MAX];
	char *out;
	size_t dl, i;

	if (mailsec_domain_normalize(domain, strlen(domain), dom, sizeof dom,
	    &dl, NULL) != MAILSEC_OK)
		return "has no valid domain after '@' (example: "
		    "example.org)";
	if ((out = malloc(llen + 1 + dl + 1)) == NULL)
		return "out of memory";
	for (i = 0; i < llen; i++)
		out[i] = lower ? (char)ms_tolower((unsigned char)local[i]) :
		    local[i];
	out[llen] = '@';
	memcpy(out + llen + 1, dom, dl + 1);
	*norm = out;
	return NULL;
}

const char *
fwd_check_alias(const char *v, char **norm)
{
	const char *at = strrchr(v, '@');
	size_t ln;

	*norm = NULL;
	if (at == NULL)
		return "is not an address: write alias@example.org, or "
		    "@example.org for every address of the domain";
	ln = (size_t)(at - v);
	if (ln > FWD_LOCAL_MAX)
		return "has a local part over 64 characters (RFC 5321 "
		    "4.5.3.1.1)";
	/* what RCPT TO can carry unquoted, so the alias can be hit */
	if (ln > 0 && !dot_string_ok(v, ln))
		return "has a local part that is not a dot-string (letters, "
		    "digits, !#$%&'*+-/=?^_`{|}~ and single dots; RFC 5321 "
		    "4.1.2)";
	return make_addr(v, ln, true, at + 1, norm);
}

const char *
fwd_check_target(const char *v, char **norm)
{
	const char *at = strrchr(v, '@');
	size_t ln;

	*norm = NULL;
	if (at == NULL || at == v)
		return "is not an address (write someone@example.net)";
	ln = (size_t)(at - v);
	if (ln > FWD_LOCAL_MAX)
		return "has a local part over 64 characters (RFC 5321 "
		    "4.5.3.1.1)";
	if (!dot_string_ok(v, ln))
		return "has a local part that is not a dot-string (letters, "
		    "digits, !#$%&'*+-/=?^_`{|}~ and single dots; RFC 5321 "
		    "4.1.2)";
	return make_addr(v, ln, false, at + 1, norm);
}

static const struct gw_forward_alias *
find(const struct gw_forward *fw, const char *key)
{
	size_t i;

	for (i = 0; i < fw->n; i++)
		if (strcmp(fw->aliases[i].from, key) == 0)
			return &fw->aliases[i];
	return NULL;
}

const struct gw_forward_alias *
fwd_lookup(const struct gw_config *cfg, const char *local, size_t llen,
    const char *domain, size_t dlen)
{
	const struct gw_forward_alias *a = NULL;
	char dom[MAILSEC_DOMAIN_MAX], key[FWD_ADDR_MAX + 1];
	size_t dl, i;

	if (cfg->forward.n == 0 || local == NULL || domain == NULL ||
	    dlen == 0)
		return NULL;
	if (mailsec_domain_normalize(domain, dlen, dom, sizeof dom, &dl,
	    NULL) != MAILSEC_OK)
		return NULL;
	if (llen > 0 && llen <= FWD_LOCAL_MAX &&
	    memchr(local, '\0', llen) == NULL) {
		for (i = 0; i < llen; i++)
			key[i] = (char)ms_tolower((unsigned char)local[i]);
		key[llen] = '@';
		memcpy(key + llen + 1, dom, dl + 1);
		a = find(&cfg->forward, key);
	}
	if (a == NULL && !ms_ascii_eqz(local, llen, "postmaster")) {
		key[0] = '@';
		memcpy(key + 1, dom, dl + 1);
		a = find(&cfg->forward, key);
	}
	return a;
}

mailsec_err
fwd_orcpt(const char *given, const char *original, char **out)
{
	size_t i, n;

	*out = NULL;
	if (given != NULL)
		return (*out = strdup(given)) == NULL ? MAILSEC_ENOMEM :
		    MAILSEC_OK;
	n = strlen(original);
	/* RFC 3461 4.2: an rfc822 address is US-ASCII; a UTF-8 one
	 * (RFC 6533's utf-8 type) is left without ORCPT */
	if (n == 0)
		return MAILSEC_OK;
	for (i = 0; i < n; i++)
		if ((unsigned char)original[i] < 0x20 ||
		    (unsigned char)original[i] > 0x7e)
			return MAILSEC_OK;
	if ((*out = malloc(sizeof FWD_ORCPT_TYPE + n)) == NULL)
		return MAILSEC_ENOMEM;
	memcpy(*out, FWD_ORCPT_TYPE, sizeof FWD_ORCPT_TYPE - 1);
	memcpy(*out + sizeof FWD_ORCPT_TYPE - 1, original, n + 1);
	return MAILSEC_OK;
}
