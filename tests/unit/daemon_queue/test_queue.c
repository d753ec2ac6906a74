/*
 * tests/unit/daemon_queue/test_queue.c - the durable spool: queue IDs
 * (sorted, unique across fork), write/commit/recover including files
 * torn at every byte, group commit of many concurrent commits (every
 * callback once, after the rename), Maildir delivery and per-recipient
 * state across simulated crashes, delete, and the control socket.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "control.h"
#include "maildir.h"
#include "queue.h"
#include "testdir.h"

#define S(lit) (lit), (sizeof(lit) - 1)

static const char msg_text[] =
    "From: Alice <alice@example.org>\r\n"
    "To: postmaster@localhost\r\n"
    "Subject: queue test\r\n"
    "\r\n"
    "Hello, spool.\r\n"
    "A line with 100% of its bytes.\r\n";

static const char verdict[] =
    "Authentication-Results: mx.localhost; spf=pass\r\n";

struct fixture {
	char dir[64];
	char path[256];
	struct event_base *base;
	struct queue *q;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);

	if (f == NULL ||
	    testdir_new(f->dir, sizeof f->dir, "/tmp/msq-test-XXXXXX") != 0)
		return -1;
	f->base = event_base_new();
	if (f->base == NULL)
		return -1;
	if (queue_open(&f->q, f->dir, f->base, NULL) != MAILSEC_OK)
		return -1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	queue_close(f->q);
	event_base_free(f->base);
	(void)testdir_remove(f->dir);
	free(f);
	return 0;
}

static const char *
fpath(struct fixture *f, const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(f->path, sizeof f->path, "%s/", f->dir);
	va_start(ap, fmt);
	vsnprintf(f->path + n, sizeof f->path - (size_t)n, fmt, ap);
	va_end(ap);
	return f->path;
}

static bool
exists(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0;
}

static size_t
count_dir(const char *p)
{
	DIR *d = opendir(p);
	struct dirent *de;
	size_t n = 0;

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static char *
slurp(const char *p, size_t *len)
{
	FILE *fp = fopen(p, "rb");
	char *buf;
	long n;

	if (fp == NULL)
		return NULL;
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	if (buf != NULL && fread(buf, 1, (size_t)n, fp) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(fp);
	if (buf != NULL) {
		buf[n] = '\0';
		*len = (size_t)n;
	}
	return buf;
}

static void
spit(const char *p, const char *data, size_t len)
{
	FILE *fp = fopen(p, "wb");

	assert_non_null(fp);
	assert_int_equal(fwrite(data, 1, len, fp), len);
	fclose(fp);
}

/* ---- commit helpers ------------------------------------------------------ */

struct done {
	int calls;
	mailsec_err err;
	char id[QUEUE_ID_LEN + 1];
	bool in_incoming;	/* renamed before the callback? */
	bool in_tmp;
	struct fixture *f;
};

static void
on_commit(void *arg, mailsec_err err, const char *id)
{
	struct done *d = arg;
	char p[512];

	d->calls++;
	d->err = err;
	memcpy(d->id, id, QUEUE_ID_LEN + 1);
	snprintf(p, sizeof p, "%s/queue/incoming/%s", d->f->dir, id);
	d->in_incoming = exists(p);
	snprintf(p, sizeof p, "%s/queue/tmp/%s", d->f->dir, id);
	d->in_tmp = exists(p);
}

static void
run_until(struct fixture *f, const int *calls, int want)
{
	time_t end = time(NULL) + 20;

	while (*calls < want && time(NULL) < end)
		event_base_loop(f->base, EVLOOP_ONCE);
}

static const struct queue_rcpt rcpts3[] = {
	{ .addr = "postmaster@localhost", .notify = "SUCCESS,FAILURE" },
	{ .addr = "Alice@LocalHost", .orcpt = "rfc822;alice@localhost" },
	{ .addr = "bob@example.net" },
};

static struct queue_env
env_for(const struct queue_rcpt *r, size_t n)
{
	struct queue_env env = {
		.mail_from = "alice@example.org",
		.size = sizeof(msg_text) - 1,
		.body = "8BITMIME",
		.smtputf8 = true,
		.ret = "HDRS",
		.envid = "env 1%",
		.client_ip = "192.0.2.1",
		.helo = "mx.example.org",
		.tls = "TLSv1.3 TLS_AES_256_GCM_SHA384",
		.auth_user = NULL,
		.headers = verdict,
		.headers_len = sizeof(verdict) - 1,
		.rcpt = r,
		.nrcpt = n,
	};
	return env;
}

/* Writes the message in small chunks and commits it; returns its ID. */
static void
commit_one(struct fixture *f, const struct queue_rcpt *r, size_t n,
    char *id)
{
	struct queue_msg *m;
	struct queue_env env = env_for(r, n);
	struct done d = { .f = f };
	size_t i;

	assert_int_equal(queue_msg_new(f->q, &m), MAILSEC_OK);
	for (i = 0; i < sizeof(msg_text) - 1; i += 7)
		assert_int_equal(queue_msg_write(m, msg_text + i,
		    sizeof(msg_text) - 1 - i < 7 ? sizeof(msg_text) - 1 - i :
		    7), MAILSEC_OK);
	assert_int_equal(queue_msg_size(m), sizeof(msg_text) - 1);
	assert_int_equal(queue_msg_envelope(m, &env), MAILSEC_OK);
	queue_commit(f->q, m, on_commit, &d);
	assert_int_equal(d.calls, 0);	/* never from inside the call */
	run_until(f, &d.calls, 1);
	assert_int_equal(d.calls, 1);
	assert_int_equal(d.err, MAILSEC_OK);
	assert_true(d.in_incoming);
	assert_false(d.in_tmp);
	memcpy(id, d.id, QUEUE_ID_LEN + 1);
}

/* Commits msg_text in one write under env; returns its ID. */
static void
commit_env(struct fixture *f, const struct queue_env *env, char *id)
{
	struct queue_msg *m;
	struct done d = { .f = f };

	assert_int_equal(queue_msg_new(f->q, &m), MAILSEC_OK);
	assert_int_equal(queue_msg_write(m, S(msg_text)), MAILSEC_OK);
	assert_int_equal(queue_msg_envelope(m, env), MAILSEC_OK);
	queue_commit(f->q, m, on_commit, &d);
	run_until(f, &d.calls, 1);
	assert_int_equal(d.err, MAILSEC_OK);
	memcpy(id, d.id, QUEUE_ID_LEN + 1);
}

/* ---- IDs ----------------------------------------------------------------- */

static void
test_id_sorted_and_valid(void **state)
{
	char prev[QUEUE_ID_LEN + 1] = "", id[QUEUE_ID_LEN + 1];
	int i;

	(void)state;
	for (i = 0; i < 5000; i++) {
		queue_id_new(id);
		assert_int_equal(strlen(id), QUEUE_ID_LEN);
		assert_true(queue_id_valid(id, strlen(id)));
		assert_true(strcmp(prev, id) < 0);
		memcpy(prev, id, sizeof id);
	}
	assert_false(queue_id_valid(S("0123456789abcdeW")));
	assert_false(queue_id_valid(S("0123456789abcde")));
	assert_false(queue_id_valid(S("../../etc/passwd")));
	assert_true(queue_id_valid(S("0123456789abcdev")));
}

static int
cmp_id(const void *a, const void *b)
{
	return memcmp(a, b, QUEUE_ID_LEN);
}

