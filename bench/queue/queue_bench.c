/*
 * bench/queue/queue_bench.c - durable commits per second of the spool.
 *
 * C writers ("sessions") share one event loop, as in one worker process:
 * each writes a 10 KB message in 4 KB chunks, records its envelope,
 * commits, and starts the next message when its callback says the
 * message is durable. Reports commits per second, the group commit
 * batches and the commit latency (queue_commit() to callback).
 *
 * usage: queue_bench [-d DIR] [-t SECS] [-s SIZE] [-m auto|files|fs]
 *            [CONCURRENCY...]          (default: 1 20 100)
 * DIR (default: a new directory under /tmp... pass one on the disk to
 * measure) is emptied of queued messages between runs.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "queue.h"
#include "testdir.h"

#define CHUNK 4096
#define MAX_LAT 2000000

struct bench;

struct writer {
	struct bench *b;
	double started;
};

struct bench {
	struct event_base *base;
	struct queue *q;
	const char *body;
	size_t size;
	double end;
	unsigned long done, failed;
	int running;
	double *lat;
	size_t nlat;
	double busy;		/* time spent writing messages */
};

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const struct queue_rcpt rcpt = { .addr = "bench@example.net" };

static void on_commit(void *arg, mailsec_err err, const char *id);

static void
start(struct writer *w)
{
	struct bench *b = w->b;
	struct queue_env env = {
		.mail_from = "sender@example.org",
		.client_ip = "192.0.2.1",
		.helo = "client.example.org",
		.rcpt = &rcpt,
		.nrcpt = 1,
	};
	struct queue_msg *m;
	size_t off, n;
	double t = now();

	if (t >= b->end) {
		b->running--;
		return;
	}
	if (queue_msg_new(b->q, &m) != MAILSEC_OK) {
		fprintf(stderr, "queue_bench: queue_msg_new failed\n");
		exit(1);
	}
	for (off = 0; off < b->size; off += n) {
		n = b->size - off < CHUNK ? b->size - off : CHUNK;
		if (queue_msg_write(m, b->body + off, n) != MAILSEC_OK) {
			fprintf(stderr, "queue_bench: write failed\n");
			exit(1);
		}
	}
	if (queue_msg_envelope(m, &env) != MAILSEC_OK) {
		fprintf(stderr, "queue_bench: envelope failed\n");
		exit(1);
	}
	w->started = now();
	queue_commit(b->q, m, on_commit, w);
	b->busy += now() - t;
}

static void
on_commit(void *arg, mailsec_err err, const char *id)
{
	struct writer *w = arg;
	struct bench *b = w->b;

	(void)id;
	if (err != MAILSEC_OK)
		b->failed++;
	else
		b->done++;
	if (b->nlat < MAX_LAT)
		b->lat[b->nlat++] = now() - w->started;
	start(w);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void
clean(const char *dir)
{
	char p[4096];

	snprintf(p, sizeof p, "%s/queue", dir);
	(void)testdir_remove(p);	/* absent the first time */
}

static int
run(const char *dir, int conc, double secs, size_t size,
    enum queue_sync_mode mode, const char *body)
{
	struct queue_commit_stats st;
	struct bench b;
	struct writer *w;
	double t0, el;
	int i;

	memset(&b, 0, sizeof b);
	clean(dir);
	b.base = event_base_new();
	if (b.base == NULL || queue_open(&b.q, dir, b.base, NULL) !=
	    MAILSEC_OK) {
		fprintf(stderr, "queue_bench: cannot open %s\n", dir);
		return 1;
	}
	queue_set_sync_mode(b.q, mode);
	b.body = body;
	b.size = size;
	b.lat = calloc(MAX_LAT, sizeof *b.lat);
	w = calloc((size_t)conc, sizeof *w);
	if (b.lat == NULL || w == NULL)
		return 1;
	t0 = now();
	b.end = t0 + secs;
	b.running = conc;
	for (i = 0; i < conc; i++) {
		w[i].b = &b;
		start(&w[i]);
	}
	while (b.running > 0)
		event_base_loop(b.base, EVLOOP_ONCE);
	el = now() - t0;
	queue_commit_stats(b.q, &st);
	qsort(b.lat, b.nlat, sizeof *b.lat, cmp_double);
	printf("c=%-4d %8.0f commits/s  (%lu in %.1f s, %lu failed)  "
	    "batches %llu, mean %.1f, max %llu  latency p50 %.1f ms "
	    "p99 %.1f ms  loop writing %.0f%%\n",
	    conc, (double)b.done / el, b.done, el, b.failed,
	    (unsigned long long)st.batches,
	    st.batches ? (double)st.commits / (double)st.batches : 0.0,
	    (unsigned long long)st.max_batch,
	    b.nlat ? b.lat[b.nlat / 2] * 1e3 : 0.0,
	    b.nlat ? b.lat[b.nlat * 99 / 100] * 1e3 : 0.0,
	    100.0 * b.busy / el);
	fflush(stdout);
	queue_close(b.q);
	event_base_free(b.base);
	free(b.lat);
	free(w);
	clean(dir);
	return 0;
}

int
main(int argc, char **argv)
{
	static const int defaults[] = { 1, 20, 100 };
	enum queue_sync_mode mode = QUEUE_SYNC_AUTO;
	char tmpl[] = "/var/tmp/queue-bench-XXXXXX";
	const char *dir = NULL;
	double secs = 5;
	size_t size = 10240, i;
	int conc[16], nconc = 0, opt, rc = 0;
	char *body;

	while ((opt = getopt(argc, argv, "d:t:s:m:")) != -1) {
		switch (opt) {
		case 'd':
			dir = optarg;
			break;
		case 't':
			secs = strtod(optarg, NULL);
			break;
		case 's':
			size = (size_t)strtoul(optarg, NULL, 10);
			break;
		case 'm':
			if (strcmp(optarg, "files") == 0)
				mode = QUEUE_SYNC_FILES;
			else if (strcmp(optarg, "fs") == 0)
				mode = QUEUE_SYNC_FS;
			else
				mode = QUEUE_SYNC_AUTO;
			break;
		default:
			fprintf(stderr, "usage: queue_bench [-d DIR] [-t SECS] "
			    "[-s SIZE] [-m auto|files|fs] [CONCURRENCY...]\n");
			return 2;
		}
	}
	for (; optind < argc && nconc < 16; optind++)
		conc[nconc++] = (int)strtol(argv[optind], NULL, 10);
	if (nconc == 0)
		for (i = 0; i < sizeof defaults / sizeof defaults[0]; i++)
			conc[nconc++] = defaults[i];
	if (dir == NULL && (dir = mkdtemp(tmpl)) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	if ((body = malloc(size + 1)) == NULL)
		return 1;
	for (i = 0; i < size; i++)
		body[i] = (i % 78 == 76) ? '\r' : (i % 78 == 77) ? '\n' :
		    (char)('a' + i % 26);
	printf("queue_bench: %zu-byte messages, %.0f s per run, sync %s, "
	    "in %s\n", size, secs, mode == QUEUE_SYNC_FILES ? "files" :
	    mode == QUEUE_SYNC_FS ? "fs" : "auto", dir);
	for (i = 0; i < (size_t)nconc; i++)
		rc |= run(dir, conc[i], secs, size, mode, body);
	free(body);
	if (dir == tmpl)
		rmdir(dir);
	return rc;
}
