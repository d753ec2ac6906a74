/*
 * fuzz/fuzz_authres.c - libFuzzer target for the Authentication-Results
 * parser and generator (lib/authres/).
 *
 * Parses the input lenient, strict and as an ARC-Authentication-Results
 * value; strict acceptance implies lenient acceptance of the same model.
 * Every model parsed is generated again (folded at 78 and at 20 columns,
 * and on one line) and the output must parse, strictly, to the same model
 * (parse -> generate -> parse round trip). The generator may only refuse
 * a result word the vocabulary does not allow for a known method, or a
 * line longer than 998 octets. The authserv-id helper must agree with the
 * full parse.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mailsec/authres.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)	do { if (!(c)) abort(); } while (0)

static bool
vocabulary_ok(const struct mailsec_authres *ar)
{
	size_t i;

	for (i = 0; i < ar->nresults; i++)
		if (!mailsec_authres_result_valid(ar->results[i].method,
		    ar->results[i].result))
			return false;
	return true;
}

static void
round_trip(const struct mailsec_authres *ar, unsigned flags, size_t width,
    unsigned genflags)
{
	struct mailsec_authres_gen opt = MAILSEC_AUTHRES_GEN_DEFAULTS;
	struct mailsec_authres *back = NULL;
	struct mailsec_diag diag;
	mailsec_err err;
	char *out = NULL;
	size_t len = 0, i;

	opt.width = width;
	opt.flags = genflags;
	memset(&diag, 0, sizeof diag);
	err = mailsec_authres_generate(ar, &opt, &out, &len, &diag);
	if (err != MAILSEC_OK) {
		CHECK(out == NULL);
		CHECK(diag.set == 1);
		CHECK(err == MAILSEC_ELIMIT ||
		    (err == MAILSEC_EINVAL && !vocabulary_ok(ar)));
		return;
	}
	CHECK(vocabulary_ok(ar));
	CHECK(out != NULL && strlen(out) == len);
	for (i = 0; i < len; i++) {
		/* line breaks only as folds, before WSP */
		if (out[i] == '\r')
			CHECK(i + 2 < len && out[i + 1] == '\n' &&
			    (out[i + 2] == '\t' || out[i + 2] == ' '));
		if (out[i] == '\n')
			CHECK(i > 0 && out[i - 1] == '\r');
		CHECK(out[i] != '\0');
	}
	if (genflags & MAILSEC_AUTHRES_GEN_ONELINE)
		CHECK(memchr(out, '\n', len) == NULL);
	memset(&diag, 0, sizeof diag);
	err = mailsec_authres_parse(out, len,
	    (flags & MAILSEC_AUTHRES_AAR) | MAILSEC_AUTHRES_STRICT, &back,
	    &diag);
	if (err != MAILSEC_OK)
		abort();
	CHECK(mailsec_authres_equal(ar, back));
	mailsec_authres_free(back);
	free(out);
}

static void
run(const char *in, size_t len, unsigned flags)
{
	struct mailsec_authres *ar = NULL;
	struct mailsec_diag diag;
	mailsec_err err;
	char *id = NULL;
	size_t i;

	memset(&diag, 0, sizeof diag);
	err = mailsec_authres_parse(in, len, flags, &ar, &diag);
	if (err != MAILSEC_OK) {
		CHECK(ar == NULL);
		CHECK(diag.set == 1);
		CHECK(diag.offset <= len);
		CHECK(memchr(diag.text, '\0', sizeof diag.text) != NULL);
		return;
	}
	CHECK(ar != NULL && ar->authserv_id != NULL);
	CHECK(ar->authserv_id[0] != '\0');
	CHECK(ar->none == (ar->nresults == 0));
	CHECK(ar->nresults <= MAILSEC_AUTHRES_MAX_RESULTS);
	CHECK(ar->version == 0 || ar->version == 1);
	CHECK((ar->instance > 0) == ((flags & MAILSEC_AUTHRES_AAR) != 0));
	for (i = 0; i < ar->nresults; i++) {
		CHECK(ar->results[i].nprops <= MAILSEC_AUTHRES_MAX_PROPS);
		if (flags & MAILSEC_AUTHRES_STRICT)
			CHECK(ar->results[i].nignored == 0);
	}

	/* the authserv-id helper reads the same id */
	CHECK(mailsec_authres_authserv_id(in, len, flags, &id, NULL) ==
	    MAILSEC_OK);
	CHECK(strcmp(id, ar->authserv_id) == 0);
	if (!(flags & MAILSEC_AUTHRES_AAR))
		CHECK(mailsec_authres_is_ours(in, len, id));
	free(id);

	if (flags & MAILSEC_AUTHRES_STRICT) {
		struct mailsec_authres *lenient = NULL;

		CHECK(mailsec_authres_parse(in, len,
		    flags & ~MAILSEC_AUTHRES_STRICT, &lenient, NULL) ==
		    MAILSEC_OK);
		CHECK(mailsec_authres_equal(ar, lenient));
		mailsec_authres_free(lenient);
	}

	round_trip(ar, flags, 78, 0);
	round_trip(ar, flags, 20, 0);
	round_trip(ar, flags, 78, MAILSEC_AUTHRES_GEN_ONELINE);
	mailsec_authres_free(ar);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* an exactly-sized copy, so ASan sees any read past the end */
	char *in = malloc(size ? size : 1);
	char *id = NULL;

	if (in == NULL)
		return 0;
	if (size > 0)
		memcpy(in, data, size);
	run(in, size, 0);
	run(in, size, MAILSEC_AUTHRES_STRICT);
	run(in, size, MAILSEC_AUTHRES_AAR);
	if (mailsec_authres_authserv_id(in, size, 0, &id, NULL) ==
	    MAILSEC_OK) {
		CHECK(id != NULL && id[0] != '\0');
		free(id);
	}
	free(in);
	return 0;
}
