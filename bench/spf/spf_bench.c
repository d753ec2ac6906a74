/*
 * bench/spf/spf_bench.c - SPF evaluations per second, the candidate driver
 * for ../shared/peer-bench (its SPF cases file: lines "ip sender helo").
 *
 *   spf_bench cache CASES [DNS [CONCURRENCY]]
 *       one libunbound resolver forwarding to DNS (default 127.0.0.1) for
 *       the whole run with the DNS layer's answer cache, and one cache of
 *       parsed records, so both warm as libspf2's SPF_DNS_CACHE does;
 *       CONCURRENCY evaluations in flight (default 1).
 *   spf_bench answers CASES [DNS [CONCURRENCY]]
 *       the same without the cache of parsed records (every record is
 *       parsed again), for comparison.
 *   spf_bench zone CASES ZONEFILE [CONCURRENCY]
 *       answers from memory (the zone backend) and the cache of parsed
 *       records: what the engine costs when every answer is a cache hit
 *       in the process.
 *   spf_bench cold CASES [DNS]
 *       a new resolver (empty cache) for every evaluation: every query
 *       goes to the server. Reports queries and latency per evaluation
 *       (resolver creation not timed).
 *
 * Prints "result ok=N fail=M" (fail = temperror/permerror), "spf RESULT=N
 * ...", then the rate, DNS queries per evaluation, latency, and the CPU
 * time of the same span (all threads) with the rate it gives.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mailsec/dns.h>
#include <mailsec/spf.h>

#define LINE_MAX_LEN 1024
#define CONC_MAX 1024

/* A case: offsets of its three NUL-terminated words in words[] (kept
 * together, so reading the cases does not stream through memory). */
struct bcase {
	size_t ip;
	size_t sender;
	size_t helo;
};

struct slot {
	struct mailsec_spf *spf;
	struct mailsec_spf_request req;
	double t0;
	bool busy;
};

static struct bcase *cases;
static char *words;
static size_t words_len, words_cap;
static struct mailsec_spf_cache *pcache;	/* parsed records (not cold) */
static size_t ncases, next_case, ndone;
static unsigned dist[7];
static unsigned long long queries;
static double *lat;
static size_t nlat;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Appends the word w and its NUL to words[]; *off: where it starts. */
static int
word_add(const char *w, size_t *off)
{
	size_t n = strlen(w) + 1;
	char *nw;

	if (words_len + n > words_cap) {
		size_t cap = words_cap ? words_cap * 2 : 65536;

		while (cap < words_len + n)
			cap *= 2;
		if ((nw = realloc(words, cap)) == NULL)
			return -1;
		words = nw;
		words_cap = cap;
	}
	memcpy(words + words_len, w, n);
	*off = words_len;
	words_len += n;
	return 0;
}

/* CPU seconds of the whole process (every thread: libunbound's worker
 * too), less sensitive than wall time to a busy machine. */
static double
cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
load(const char *path)
{
	char line[LINE_MAX_LEN];
	size_t cap = 0;
	FILE *f = fopen(path, "r");

	if (f == NULL) {
		perror(path);
		return -1;
	}
	while (fgets(line, sizeof line, f) != NULL) {
		char *w[3], *p = line;
		struct bcase *c;
		int n = 0;

		/* three blank-separated words */
		while (n < 3) {
			while (*p == ' ' || *p == '\t')
				p++;
			if (*p == '\0' || *p == '\n' || *p == '\r')
				break;
			w[n++] = p;
			while (*p != '\0' && *p != ' ' && *p != '\t' &&
			    *p != '\n' && *p != '\r')
				p++;
			if (*p != '\0')
				*p++ = '\0';
		}
		if (n < 3)
			continue;
		if (ncases == cap) {
			cap = cap ? cap * 2 : 1024;
			c = realloc(cases, cap * sizeof *c);
			if (c == NULL) {
				fclose(f);
				return -1;
			}
			cases = c;
		}
		c = &cases[ncases++];
		if (word_add(w[0], &c->ip) != 0 ||
		    word_add(w[1], &c->sender) != 0 ||
		    word_add(w[2], &c->helo) != 0) {
			fclose(f);
			return -1;
		}
	}
	fclose(f);
	return 0;
}

static void
record(struct mailsec_spf *spf, double t0)
{
	const struct mailsec_spf_outcome *o = mailsec_spf_outcome(spf);

	dist[o->result]++;
	queries += o->queries;
	lat[nlat++] = now() - t0;
	ndone++;
}

static void start_next(struct mailsec_resolver *r, struct slot *sl);

static void
on_done(void *arg, struct mailsec_spf *spf)
{
	struct slot *sl = arg;

	record(spf, sl->t0);
	mailsec_spf_free(spf);
	sl->spf = NULL;
	sl->busy = false;
}

