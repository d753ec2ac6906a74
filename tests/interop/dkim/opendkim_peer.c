/*
 * tests/interop/dkim/opendkim_peer.c - libopendkim as an interop oracle.
 *
 *   opendkim_peer verify KEYS MSG...
 *       KEYS: "NAME RECORD" lines (libopendkim's file query method);
 *       prints "pass" or "fail REASON" per message (first signature).
 *   opendkim_peer sign KEYPEM DOMAIN SELECTOR simple|relaxed rsa|ed25519 MSG
 *       prints the signed message (DKIM-Signature + MSG) on stdout.
 * Messages are read as they are (CRLF expected).
 */
#include <sys/types.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <opendkim/dkim.h>

static unsigned char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	size_t cap = 0, n = 0, got;

	if (f == NULL) {
		perror(path);
		exit(2);
	}
	for (;;) {
		if (n + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 65536;
			if ((buf = realloc(buf, cap)) == NULL)
				exit(2);
		}
		got = fread(buf + n, 1, cap - n - 1, f);
		if (got == 0)
			break;
		n += got;
	}
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

static int
verify(DKIM_LIB *lib, const char *path)
{
	DKIM_STAT st;
	DKIM *d;
	DKIM_SIGINFO *sig;
	size_t len;
	unsigned char *msg = slurp(path, &len);

	d = dkim_verify(lib, (const unsigned char *)"interop", NULL, &st);
	if (d == NULL) {
		printf("fail dkim_verify %d\n", (int)st);
		free(msg);
		return 1;
	}
	st = dkim_chunk(d, msg, len);
	if (st == DKIM_STAT_OK)
		st = dkim_chunk(d, NULL, 0);
	if (st == DKIM_STAT_OK)
		st = dkim_eom(d, NULL);
	sig = dkim_getsignature(d);
	if (sig != NULL && DKIM_SIG_CHECK(sig))
		printf("pass\n");
	else
		printf("fail st=%d %s bh=%d\n", (int)st,
		    sig ? dkim_sig_geterrorstr(dkim_sig_geterror(sig)) :
		    "no signature", sig ? dkim_sig_getbh(sig) : -1);
	dkim_free(d);
	free(msg);
	return 0;
}

int
main(int argc, char **argv)
{
	DKIM_LIB *lib;
	int i;

	if (argc < 3)
		return 2;
	lib = dkim_init(NULL, NULL);
	if (lib == NULL)
		return 1;
	if (strcmp(argv[1], "verify") == 0) {
		int qm = DKIM_QUERY_FILE;

		dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_QUERYMETHOD, &qm,
		    sizeof qm);
		dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_QUERYINFO, argv[2],
		    strlen(argv[2]));
		for (i = 3; i < argc; i++)
			verify(lib, argv[i]);
	} else if (strcmp(argv[1], "sign") == 0 && argc == 8) {
		DKIM_STAT st;
		DKIM *d;
		size_t klen, len, hlen;
		unsigned char *key = slurp(argv[2], &klen);
		unsigned char *msg = slurp(argv[7], &len), *hdr;
		dkim_canon_t c = strcmp(argv[5], "simple") == 0 ?
		    DKIM_CANON_SIMPLE : DKIM_CANON_RELAXED;
		dkim_alg_t a = strcmp(argv[6], "ed25519") == 0 ?
		    DKIM_SIGN_ED25519SHA256 : DKIM_SIGN_RSASHA256;

		d = dkim_sign(lib, (const unsigned char *)"interop", NULL, key,
		    (const unsigned char *)argv[4],
		    (const unsigned char *)argv[3], c, c, a, -1, &st);
		if (d == NULL) {
			fprintf(stderr, "dkim_sign: %d\n", (int)st);
			return 1;
		}
		st = dkim_chunk(d, msg, len);
		if (st == DKIM_STAT_OK)
			st = dkim_chunk(d, NULL, 0);
		if (st == DKIM_STAT_OK)
			st = dkim_eom(d, NULL);
		if (st != DKIM_STAT_OK || dkim_getsighdr_d(d,
		    strlen(DKIM_SIGNHEADER) + 2, &hdr, &hlen) !=
		    DKIM_STAT_OK) {
			fprintf(stderr, "sign failed: %d %s\n", (int)st,
			    dkim_geterror(d) ? dkim_geterror(d) : "");
			return 1;
		}
		printf("%s: ", DKIM_SIGNHEADER);
		/* the header comes folded with bare LF: make it CRLF */
		for (size_t k = 0; k < hlen; k++) {
			if (hdr[k] == '\n' && (k == 0 || hdr[k - 1] != '\r'))
				putchar('\r');
			putchar(hdr[k]);
		}
		printf("\r\n");
		fwrite(msg, 1, len, stdout);
		dkim_free(d);
		free(key);
		free(msg);
	} else {
		return 2;
	}
	dkim_close(lib);
	return 0;
}
