/*
 * cli/cmd_queue.c - `mailsec queue list|show ID|delete ID|flush`: the
 * gateway's spool, through the running daemon's control socket or, when
 * no daemon runs, read directly (docs/queue.md).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "control.h"
#include "queue.h"

int cmd_queue(int argc, char **argv);

#define QUEUE_DEFAULT_STATE_DIR "./var"

/* Peer-supplied text on a terminal: control bytes shown as '?'. */
static void
put_safe(FILE *f, const char *s)
{
	for (; *s != '\0'; s++)
		fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, f);
}

static void
put_safe_n(FILE *f, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (s[i] == '\r' && i + 1 < len && s[i + 1] == '\n')
			continue;
		if (s[i] == '\n' || s[i] == '\t')
			fputc(s[i], f);
		else
			fputc((unsigned char)s[i] < 0x20 || s[i] == 0x7f ?
			    '?' : s[i], f);
	}
}

/* One word for a message: active, deferred, queued. */
static const char *
entry_state(const struct queue_entry *e)
{
	size_t i;

	if (e->active)
		return "active";
	for (i = 0; i < e->env.nrcpt; i++)
		if (e->env.rcpt[i].status == QUEUE_RCPT_DEFERRED)
			return "deferred";
	return "queued";
}

static void
age_text(int64_t received, char *buf, size_t sz)
{
	int64_t a = (int64_t)time(NULL) - received;

	if (a < 0)
		a = 0;
	if (a < 120)
		snprintf(buf, sz, "%llds", (long long)a);
	else if (a < 7200)
		snprintf(buf, sz, "%lldm", (long long)(a / 60));
	else if (a < 172800)
		snprintf(buf, sz, "%lldh", (long long)(a / 3600));
	else
		snprintf(buf, sz, "%lldd", (long long)(a / 86400));
}

static void
print_rcpt_json(FILE *f, const struct queue_rcpt *r)
{
	fputs("{\"address\": ", f);
	json_strz(f, r->addr);
	json_member(f, "status", queue_rcpt_status_name(r->status));
	json_member(f, "reason", r->reason);
	json_member(f, "notify", r->notify);
	json_member(f, "orcpt", r->orcpt);
	fprintf(f, ", \"attempts\": %u, \"code\": ", r->attempts);
	if (r->code > 0)
		fprintf(f, "%d", r->code);
	else
		fputs("null", f);
	json_member(f, "status_code", r->status_code);
	json_member(f, "mx", r->mx);
	json_member(f, "tls", r->tls);
	fprintf(f, ", \"dsn_sent\": %s", r->dsn_done &&
	    r->status == QUEUE_RCPT_FAILED ? "true" : "false");
	fputc('}', f);
}

static void
print_entry_json(FILE *f, const struct queue_entry *e, bool full)
{
	size_t i;

	fputs("{\"id\": ", f);
	json_strz(f, e->id);
	fprintf(f, ", \"size\": %llu, \"received\": %lld, \"age\": %lld",
	    (unsigned long long)e->size, (long long)e->env.received,
	    (long long)(time(NULL) - e->env.received));
	json_member(f, "sender", e->env.mail_from);
	json_member(f, "state", entry_state(e));
	fprintf(f, ", \"attempts\": %u, \"next_attempt\": %lld, "
	    "\"last_attempt\": %lld, \"delay_dsn\": %s", e->attempts,
	    (long long)e->next_attempt, (long long)e->last_attempt,
	    e->delay_dsn ? "true" : "false");
	if (full) {
		json_member(f, "client_ip", e->env.client_ip);
		json_member(f, "helo", e->env.helo);
		json_member(f, "tls", e->env.tls);
		json_member(f, "auth_user", e->env.auth_user);
		json_member(f, "quarantine", e->env.quarantine);
		json_member(f, "body", e->env.body);
		fprintf(f, ", \"smtputf8\": %s, \"size_param\": %llu",
		    e->env.smtputf8 ? "true" : "false",
		    (unsigned long long)e->env.size);
		json_member(f, "ret", e->env.ret);
		json_member(f, "envid", e->env.envid);
		fputs(", \"prepend\": ", f);
		json_str(f, e->env.headers != NULL ? e->env.headers : "",
		    e->env.headers_len);
	}
	fputs(", \"recipients\": [", f);
	for (i = 0; i < e->env.nrcpt; i++) {
		if (i > 0)
			fputs(", ", f);
		print_rcpt_json(f, &e->env.rcpt[i]);
	}
	fputs("]", f);
}