static void
test_id_unique_across_fork(void **state)
{
	enum { N = 3000 };
	static char ids[2 * N][QUEUE_ID_LEN + 1];
	int pfd[2], i, status;
	pid_t pid;
	size_t got = 0;
	ssize_t r;

	(void)state;
	queue_id_new(ids[0]);	/* the parent's state exists before fork */
	assert_int_equal(pipe(pfd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char id[QUEUE_ID_LEN + 1];

		close(pfd[0]);
		for (i = 0; i < N; i++) {
			queue_id_new(id);
			if (write(pfd[1], id, QUEUE_ID_LEN + 1) !=
			    QUEUE_ID_LEN + 1)
				_exit(1);
		}
		_exit(0);
	}
	close(pfd[1]);
	for (i = 1; i < N; i++)
		queue_id_new(ids[i]);
	while (got < (size_t)N * (QUEUE_ID_LEN + 1)) {
		r = read(pfd[0], (char *)ids[N] + got,
		    (size_t)N * (QUEUE_ID_LEN + 1) - got);
		assert_true(r > 0);
		got += (size_t)r;
	}
	close(pfd[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	qsort(ids, 2 * N, sizeof ids[0], cmp_id);
	for (i = 1; i < 2 * N; i++)
		assert_true(memcmp(ids[i - 1], ids[i], QUEUE_ID_LEN) != 0);
}

/* ---- write, commit, read back -------------------------------------------- */

static void
test_commit_and_list(void **state)
{
	struct fixture *f = *state;
	struct queue_entry *e, one;
	char id[QUEUE_ID_LEN + 1], *hdr;
	size_t n, hlen;
	int64_t received;

	commit_one(f, rcpts3, 3, id);
	assert_int_equal(queue_list(f->q, &e, &n), MAILSEC_OK);
	assert_int_equal(n, 1);
	assert_string_equal(e[0].id, id);
	assert_int_equal(e[0].size, sizeof(msg_text) - 1);
	assert_string_equal(e[0].env.mail_from, "alice@example.org");
	assert_string_equal(e[0].env.body, "8BITMIME");
	assert_true(e[0].env.smtputf8);
	assert_string_equal(e[0].env.ret, "HDRS");
	assert_string_equal(e[0].env.envid, "env 1%");
	assert_string_equal(e[0].env.client_ip, "192.0.2.1");
	assert_string_equal(e[0].env.tls, "TLSv1.3 TLS_AES_256_GCM_SHA384");
	assert_null(e[0].env.auth_user);
	assert_int_equal(e[0].env.headers_len, sizeof(verdict) - 1);
	assert_memory_equal(e[0].env.headers, verdict, sizeof(verdict) - 1);
	assert_int_equal(e[0].env.nrcpt, 3);
	assert_string_equal(e[0].env.rcpt[0].notify, "SUCCESS,FAILURE");
	assert_string_equal(e[0].env.rcpt[1].addr, "Alice@LocalHost");
	assert_string_equal(e[0].env.rcpt[1].orcpt, "rfc822;alice@localhost");
	assert_null(e[0].env.rcpt[2].notify);
	assert_int_equal(e[0].env.rcpt[2].status, QUEUE_RCPT_PENDING);
	assert_int_equal(e[0].env.size, sizeof(msg_text) - 1);
	assert_string_equal(e[0].env.helo, "mx.example.org");
	assert_true(e[0].env.received > 0);
	received = e[0].env.received;
	assert_false(e[0].active);
	queue_entries_free(e, n);

	assert_int_equal(queue_show(f->q, id, &one, &hdr, &hlen), MAILSEC_OK);
	assert_int_equal(hlen, strstr(msg_text, "\r\n\r\n") - msg_text + 2);
	assert_memory_equal(hdr, msg_text, hlen);
	free(hdr);
	queue_entry_cleanup(&one);
	assert_int_equal(queue_show(f->q, "0000000000000000", &one, &hdr,
	    &hlen), MAILSEC_ENOTFOUND);
	assert_int_equal(queue_show(f->q, "../x", &one, &hdr, &hlen),
	    MAILSEC_EINVAL);
	/* The file on disk: magic, message, envelope, trailer. */
	{
		size_t len;
		char *data = slurp(fpath(f, "queue/incoming/%s", id), &len);
		char env[1024];
		int elen;

		assert_non_null(data);
		assert_memory_equal(data, "mailsec-queue 1\n", 16);
		assert_memory_equal(data + 16, msg_text, sizeof(msg_text) - 1);
		assert_memory_equal(data + len - 114, "trailer ", 8);
		/* The envelope block, byte for byte: keys in the order of
		 * docs/queue.md, values escaped. */
		elen = snprintf(env, sizeof env, "received %lld\n"
		    "mail-from alice@example.org\nsize %zu\nbody 8BITMIME\n"
		    "smtputf8 1\nret HDRS\nenvid env%%201%%25\n"
		    "client-ip 192.0.2.1\nhelo mx.example.org\n"
		    "tls TLSv1.3%%20TLS_AES_256_GCM_SHA384\n"
		    "headers Authentication-Results:%%20mx.localhost;"
		    "%%20spf=pass%%0D%%0A\n"
		    "rcpt postmaster@localhost\nnotify SUCCESS,FAILURE\n"
		    "rcpt Alice@LocalHost\norcpt rfc822;alice@localhost\n"
		    "rcpt bob@example.net\n", (long long)received,
		    sizeof(msg_text) - 1);
		assert_int_equal(len, 16 + sizeof(msg_text) - 1 +
		    (size_t)elen + 114);
		assert_memory_equal(data + 16 + sizeof(msg_text) - 1, env,
		    (size_t)elen);
		free(data);
	}
}

static void
test_envelope_escaping(void **state)
{
	struct fixture *f = *state;
	static const char hdrs[] = "X-A: 1\r\n\tfolded %41 \x7f\r\n";
	struct queue_rcpt r[] = { { .addr = "\xc3\xa9l\xc3\xa8ve@localhost" } };
	struct queue_env env = env_for(r, 1);
	struct queue_entry one;
	struct queue_msg *m;
	struct done d = { .f = f };
	char *hdr;
	size_t hlen;

	env.mail_from = "";
	env.size = 0;		/* absent */
	env.smtputf8 = false;	/* absent */
	env.helo = "a b\tc%d";
	env.headers = hdrs;
	env.headers_len = sizeof(hdrs) - 1;
	assert_int_equal(queue_msg_new(f->q, &m), MAILSEC_OK);
	assert_int_equal(queue_msg_write(m, S("\r\n")), MAILSEC_OK);
	assert_int_equal(queue_msg_envelope(m, &env), MAILSEC_OK);
	assert_int_equal(queue_msg_envelope(m, &env), MAILSEC_ESTATE);
	queue_commit(f->q, m, on_commit, &d);
	run_until(f, &d.calls, 1);
	assert_int_equal(d.err, MAILSEC_OK);
	assert_int_equal(queue_show(f->q, d.id, &one, &hdr, &hlen),
	    MAILSEC_OK);
	assert_string_equal(one.env.mail_from, "");
	assert_int_equal(one.env.size, 0);
	assert_false(one.env.smtputf8);
	assert_null(one.env.auth_user);
	assert_string_equal(one.env.helo, "a b\tc%d");
	assert_int_equal(one.env.headers_len, sizeof(hdrs) - 1);
	assert_memory_equal(one.env.headers, hdrs, sizeof(hdrs) - 1);
	assert_string_equal(one.env.rcpt[0].addr, r[0].addr);
	assert_int_equal(hlen, 0);	/* empty header section */
	free(hdr);
	queue_entry_cleanup(&one);
}

static void
test_commit_errors_abort_cancel(void **state)
{
	struct fixture *f = *state;
	struct queue_env env = env_for(rcpts3, 1);
	struct queue_msg *m;
	struct done d = { .f = f }, d2 = { .f = f };
	char id[QUEUE_ID_LEN + 1];
	struct queue_env bad = env;

	/* No envelope: refused, reported from the loop, tmp file gone. */
	assert_int_equal(queue_msg_new(f->q, &m), MAILSEC_OK);
	memcpy(id, queue_msg_id(m), sizeof id);
	queue_commit(f->q, m, on_commit, &d);
	assert_int_equal(d.calls, 0);
	run_until(f, &d.calls, 1);
	assert_int_equal(d.calls, 1);
	assert_int_equal(d.err, MAILSEC_ESTATE);
	assert_false(exists(fpath(f, "queue/tmp/%s", id)));
	assert_false(exists(fpath(f, "queue/incoming/%s", id)));

	/* Bad envelopes. */
	assert_int_equal(queue_msg_new(f->q, &m), MAILSEC_OK);
	bad.nrcpt = 0;
	assert_int_equal(queue_msg_envelope(m, &bad), MAILSEC_EINVAL);
	bad = env;
	bad.mail_from = NULL;
	assert_int_equal(queue_msg_envelope(m, &bad), MAILSEC_EINVAL);
	bad = env;
	bad.nrcpt = QUEUE_RCPT_MAX + 1;
	assert_int_equal(queue_msg_envelope(m, &bad), MAILSEC_ELIMIT);
	/* Abort removes the tmp file. */
	memcpy(id, queue_msg_id(m), sizeof id);
	queue_msg_abort(m);
	assert_false(exists(fpath(f, "queue/tmp/%s", id)));
	queue_msg_abort(NULL);

	/* Cancel: no callback, but the message is queued all the same. */
	assert_int_equal(queue_msg_new(f->q, &m), MAILSEC_OK);
	memcpy(id, queue_msg_id(m), sizeof id);
	assert_int_equal(queue_msg_write(m, S("x\r\n")), MAILSEC_OK);
	assert_int_equal(queue_msg_envelope(m, &env), MAILSEC_OK);
	assert_int_equal(queue_msg_write(m, S("late")), MAILSEC_ESTATE);
	queue_commit(f->q, m, on_commit, &d2);
	queue_commit_cancel(m);
	/* A second message's callback proves the first batch is over. */
	commit_one(f, rcpts3, 1, d.id);
	assert_int_equal(d2.calls, 0);
	assert_true(exists(fpath(f, "queue/incoming/%s", id)));
}

/* ---- group commit -------------------------------------------------------- */

static void
test_group_commit_many(void **state)
{
	enum { N = 300 };
	struct fixture *f = *state;
	struct queue_env env = env_for(rcpts3, 2);
	static struct done d[N];
	struct queue_msg *m[N];
	struct queue_commit_stats st;
	struct queue_entry *e;
	int total = 0, i;
	size_t n;
	char body[10240];

	memset(body, 'b', sizeof body);
	for (i = 0; i < N; i++) {
		memset(&d[i], 0, sizeof d[i]);
		d[i].f = f;
		assert_int_equal(queue_msg_new(f->q, &m[i]), MAILSEC_OK);
		assert_int_equal(queue_msg_write(m[i], body, sizeof body),
		    MAILSEC_OK);
		assert_int_equal(queue_msg_envelope(m[i], &env), MAILSEC_OK);
	}
	/* Every session commits at once; the loop only runs afterwards. */
	for (i = 0; i < N; i++)
		queue_commit(f->q, m[i], on_commit, &d[i]);
	for (;;) {
		for (total = 0, i = 0; i < N; i++)
			total += d[i].calls;
		if (total >= N)
			break;
		event_base_loop(f->base, EVLOOP_ONCE);
	}
	for (i = 0; i < N; i++) {
		assert_int_equal(d[i].calls, 1);
		assert_int_equal(d[i].err, MAILSEC_OK);
		assert_true(d[i].in_incoming);
		assert_false(d[i].in_tmp);
	}
	queue_commit_stats(f->q, &st);
	assert_int_equal(st.commits, N);
	assert_true(st.batches < N);	/* grouped */
	assert_true(st.max_batch > 1);
	assert_int_equal(count_dir(fpath(f, "queue/tmp")), 0);
	assert_int_equal(queue_list(f->q, &e, &n), MAILSEC_OK);
	assert_int_equal(n, N);
	queue_entries_free(e, n);
	/* Loop once more: no callback fires twice. */
	event_base_loop(f->base, EVLOOP_NONBLOCK);
	for (i = 0; i < N; i++)
		assert_int_equal(d[i].calls, 1);
}

/* Past 64 KiB a message streams to its tmp/ file as it arrives. */
static void
test_big_message_streams(void **state)
{
	struct fixture *f = *state;
	struct queue_env env = env_for(rcpts3, 1);
	struct queue_entry one;
	struct queue_msg *m;
	struct done d = { .f = f };
	char chunk[1000], id[QUEUE_ID_LEN + 1], *hdr, *data;
	size_t i, hlen, len;

	memset(chunk, 'z', sizeof chunk);
	assert_int_equal(queue_msg_new(f->q, &m), MAILSEC_OK);
	memcpy(id, queue_msg_id(m), sizeof id);
	assert_int_equal(queue_msg_write(m, S("Subject: big\r\n\r\n")),
	    MAILSEC_OK);
	assert_false(exists(fpath(f, "queue/tmp/%s", id)));	/* memory */
	for (i = 0; i < 300; i++)
		assert_int_equal(queue_msg_write(m, chunk, sizeof chunk),
		    MAILSEC_OK);
	assert_true(exists(fpath(f, "queue/tmp/%s", id)));	/* spilled */
	assert_int_equal(queue_msg_envelope(m, &env), MAILSEC_OK);
	queue_commit(f->q, m, on_commit, &d);
	run_until(f, &d.calls, 1);
	assert_int_equal(d.err, MAILSEC_OK);
	assert_int_equal(queue_show(f->q, id, &one, &hdr, &hlen), MAILSEC_OK);
	assert_int_equal(one.size, 16 + 300 * sizeof chunk);
	assert_string_equal(hdr, "Subject: big\r\n");
	free(hdr);
	queue_entry_cleanup(&one);
	data = slurp(fpath(f, "queue/incoming/%s", id), &len);
	assert_non_null(data);
	/* magic, the message bytes in order, then the envelope. */
	assert_true(len > 16 + 16 + 300 * sizeof chunk + 114);
	assert_memory_equal(data + 16, "Subject: big\r\n\r\n", 16);
	assert_memory_equal(data + 16 + 16 + 300 * sizeof chunk - 1,
	    "zreceived ", 10);
	free(data);

	/* A spilled message aborted: its file goes. */
	assert_int_equal(queue_msg_new(f->q, &m), MAILSEC_OK);
	memcpy(id, queue_msg_id(m), sizeof id);
	for (i = 0; i < 100; i++)
		assert_int_equal(queue_msg_write(m, chunk, sizeof chunk),
		    MAILSEC_OK);
	assert_true(exists(fpath(f, "queue/tmp/%s", id)));
	queue_msg_abort(m);
	assert_false(exists(fpath(f, "queue/tmp/%s", id)));
}

static void
test_sync_modes(void **state)
{
	struct fixture *f = *state;
	static const enum queue_sync_mode modes[] = { QUEUE_SYNC_FILES,
	    QUEUE_SYNC_FS, QUEUE_SYNC_AUTO };
	char id[QUEUE_ID_LEN + 1];
	size_t i;

	for (i = 0; i < sizeof modes / sizeof modes[0]; i++) {
		queue_set_sync_mode(f->q, modes[i]);
		commit_one(f, rcpts3, 1, id);
	}
	assert_int_equal(count_dir(fpath(f, "queue/incoming")), 3);
}

/* Callbacks pending when the queue closes still fire, from close. */
static void
test_close_drains(void **state)
{
	struct fixture *f = *state;
	struct queue_env env = env_for(rcpts3, 1);
	struct queue_msg *m;
	struct done d = { .f = f };

	assert_int_equal(queue_msg_new(f->q, &m), MAILSEC_OK);
	assert_int_equal(queue_msg_envelope(m, &env), MAILSEC_OK);
	queue_commit(f->q, m, on_commit, &d);
	queue_close(f->q);
	f->q = NULL;
	assert_int_equal(d.calls, 1);
	assert_int_equal(d.err, MAILSEC_OK);
	assert_int_equal(count_dir(fpath(f, "queue/incoming")), 1);
	assert_int_equal(queue_open(&f->q, f->dir, f->base, NULL), MAILSEC_OK);
}

/* ---- recovery ------------------------------------------------------------ */

static void
reopen(struct fixture *f)
{
	queue_close(f->q);
	assert_int_equal(queue_open(&f->q, f->dir, f->base, NULL), MAILSEC_OK);
}

static void
test_recover_torn_at_every_byte(void **state)
{
	struct fixture *f = *state;
	struct queue_recover_stats st;
	struct queue_entry *e;
	char id[QUEUE_ID_LEN + 1], nid[QUEUE_ID_LEN + 1], *data;
	size_t len, cut, n, expect_torn = 0;

	commit_one(f, rcpts3, 3, id);
	data = slurp(fpath(f, "queue/incoming/%s", id), &len);
	assert_non_null(data);
	/* Every proper prefix of a good file, as a crash could leave it. */
	for (cut = 0; cut < len; cut++) {
		queue_id_new(nid);
		spit(fpath(f, "queue/incoming/%s", nid), data, cut);
		expect_torn++;
	}
	/* The trailer missing altogether, and the file with junk after. */
	queue_id_new(nid);
	spit(fpath(f, "queue/incoming/%s", nid), data, len - 114);
	expect_torn++;
	{
		char *longer = malloc(len + 3);

		assert_non_null(longer);
		memcpy(longer, data, len);
		memcpy(longer + len, "xyz", 3);
		queue_id_new(nid);
		spit(fpath(f, "queue/incoming/%s", nid), longer, len + 3);
		expect_torn++;
		free(longer);
	}
	/* Left in tmp/ (never renamed: never acknowledged). */
	queue_id_new(nid);
	spit(fpath(f, "queue/tmp/%s", nid), data, len);
	spit(fpath(f, "queue/tmp/%s.state", nid), "x", 1);
	/* A state file whose message is gone. */
	queue_id_new(nid);
	spit(fpath(f, "queue/state/%s", nid), S("mailsec-state 1\n"));
	/* A byte flipped in the body: kept aside, not delivered. */
	data[20] ^= 1;
	queue_id_new(nid);
	spit(fpath(f, "queue/incoming/%s", nid), data, len);
	data[20] ^= 1;

	reopen(f);
	assert_int_equal(queue_recover(f->q, &st), MAILSEC_OK);
	assert_int_equal(st.tmp_removed, 2);
	assert_int_equal(st.torn_removed, expect_torn);
	assert_int_equal(st.corrupt_moved, 1);
	assert_int_equal(st.recovered, 1);
	assert_int_equal(st.state_removed, 1);
	assert_true(exists(fpath(f, "queue/corrupt/%s", nid)));
	assert_int_equal(count_dir(fpath(f, "queue/tmp")), 0);
	assert_int_equal(count_dir(fpath(f, "queue/state")), 0);
	assert_int_equal(queue_list(f->q, &e, &n), MAILSEC_OK);
	assert_int_equal(n, 1);
	assert_string_equal(e[0].id, id);
	queue_entries_free(e, n);

	/* Recovering again changes nothing: exactly once. */
	reopen(f);
	assert_int_equal(queue_recover(f->q, &st), MAILSEC_OK);
	assert_int_equal(st.recovered, 1);
	assert_int_equal(st.torn_removed + st.tmp_removed + st.corrupt_moved,
	    0);
	free(data);
}

static void
test_recover_refused_while_shared(void **state)
{
	struct fixture *f = *state;
	struct queue *other;
	struct queue_recover_stats st;
	int fd;

	/* A running daemon holds queue/lock shared: recovery elsewhere is
	 * refused (another open file description, as another process). */
	assert_int_equal(queue_open(&other, f->dir, NULL, NULL), MAILSEC_OK);
	fd = open(fpath(f, "queue/lock"), O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(flock(fd, LOCK_SH), 0);
	assert_int_equal(queue_recover(other, &st), MAILSEC_ESTATE);
	close(fd);
	queue_close(other);
}

/* ---- local delivery ------------------------------------------------------ */

static const char *const local_domains[] = { "localhost", "EXAMPLE.com" };
static const struct queue_local local_cfg = {
	.domains = local_domains,
	.ndomains = 2,
	.hostname = "mx/1:a",
};

static char *
delivered(struct fixture *f, const char *user, const char *sub, size_t *len)
{
	char p[512];
	DIR *d;
	struct dirent *de;
	char *data = NULL;

	snprintf(p, sizeof p, "%s/mail/localhost/%s/%s", f->dir, user, sub);
	d = opendir(p);
	if (d == NULL)
		return NULL;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof p, "%s/mail/localhost/%s/%s/%s", f->dir,
		    user, sub, de->d_name);
		data = slurp(p, len);
		break;
	}
	closedir(d);
	return data;
}

static void
test_maildir_delivery(void **state)
{
	struct fixture *f = *state;
	struct queue_run_stats st;
	struct queue_entry *e;
	char id[QUEUE_ID_LEN + 1], *data, expect[1024];
	size_t len, n;
	int elen;

	commit_one(f, rcpts3, 3, id);
	assert_int_equal(queue_run(f->q, &local_cfg, true, &st), MAILSEC_OK);
	assert_int_equal(st.messages, 1);
	assert_int_equal(st.delivered, 2);
	assert_int_equal(st.deferred, 1);
	assert_int_equal(st.removed, 0);
	elen = snprintf(expect, sizeof expect,
	    "Return-Path: <alice@example.org>\r\n%s%s", verdict, msg_text);
	data = delivered(f, "postmaster", "new", &len);
	assert_non_null(data);
	assert_int_equal(len, (size_t)elen);
	assert_memory_equal(data, expect, len);
	free(data);
	data = delivered(f, "alice", "new", &len);	/* lowercased */
	assert_non_null(data);
	assert_memory_equal(data, expect, len);
	free(data);
	assert_int_equal(count_dir(fpath(f, "mail/localhost/alice/tmp")), 0);
	assert_true(exists(fpath(f, "mail/localhost/alice/cur")));
	/* The Maildir name: received time, queue ID, recipient, host. */
	{
		DIR *d = opendir(fpath(f, "mail/localhost/alice/new"));
		struct dirent *de;
		char want[128];

		snprintf(want, sizeof want, ".Q%sR1.mx\\0571\\072a", id);
		assert_non_null(d);
		while ((de = readdir(d)) != NULL && de->d_name[0] == '.')
			;
		assert_non_null(de);
		assert_non_null(strstr(de->d_name, want));
		closedir(d);
	}

	/* The relay recipient waits; the others are recorded as done. */
	assert_int_equal(queue_list(f->q, &e, &n), MAILSEC_OK);
	assert_int_equal(n, 1);
	assert_int_equal(e[0].rcpts[0].status, QUEUE_RCPT_DONE);
	assert_int_equal(e[0].rcpts[1].status, QUEUE_RCPT_DONE);
	assert_int_equal(e[0].rcpts[2].status, QUEUE_RCPT_DEFERRED);
	assert_string_equal(e[0].rcpts[2].reason, "no relay configured");
	assert_int_equal(e[0].attempts, 1);
	assert_true(e[0].next_attempt > time(NULL));
	queue_entries_free(e, n);

	/* Not due yet: an unforced pass leaves it; a forced one delivers
	 * nothing twice. */
	assert_int_equal(queue_run(f->q, &local_cfg, false, &st), MAILSEC_OK);
	assert_int_equal(st.messages, 0);
	assert_int_equal(queue_run(f->q, &local_cfg, true, &st), MAILSEC_OK);
	assert_int_equal(st.delivered, 0);
	assert_int_equal(st.deferred, 1);
	assert_int_equal(count_dir(fpath(f, "mail/localhost/postmaster/new")),
	    1);
	assert_int_equal(count_dir(fpath(f, "mail/localhost/alice/new")), 1);
}

static void
test_local_only_message_removed(void **state)
{
	struct fixture *f = *state;
	static const struct queue_rcpt r[] = {
		{ .addr = "postmaster@localhost" },
		{ .addr = "../../etc@localhost" },	/* unsafe mailbox */
		{ .addr = "Postmaster" },		/* RFC 5321 4.5.1 */
		{ .addr = "carol@example.com" },	/* second local dom */
	};
	struct queue_run_stats st;
	char id[QUEUE_ID_LEN + 1];

	commit_one(f, r, 4, id);
	assert_int_equal(queue_run(f->q, &local_cfg, true, &st), MAILSEC_OK);
	assert_int_equal(st.delivered, 3);
	assert_int_equal(st.failed, 1);
	assert_int_equal(st.removed, 1);
	assert_false(exists(fpath(f, "queue/incoming/%s", id)));
	assert_false(exists(fpath(f, "queue/state/%s", id)));
	assert_int_equal(count_dir(fpath(f, "mail/localhost/postmaster/new")),
	    2);
	assert_int_equal(count_dir(fpath(f, "mail/example.com/carol/new")), 1);
	assert_false(exists(fpath(f, "mail/etc")));
}

/* A crash between recipients: the state file says rcpt 0 is done; it is
 * not delivered again, rcpt 1 is. */
static void
test_state_survives_crash_between_rcpts(void **state)
{
	struct fixture *f = *state;
	struct queue_run_stats st;
	struct queue_recover_stats rs;
	char id[QUEUE_ID_LEN + 1];

	commit_one(f, rcpts3, 2, id);
	spit(fpath(f, "queue/state/%s", id),
	    S("mailsec-state 1\nattempts 0\nnext 0\nrcpt 0%20done\n"));
	reopen(f);
	assert_int_equal(queue_recover(f->q, &rs), MAILSEC_OK);
	assert_int_equal(rs.recovered, 1);
	assert_int_equal(queue_run(f->q, &local_cfg, false, &st), MAILSEC_OK);
	assert_int_equal(st.delivered, 1);
	assert_int_equal(st.removed, 1);
	assert_false(exists(fpath(f, "mail/localhost/postmaster")));
	assert_int_equal(count_dir(fpath(f, "mail/localhost/alice/new")), 1);
}

/* A crash after the Maildir link, before any state was written, and a
 * reader has since moved the message to cur/: found, not redelivered. */
static void
test_no_redelivery_after_crash_in_delivery(void **state)
{
	struct fixture *f = *state;
	struct queue_run_stats st;
	struct queue_entry *e;
	struct maildir_src src = { 0 };
	char id[QUEUE_ID_LEN + 1], name[256], cur[512];
	bool already;
	size_t n;
	int root;

	commit_one(f, rcpts3, 1, id);
	assert_int_equal(queue_list(f->q, &e, &n), MAILSEC_OK);
	snprintf(name, sizeof name, "%lld.Q%sR0.mx\\0571\\072a",
	    (long long)e[0].env.received, id);
	queue_entries_free(e, n);
	/* What the first attempt did before the crash. */
	mkdir(fpath(f, "mail"), 0700);
	root = open(fpath(f, "mail"), O_RDONLY | O_DIRECTORY);
	assert_true(root >= 0);
	src.fd = -1;
	src.prefix = "first\r\n";
	src.prefix_len = 7;
	assert_int_equal(maildir_deliver(root, "localhost", "postmaster", name,
	    &src, false, &already, NULL), MAILSEC_OK);
	assert_false(already);
	close(root);
	/* ...and a reader moved it. */
	snprintf(cur, sizeof cur, "%s/mail/localhost/postmaster/cur/%s:2,S",
	    f->dir, name);
	assert_int_equal(rename(fpath(f, "mail/localhost/postmaster/new/%s",
	    name), cur), 0);

	assert_int_equal(queue_run(f->q, &local_cfg, true, &st), MAILSEC_OK);
	assert_int_equal(st.delivered, 1);	/* counted, not written */
	assert_int_equal(st.removed, 1);
	assert_int_equal(count_dir(fpath(f, "mail/localhost/postmaster/new")),
	    0);
	assert_int_equal(count_dir(fpath(f, "mail/localhost/postmaster/cur")),
	    1);
}

/* A crash after link() but before the tmp/ name was removed: the retry
 * must not truncate the delivered file (same inode). */
static void
test_maildir_retry_keeps_linked_copy(void **state)
{
	struct fixture *f = *state;
	struct maildir_src src = { .fd = -1, .prefix = "body\r\n",
	    .prefix_len = 6 };
	char *data;
	size_t len;
	bool already;
	int root;

	mkdir(fpath(f, "mail"), 0700);
	root = open(fpath(f, "mail"), O_RDONLY | O_DIRECTORY);
	assert_true(root >= 0);
	assert_int_equal(maildir_deliver(root, "localhost", "u", "1.Qx.h",
	    &src, false, &already, NULL), MAILSEC_OK);
	/* Recreate the leftover tmp/ link as a crash would leave it. */
	{
		char a[512], b[512];

		snprintf(a, sizeof a, "%s/mail/localhost/u/new/1.Qx.h", f->dir);
		snprintf(b, sizeof b, "%s/mail/localhost/u/tmp/1.Qx.h", f->dir);
		assert_int_equal(link(a, b), 0);
	}
	src.prefix = "other\r\n";
	src.prefix_len = 7;
	assert_int_equal(maildir_deliver(root, "localhost", "u", "1.Qx.h",
	    &src, false, &already, NULL), MAILSEC_OK);
	assert_true(already);
	close(root);
	data = slurp(fpath(f, "mail/localhost/u/new/1.Qx.h"), &len);
	assert_non_null(data);
	assert_int_equal(len, 6);
	assert_memory_equal(data, "body\r\n", 6);
	free(data);
	assert_int_equal(count_dir(fpath(f, "mail/localhost/u/tmp")), 0);
}

static void
test_maildir_user_names(void **state)
{
	static const struct {
		const char *in;
		const char *out;	/* NULL: refused */
	} cases[] = {
		{ "alice", "alice" },
		{ "Alice.Smith", "alice.smith" },
		{ "POSTMASTER", "postmaster" },
		{ "a+tag", "a+tag" },
		{ "\xc3\xa9l\xc3\xa8ve", "\xc3\xa9l\xc3\xa8ve" },
		{ "", NULL },
		{ ".", NULL },
		{ "..", NULL },
		{ ".hidden", NULL },
		{ "trail.", NULL },
		{ "a..b", NULL },
		{ "a/b", NULL },
		{ "\"quoted\"", NULL },
		{ "sp ace", NULL },
		{ "tab\t", NULL },
		{ "del\x7f", NULL },
		{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", NULL },	/* 65 */
	};
	char out[MAILDIR_USER_MAX + 1];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		mailsec_err err = maildir_user(cases[i].in,
		    strlen(cases[i].in), out);

		if (cases[i].out == NULL) {
			assert_int_equal(err, MAILSEC_ESYNTAX);
		} else {
			assert_int_equal(err, MAILSEC_OK);
			assert_string_equal(out, cases[i].out);
		}
	}
}

static void
test_runner_thread_delivers(void **state)
{
	struct fixture *f = *state;
	char id[QUEUE_ID_LEN + 1];
	time_t end;
	static const struct queue_rcpt r[] = { { .addr = "bob@localhost" } };

	assert_int_equal(queue_runner_start(f->q, &local_cfg), MAILSEC_OK);
	assert_int_equal(queue_runner_start(f->q, &local_cfg), MAILSEC_ESTATE);
	commit_one(f, r, 1, id);
	end = time(NULL) + 10;
	while (exists(fpath(f, "queue/incoming/%s", id)) && time(NULL) < end)
		usleep(10000);
	assert_false(exists(fpath(f, "queue/incoming/%s", id)));
	assert_int_equal(count_dir(fpath(f, "mail/localhost/bob/new")), 1);
	queue_flush(f->q);
}

/* A quarantined message: every recipient, local or not, goes to the
 * quarantine root (never the inbox, never relayed), bytes as for the
 * inbox; the "quarantine" key survives the queue file. */
static void
test_quarantine_delivery(void **state)
{
	struct fixture *f = *state;
	static const char why[] = "DMARC policy of quar.test quarantines "
	    "this message";
	struct queue_rcpt r[] = {
		{ .addr = "postmaster@localhost" },
		{ .addr = "Alice@LocalHost" },
		{ .addr = "bob@example.net" },		/* not local */
		{ .addr = "../x@localhost" },		/* unsafe mailbox */
	};
	struct queue_env env = env_for(r, 4);
	struct queue_local cfg = local_cfg;
	struct queue_run_stats st;
	struct queue_entry one;
	char id[QUEUE_ID_LEN + 1];
	char qdir[300], expect[1024], *data, *hdr, p[512];
	size_t len, hlen;
	int elen;

	env.quarantine = why;
	commit_env(f, &env, id);
	assert_int_equal(queue_show(f->q, id, &one, &hdr, &hlen),
	    MAILSEC_OK);
	assert_non_null(one.env.quarantine);
	assert_string_equal(one.env.quarantine, why);
	free(hdr);
	queue_entry_cleanup(&one);

	/* A configured root that does not exist yet. */
	snprintf(qdir, sizeof qdir, "%s/held/", f->dir);
	cfg.quarantine_dir = qdir;
	assert_int_equal(queue_run(f->q, &cfg, true, &st), MAILSEC_OK);
	assert_int_equal(st.delivered, 3);
	assert_int_equal(st.failed, 1);
	assert_int_equal(st.deferred, 0);
	assert_int_equal(st.removed, 1);
	assert_false(exists(fpath(f, "queue/incoming/%s", id)));
	assert_false(exists(fpath(f, "mail")));		/* not the inbox */
	assert_int_equal(count_dir(fpath(f, "held/localhost/postmaster/new")),
	    1);
	assert_int_equal(count_dir(fpath(f, "held/localhost/alice/new")), 1);
	assert_int_equal(count_dir(fpath(f, "held/example.net/bob/new")), 1);
	assert_int_equal(count_dir(fpath(f, "held")), 2);
	elen = snprintf(expect, sizeof expect,
	    "Return-Path: <alice@example.org>\r\n%s%s", verdict, msg_text);
	{
		DIR *dd = opendir(fpath(f, "held/example.net/bob/new"));
		struct dirent *de;

		assert_non_null(dd);
		while ((de = readdir(dd)) != NULL && de->d_name[0] == '.')
			;
		assert_non_null(de);
		snprintf(p, sizeof p, "%s/held/example.net/bob/new/%s", f->dir,
		    de->d_name);
		closedir(dd);
	}
	data = slurp(p, &len);
	assert_non_null(data);
	assert_int_equal(len, (size_t)elen);
	assert_memory_equal(data, expect, len);
	free(data);

	/* The default root is STATE_DIR/quarantine; a plain message still
	 * goes to the inbox. */
	{
		static const struct queue_rcpt one_r[] = {
			{ .addr = "carol@localhost" } };
		struct queue_env e2 = env_for(one_r, 1);

		e2.quarantine = "policy";
		commit_env(f, &e2, id);
	}
	commit_one(f, r, 1, id);	/* postmaster, not quarantined */
	assert_int_equal(queue_run(f->q, &local_cfg, true, &st), MAILSEC_OK);
	assert_int_equal(st.delivered, 2);
	assert_int_equal(st.removed, 2);
	assert_int_equal(count_dir(fpath(f,
	    "quarantine/localhost/carol/new")), 1);
	assert_false(exists(fpath(f, "mail/localhost/carol")));
	assert_int_equal(count_dir(fpath(f, "mail/localhost/postmaster/new")),
	    1);
}

static void
wait_gone(struct fixture *f, const char *id)
{
	time_t end = time(NULL) + 10;

	while (exists(fpath(f, "queue/incoming/%s", id)) && time(NULL) < end)
		usleep(10000);
}

/*
 * Waits until no runner holds the message's lock: its delivery attempt is
 * over (the state file is written inside it, before the lock goes).
 */
static void
wait_unlocked(struct fixture *f, const char *id)
{
	time_t end = time(NULL) + 10;
	int fd;

	fd = open(fpath(f, "queue/incoming/%s", id), O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	while (flock(fd, LOCK_EX | LOCK_NB) != 0 && time(NULL) < end)
		usleep(10000);
	(void)flock(fd, LOCK_UN);
	close(fd);
}

/* SIGHUP: the running runner takes new local domains and Maildir roots,
 * and delivers mail deferred for a domain that became local at once. */
static void
test_runner_reconfigure(void **state)
{
	struct fixture *f = *state;
	static const struct queue_rcpt far[] = {
		{ .addr = "dave@Example.ORG" } };
	static const struct queue_rcpt near[] = { { .addr = "bob@localhost" } };
	static const char *const doms2[] = { "localhost", "example.org" };
	static const char *const bad[] = { "exa mple.org" };
	struct queue_local cfg = local_cfg;
	char id[QUEUE_ID_LEN + 1], id2[QUEUE_ID_LEN + 1], root[300];
	time_t end;

	/* No runner yet: nothing to reconfigure. */
	assert_int_equal(queue_runner_reconfigure(f->q, &local_cfg),
	    MAILSEC_ESTATE);
	assert_int_equal(queue_runner_start(f->q, &local_cfg), MAILSEC_OK);
	commit_one(f, far, 1, id);
	/* Delivered on handoff: deferred, not local (yet). */
	end = time(NULL) + 10;
	while (!exists(fpath(f, "queue/state/%s", id)) && time(NULL) < end)
		usleep(10000);
	assert_true(exists(fpath(f, "queue/state/%s", id)));
	assert_true(exists(fpath(f, "queue/incoming/%s", id)));
	/* The reload's pass skips a message being delivered right then (it
	 * is retried on its schedule): let the first attempt end. */
	wait_unlocked(f, id);

	/* A domain that does not normalize: refused, the old one stays. */
	cfg.domains = bad;
	cfg.ndomains = 1;
	assert_int_equal(queue_runner_reconfigure(f->q, &cfg),
	    MAILSEC_EINVAL);

	snprintf(root, sizeof root, "%s/boxes", f->dir);
	cfg.domains = doms2;
	cfg.ndomains = 2;
	cfg.maildir = root;
	assert_int_equal(queue_runner_reconfigure(f->q, &cfg), MAILSEC_OK);
	/* The deferred message is delivered now, not after its backoff. */
	wait_gone(f, id);
	assert_false(exists(fpath(f, "queue/incoming/%s", id)));
	assert_false(exists(fpath(f, "queue/state/%s", id)));
	assert_int_equal(count_dir(fpath(f, "boxes/example.org/dave/new")),
	    1);
	/* New mail goes to the new root. */
	commit_one(f, near, 1, id2);
	wait_gone(f, id2);
	assert_int_equal(count_dir(fpath(f, "boxes/localhost/bob/new")), 1);
	assert_false(exists(fpath(f, "mail/localhost/bob")));

	/* Two reloads in a row: the last one wins; close frees both. */
	cfg.maildir = NULL;
	assert_int_equal(queue_runner_reconfigure(f->q, &local_cfg),
	    MAILSEC_OK);
	assert_int_equal(queue_runner_reconfigure(f->q, &cfg), MAILSEC_OK);
	commit_one(f, near, 1, id2);
	wait_gone(f, id2);
	assert_int_equal(count_dir(fpath(f, "mail/localhost/bob/new")), 1);
	assert_int_equal(queue_runner_reconfigure(f->q, &local_cfg),
	    MAILSEC_OK);
}

/* ---- remote delivery through a transport --------------------------------- */

/* A fake transport: answers per domain, records what it was given. */
struct fake_call {
	char domain[64];
	size_t n;
	char rcpts[4][64];
	char notify0[32];
	size_t bytes;
	bool bytes_ok;		/* headers + message, as queued */
	char from[64];
};

struct fake {
	pthread_mutex_t mu;
	struct fake_call calls[64];
	size_t ncalls;
	int crash_on;		/* _exit() on the call with this index, or
				 * -1 */
	unsigned delay_ms;	/* per call: lets threads overlap */
};

static void
fake_init(struct fake *fk)
{
	memset(fk, 0, sizeof *fk);
	pthread_mutex_init(&fk->mu, NULL);
	fk->crash_on = -1;
}

static mailsec_err
fake_deliver(void *arg, struct mailsec_resolver *res, const char *domain,
    const struct remote_msg *msg, struct remote_rcpt *r, size_t n,
    struct remote_info *info)
{
	struct fake *fk = arg;
	struct fake_call *c;
	char buf[4096], want[4096];
	size_t got, len = 0, i;
	int wl;

	(void)res;
	/* What the transport reads: the verdict headers, then the message
	 * (no Return-Path: that is for final delivery). */
	while (msg->read(msg->arg, buf + len, sizeof buf - len, &got) ==
	    MAILSEC_OK && got > 0)
		len += got;
	wl = snprintf(want, sizeof want, "%s%s", verdict, msg_text);
	pthread_mutex_lock(&fk->mu);
	if ((int)fk->ncalls == fk->crash_on)
		_exit(3);	/* the crash: after the remote said 250 */
	c = &fk->calls[fk->ncalls < 64 ? fk->ncalls++ : 63];
	snprintf(c->domain, sizeof c->domain, "%s", domain);
	snprintf(c->from, sizeof c->from, "%s", msg->mail_from);
	c->n = n;
	c->bytes = len;
	c->bytes_ok = len == (size_t)wl && msg->size == len &&
	    memcmp(buf, want, len) == 0;
	snprintf(c->notify0, sizeof c->notify0, "%s",
	    r[0].notify != NULL ? r[0].notify : "");
	for (i = 0; i < n && i < 4; i++)
		snprintf(c->rcpts[i], sizeof c->rcpts[i], "%s", r[i].addr);
	pthread_mutex_unlock(&fk->mu);
	if (fk->delay_ms > 0)
		usleep(fk->delay_ms * 1000);
	snprintf(info->tls, sizeof info->tls, "TLSv1.3 TLS_FAKE (test)");
	snprintf(info->mx, sizeof info->mx, "mx.%s", domain);
	snprintf(info->ip, sizeof info->ip, "192.0.2.7");
	for (i = 0; i < n; i++) {
		snprintf(r[i].mx, sizeof r[i].mx, "mx.%s", domain);
		if (strncmp(domain, "perm", 4) == 0) {
			r[i].result = REMOTE_PERM;
			r[i].code = 550;
			snprintf(r[i].enhanced, sizeof r[i].enhanced, "5.1.1");
			snprintf(r[i].text, sizeof r[i].text,
			    "mx.%s[192.0.2.7]: 550 5.1.1 no such user",
			    domain);
		} else if (strncmp(domain, "temp", 4) == 0) {
			r[i].result = REMOTE_TEMP;
			r[i].code = 451;
			snprintf(r[i].enhanced, sizeof r[i].enhanced, "4.3.0");
			snprintf(r[i].text, sizeof r[i].text,
			    "mx.%s[192.0.2.7]: 451 4.3.0 try later", domain);
		} else {
			r[i].result = REMOTE_OK;
			r[i].code = 250;
			snprintf(r[i].text, sizeof r[i].text,
			    "mx.%s[192.0.2.7]: 250 2.0.0 queued", domain);
		}
	}
	return MAILSEC_OK;
}

/* Commits msg_text from sender to rcpts (received: 0 = now). */
static void
commit_from(struct fixture *f, const char *sender, const struct queue_rcpt *r,
    size_t n, int64_t received, char *id)
{
	struct queue_env env = env_for(r, n);

	env.mail_from = sender;
	env.received = received;
	commit_env(f, &env, id);
}

/* The queued messages other than id (the DSNs a pass injected). */
static size_t
other_entries(struct fixture *f, const char *id, struct queue_entry **out,
    size_t *n)
{
	struct queue_entry *e;
	size_t i, k = 0;

	assert_int_equal(queue_list(f->q, &e, n), MAILSEC_OK);
	for (i = 0; i < *n; i++)
		if (id == NULL || strcmp(e[i].id, id) != 0)
			k++;
	*out = e;
	return k;
}

/* The message bytes of queued message id (without the envelope). */
static char *
queued_bytes(struct fixture *f, const char *id)
{
	char *data, *out;
	size_t len;
	uint64_t mlen = 0;
	const char *t;

	data = slurp(fpath(f, "queue/incoming/%s", id), &len);
	assert_non_null(data);
	t = data + len - 114 + 8;
	for (size_t i = 0; i < 16; i++)
		mlen = mlen * 16 + (uint64_t)(t[i] <= '9' ? t[i] - '0' :
		    t[i] - 'a' + 10);
	out = strndup(data + 16, (size_t)mlen);
	free(data);
	assert_non_null(out);
	return out;
}

static const char *const local_domains_t[] = { "localhost" };

static struct queue_local
remote_cfg(const struct queue_transport *tr)
{
	struct queue_local c = {
		.domains = local_domains_t,
		.ndomains = 1,
		.hostname = "mx/1:a",
		.transport = tr,
		.threads = 2,
		.bounce = true,
		.mta_name = "mx.localhost",
	};
	return c;
}

/* Per-domain transport calls, per-recipient results, TLS, attempts, and
 * one failure DSN (RFC 3464) to the sender for the 5xx recipient. */
static void
test_remote_results_and_bounce(void **state)
{
	struct fixture *f = *state;
	static const struct queue_rcpt r[] = {
		{ .addr = "postmaster@localhost" },
		{ .addr = "a@ok.test", .notify = "SUCCESS,FAILURE" },
		{ .addr = "c@perm.test", .orcpt = "rfc822;C@perm.test" },
		{ .addr = "b@OK.test" },
		{ .addr = "d@temp.test" },
		{ .addr = "e@perm.test", .notify = "NEVER" },
	};
	struct fake fk;
	struct queue_transport tr = { fake_deliver, &fk };
	struct queue_local cfg = remote_cfg(&tr);
	struct queue_run_stats st;
	struct queue_entry *e, one;
	char id[QUEUE_ID_LEN + 1], *hdr, *dsn;
	size_t n, hlen, i;
	int64_t now = time(NULL);

	fake_init(&fk);
	commit_from(f, "alice@example.org", r, 6, 0, id);
	assert_int_equal(queue_run(f->q, &cfg, true, &st), MAILSEC_OK);
	assert_int_equal(st.messages, 1);
	assert_int_equal(st.delivered, 3);
	assert_int_equal(st.failed, 2);
	assert_int_equal(st.deferred, 1);
	/* One call per domain, in recipient order, with all its rcpts. */
	assert_int_equal(fk.ncalls, 3);
	assert_string_equal(fk.calls[0].domain, "ok.test");
	assert_int_equal(fk.calls[0].n, 2);
	assert_string_equal(fk.calls[0].rcpts[0], "a@ok.test");
	assert_string_equal(fk.calls[0].rcpts[1], "b@OK.test");
	assert_string_equal(fk.calls[0].notify0, "SUCCESS,FAILURE");
	assert_string_equal(fk.calls[0].from, "alice@example.org");
	assert_string_equal(fk.calls[1].domain, "perm.test");
	assert_int_equal(fk.calls[1].n, 2);
	assert_string_equal(fk.calls[2].domain, "temp.test");
	for (i = 0; i < 3; i++)
		assert_true(fk.calls[i].bytes_ok);

	assert_int_equal(queue_show(f->q, id, &one, &hdr, &hlen), MAILSEC_OK);
	free(hdr);
	assert_int_equal(one.rcpts[0].status, QUEUE_RCPT_DONE);
	assert_null(one.rcpts[0].tls);		/* local */
	assert_int_equal(one.rcpts[1].status, QUEUE_RCPT_DONE);
	assert_string_equal(one.rcpts[1].tls, "TLSv1.3 TLS_FAKE (test)");
	assert_string_equal(one.rcpts[1].mx, "mx.ok.test");
	assert_int_equal(one.rcpts[1].attempts, 1);
	assert_int_equal(one.rcpts[2].status, QUEUE_RCPT_FAILED);
	assert_string_equal(one.rcpts[2].reason,
	    "mx.perm.test[192.0.2.7]: 550 5.1.1 no such user");
	assert_string_equal(one.rcpts[2].status_code, "5.1.1");
	assert_int_equal(one.rcpts[2].code, 550);
	assert_true(one.rcpts[2].dsn_done);
	assert_int_equal(one.rcpts[4].status, QUEUE_RCPT_DEFERRED);
	assert_string_equal(one.rcpts[4].reason,
	    "mx.temp.test[192.0.2.7]: 451 4.3.0 try later");
	assert_true(one.rcpts[5].dsn_done);	/* NEVER: no DSN, done */
	assert_int_equal(one.attempts, 1);
	/* First retry after 60 s. */
	assert_true(one.next_attempt >= now + 60 &&
	    one.next_attempt <= time(NULL) + 60);
	assert_true(one.last_attempt >= now);
	queue_entry_cleanup(&one);

	/* The failure DSN: from "" to the sender, c@perm.test only (e said
	 * NEVER), the original's header (no RET=FULL: RET=HDRS). */
	assert_int_equal(other_entries(f, id, &e, &n), 1);
	for (i = 0; i < n && strcmp(e[i].id, id) == 0; i++)
		;
	assert_string_equal(e[i].env.mail_from, "");
	assert_int_equal(e[i].env.nrcpt, 1);
	assert_string_equal(e[i].env.rcpt[0].addr, "alice@example.org");
	dsn = queued_bytes(f, e[i].id);
	queue_entries_free(e, n);
	assert_non_null(strstr(dsn, "multipart/report"));
	assert_non_null(strstr(dsn, "report-type=delivery-status"));
	assert_non_null(strstr(dsn, "Final-Recipient: rfc822;c@perm.test"));
	assert_non_null(strstr(dsn, "Original-Recipient: rfc822;C@perm.test"));
	assert_non_null(strstr(dsn, "Action: failed"));
	assert_non_null(strstr(dsn, "Status: 5.1.1"));
	assert_non_null(strstr(dsn, "Remote-MTA: dns; mx.perm.test"));
	assert_non_null(strstr(dsn, "smtp; 550 5.1.1 no such user"));
	assert_non_null(strstr(dsn, "Reporting-MTA: dns; mx.localhost"));
	assert_non_null(strstr(dsn, "Original-Envelope-Id: env 1%"));
	assert_non_null(strstr(dsn, "Subject: queue test"));	/* header */
	assert_null(strstr(dsn, "e@perm.test"));
	assert_null(strstr(dsn, "a@ok.test"));
	free(dsn);

	/* A second pass: only temp.test is tried again; no second DSN. */
	fk.ncalls = 0;
	assert_int_equal(queue_run(f->q, &cfg, true, &st), MAILSEC_OK);
	assert_int_equal(fk.ncalls, 2);	/* the message and its DSN */
	assert_int_equal(queue_show(f->q, id, &one, &hdr, &hlen), MAILSEC_OK);
	free(hdr);
	assert_int_equal(one.attempts, 2);
	assert_int_equal(one.rcpts[4].attempts, 2);
	assert_int_equal(one.rcpts[1].attempts, 1);
	assert_true(one.next_attempt >= now + 120);
	queue_entry_cleanup(&one);
	/* The DSN went out to example.org through the transport, from "". */
	assert_true((strcmp(fk.calls[0].domain, "example.org") == 0 &&
	    strcmp(fk.calls[0].from, "") == 0) ||
	    (strcmp(fk.calls[1].domain, "example.org") == 0 &&
	    strcmp(fk.calls[1].from, "") == 0));
	assert_int_equal(other_entries(f, id, &e, &n), 0);
	queue_entries_free(e, n);
}

/* No transport: remote recipients wait, "no relay configured". */
static void
test_no_transport_defers(void **state)
{
	struct fixture *f = *state;
	static const struct queue_rcpt r[] = { { .addr = "x@far.test" } };
	struct queue_local cfg = remote_cfg(NULL);
	struct queue_run_stats st;
	struct queue_entry *e;
	char id[QUEUE_ID_LEN + 1];
	size_t n;

	commit_from(f, "alice@example.org", r, 1, 0, id);
	assert_int_equal(queue_run(f->q, &cfg, true, &st), MAILSEC_OK);
	assert_int_equal(st.deferred, 1);
	assert_int_equal(queue_list(f->q, &e, &n), MAILSEC_OK);
	assert_int_equal(n, 1);
	assert_int_equal(e[0].rcpts[0].status, QUEUE_RCPT_DEFERRED);
	assert_string_equal(e[0].rcpts[0].reason, "no relay configured");
	queue_entries_free(e, n);
}

/* Past the lifetime a deferred recipient fails ("delivery time expired"
 * with the last error, 4.4.7) and is bounced; the message is removed. A
 * local sender gets the DSN in its Maildir. */
static void
test_lifetime_expires(void **state)
{
	struct fixture *f = *state;
	static const struct queue_rcpt r[] = { { .addr = "d@temp.test" } };
	struct fake fk;
	struct queue_transport tr = { fake_deliver, &fk };
	struct queue_local cfg = remote_cfg(&tr);
	struct queue_run_stats st;
	struct queue_entry *e;
	char id[QUEUE_ID_LEN + 1], *data;
	size_t n, len;

	fake_init(&fk);
	cfg.lifetime = 3600;
	commit_from(f, "Alice@localhost", r, 1, time(NULL) - 3599, id);
	assert_int_equal(queue_run(f->q, &cfg, true, &st), MAILSEC_OK);
	assert_int_equal(st.deferred, 1);
	/* The next attempt is not later than the end of the lifetime. */
	assert_int_equal(queue_list(f->q, &e, &n), MAILSEC_OK);
	assert_int_equal(n, 1);
	assert_true(e[0].next_attempt <= e[0].env.received + 3600);
	queue_entries_free(e, n);
	sleep(2);
	assert_int_equal(queue_run(f->q, &cfg, true, &st), MAILSEC_OK);
	assert_int_equal(st.failed, 1);
	assert_int_equal(st.deferred, 0);
	assert_int_equal(st.removed, 1);
	assert_false(exists(fpath(f, "queue/incoming/%s", id)));
	/* The DSN is queued; the next pass delivers it locally. */
	assert_int_equal(queue_run(f->q, &cfg, true, &st), MAILSEC_OK);
	assert_int_equal(st.delivered, 1);
	assert_int_equal(st.removed, 1);
	data = delivered(f, "alice", "new", &len);
	assert_non_null(data);
	assert_non_null(strstr(data, "Return-Path: <>\r\n"));
	assert_non_null(strstr(data, "Action: failed"));
	assert_non_null(strstr(data, "Status: 4.4.7"));
	/* The remote's last answer as the diagnostic. */
	assert_non_null(strstr(data, "Diagnostic-Code: smtp; 451 4.3.0 try "
	    "later"));
	free(data);
}

/* After delay_warning: one delay DSN (Action: delayed), never two. */
static void
test_delay_dsn_once(void **state)
{
	struct fixture *f = *state;
	static const struct queue_rcpt r[] = {
		{ .addr = "d@temp.test" },
		{ .addr = "n@temp.test", .notify = "FAILURE" },
	};
	struct fake fk;
	struct queue_transport tr = { fake_deliver, &fk };
	struct queue_local cfg = remote_cfg(&tr);
	struct queue_run_stats st;
	struct queue_entry *e, one;
	char id[QUEUE_ID_LEN + 1], *dsn, *hdr;
	size_t n, i, hlen;

	fake_init(&fk);
	cfg.delay_warning = 10;
	commit_from(f, "alice@example.org", r, 2, time(NULL) - 5, id);
	assert_int_equal(queue_run(f->q, &cfg, true, &st), MAILSEC_OK);
	assert_int_equal(other_entries(f, id, &e, &n), 0);	/* not yet */
	queue_entries_free(e, n);
	assert_int_equal(queue_show(f->q, id, &one, &hdr, &hlen), MAILSEC_OK);
	assert_false(one.delay_dsn);
	free(hdr);
	queue_entry_cleanup(&one);
	/* Older: the received time is in the envelope, so a new message. */
	assert_int_equal(queue_delete(f->q, id), MAILSEC_OK);
	commit_from(f, "alice@example.org", r, 2, time(NULL) - 11, id);
	assert_int_equal(queue_run(f->q, &cfg, true, &st), MAILSEC_OK);
	assert_int_equal(other_entries(f, id, &e, &n), 1);
	for (i = 0; i < n && strcmp(e[i].id, id) == 0; i++)
		;
	dsn = queued_bytes(f, e[i].id);
	assert_string_equal(e[i].env.mail_from, "");
	assert_int_equal(queue_delete(f->q, e[i].id), MAILSEC_OK);
	queue_entries_free(e, n);
	assert_non_null(strstr(dsn, "Action: delayed"));
	assert_non_null(strstr(dsn, "Status: 4.3.0"));
	assert_non_null(strstr(dsn, "Will-Retry-Until:"));
	assert_non_null(strstr(dsn, "Final-Recipient: rfc822;d@temp.test"));
	assert_null(strstr(dsn, "n@temp.test"));	/* NOTIFY=FAILURE */
	free(dsn);
	assert_int_equal(queue_show(f->q, id, &one, &hdr, &hlen), MAILSEC_OK);
	assert_true(one.delay_dsn);
	free(hdr);
	queue_entry_cleanup(&one);
	assert_int_equal(queue_run(f->q, &cfg, true, &st), MAILSEC_OK);
	assert_int_equal(other_entries(f, id, &e, &n), 0);	/* once */
	queue_entries_free(e, n);
}

/* Never a DSN to the null sender: a failed DSN is dropped. */
static void
test_null_sender_no_bounce(void **state)
{
	struct fixture *f = *state;
	static const struct queue_rcpt r[] = { { .addr = "x@perm.test" } };
	struct fake fk;
	struct queue_transport tr = { fake_deliver, &fk };
	struct queue_local cfg = remote_cfg(&tr);
	struct queue_run_stats st;
	struct queue_entry *e;
	char id[QUEUE_ID_LEN + 1];
	size_t n;

	fake_init(&fk);
	commit_from(f, "", r, 1, 0, id);
	assert_int_equal(queue_run(f->q, &cfg, true, &st), MAILSEC_OK);
	assert_int_equal(st.failed, 1);
	assert_int_equal(st.removed, 1);
	assert_int_equal(other_entries(f, NULL, &e, &n), 0);
	queue_entries_free(e, n);
	/* bounce off: failures are only logged. */
	cfg.bounce = false;
	commit_from(f, "alice@example.org", r, 1, 0, id);
	assert_int_equal(queue_run(f->q, &cfg, true, &st), MAILSEC_OK);
	assert_int_equal(st.removed, 1);
	assert_int_equal(other_entries(f, NULL, &e, &n), 0);
	queue_entries_free(e, n);
}

/* At most once: the state is written right after each remote answer. A
 * crash (the process dies) during the second domain's delivery leaves
 * the first recorded; after a restart only the second is tried. */
static void
test_remote_crash_repeats_in_flight_only(void **state)
{
	struct fixture *f = *state;
	static const struct queue_rcpt r[] = {
		{ .addr = "a@ok.test" },
		{ .addr = "b@ok2.test" },
	};
	struct fake fk;
	struct queue_transport tr = { fake_deliver, &fk };
	struct queue_local cfg = remote_cfg(&tr);
	struct queue_run_stats st;
	struct queue_recover_stats rs;
	char id[QUEUE_ID_LEN + 1];
	pid_t pid;
	int status;

	fake_init(&fk);
	commit_from(f, "alice@example.org", r, 2, 0, id);
	fk.crash_on = 1;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		(void)queue_run(f->q, &cfg, true, &st);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 3);
	assert_true(exists(fpath(f, "queue/state/%s", id)));
	reopen(f);
	assert_int_equal(queue_recover(f->q, &rs), MAILSEC_OK);
	assert_int_equal(rs.recovered, 1);
	fk.crash_on = -1;
	fk.ncalls = 0;
	assert_int_equal(queue_run(f->q, &cfg, false, &st), MAILSEC_OK);
	assert_int_equal(fk.ncalls, 1);
	assert_string_equal(fk.calls[0].domain, "ok2.test");
	assert_int_equal(st.removed, 1);
}

/* queue_inject(): durable, intact, listed, found by recovery. */
static void
test_inject(void **state)
{
	struct fixture *f = *state;
	static const struct queue_rcpt r[] = { { .addr = "bob@localhost" } };
	struct queue_env env = env_for(r, 1);
	struct queue_recover_stats rs;
	struct queue_entry *e;
	char id[QUEUE_ID_LEN + 1], *b;
	size_t n;

	env.mail_from = "";
	assert_int_equal(queue_inject(f->q, &env, S(msg_text), id),
	    MAILSEC_OK);
	assert_true(queue_id_valid(id, strlen(id)));
	assert_true(exists(fpath(f, "queue/incoming/%s", id)));
	assert_int_equal(count_dir(fpath(f, "queue/tmp")), 0);
	b = queued_bytes(f, id);
	assert_string_equal(b, msg_text);
	free(b);
	reopen(f);
	assert_int_equal(queue_recover(f->q, &rs), MAILSEC_OK);
	assert_int_equal(rs.recovered, 1);
	assert_int_equal(rs.corrupt_moved, 0);
	assert_int_equal(queue_list(f->q, &e, &n), MAILSEC_OK);
	assert_int_equal(n, 1);
	assert_string_equal(e[0].env.mail_from, "");
	assert_string_equal(e[0].env.rcpt[0].addr, "bob@localhost");
	queue_entries_free(e, n);
	/* A bad envelope: nothing left behind. */
	env.nrcpt = 0;
	assert_int_equal(queue_inject(f->q, &env, S(msg_text), NULL),
	    MAILSEC_EINVAL);
	assert_int_equal(count_dir(fpath(f, "queue/tmp")), 0);
	assert_int_equal(count_dir(fpath(f, "queue/incoming")), 1);
}

/* The runner's threads deliver many messages, each once, concurrently. */
static void
test_runner_threads_remote(void **state)
{
	struct fixture *f = *state;
	static const struct queue_rcpt r[] = { { .addr = "x@ok.test" } };
	struct fake fk;
	struct queue_transport tr = { fake_deliver, &fk };
	struct queue_local cfg = remote_cfg(&tr);
	char id[QUEUE_ID_LEN + 1];
	time_t end;
	int i;

	fake_init(&fk);
	fk.delay_ms = 50;
	cfg.threads = 4;
	assert_int_equal(queue_runner_start(f->q, &cfg), MAILSEC_OK);
	for (i = 0; i < 12; i++)
		commit_from(f, "alice@example.org", r, 1, 0, id);
	end = time(NULL) + 20;
	while (count_dir(fpath(f, "queue/incoming")) > 0 && time(NULL) < end)
		usleep(20000);
	assert_int_equal(count_dir(fpath(f, "queue/incoming")), 0);
	queue_flush(f->q);
	usleep(200000);
	pthread_mutex_lock(&fk.mu);
	assert_int_equal(fk.ncalls, 12);
	pthread_mutex_unlock(&fk.mu);
}

/* ---- delete -------------------------------------------------------------- */

static void
test_delete(void **state)
{
	struct fixture *f = *state;
	char id[QUEUE_ID_LEN + 1];
	int fd;

	commit_one(f, rcpts3, 1, id);
	/* Being delivered (locked): refused. */
	fd = open(fpath(f, "queue/incoming/%s", id), O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(flock(fd, LOCK_EX), 0);
	assert_int_equal(queue_delete(f->q, id), MAILSEC_ESTATE);
	close(fd);
	spit(fpath(f, "queue/state/%s", id), S("mailsec-state 1\n"));
	assert_int_equal(queue_delete(f->q, id), MAILSEC_OK);
	assert_false(exists(fpath(f, "queue/incoming/%s", id)));
	assert_false(exists(fpath(f, "queue/state/%s", id)));
	assert_int_equal(queue_delete(f->q, id), MAILSEC_ENOTFOUND);
	assert_int_equal(queue_delete(f->q, "nope"), MAILSEC_EINVAL);
}

/* ---- control socket ------------------------------------------------------ */

struct client {
	const char *dir;
	const char *req;
	char *resp;
	size_t len;
	mailsec_err err;
	volatile int done;
};

static void *
client_main(void *arg)
{
	struct client *c = arg;

	c->err = control_request(c->dir, c->req, &c->resp, &c->len, NULL);
	__atomic_store_n(&c->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static void
ask(struct fixture *f, struct client *c, const char *req)
{
	pthread_t t;

	memset(c, 0, sizeof *c);
	c->dir = f->dir;
	c->req = req;
	assert_int_equal(pthread_create(&t, NULL, client_main, c), 0);
	while (!__atomic_load_n(&c->done, __ATOMIC_SEQ_CST))
		event_base_loop(f->base, EVLOOP_NONBLOCK), usleep(1000);
	pthread_join(t, NULL);
}

static void
test_control_socket(void **state)
{
	struct fixture *f = *state;
	struct control *ctl;
	struct client c;
	struct queue_entry *e;
	struct mailsec_diag diag = { 0 };
	struct stat st;
	char id[QUEUE_ID_LEN + 1], req[64], *hdr;
	size_t n, hlen;
	char *resp;
	size_t rlen;

	/* No daemon: the client says so. */
	assert_int_equal(control_request(f->dir, "list", &resp, &rlen, NULL),
	    MAILSEC_ENOTFOUND);
	commit_one(f, rcpts3, 3, id);
	assert_int_equal(control_listen(&ctl, f->base, f->dir, f->q, NULL),
	    MAILSEC_OK);
	assert_int_equal(stat(fpath(f, "control"), &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	ask(f, &c, "list");
	assert_int_equal(c.err, MAILSEC_OK);
	assert_int_equal(control_parse(c.resp, c.len, &e, &n, NULL, NULL,
	    NULL), MAILSEC_OK);
	assert_int_equal(n, 1);
	assert_string_equal(e[0].id, id);
	assert_int_equal(e[0].env.nrcpt, 3);
	assert_string_equal(e[0].env.mail_from, "alice@example.org");
	queue_entries_free(e, n);
	free(c.resp);

	snprintf(req, sizeof req, "show %s", id);
	ask(f, &c, req);
	assert_int_equal(control_parse(c.resp, c.len, &e, &n, &hdr, &hlen,
	    NULL), MAILSEC_OK);
	assert_int_equal(n, 1);
	assert_non_null(hdr);
	assert_non_null(strstr(hdr, "Subject: queue test"));
	queue_entries_free(e, n);
	free(hdr);
	free(c.resp);

	ask(f, &c, "show 0000000000000000");
	assert_int_equal(control_parse(c.resp, c.len, &e, &n, &hdr, &hlen,
	    &diag), MAILSEC_ENOTFOUND);
	assert_string_equal(diag.text, "no such message");
	free(c.resp);

	ask(f, &c, "bogus");
	assert_int_equal(control_parse(c.resp, c.len, &e, &n, NULL, NULL,
	    NULL), MAILSEC_EINVAL);
	free(c.resp);

	ask(f, &c, "flush");
	assert_string_equal(c.resp, "ok\n");
	free(c.resp);

	snprintf(req, sizeof req, "delete %s", id);
	ask(f, &c, req);
	assert_string_equal(c.resp, "ok\n");
	free(c.resp);
	assert_false(exists(fpath(f, "queue/incoming/%s", id)));

	ask(f, &c, "list");
	assert_string_equal(c.resp, "ok\n");
	free(c.resp);

	/* Malformed answers are refused, never trusted. */
	assert_int_equal(control_parse(S("entry 0123456789abcdef 1 0 999 0\n"),
	    &e, &n, NULL, NULL, NULL), MAILSEC_ESYNTAX);
	assert_int_equal(control_parse(S("what\n"), &e, &n, NULL, NULL,
	    NULL), MAILSEC_ESYNTAX);
	assert_int_equal(control_parse(S(""), &e, &n, NULL, NULL, NULL),
	    MAILSEC_ESYNTAX);

	control_close(ctl);
	assert_false(exists(fpath(f, "control")));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_id_sorted_and_valid),
		cmocka_unit_test(test_id_unique_across_fork),
		cmocka_unit_test(test_maildir_user_names),
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_commit_and_list),
		T(test_envelope_escaping),
		T(test_commit_errors_abort_cancel),
		T(test_group_commit_many),
		T(test_big_message_streams),
		T(test_sync_modes),
		T(test_close_drains),
		T(test_recover_torn_at_every_byte),
		T(test_recover_refused_while_shared),
		T(test_maildir_delivery),
		T(test_local_only_message_removed),
		T(test_state_survives_crash_between_rcpts),
		T(test_no_redelivery_after_crash_in_delivery),
		T(test_maildir_retry_keeps_linked_copy),
		T(test_runner_thread_delivers),
		T(test_quarantine_delivery),
		T(test_runner_reconfigure),
		T(test_remote_results_and_bounce),
		T(test_no_transport_defers),
		T(test_lifetime_expires),
		T(test_delay_dsn_once),
		T(test_null_sender_no_bounce),
		T(test_remote_crash_repeats_in_flight_only),
		T(test_inject),
		T(test_runner_threads_remote),
		T(test_delete),
		T(test_control_socket),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