static void
start_next(struct mailsec_resolver *r, struct slot *sl)
{
	struct bcase *c;

	if (next_case >= ncases)
		return;
	c = &cases[next_case++];
	memset(&sl->req, 0, sizeof sl->req);
	sl->req.ip = words + c->ip;
	sl->req.mail_from = words + c->sender;
	sl->req.helo = words + c->helo;
	sl->req.receiver = "bench.test";
	if (mailsec_spf_new(r, &sl->req, &sl->spf, NULL) != MAILSEC_OK) {
		dist[MAILSEC_SPF_PERMERROR]++;
		ndone++;
		return;
	}
	mailsec_spf_set_cache(sl->spf, pcache);
	sl->busy = true;
	sl->t0 = now();
	mailsec_spf_start(sl->spf, on_done, sl);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	struct mailsec_unbound_opts uo = { 0 };
	struct mailsec_resolver *r = NULL;
	struct mailsec_diag diag = { 0 };
	struct slot *slots;
	const char *dns = "127.0.0.1";
	bool cold;
	size_t conc = 1, i;
	double t0, el, c0, cpu = 0;
	unsigned k;

	if (argc < 3 || (strcmp(argv[1], "cache") != 0 &&
	    strcmp(argv[1], "answers") != 0 &&
	    strcmp(argv[1], "cold") != 0 && strcmp(argv[1], "zone") != 0) ||
	    (strcmp(argv[1], "zone") == 0 && argc < 4)) {
		fprintf(stderr, "usage: spf_bench cache|answers|cold CASES "
		    "[DNS [CONCURRENCY]]\n"
		    "       spf_bench zone CASES ZONEFILE [CONCURRENCY]\n");
		return 2;
	}
	cold = strcmp(argv[1], "cold") == 0;
	if (argc > 3)
		dns = argv[3];
	if (argc > 4)
		conc = (size_t)strtoul(argv[4], NULL, 10);
	if (cold || conc < 1)
		conc = 1;
	if (conc > CONC_MAX)
		conc = CONC_MAX;
	if (load(argv[2]) != 0)
		return 1;
	lat = calloc(ncases + 1, sizeof *lat);
	slots = calloc(conc, sizeof *slots);
	if (lat == NULL || slots == NULL)
		return 1;
	uo.forward = dns;
	t0 = now();
	c0 = cpu_now();
	if (!cold) {
		mailsec_err err = strcmp(argv[1], "zone") == 0 ?
		    mailsec_resolver_new_zone_file(dns, &r, &diag) :
		    mailsec_resolver_new_unbound(&uo, &r, &diag);

		if (err != MAILSEC_OK) {
			fprintf(stderr, "resolver: %s\n", diag.text);
			return 1;
		}
		/* libunbound: answers from the layer's own cache, in
		 * process, as libspf2's SPF_DNS_CACHE keeps them */
		if (strcmp(argv[1], "zone") != 0 &&
		    mailsec_resolver_set_cache(r, 100000) != MAILSEC_OK) {
			fprintf(stderr, "resolver: cache: out of memory\n");
			return 1;
		}
		if (strcmp(argv[1], "answers") != 0 &&
		    mailsec_spf_cache_new(10000, 0, &pcache) != MAILSEC_OK) {
			fprintf(stderr, "record cache: out of memory\n");
			return 1;
		}
		while (ndone < ncases) {
			for (i = 0; i < conc; i++)
				if (!slots[i].busy && next_case < ncases)
					start_next(r, &slots[i]);
			if (mailsec_resolver_pending(r) > 0)
				mailsec_resolver_wait(r, -1);
		}
		mailsec_resolver_free(r);
		mailsec_spf_cache_free(pcache);
		el = now() - t0;
		cpu = cpu_now() - c0;
	} else {
		el = 0;
		for (i = 0; i < ncases; i++) {
			double s;

			if (mailsec_resolver_new_unbound(&uo, &r, &diag) !=
			    MAILSEC_OK) {
				fprintf(stderr, "resolver: %s\n", diag.text);
				return 1;
			}
			s = now();
			c0 = cpu_now();
			start_next(r, &slots[0]);
			while (slots[0].busy)
				mailsec_resolver_wait(r, -1);
			el += now() - s;
			cpu += cpu_now() - c0;
			mailsec_resolver_free(r);
		}
	}
	printf("result ok=%u fail=%u\n", (unsigned)ncases -
	    dist[MAILSEC_SPF_TEMPERROR] - dist[MAILSEC_SPF_PERMERROR],
	    dist[MAILSEC_SPF_TEMPERROR] + dist[MAILSEC_SPF_PERMERROR]);
	printf("spf");
	for (k = 0; k < 7; k++)
		if (dist[k])
			printf(" %s=%u", mailsec_spf_result_name(k), dist[k]);
	printf("\n");
	qsort(lat, nlat, sizeof *lat, cmp_double);
	printf("mode=%s concurrency=%zu evaluations=%zu seconds=%.3f "
	    "rate=%.0f/s queries/eval=%.2f latency_us p50=%.0f p99=%.0f "
	    "cpu_seconds=%.3f cpu_rate=%.0f/s\n",
	    argv[1], conc, ncases, el, el > 0 ? (double)ncases / el : 0,
	    ncases ? (double)queries / (double)ncases : 0,
	    nlat ? lat[nlat / 2] * 1e6 : 0,
	    nlat ? lat[nlat * 99 / 100] * 1e6 : 0, cpu,
	    cpu > 0 ? (double)ncases / cpu : 0);
	free(lat);
	free(slots);
	free(cases);
	free(words);
	return 0;
}
