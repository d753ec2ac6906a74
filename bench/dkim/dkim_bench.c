/*
 * bench/dkim/dkim_bench.c - mailsec's DKIM driver for ../shared/peer-bench.
 *
 *   dkim_bench verify DIR [DNS]
 *   dkim_bench sign DIR rsa|ed25519 KEY.pem DOMAIN SELECTOR
 *
 * Processes every *.eml file of DIR in name order in one process, one
 * message at a time (read, parse, verify or sign), and prints
 * "result ok=N fail=M". DNS: "zone:FILE" for a zone file, else a server
 * address to forward to (default 127.0.0.1, the bench's nsd). Files are
 * read with one read() into a reused buffer, or mapped from 64 KiB on.
 * The private key is parsed once; verification keeps keys in a key cache
 * for their TTL (BENCH_NO_KEYCACHE=1: none). BENCH_OUT=DIR writes signed messages.
 */
#include <sys/mman.h>
#include <sys/stat.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mailsec/dkim.h>
#include <mailsec/dns.h>
#include <mailsec/msg.h>

static int
cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char **
list_dir(const char *dir, size_t *n)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **v = NULL, **nv;
	size_t cap = 0, l;

	*n = 0;
	if (d == NULL) {
		perror(dir);
		exit(2);
	}
	while ((e = readdir(d)) != NULL) {
		l = strlen(e->d_name);
		if (l < 5 || strcmp(e->d_name + l - 4, ".eml") != 0)
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 256;
			if ((nv = realloc(v, cap * sizeof *v)) == NULL)
				exit(2);
			v = nv;
		}
		if ((v[(*n)++] = strdup(e->d_name)) == NULL)
			exit(2);
	}
	closedir(d);
	qsort(v, *n, sizeof *v, cmp);
	return v;
}

/* Files from this size on are mapped, not copied (see slurp). */
#define BENCH_MMAP_MIN	(64 * 1024)

/*
 * Reads path: a small file with one read() into *buf (grown as needed,
 * reused across files), a large one mapped (*map, to munmap), since a
 * copy out of the page cache costs as much as hashing it here. Either
 * way every message is really read (and parsed) each time.
 */
static size_t
slurp(const char *path, char **buf, size_t *cap, char **map)
{
	struct stat st;
	size_t len = 0, want;
	ssize_t n;
	char *nb;
	int fd = open(path, O_RDONLY);

	*map = NULL;
	if (fd < 0 || fstat(fd, &st) != 0) {
		perror(path);
		exit(2);
	}
	if (st.st_size >= BENCH_MMAP_MIN) {
		*map = mmap(NULL, (size_t)st.st_size, PROT_READ,
		    MAP_PRIVATE | MAP_POPULATE, fd, 0);
		if (*map == MAP_FAILED) {
			perror(path);
			exit(2);
		}
		close(fd);
		return (size_t)st.st_size;
	}
	want = (size_t)st.st_size + 1;
	if (want > *cap) {
		if ((nb = realloc(*buf, want)) == NULL)
			exit(2);
		*buf = nb;
		*cap = want;
	}
	while (len < (size_t)st.st_size) {
		n = read(fd, *buf + len, (size_t)st.st_size - len);
		if (n <= 0) {
			perror(path);
			exit(2);
		}
		len += (size_t)n;
	}
	close(fd);
	(*buf)[len] = '\0';
	return len;
}

int
main(int argc, char **argv)
{
	struct mailsec_resolver *r = NULL;
	struct mailsec_dkim_key *key = NULL;
	struct mailsec_dkim_sign_opts so = { 0 };
	struct mailsec_dkim_verify_opts vo = { 0 };
	struct mailsec_dkim_keycache *cache = NULL;
	const char *out = getenv("BENCH_OUT");
	char path[4096], **names, *buf = NULL, *data, *map, *sig;
	size_t n, i, j, len, siglen, cap = 0;
	int sign, ok = 0, fail = 0;

	if (argc < 3 || (strcmp(argv[1], "verify") != 0 &&
	    strcmp(argv[1], "sign") != 0) ||
	    (strcmp(argv[1], "sign") == 0 && argc < 7)) {
		fprintf(stderr, "usage: %s verify DIR [zone:FILE|SERVER] | "
		    "sign DIR rsa|ed25519 KEY.pem DOMAIN SELECTOR\n", argv[0]);
		return 2;
	}
	sign = strcmp(argv[1], "sign") == 0;
	if (sign) {
		len = slurp(argv[4], &buf, &cap, &map);
		data = map != NULL ? map : buf;
		if (mailsec_dkim_key_load(data, len, &key, NULL) !=
		    MAILSEC_OK) {
			fprintf(stderr, "%s: cannot load key\n", argv[4]);
			return 1;
		}
		if (map != NULL)
			munmap(map, len);
		so.key = key;
		so.domain = argv[5];
		so.selector = argv[6];
		so.headers = "from:to:subject:date:message-id:mime-version:"
		    "content-type";
	} else {
		const char *dns = argc > 3 ? argv[3] : "127.0.0.1";
		mailsec_err err = strncmp(dns, "zone:", 5) == 0 ?
		    mailsec_resolver_new_zone_file(dns + 5, &r, NULL) :
		    mailsec_resolver_new_from_args(dns, NULL, &r, NULL);

		if (err != MAILSEC_OK) {
			fprintf(stderr, "resolver: %s\n",
			    mailsec_strerror(err));
			return 1;
		}
		/* A gateway keeps decoded keys for their TTL. */
		if (getenv("BENCH_NO_KEYCACHE") == NULL &&
		    mailsec_dkim_keycache_new(0, &cache) != MAILSEC_OK)
			return 1;
		vo.key_cache = cache;
	}
	names = list_dir(argv[2], &n);
	for (i = 0; i < n; i++) {
		struct mailsec_msg *m;
		struct mailsec_dkim_verify *v;
		bool good = false;

		snprintf(path, sizeof path, "%s/%s", argv[2], names[i]);
		len = slurp(path, &buf, &cap, &map);
		data = map != NULL ? map : buf;
		if (mailsec_msg_parse(data, len, NULL, 0, &m, NULL) !=
		    MAILSEC_OK) {
			fail++;
			if (map != NULL)
				munmap(map, len);
			continue;
		}
		if (sign) {
			if (mailsec_dkim_sign_msg(&so, m, &sig, &siglen,
			    NULL) == MAILSEC_OK) {
				good = true;
				if (out != NULL) {
					FILE *f;

					snprintf(path, sizeof path, "%s/%s",
					    out, names[i]);
					if ((f = fopen(path, "wb")) != NULL) {
						fwrite(sig, 1, siglen, f);
						fwrite(data, 1, len, f);
						fclose(f);
					}
				}
				free(sig);
			}
		} else if (mailsec_dkim_verify_msg(r, &vo, m, &v) ==
		    MAILSEC_OK) {
			good = mailsec_dkim_verify_count(v) > 0;
			for (j = 0; j < mailsec_dkim_verify_count(v); j++)
				if (mailsec_dkim_verify_sig(v, j)->result !=
				    MAILSEC_DKIM_PASS)
					good = false;
			mailsec_dkim_verify_free(v);
		}
		good ? ok++ : fail++;
		mailsec_msg_free(m);
		if (map != NULL)
			munmap(map, len);
		free(names[i]);
	}
	free(names);
	free(buf);
	printf("result ok=%d fail=%d\n", ok, fail);
	mailsec_dkim_key_free(key);
	mailsec_dkim_keycache_free(cache);
	mailsec_resolver_free(r);
	return 0;
}
