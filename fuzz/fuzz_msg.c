/*
 * fuzz/fuzz_msg.c - libFuzzer target for the message model
 * (lib/mime/msg.c) and domain normalization (lib/mime/domain.c).
 *
 * Parses the input with default and with tiny limits, with and without
 * MAILSEC_MSG_REQUIRE_CRLF, and checks the model's invariants on every
 * success: views inside the data, fields tiling the header block, values
 * no longer than their raw field, CRLF-only data, names of ftext. Any
 * violation aborts. The first 300 bytes also go through
 * mailsec_domain_normalize().
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mailsec/domain.h>
#include <mailsec/msg.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)	do { if (!(c)) abort(); } while (0)

static int
within(struct mailsec_str in, struct mailsec_str outer)
{
	return in.ptr >= outer.ptr && in.len <= outer.len &&
	    (size_t)(in.ptr - outer.ptr) <= outer.len - in.len;
}

static void
check_msg(const struct mailsec_msg *m, const char *in, size_t len,
    unsigned flags)
{
	struct mailsec_str d = mailsec_msg_data(m);
	struct mailsec_str hb = mailsec_msg_header_block(m);
	struct mailsec_str b = mailsec_msg_body(m);
	const struct mailsec_header *h;
	const char *next = d.ptr;
	size_t i, j, n = mailsec_msg_field_count(m);

	CHECK(d.len >= len);
	if (!mailsec_msg_converted(m)) {
		CHECK(d.len == len);
		CHECK(len == 0 || d.ptr == in);
	} else
		CHECK(!(flags & MAILSEC_MSG_REQUIRE_CRLF));
	CHECK(hb.ptr == d.ptr && hb.len <= d.len);
	CHECK(within(b, d));
	CHECK(b.ptr >= hb.ptr + hb.len);
	CHECK(b.ptr + b.len == d.ptr + d.len);
	for (i = 0; i < d.len; i++) {
		if (d.ptr[i] == '\r')
			CHECK(i + 1 < d.len && d.ptr[i + 1] == '\n');
		else if (d.ptr[i] == '\n')
			CHECK(i > 0 && d.ptr[i - 1] == '\r');
	}
	for (i = 0; i < n; i++) {
		h = mailsec_msg_field(m, i);
		CHECK(h != NULL);
		CHECK(within(h->raw, hb));
		CHECK(h->raw.ptr == next);
		next = h->raw.ptr + h->raw.len;
		CHECK(h->name.ptr == h->raw.ptr);
		CHECK(h->name.len > 0 && h->name.len < h->raw.len);
		for (j = 0; j < h->name.len; j++)
			CHECK((unsigned char)h->name.ptr[j] > 32 &&
			    (unsigned char)h->name.ptr[j] < 127 &&
			    h->name.ptr[j] != ':');
		CHECK(h->value.len <= h->raw.len);
		for (j = 0; j < h->value.len; j++)
			CHECK(h->value.ptr[j] != '\r' &&
			    h->value.ptr[j] != '\n' && h->value.ptr[j] != 0);
		if (h->value.len > 0) {
			CHECK(h->value.ptr[0] != ' ' &&
			    h->value.ptr[0] != '\t');
			CHECK(h->value.ptr[h->value.len - 1] != ' ' &&
			    h->value.ptr[h->value.len - 1] != '\t');
		}
		CHECK(mailsec_msg_find(m, "x", i) >= i);
	}
	CHECK(next == hb.ptr + hb.len);
	CHECK(mailsec_msg_field(m, n) == NULL);
	if (n > 0) {
		h = mailsec_msg_field(m, 0);
		/* find/count agree on the first field's own name */
		if (h->name.len < 64) {
			char name[64];

			memcpy(name, h->name.ptr, h->name.len);
			name[h->name.len] = '\0';
			CHECK(mailsec_msg_find(m, name, 0) == 0);
			CHECK(mailsec_msg_count(m, name) >= 1);
		}
	}
}

static void
run(const char *in, size_t len, const struct mailsec_msg_limits *lim,
    unsigned flags)
{
	struct mailsec_msg *m = NULL;
	struct mailsec_diag diag;
	mailsec_err err;

	memset(&diag, 0, sizeof diag);
	err = mailsec_msg_parse(in, len, lim, flags, &m, &diag);
	if (err != MAILSEC_OK) {
		CHECK(m == NULL);
		CHECK(diag.set == 1);
		CHECK(diag.offset <= len);
		CHECK(memchr(diag.text, '\0', sizeof diag.text) != NULL);
		return;
	}
	CHECK(m != NULL);
	if (lim != NULL) {
		CHECK(mailsec_msg_field_count(m) <= lim->max_fields);
		CHECK(mailsec_msg_header_block(m).len <= lim->max_header_len);
	}
	check_msg(m, in, len, flags);
	mailsec_msg_free(m);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct mailsec_msg_limits tiny = { 3, 40, 100 };
	/* an exactly-sized copy, so ASan sees any read past the end */
	char *in = malloc(size ? size : 1);
	char out[MAILSEC_DOMAIN_MAX];
	size_t outlen, i;
	mailsec_err err;

	if (in == NULL)
		return 0;
	if (size > 0)
		memcpy(in, data, size);
	run(in, size, NULL, 0);
	run(in, size, NULL, MAILSEC_MSG_REQUIRE_CRLF);
	run(in, size, &tiny, 0);
	run(in, size, &tiny, MAILSEC_MSG_REQUIRE_CRLF);

	err = mailsec_domain_normalize(in, size < 300 ? size : 300, out,
	    sizeof out, &outlen, NULL);
	if (err == MAILSEC_OK) {
		CHECK(outlen > 0 && outlen <= 253 && outlen == strlen(out));
		for (i = 0; i < outlen; i++)
			CHECK((out[i] >= 'a' && out[i] <= 'z') ||
			    (out[i] >= '0' && out[i] <= '9') ||
			    out[i] == '-' || out[i] == '_' || out[i] == '.');
		CHECK(out[0] != '.' && out[outlen - 1] != '.');
		CHECK(strstr(out, "..") == NULL);
	} else
		CHECK(out[0] == '\0');
	free(in);
	return 0;
}
