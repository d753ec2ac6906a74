/*
 * lib/authres/model.c - the Authentication-Results model (RFC 8601 2.2):
 * building, freeing and comparing fields; the result vocabularies of
 * RFC 8601 2.7, RFC 8617 10.1 and RFC 9989 9.2; the forged-field helpers
 * of RFC 8601 section 5; the value classes the generator quotes by.
 */
#include <stdlib.h>
#include <string.h>

#include "authres/authres_int.h"

/* ---- value classes ----------------------------------------------------- */

bool
ms_ar_is_keyword(const char *p, size_t n)
{
	size_t i;

	if (n == 0 || !ms_isalnum((unsigned char)p[n - 1]))
		return false;
	for (i = 0; i < n; i++)
		if (!ms_ar_keyc((unsigned char)p[i]))
			return false;
	return true;
}

bool
ms_ar_is_token(const char *p, size_t n)
{
	size_t i;

	if (n == 0)
		return false;
	for (i = 0; i < n; i++)
		if (!ms_ar_tokenc((unsigned char)p[i]))
			return false;
	return true;
}

/* domain-name of RFC 6376 3.5: sub-domain 1*("." sub-domain), each
 * sub-domain Let-dig [Ldh-str]. A single label is accepted too (RFC
 * 8601 examples use "example-auth"-like names). */
bool
ms_ar_is_domain(const char *p, size_t n)
{
	size_t i, start = 0;

	if (n == 0)
		return false;
	for (i = 0; i <= n; i++) {
		if (i < n && p[i] != '.') {
			if (!ms_ar_keyc((unsigned char)p[i]))
				return false;
			continue;
		}
		/* label p[start..i) */
		if (i == start || !ms_isalnum((unsigned char)p[start]) ||
		    !ms_isalnum((unsigned char)p[i - 1]))
			return false;
		start = i + 1;
	}
	return true;
}

/* An ASCII quoted-string as the generator would write it: quotes
 * around qtext, space, tab and quoted-pairs. */
bool
ms_ar_is_quoted(const char *p, size_t n)
{
	size_t i;

	if (n < 2 || p[0] != '"' || p[n - 1] != '"')
		return false;
	for (i = 1; i < n - 1; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == '\\') {
			if (i + 1 >= n - 1)
				return false;
			c = (unsigned char)p[++i];
			if (!(c == ' ' || c == '\t' || (c > 0x20 && c < 0x7f)))
				return false;
		} else if (!ms_ar_qtext(c) && c != ' ' && c != '\t')
			return false;
	}
	return true;
}

/* "[local-part] @ domain-name" of RFC 8601 2.2 pvalue. */
bool
ms_ar_is_addr_value(const char *p, size_t n)
{
	size_t at;

	for (at = n; at > 0; at--)
		if (p[at - 1] == '@')
			break;
	if (at == 0)
		return false;
	at--;
	if (!ms_ar_is_domain(p + at + 1, n - at - 1))
		return false;
	return at == 0 || ms_dot_atom_ok(p, at) || ms_ar_is_quoted(p, at);
}

/* ---- building ---------------------------------------------------------- */

static char *
dupz(const char *s)
{
	return ms_memdupz(s, strlen(s));
}

/* Replaces *slot with a copy of s (NULL clears it). */
static mailsec_err
set_str(char **slot, const char *s)
{
	char *c = NULL;

	if (s != NULL && (c = dupz(s)) == NULL)
		return MAILSEC_ENOMEM;
	free(*slot);
	*slot = c;
	return MAILSEC_OK;
}

mailsec_err
mailsec_authres_new(const char *authserv_id, struct mailsec_authres **out)
{
	struct mailsec_authres *ar;

	if (out == NULL)
		return MAILSEC_EINVAL;
	*out = NULL;
	if (authserv_id == NULL || authserv_id[0] == '\0')
		return MAILSEC_EINVAL;
	if ((ar = ms_calloc(1, sizeof *ar)) == NULL)
		return MAILSEC_ENOMEM;
	if ((ar->authserv_id = dupz(authserv_id)) == NULL) {
		free(ar);
		return MAILSEC_ENOMEM;
	}
	ar->none = true;	/* until a result is added */
	*out = ar;
	return MAILSEC_OK;
}

static void
prop_clear(struct mailsec_authres_prop *pr)
{
	free(pr->ptype);
	free(pr->property);
	free(pr->value);
	free(pr->comment);
}

