/*
 * fuzz/fuzz_smtp_cmd.c - the SMTP line splitter fed the input in chunks of
 * varying size, every complete line through mailsec_smtp_cmd_parse() (with
 * options from the first byte), the reply writer, xtext and SASL PLAIN
 * decoders; checks the contracts of mailsec/smtp.h.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mailsec/smtp.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) abort(); } while (0)

static void
check_reply(const struct mailsec_smtp_reply *r)
{
	char buf[1024];
	size_t len = 0, i;

	CHECK(r->code >= 400 && r->code <= 599);
	CHECK(r->text[0] != '\0');
	CHECK(strlen(r->status) < sizeof r->status);
	CHECK(r->status[0] == '\0' || r->status[0] == (char)('0' +
	    r->code / 100));
	CHECK(mailsec_smtp_reply_write(buf, sizeof buf, &len, r, true) ==
	    MAILSEC_OK);
	CHECK(len >= 6 && buf[len - 2] == '\r' && buf[len - 1] == '\n');
	for (i = 0; i + 2 < len; i++)
		CHECK(buf[i] != '\r' && (buf[i] != '\n' ||
		    buf[i - 1] == '\r'));
}

static void
check_cmd(const char *line, size_t len, unsigned sel)
{
	struct mailsec_smtp_parse_opts o;
	struct mailsec_smtp_cmd cmd;
	struct mailsec_diag diag;
	struct mailsec_smtp_sasl_creds creds;
	struct mailsec_smtp_reply r;
	char xt[64];
	size_t n;
	mailsec_err err;

	memset(&o, 0, sizeof o);
	o.caps = (sel & 1) ? 0x7ffu : (sel & 2) ? 0x0ffu : 0;
	o.size_max = (sel & 4) ? 100000 : 0;
	o.smtputf8 = (sel & 8) != 0;
	memset(&diag, 0, sizeof diag);
	err = mailsec_smtp_cmd_parse(line, len, &o, &cmd, &diag);
	CHECK((unsigned)cmd.verb < MAILSEC_SMTP_VERB_COUNT);
	CHECK(cmd.arg.ptr >= line && cmd.arg.ptr + cmd.arg.len <= line + len);
	if (err != MAILSEC_OK) {
		CHECK(err == MAILSEC_ESYNTAX || err == MAILSEC_ELIMIT ||
		    err == MAILSEC_EUNSUPPORTED);
		CHECK(diag.set && diag.offset <= len);
		check_reply(&cmd.reply);
		return;
	}
	if (cmd.verb == MAILSEC_SMTP_UNKNOWN) {
		CHECK(cmd.reply.code == 500);
		return;
	}
	CHECK(cmd.reply.code == 0 && !diag.set);
	if (cmd.verb == MAILSEC_SMTP_MAIL || cmd.verb == MAILSEC_SMTP_RCPT) {
		const struct mailsec_smtp_path *p = &cmd.path;

		CHECK(p->local_len <= MAILSEC_SMTP_LOCAL_MAX);
		CHECK(p->domain_len <= MAILSEC_SMTP_DOMAIN_MAX);
		CHECK(p->local[p->local_len] == '\0');
		CHECK(strlen(p->domain) == p->domain_len);
		CHECK(p->local_len + p->domain_len + 3 <=
		    MAILSEC_SMTP_PATH_MAX);
		if (p->null || p->postmaster)
			CHECK(p->domain_len == 0 &&
			    p->host == MAILSEC_SMTP_HOST_NONE);
		else
			CHECK(p->domain_len > 0 &&
			    p->host != MAILSEC_SMTP_HOST_NONE);
		if (p->host >= MAILSEC_SMTP_HOST_IPV4)
			CHECK(p->domain[0] == '[' &&
			    p->domain[p->domain_len - 1] == ']');
		if (p->null)
			CHECK(cmd.verb == MAILSEC_SMTP_MAIL);
		if (p->postmaster)
			CHECK(cmd.verb == MAILSEC_SMTP_RCPT);
		if (p->utf8)
			CHECK(cmd.verb == MAILSEC_SMTP_MAIL ?
			    (cmd.params.present & MAILSEC_SMTP_P_SMTPUTF8) :
			    o.smtputf8);
		CHECK(cmd.params.envid_len <= MAILSEC_SMTP_ENVID_MAX);
		CHECK(cmd.params.orcpt_len <= MAILSEC_SMTP_ORCPT_MAX);
		CHECK(cmd.params.auth_len <= MAILSEC_SMTP_AUTH_PARAM_MAX);
		if (cmd.params.present != 0)
			CHECK(o.caps != 0);
		if (o.size_max > 0)
			CHECK(cmd.params.size <= o.size_max);
	}
	if (cmd.verb == MAILSEC_SMTP_AUTH) {
		CHECK(cmd.auth_mech != MAILSEC_SMTP_SASL_OTHER);
		if (cmd.auth_has_ir) {
			CHECK(cmd.auth_ir.len > 0);
			memset(&r, 0, sizeof r);
			if (mailsec_smtp_sasl_plain_decode(cmd.auth_ir.ptr,
			    cmd.auth_ir.len, &creds, &r) == MAILSEC_OK) {
				CHECK(creds.authcid_len > 0 &&
				    creds.passwd_len > 0);
				CHECK(strlen(creds.authcid) ==
				    creds.authcid_len);
			} else {
				check_reply(&r);
				CHECK(creds.authcid_len == 0);
			}
		}
	}
	if (mailsec_smtp_xtext_decode(cmd.arg.ptr, cmd.arg.len, xt, sizeof xt,
	    &n) == MAILSEC_OK)
		CHECK(n <= cmd.arg.len && n < sizeof xt);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mailsec_smtp_lines ls;
	struct mailsec_str line;
	enum mailsec_smtp_line_status st;
	const char *in;
	char *buf;
	size_t len, have = 0, pos = 0, used, step, limit, i;
	unsigned sel;

	if (size < 2)
		return 0;
	sel = data[0];
	step = (size_t)data[1] % 64 + 1;
	in = (const char *)data + 2;
	len = size - 2;
	/* small limits reach the too-long paths with small inputs */
	mailsec_smtp_lines_init(&ls, (sel & 0x10) ? 24 : 0,
	    (sel & 0x20) ? 40 : 0);
	limit = ls.auth_max;
	buf = malloc(limit + 64);
	if (buf == NULL)
		return 0;
	while (pos < len) {
		size_t n = len - pos < step ? len - pos : step;

		memcpy(buf + have, in + pos, n);
		have += n;
		pos += n;
		for (;;) {
			st = mailsec_smtp_line_next(&ls, buf, have, &used,
			    &line);
			CHECK(used <= have);
			if (st == MAILSEC_SMTP_LINE_NEED_MORE) {
				memmove(buf, buf + used, have - used);
				have -= used;
				CHECK(have < limit);
				break;
			}
			CHECK(line.ptr == buf);
			CHECK(line.len < used);
			if (st == MAILSEC_SMTP_LINE_OK) {
				CHECK(used == line.len + 2);
				CHECK(used <= limit);
				for (i = 0; i < line.len; i++)
					CHECK(line.ptr[i] != '\r' &&
					    line.ptr[i] != '\n');
				check_cmd(line.ptr, line.len, sel >> 6 |
				    (sel & 0xc));
			} else {
				struct mailsec_smtp_reply r;

				CHECK(mailsec_smtp_line_reply(st, &r));
				check_reply(&r);
			}
			memmove(buf, buf + used, have - used);
			have -= used;
		}
	}
	/* the whole input as one line, too */
	check_cmd(in, len, sel);
	free(buf);
	return 0;
}
