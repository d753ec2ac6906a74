/*
 * fuzz/fuzz_mtasts.c - libFuzzer target for the MTA-STS parsers of
 * lib/record/mtasts.c: the policy file (RFC 8461 3.2), the TXT record
 * (3.1), the TLS-RPT record (RFC 8460 3) and MX pattern matching (4.1,
 * the input split at its first newline into pattern and host).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <mailsec/mtasts.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)	do { if (!(c)) abort(); } while (0)

static void
check_policy(const char *p, size_t len)
{
	struct mailsec_mtasts_policy *pol = NULL;
	struct mailsec_diag d = { 0 };
	char host[300];
	size_t i, n;
	mailsec_err err;

	err = mailsec_mtasts_policy_parse(p, len, &pol, &d);
	if (err != MAILSEC_OK) {
		CHECK(pol == NULL && d.set);
		CHECK(err == MAILSEC_ESYNTAX || err == MAILSEC_ELIMIT);
		CHECK(d.offset <= len);
		return;
	}
	CHECK(strcmp(pol->version, "STSv1") == 0);
	CHECK(pol->mode <= MAILSEC_MTASTS_NONE);
	CHECK(pol->max_age <= MAILSEC_MTASTS_MAX_AGE_MAX);
	CHECK(pol->nmx <= MAILSEC_MTASTS_POLICY_MX_MAX);
	CHECK(pol->mode == MAILSEC_MTASTS_NONE || pol->nmx > 0);
	for (i = 0; i < pol->nmx; i++) {
		n = strlen(pol->mx[i]);
		CHECK(n > 0 && pol->mx[i][n - 1] != '.');
		/* every pattern matches a host made from it */
		if (pol->mx[i][0] == '*') {
			CHECK(n > 2 && n + 1 < sizeof host);
			host[0] = 'h';
			memcpy(host + 1, pol->mx[i] + 1, n);
			CHECK(mailsec_mtasts_mx_match(pol->mx[i], host));
			/* never the bare parent */
			CHECK(!mailsec_mtasts_mx_match(pol->mx[i],
			    pol->mx[i] + 2));
		} else {
			CHECK(mailsec_mtasts_mx_match(pol->mx[i], pol->mx[i]));
		}
	}
	mailsec_mtasts_policy_free(pol);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	struct mailsec_mtasts_txt txt;
	char **rua = NULL, *a, *nl;
	size_t nrua = 0, i;

	check_policy(p, size);
	if (mailsec_mtasts_txt_parse(p, size, &txt, NULL) == MAILSEC_OK) {
		CHECK(strlen(txt.id) >= 1 &&
		    strlen(txt.id) <= MAILSEC_MTASTS_ID_MAX);
	}
	if (mailsec_tlsrpt_txt_parse(p, size, &rua, &nrua, NULL) ==
	    MAILSEC_OK) {
		CHECK(nrua >= 1 && nrua <= MAILSEC_TLSRPT_RUA_MAX);
		for (i = 0; i < nrua; i++)
			CHECK(strncasecmp(rua[i], "https://", 8) == 0 ||
			    strncasecmp(rua[i], "mailto:", 7) == 0);
		mailsec_tlsrpt_rua_free(rua, nrua);
	} else {
		CHECK(rua == NULL && nrua == 0);
	}
	/* pattern "\n" host, as C strings */
	if (size < 1024 && (a = malloc(size + 1)) != NULL) {
		memcpy(a, data, size);
		a[size] = '\0';
		if ((nl = strchr(a, '\n')) != NULL) {
			*nl = '\0';
			(void)mailsec_mtasts_mx_match(a, nl + 1);
			/* symmetric for plain names */
			if (a[0] != '*' && nl[1] != '*')
				CHECK(mailsec_mtasts_mx_match(a, nl + 1) ==
				    mailsec_mtasts_mx_match(nl + 1, a));
		}
		free(a);
	}
	return 0;
}