static void
result_clear(struct mailsec_authres_result *r)
{
	size_t i;

	for (i = 0; i < r->nprops; i++)
		prop_clear(&r->props[i]);
	free(r->props);
	free(r->method);
	free(r->result);
	free(r->reason);
	free(r->comment);
}

void
mailsec_authres_free(struct mailsec_authres *ar)
{
	size_t i;

	if (ar == NULL)
		return;
	for (i = 0; i < ar->nresults; i++)
		result_clear(&ar->results[i]);
	free(ar->results);
	free(ar->authserv_id);
	free(ar->comment);
	free(ar);
}

mailsec_err
mailsec_authres_add_result(struct mailsec_authres *ar, const char *method,
    const char *result)
{
	struct mailsec_authres_result *rs, *r;

	if (ar == NULL || method == NULL || result == NULL)
		return MAILSEC_EINVAL;
	if (ar->nresults >= MAILSEC_AUTHRES_MAX_RESULTS)
		return MAILSEC_ELIMIT;
	rs = ms_reallocarray(ar->results, ar->nresults + 1, sizeof *rs);
	if (rs == NULL)
		return MAILSEC_ENOMEM;
	ar->results = rs;
	r = &rs[ar->nresults];
	memset(r, 0, sizeof *r);
	if ((r->method = dupz(method)) == NULL ||
	    (r->result = dupz(result)) == NULL) {
		free(r->method);
		return MAILSEC_ENOMEM;
	}
	ar->nresults++;
	ar->none = false;
	return MAILSEC_OK;
}

static struct mailsec_authres_result *
last_result(struct mailsec_authres *ar)
{
	return ar != NULL && ar->nresults > 0 ?
	    &ar->results[ar->nresults - 1] : NULL;
}

mailsec_err
mailsec_authres_set_reason(struct mailsec_authres *ar, const char *reason)
{
	struct mailsec_authres_result *r = last_result(ar);

	return r == NULL ? MAILSEC_EINVAL : set_str(&r->reason, reason);
}

mailsec_err
mailsec_authres_set_comment(struct mailsec_authres *ar, const char *comment)
{
	struct mailsec_authres_result *r = last_result(ar);

	return r == NULL ? MAILSEC_EINVAL : set_str(&r->comment, comment);
}

mailsec_err
mailsec_authres_add_prop(struct mailsec_authres *ar, const char *ptype,
    const char *property, const char *value, const char *comment)
{
	struct mailsec_authres_result *r = last_result(ar);
	struct mailsec_authres_prop *ps, pr;

	if (r == NULL || ptype == NULL || property == NULL || value == NULL)
		return MAILSEC_EINVAL;
	if (r->nprops >= MAILSEC_AUTHRES_MAX_PROPS)
		return MAILSEC_ELIMIT;
	memset(&pr, 0, sizeof pr);
	if ((pr.ptype = dupz(ptype)) == NULL ||
	    (pr.property = dupz(property)) == NULL ||
	    (pr.value = dupz(value)) == NULL ||
	    (comment != NULL && (pr.comment = dupz(comment)) == NULL))
		goto nomem;
	ps = ms_reallocarray(r->props, r->nprops + 1, sizeof *ps);
	if (ps == NULL)
		goto nomem;
	r->props = ps;
	ps[r->nprops++] = pr;
	return MAILSEC_OK;
nomem:
	prop_clear(&pr);
	return MAILSEC_ENOMEM;
}

/* ---- comparing --------------------------------------------------------- */

static bool
str_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static bool
result_eq(const struct mailsec_authres_result *a,
    const struct mailsec_authres_result *b)
{
	size_t i;

	if (!str_eq(a->method, b->method) ||
	    a->method_version != b->method_version ||
	    !str_eq(a->result, b->result) || !str_eq(a->reason, b->reason) ||
	    !str_eq(a->comment, b->comment) || a->nprops != b->nprops)
		return false;
	for (i = 0; i < a->nprops; i++) {
		const struct mailsec_authres_prop *x = &a->props[i];
		const struct mailsec_authres_prop *y = &b->props[i];

		if (!str_eq(x->ptype, y->ptype) ||
		    !str_eq(x->property, y->property) ||
		    !str_eq(x->value, y->value) ||
		    !str_eq(x->comment, y->comment))
			return false;
	}
	return true;
}