static void
print_entry_text(FILE *f, const struct queue_entry *e)
{
	const struct queue_rcpt *r;
	char age[32];
	int64_t next;
	size_t i;

	age_text(e->env.received, age, sizeof age);
	fprintf(f, "%s %9llu %5s  <", e->id, (unsigned long long)e->size,
	    age);
	put_safe(f, e->env.mail_from);
	fprintf(f, ">  %s", entry_state(e));
	if (e->attempts > 0 && e->next_attempt > 0) {
		next = e->next_attempt - (int64_t)time(NULL);
		if (next > 0)
			fprintf(f, "  next in %llds", (long long)next);
		else
			fputs("  next now", f);
		fprintf(f, " (attempt %u)", e->attempts);
	}
	fputc('\n', f);
	for (i = 0; i < e->env.nrcpt; i++) {
		r = &e->env.rcpt[i];
		fputs("    ", f);
		put_safe(f, r->addr);
		fprintf(f, "  %s", queue_rcpt_status_name(r->status));
		if (r->reason != NULL) {
			fputs(": ", f);
			put_safe(f, r->reason);
		}
		fputc('\n', f);
		if (r->attempts == 0 && r->tls == NULL)
			continue;
		fprintf(f, "        attempts %u", r->attempts);
		if (r->tls != NULL) {
			fputs(", tls ", f);
			put_safe(f, r->tls);
		}
		fputc('\n', f);
	}
}

static void
print_list(const struct queue_entry *e, size_t n, bool json)
{
	uint64_t bytes = 0;
	size_t i;

	if (json) {
		fputs("{\"messages\": [", stdout);
		for (i = 0; i < n; i++) {
			if (i > 0)
				fputs(", ", stdout);
			print_entry_json(stdout, &e[i], false);
			fputc('}', stdout);
		}
		fputs("]}\n", stdout);
		return;
	}
	if (n == 0) {
		printf("queue is empty\n");
		return;
	}
	for (i = 0; i < n; i++) {
		print_entry_text(stdout, &e[i]);
		bytes += e[i].size;
	}
	printf("-- %zu message%s, %llu bytes\n", n, n == 1 ? "" : "s",
	    (unsigned long long)bytes);
}

static void
print_show(const struct queue_entry *e, const char *hdr, size_t hdrlen,
    bool json)
{
	const struct queue_env *env = &e->env;

	if (json) {
		print_entry_json(stdout, e, true);
		fputs(", \"headers\": ", stdout);
		json_str(stdout, hdr != NULL ? hdr : "", hdrlen);
		fputs("}\n", stdout);
		return;
	}
	print_entry_text(stdout, e);
	printf("client: %s helo: ", env->client_ip ? env->client_ip : "-");
	put_safe(stdout, env->helo ? env->helo : "-");
	printf("\ntls: %s\n", env->tls ? env->tls : "none");
	if (env->auth_user != NULL) {
		fputs("auth: ", stdout);
		put_safe(stdout, env->auth_user);
		fputc('\n', stdout);
	}
	if (env->quarantine != NULL) {
		fputs("quarantine: ", stdout);
		put_safe(stdout, env->quarantine);
		fputc('\n', stdout);
	}
	printf("body: %s%s\n", env->body ? env->body : "-",
	    env->smtputf8 ? " smtputf8" : "");
	if (env->ret != NULL || env->envid != NULL) {
		printf("dsn: ret=%s envid=", env->ret ? env->ret : "-");
		put_safe(stdout, env->envid ? env->envid : "-");
		fputc('\n', stdout);
	}
	printf("attempts: %u\n\n", e->attempts);
	if (env->headers_len > 0)
		put_safe_n(stdout, env->headers, env->headers_len);
	if (hdr != NULL)
		put_safe_n(stdout, hdr, hdrlen);
}

static int
err_exit(mailsec_err err, const char *what, const struct mailsec_diag *d)
{
	return cli_fail(CLI_ERR, "queue %s: %s", what,
	    d != NULL && d->set ? d->text : mailsec_strerror(err));
}

