/*
 * fuzz/fuzz_dkim_keyrec.c - libFuzzer target for DKIM key records
 * (lib/dkim/key.c, RFC 6376 3.6.1, RFC 8463) and private key loading.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <mailsec/dkim.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)	do { if (!(c)) abort(); } while (0)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mailsec_dkim_record rec;
	struct mailsec_diag diag = { 0 };
	struct mailsec_dkim_key *key = NULL;
	mailsec_err err;

	err = mailsec_dkim_record_parse((const char *)data, size, &rec, &diag);
	if (err == MAILSEC_OK) {
		CHECK(!rec.revoked || rec.key_bits == 0);
		CHECK(!(rec.sha1_only && rec.sha256_allowed));
	} else {
		CHECK(diag.set);
		CHECK(diag.offset <= size);
	}
	if (size < 4096 && mailsec_dkim_key_load((const char *)data, size,
	    &key, NULL) == MAILSEC_OK) {
		CHECK(mailsec_dkim_key_algorithm(key) != 0);
		mailsec_dkim_key_free(key);
	}
	return 0;
}