bool
mailsec_authres_equal(const struct mailsec_authres *a,
    const struct mailsec_authres *b)
{
	size_t i;

	if (a == NULL || b == NULL)
		return a == b;
	if (a->instance != b->instance ||
	    !str_eq(a->authserv_id, b->authserv_id) ||
	    a->version != b->version || a->none != b->none ||
	    !str_eq(a->comment, b->comment) || a->nresults != b->nresults)
		return false;
	for (i = 0; i < a->nresults; i++)
		if (!result_eq(&a->results[i], &b->results[i]))
			return false;
	return true;
}

/* ---- vocabularies ------------------------------------------------------ */

/* RFC 7601 2.7.2 (RFC 7208 2.6 plus "policy"). */
static const char *const spf_words[] = { "none", "pass", "fail",
	"softfail", "policy", "neutral", "temperror", "permerror", NULL };
/* RFC 7601 2.7.1, shared with DomainKeys. */
static const char *const dkim_words[] = { "none", "pass", "fail",
	"policy", "neutral", "temperror", "permerror", NULL };
/* RFC 9989 9.2. */
static const char *const dmarc_words[] = { "none", "pass", "fail",
	"temperror", "permerror", NULL };
/* RFC 8617 10.1. */
static const char *const arc_words[] = { "none", "pass", "fail", NULL };
/* RFC 7601 2.7.4. */
static const char *const auth_words[] = { "none", "pass", "fail",
	"temperror", "permerror", NULL };
/* RFC 7601 2.7.3: no "none", every connection has an address. */
static const char *const iprev_words[] = { "pass", "fail", "temperror",
	"permerror", NULL };

static const struct {
	const char *method;
	const char *const *words;
} vocab[] = {
	{ "spf", spf_words },
	{ "sender-id", spf_words },
	{ "dkim", dkim_words },
	{ "domainkeys", dkim_words },
	{ "dmarc", dmarc_words },
	{ "arc", arc_words },
	{ "auth", auth_words },
	{ "iprev", iprev_words },
};

const char *const *
mailsec_authres_result_words(const char *method)
{
	size_t i;

	if (method == NULL)
		return NULL;
	for (i = 0; i < MS_ARRAY_LEN(vocab); i++)
		if (ms_ascii_eqz(method, strlen(method), vocab[i].method))
			return vocab[i].words;
	return NULL;
}

bool
mailsec_authres_method_known(const char *method)
{
	return mailsec_authres_result_words(method) != NULL;
}

bool
mailsec_authres_result_valid(const char *method, const char *result)
{
	const char *const *w;
	size_t n;

	if (method == NULL || result == NULL)
		return false;
	n = strlen(result);
	if (!ms_ar_is_keyword(result, n))
		return false;
	if ((w = mailsec_authres_result_words(method)) == NULL)
		return true;
	for (; *w != NULL; w++)
		if (ms_ascii_eqz(result, n, *w))
			return true;
	return false;
}

/* ---- forged fields (RFC 8601 section 5) -------------------------------- */

/* Length without one trailing dot. */
static size_t
undot(const char *s, size_t n)
{
	return n > 1 && s[n - 1] == '.' ? n - 1 : n;
}

bool
mailsec_authres_is_ours(const char *p, size_t len, const char *authserv_id)
{
	char *id = NULL;
	bool ours;

	if (authserv_id == NULL || authserv_id[0] == '\0' ||
	    mailsec_authres_authserv_id(p, len, 0, &id, NULL) != MAILSEC_OK)
		return false;
	ours = ms_ascii_eq(id, undot(id, strlen(id)), authserv_id,
	    undot(authserv_id, strlen(authserv_id)));
	free(id);
	return ours;
}

size_t
mailsec_authres_msg_find(const struct mailsec_msg *msg,
    const char *authserv_id, size_t start)
{
	const struct mailsec_header *h;
	size_t i;

	if (msg == NULL || authserv_id == NULL)
		return (size_t)-1;
	for (i = mailsec_msg_find(msg, "Authentication-Results", start);
	    i != (size_t)-1;
	    i = mailsec_msg_find(msg, "Authentication-Results", i + 1)) {
		h = mailsec_msg_field(msg, i);
		if (h != NULL && mailsec_authres_is_ours(h->value.ptr,
		    h->value.len, authserv_id))
			return i;
	}
	return (size_t)-1;
}

size_t
mailsec_authres_msg_count(const struct mailsec_msg *msg,
    const char *authserv_id)
{
	size_t i, n = 0;

	for (i = mailsec_authres_msg_find(msg, authserv_id, 0);
	    i != (size_t)-1;
	    i = mailsec_authres_msg_find(msg, authserv_id, i + 1))
		n++;
	return n;
}