/* Through the daemon. Returns -1 when no daemon listens. */
static int
via_daemon(const char *dir, const char *verb, const char *id, bool json)
{
	struct mailsec_diag diag = { 0 };
	struct queue_entry *e = NULL;
	char req[CONTROL_LINE_MAX], *resp = NULL, *hdr = NULL;
	size_t rlen, n = 0, hlen = 0;
	mailsec_err err;
	int rc = CLI_OK;

	snprintf(req, sizeof req, "%s%s%s", verb, id ? " " : "",
	    id ? id : "");
	err = control_request(dir, req, &resp, &rlen, &diag);
	if (err == MAILSEC_ENOTFOUND)
		return -1;
	if (err != MAILSEC_OK)
		return err_exit(err, verb, &diag);
	memset(&diag, 0, sizeof diag);
	err = control_parse(resp, rlen, &e, &n, &hdr, &hlen, &diag);
	if (err != MAILSEC_OK) {
		rc = err_exit(err, verb, &diag);
	} else if (strcmp(verb, "list") == 0) {
		print_list(e, n, json);
	} else if (strcmp(verb, "show") == 0 && n == 1) {
		print_show(&e[0], hdr, hlen, json);
	} else if (strcmp(verb, "show") != 0) {
		if (json)
			printf("{\"ok\": true}\n");
		else
			printf("%s%s%s: done\n", verb, id ? " " : "",
			    id ? id : "");
	} else {
		rc = cli_fail(CLI_ERR, "queue show: malformed answer");
	}
	queue_entries_free(e, n);
	free(hdr);
	free(resp);
	return rc;
}

/* No daemon: read (or delete in) the spool directly. */
static int
direct(const char *dir, const char *verb, const char *id, bool json)
{
	struct mailsec_diag diag = { 0 };
	struct queue_entry *e = NULL, one;
	struct queue *q = NULL;
	char *hdr = NULL;
	size_t n = 0, hlen = 0;
	mailsec_err err;
	int rc = CLI_OK;

	if (strcmp(verb, "flush") == 0)
		return cli_fail(CLI_ERR, "queue flush: no daemon is running "
		    "(no control socket in %s)", dir);
	if ((err = queue_open(&q, dir, NULL, &diag)) != MAILSEC_OK)
		return err_exit(err, verb, &diag);
	if (strcmp(verb, "list") == 0) {
		if ((err = queue_list(q, &e, &n)) != MAILSEC_OK)
			rc = err_exit(err, verb, NULL);
		else
			print_list(e, n, json);
		queue_entries_free(e, n);
	} else if (strcmp(verb, "show") == 0) {
		err = queue_show(q, id, &one, &hdr, &hlen);
		if (err == MAILSEC_ENOTFOUND)
			rc = cli_fail(CLI_ERR, "queue show: %s: no such "
			    "message", id);
		else if (err != MAILSEC_OK)
			rc = err_exit(err, verb, NULL);
		else
			print_show(&one, hdr, hlen, json);
		free(hdr);
		queue_entry_cleanup(&one);
	} else {
		err = queue_delete(q, id);
		if (err == MAILSEC_ENOTFOUND)
			rc = cli_fail(CLI_ERR, "queue delete: %s: no such "
			    "message", id);
		else if (err == MAILSEC_ESTATE)
			rc = cli_fail(CLI_ERR, "queue delete: %s: being "
			    "delivered, try again", id);
		else if (err != MAILSEC_OK)
			rc = err_exit(err, verb, NULL);
		else if (json)
			printf("{\"ok\": true}\n");
		else
			printf("delete %s: done\n", id);
	}
	queue_close(q);
	return rc;
}

int
cmd_queue(int argc, char **argv)
{
	const char *dir = QUEUE_DEFAULT_STATE_DIR, *verb = NULL, *id = NULL;
	bool json = false, need_id;
	int i, rc;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			json = true;
		} else if (strcmp(argv[i], "--state-dir") == 0) {
			if (++i >= argc)
				return cli_usage("queue",
				    "--state-dir needs a directory");
			dir = argv[i];
		} else if (argv[i][0] == '-') {
			return cli_usage("queue", "unknown option '%s'",
			    argv[i]);
		} else if (verb == NULL) {
			verb = argv[i];
		} else if (id == NULL) {
			id = argv[i];
		} else {
			return cli_usage("queue", "unexpected '%s'", argv[i]);
		}
	}
	if (verb == NULL)
		return cli_usage("queue", "list, show ID, delete ID or flush?");
	if (strcmp(verb, "list") != 0 && strcmp(verb, "show") != 0 &&
	    strcmp(verb, "delete") != 0 && strcmp(verb, "flush") != 0)
		return cli_usage("queue", "unknown operation '%s'", verb);
	need_id = strcmp(verb, "show") == 0 || strcmp(verb, "delete") == 0;
	if (need_id && id == NULL)
		return cli_usage("queue", "%s needs a queue ID", verb);
	if (!need_id && id != NULL)
		return cli_usage("queue", "%s takes no argument", verb);
	if (id != NULL && !queue_id_valid(id, strlen(id)))
		return cli_fail(CLI_ERR, "queue %s: '%s' is not a queue ID",
		    verb, id);
	rc = via_daemon(dir, verb, id, json);
	if (rc >= 0)
		return rc;
	return direct(dir, verb, id, json);
}
