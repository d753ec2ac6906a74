/*
 * fuzz/fuzz_passwd.c - libFuzzer target for the gateway's password file
 * (daemon/passwd.c): the line parser, the hash-text syntax check and the
 * login lookup. Hashes are not computed (scrypt is slow by design); the
 * syntax check that guards gw_passwd_verify() is.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "passwd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)	do { if (!(c)) abort(); } while (0)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gw_passwd *pw = NULL;
	const char *p = (const char *)data;
	char err[256];
	size_t i;

	(void)gw_passwd_hash_ok(p, size);
	(void)gw_passwd_user_ok(p, size);
	err[0] = '\0';
	if (gw_passwd_parse(p, size, "fuzz", &pw, err, sizeof(err)) !=
	    MAILSEC_OK) {
		CHECK(pw == NULL);
		CHECK(err[0] != '\0');	/* a failure always says why */
		return 0;
	}
	CHECK(pw != NULL);
	for (i = 0; i < pw->n; i++) {
		const struct gw_passwd_entry *e = &pw->v[i];

		if (e->user == NULL)
			continue;
		/* every accepted line has a usable login and hash text, and
		 * the login finds its own entry */
		CHECK(gw_passwd_user_ok(e->user, strlen(e->user)));
		CHECK(e->hash != NULL &&
		    gw_passwd_hash_ok(e->hash, strlen(e->hash)));
		CHECK(gw_passwd_find(pw, e->user, strlen(e->user)) != NULL);
	}
	gw_passwd_free(pw);
	return 0;
}
