/*
 * bench/dkim/dkim_bench.c - mailsec's DKIM driver for ../shared/peer-bench.
 *
 *   dkim_bench verify DIR [DNS]
 *   dkim_bench sign DIR rsa|ed25519 KEY.pem DOMAIN SELECTOR
 *   dkim_bench floor-verify|floor-sign DIR rsa|ed25519 KEY.pem
 *
 * Processes every *.eml file of DIR in name order in one process, one
 * message at a time (read, parse, verify or sign), and prints
 * "result ok=N fail=M". DNS: "zone:FILE" for a zone file, else a server
 * address to forward to (default 127.0.0.1, the bench's nsd). Files are
 * read with one read() into a reused buffer, or mapped from 64 KiB on.
 * The private key is parsed once; verification keeps keys in a key cache
 * for their TTL (BENCH_NO_KEYCACHE=1: none). BENCH_OUT=DIR writes signed messages.
 *
 * The floor modes are the ceiling no DKIM implementation can pass in the
 * harness: each file read the same way, SHA-256 over all its bytes and
 * one public-key operation (a prepared context, as `openssl speed` uses),
 * nothing else: no parsing, no canonicalization, no DNS. The harness's
 * "limit" is the same minus the file reading.
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

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

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

/* The floor modes' crypto: a key, a prepared context, one signature. */
struct floor {
	EVP_PKEY *pk;
	EVP_PKEY_CTX *pctx;	/* RSA sign or verify, set up once */
	EVP_MD_CTX *mctx;	/* Ed25519 */
	EVP_MD *sha;
	unsigned char sig[512], fixed[32];
	size_t siglen;
	bool rsa, sign;
};

static void
floor_init(struct floor *f, const char *alg, const char *keyfile, bool sign)
{
	FILE *fp = fopen(keyfile, "r");

	memset(f, 0, sizeof *f);
	f->rsa = strcmp(alg, "rsa") == 0;
	f->sign = sign;
	f->siglen = sizeof f->sig;
	memset(f->fixed, 0x5a, sizeof f->fixed);
	if (fp == NULL || (f->pk = PEM_read_PrivateKey(fp, NULL, NULL,
	    NULL)) == NULL || (f->sha = EVP_MD_fetch(NULL, "SHA256",
	    NULL)) == NULL) {
		fprintf(stderr, "%s: cannot load key\n", keyfile);
		exit(2);
	}
	fclose(fp);
	if (f->rsa) {
		EVP_PKEY_CTX *sc = EVP_PKEY_CTX_new(f->pk, NULL);

		if (sc == NULL || EVP_PKEY_sign_init(sc) != 1 ||
		    EVP_PKEY_CTX_set_rsa_padding(sc, RSA_PKCS1_PADDING) != 1 ||
		    EVP_PKEY_CTX_set_signature_md(sc, EVP_sha256()) != 1 ||
		    EVP_PKEY_sign(sc, f->sig, &f->siglen, f->fixed,
		    sizeof f->fixed) != 1)
			exit(2);
		if (sign) {
			f->pctx = sc;
			return;
		}
		EVP_PKEY_CTX_free(sc);
		f->pctx = EVP_PKEY_CTX_new(f->pk, NULL);
		if (f->pctx == NULL || EVP_PKEY_verify_init(f->pctx) != 1 ||
		    EVP_PKEY_CTX_set_rsa_padding(f->pctx,
		    RSA_PKCS1_PADDING) != 1 ||
		    EVP_PKEY_CTX_set_signature_md(f->pctx, EVP_sha256()) != 1)
			exit(2);
		return;
	}
	f->mctx = EVP_MD_CTX_new();
	if (f->mctx == NULL || EVP_DigestSignInit(f->mctx, NULL, NULL, NULL,
	    f->pk) != 1 || EVP_DigestSign(f->mctx, f->sig, &f->siglen,
	    f->fixed, sizeof f->fixed) != 1)
		exit(2);
	if (!sign && EVP_DigestVerifyInit(f->mctx, NULL, NULL, NULL,
	    f->pk) != 1)
		exit(2);
}

/* SHA-256 over the message, then the one public-key operation. */
static bool
floor_one(struct floor *f, const char *data, size_t len)
{
	unsigned char dig[32], sig[512];
	size_t siglen = sizeof sig;

	if (EVP_Digest(data, len, dig, NULL, f->sha, NULL) != 1)
		return false;
	if (f->rsa)
		return f->sign ? EVP_PKEY_sign(f->pctx, sig, &siglen, dig,
		    sizeof dig) == 1 : EVP_PKEY_verify(f->pctx, f->sig,
		    f->siglen, f->fixed, sizeof f->fixed) == 1;
	return f->sign ? EVP_DigestSign(f->mctx, sig, &siglen, dig,
	    sizeof dig) == 1 : EVP_DigestVerify(f->mctx, f->sig, f->siglen,
	    f->fixed, sizeof f->fixed) == 1;
}

static void
floor_free(struct floor *f)
{
	EVP_PKEY_CTX_free(f->pctx);
	EVP_MD_CTX_free(f->mctx);
	EVP_MD_free(f->sha);
	EVP_PKEY_free(f->pk);
}

/* floor-verify|floor-sign DIR rsa|ed25519 KEY.pem */
static int
run_floor(int argc, char **argv)
{
	struct floor f;
	char path[4096], **names, *buf = NULL, *map;
	size_t n, i, len, cap = 0;
	int ok = 0, fail = 0;

	if (argc < 5) {
		fprintf(stderr, "usage: %s floor-verify|floor-sign DIR "
		    "rsa|ed25519 KEY.pem\n", argv[0]);
		return 2;
	}
	floor_init(&f, argv[3], argv[4], strcmp(argv[1], "floor-sign") == 0);
	names = list_dir(argv[2], &n);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof path, "%s/%s", argv[2], names[i]);
		len = slurp(path, &buf, &cap, &map);
		floor_one(&f, map != NULL ? map : buf, len) ? ok++ : fail++;
		if (map != NULL)
			munmap(map, len);
		free(names[i]);
	}
	free(names);
	free(buf);
	floor_free(&f);
	printf("result ok=%d fail=%d\n", ok, fail);
	return 0;
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

	if (argc > 1 && strncmp(argv[1], "floor-", 6) == 0)
		return run_floor(argc, argv);
	if (argc < 3 || (strcmp(argv[1], "verify") != 0 &&
	    strcmp(argv[1], "sign") != 0) ||
	    (strcmp(argv[1], "sign") == 0 && argc < 7)) {
		fprintf(stderr, "usage: %s verify DIR [zone:FILE|SERVER] | "
		    "sign DIR rsa|ed25519 KEY.pem DOMAIN SELECTOR | "
		    "floor-verify|floor-sign DIR rsa|ed25519 KEY.pem\n",
		    argv[0]);
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
