/*
 * tests/unit/daemon_passwd/test_passwd.c - the gateway password file
 * (daemon/passwd.c): scrypt hash round trip and a known answer, wrong
 * passwords, malformed hashes and lines, file modes, atomic saves.
 */
#include <sys/stat.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <unistd.h>

#include <cmocka.h>

#include "passwd.h"

/* Cheap cost for tests that only need a valid hash. */
static const struct gw_scrypt_params cheap = { 4, 8, 1 };

static void
test_hash_round_trip(void **state)
{
	char h1[GW_PASSWD_HASH_MAX], h2[GW_PASSWD_HASH_MAX];
	bool match;

	(void)state;
	/* the default cost, once */
	assert_int_equal(gw_passwd_hash("correct horse", 13, NULL, h1,
	    sizeof h1), MAILSEC_OK);
	/* "$scrypt$ln=15,r=8,p=1$" + 22 salt + "$" + 43 hash */
	assert_int_equal(strlen(h1), 22 + 22 + 1 + 43);
	assert_memory_equal(h1, "$scrypt$ln=15,r=8,p=1$", 22);
	assert_int_equal(h1[44], '$');
	assert_true(gw_passwd_hash_ok(h1, strlen(h1)));
	assert_int_equal(gw_passwd_verify(h1, strlen(h1), "correct horse", 13,
	    &match), MAILSEC_OK);
	assert_true(match);
	/* wrong passwords: changed, shorter, longer, empty */
	assert_int_equal(gw_passwd_verify(h1, strlen(h1), "correct horsE", 13,
	    &match), MAILSEC_OK);
	assert_false(match);
	assert_int_equal(gw_passwd_verify(h1, strlen(h1), "correct hors", 12,
	    &match), MAILSEC_OK);
	assert_false(match);
	assert_int_equal(gw_passwd_verify(h1, strlen(h1), "correct horse ",
	    14, &match), MAILSEC_OK);
	assert_false(match);
	assert_int_equal(gw_passwd_verify(h1, strlen(h1), "", 0, &match),
	    MAILSEC_OK);
	assert_false(match);

	/* a fresh salt each time */
	assert_int_equal(gw_passwd_hash("correct horse", 13, &cheap, h1,
	    sizeof h1), MAILSEC_OK);
	assert_int_equal(gw_passwd_hash("correct horse", 13, &cheap, h2,
	    sizeof h2), MAILSEC_OK);
	assert_string_not_equal(h1, h2);
	assert_memory_equal(h1, "$scrypt$ln=4,r=8,p=1$", 21);
	assert_int_equal(gw_passwd_verify(h2, strlen(h2), "correct horse", 13,
	    &match), MAILSEC_OK);
	assert_true(match);
	/* bytes after a NUL count */
	assert_int_equal(gw_passwd_hash("a\0b", 3, &cheap, h1, sizeof h1),
	    MAILSEC_OK);
	assert_int_equal(gw_passwd_verify(h1, strlen(h1), "a\0c", 3, &match),
	    MAILSEC_OK);
	assert_false(match);
	assert_int_equal(gw_passwd_verify(h1, strlen(h1), "a\0b", 3, &match),
	    MAILSEC_OK);
	assert_true(match);
}

/*
 * RFC 7914 section 12, third vector ("pleaseletmein", "SodiumChloride",
 * N=16384, r=8, p=1, dkLen=64; confirmed with Python's hashlib.scrypt),
 * written in the $scrypt$ form: reading other tools' hashes works.
 */
static const char rfc7914_hash[] =
    "$scrypt$ln=14,r=8,p=1$U29kaXVtQ2hsb3JpZGU$"
    "cCO9yzr9c0hGHAbNgf046/2o+7qQT44+qbVD9lRdofLVQylVYT8Pz2LUlwUkKpr55h6F"
    "3A1lHkDfzwF7RVdYhw";

static void
test_known_answer(void **state)
{
	bool match;

	(void)state;
	assert_true(gw_passwd_hash_ok(rfc7914_hash, strlen(rfc7914_hash)));
	assert_int_equal(gw_passwd_verify(rfc7914_hash, strlen(rfc7914_hash),
	    "pleaseletmein", 13, &match), MAILSEC_OK);
	assert_true(match);
	assert_int_equal(gw_passwd_verify(rfc7914_hash, strlen(rfc7914_hash),
	    "pleaseletmeout", 14, &match), MAILSEC_OK);
	assert_false(match);
}

/* Costs refused: ln, r and p out of range; the last one because 128 * 64
 * * 2^22 bytes is over GW_SCRYPT_MAXMEM (never computed). */
static const struct gw_scrypt_params bad_params[] = {
	{ 0, 8, 1 }, { 4, 0, 1 }, { 4, 8, 65 }, { 22, 64, 1 },
};

static void
test_hash_args(void **state)
{
	char h[GW_PASSWD_HASH_MAX], big[GW_PASSWD_PASS_MAX + 1];
	size_t i;

	(void)state;
	assert_int_equal(gw_passwd_hash("", 0, &cheap, h, sizeof h),
	    MAILSEC_EINVAL);
	memset(big, 'x', sizeof big);
	assert_int_equal(gw_passwd_hash(big, sizeof big, &cheap, h, sizeof h),
	    MAILSEC_EINVAL);
	assert_int_equal(gw_passwd_hash(big, sizeof big - 1, &cheap, h,
	    sizeof h), MAILSEC_OK);
	assert_int_equal(gw_passwd_hash("x", 1, &cheap, h, 20), MAILSEC_EINVAL);
	assert_string_equal(h, "");
	for (i = 0; i < sizeof bad_params / sizeof bad_params[0]; i++)
		assert_int_equal(gw_passwd_hash("x", 1, &bad_params[i], h,
		    sizeof h), MAILSEC_EINVAL);
}

static const char *const bad_hashes[] = {
	"",
	"$scrypt$",
	"scrypt$ln=4,r=8,p=1$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAA",
	"$2y$10$abcdefghijklmnopqrstuv",
	"$scrypt$ln=0,r=8,p=1$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAA",
	"$scrypt$ln=25,r=8,p=1$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAA",
	"$scrypt$ln=04,r=8,p=1$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAA",
	"$scrypt$ln=4,r=0,p=1$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAA",
	"$scrypt$ln=4,r=8,p=0$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAA",
	"$scrypt$ln=4,r=8,p=65$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAA",
	"$scrypt$ln=4,p=1,r=8$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAA",
	"$scrypt$ln=4,r=8$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAA",
	"$scrypt$ln=4,r=8,p=1,x=2$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAA",
	"$scrypt$ln=4,r=8,p=1$c2FsdA$AAAAAAAAAAAAAAAAAAAAAA",	/* salt 4 */
	"$scrypt$ln=4,r=8,p=1$c2FsdHNhbHQ=$AAAAAAAAAAAAAAAAAAAAAA",
	"$scrypt$ln=4,r=8,p=1$c2FsdHNhbHR$AAAAAAAAAAAAAAAAAAAAAA", /* bits */
	"$scrypt$ln=4,r=8,p=1$c2Fsd HNhbHQ$AAAAAAAAAAAAAAAAAAAAAA",
	"$scrypt$ln=4,r=8,p=1$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAA",	/* 15 */
	"$scrypt$ln=4,r=8,p=1$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAA$",
	"$scrypt$ln=4,r=8,p=1$c2FsdHNhbHQ",
	"$scrypt$ln=4,r=8,p=1$c2FsdHNhbHQ$",
	"$scrypt$ln=4,r=8,p=1$$AAAAAAAAAAAAAAAAAAAAAA",
	/* a length that is 1 mod 4 */
	"$scrypt$ln=4,r=8,p=1$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAA",
};

static void
test_bad_hashes(void **state)
{
	static const char good[] =
	    "$scrypt$ln=4,r=8,p=1$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAA";
	static const char costly[] =
	    "$scrypt$ln=22,r=64,p=1$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAA";
	bool match = true;
	size_t i;

	(void)state;
	assert_true(gw_passwd_hash_ok(good, strlen(good)));
	assert_int_equal(gw_passwd_verify(good, strlen(good), "x", 1, &match),
	    MAILSEC_OK);
	assert_false(match);
	for (i = 0; i < sizeof bad_hashes / sizeof bad_hashes[0]; i++) {
		const char *h = bad_hashes[i];

		if (gw_passwd_hash_ok(h, strlen(h)))
			fail_msg("accepted: %s", h);
		match = true;
		assert_int_equal(gw_passwd_verify(h, strlen(h), "x", 1,
		    &match), MAILSEC_ESYNTAX);
		assert_false(match);
	}
	/* well-formed but too costly: refused without computing */
	assert_false(gw_passwd_hash_ok(costly, strlen(costly)));
	assert_int_equal(gw_passwd_verify(costly, strlen(costly), "x", 1,
	    &match), MAILSEC_ELIMIT);
	/* the length given counts, not a NUL */
	assert_int_equal(gw_passwd_verify(good, strlen(good) - 1, "x", 1,
	    &match), MAILSEC_ESYNTAX);
}

static void
test_user_names(void **state)
{
	(void)state;
	assert_true(gw_passwd_user_ok("alice", 5));
	assert_true(gw_passwd_user_ok("alice@example.org", 17));
	assert_true(gw_passwd_user_ok("j\xc3\xbcrgen", 7));
	assert_false(gw_passwd_user_ok("", 0));
	assert_false(gw_passwd_user_ok("a:b", 3));
	assert_false(gw_passwd_user_ok("a b", 3));
	assert_false(gw_passwd_user_ok("a\tb", 3));
	assert_false(gw_passwd_user_ok("a\0b", 3));
	assert_false(gw_passwd_user_ok("a\x7f", 2));
	assert_false(gw_passwd_user_ok("\xff", 1));
	assert_false(gw_passwd_user_ok("\xc3", 1));
}

/* ---- the file ----------------------------------------------------------- */

static char *
make_hash(const char *pass)
{
	char h[GW_PASSWD_HASH_MAX];

	assert_int_equal(gw_passwd_hash(pass, strlen(pass), &cheap, h,
	    sizeof h), MAILSEC_OK);
	return strdup(h);
}

static void
test_parse_and_check(void **state)
{
	struct gw_passwd *pw;
	const struct gw_passwd_entry *e;
	char *ha = make_hash("alpha"), *hb = make_hash("beta"), text[1024];
	char err[256];
	bool ok;

	(void)state;
	snprintf(text, sizeof text,
	    "# logins\n"
	    "\n"
	    "alice:%s\n"
	    "bob@example.org:%s:uid=1000:comment\n", ha, hb);
	assert_int_equal(gw_passwd_parse(text, strlen(text), "pw", &pw, err,
	    sizeof err), MAILSEC_OK);
	assert_int_equal(pw->n, 4);
	assert_int_equal(pw->nusers, 2);
	e = gw_passwd_find(pw, "alice", 5);
	assert_non_null(e);
	assert_string_equal(e->hash, ha);
	assert_null(e->extra);
	assert_int_equal(e->line, 3);
	e = gw_passwd_find(pw, "bob@example.org", 15);
	assert_non_null(e);
	assert_string_equal(e->extra, "uid=1000:comment");
	assert_null(gw_passwd_find(pw, "alic", 4));
	assert_null(gw_passwd_find(pw, "Alice", 5));

	assert_int_equal(gw_passwd_check(pw, "alice", 5, "alpha", 5, &ok),
	    MAILSEC_OK);
	assert_true(ok);
	assert_int_equal(gw_passwd_check(pw, "alice", 5, "beta", 4, &ok),
	    MAILSEC_OK);
	assert_false(ok);
	assert_int_equal(gw_passwd_check(pw, "bob@example.org", 15, "beta", 4,
	    &ok), MAILSEC_OK);
	assert_true(ok);
	/* unknown login: no error, no success */
	assert_int_equal(gw_passwd_check(pw, "carol", 5, "alpha", 5, &ok),
	    MAILSEC_OK);
	assert_false(ok);
	gw_passwd_free(pw);

	/* an empty file, and a last line without newline */
	assert_int_equal(gw_passwd_parse("", 0, "pw", &pw, err, sizeof err),
	    MAILSEC_OK);
	assert_int_equal(pw->n, 0);
	gw_passwd_free(pw);
	snprintf(text, sizeof text, "alice:%s", ha);
	assert_int_equal(gw_passwd_parse(text, strlen(text), "pw", &pw, err,
	    sizeof err), MAILSEC_OK);
	assert_int_equal(pw->nusers, 1);
	gw_passwd_free(pw);
	free(ha);
	free(hb);
}

struct line_case {
	const char *line;	/* %s: a valid hash */
	mailsec_err err;
	const char *text;
};

static const struct line_case line_cases[] = {
	{ "alice", MAILSEC_ESYNTAX,
	  "pw:2: no ':' after the login name (lines are user:HASH)" },
	{ ":%s", MAILSEC_ESYNTAX,
	  "pw:2: bad login name (1-255 bytes, no spaces, ':' or control "
	  "characters)" },
	{ "a b:%s", MAILSEC_ESYNTAX,
	  "pw:2: bad login name (1-255 bytes, no spaces, ':' or control "
	  "characters)" },
	{ " alice:%s", MAILSEC_ESYNTAX,
	  "pw:2: bad login name (1-255 bytes, no spaces, ':' or control "
	  "characters)" },
	{ "alice:", MAILSEC_ESYNTAX,
	  "pw:2: the password hash is not $scrypt$ln=N,r=N,p=N$SALT$HASH "
	  "(set it again with 'mailsec passwd')" },
	{ "alice:secret", MAILSEC_ESYNTAX,
	  "pw:2: the password hash is not $scrypt$ln=N,r=N,p=N$SALT$HASH "
	  "(set it again with 'mailsec passwd')" },
	{ "alice:%s ", MAILSEC_ESYNTAX,
	  "pw:2: the password hash is not $scrypt$ln=N,r=N,p=N$SALT$HASH "
	  "(set it again with 'mailsec passwd')" },
	{ "alice:%s\r", MAILSEC_ESYNTAX, "pw:2: NUL or CR byte in the line" },
	{ "first:%s", MAILSEC_ESYNTAX,
	  "pw:2: login listed twice (first on line 1); remove one" },
};

/* pattern with its "%s" (if any) replaced by h */
static void
subst(char *out, size_t outsz, const char *pattern, const char *h)
{
	const char *at = strstr(pattern, "%s");

	if (at == NULL)
		snprintf(out, outsz, "%s", pattern);
	else
		snprintf(out, outsz, "%.*s%s%s", (int)(at - pattern), pattern,
		    h, at + 2);
}

static void
test_malformed_lines(void **state)
{
	struct gw_passwd *pw;
	char *h = make_hash("x"), line[512], text[1024], err[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof line_cases / sizeof line_cases[0]; i++) {
		subst(line, sizeof line, line_cases[i].line, h);
		snprintf(text, sizeof text, "first:%s\n%s\n", h, line);
		pw = (struct gw_passwd *)1;
		assert_int_equal(gw_passwd_parse(text, strlen(text), "pw", &pw,
		    err, sizeof err), line_cases[i].err);
		assert_null(pw);
		if (strcmp(err, line_cases[i].text) != 0)
			fail_msg("case %zu: got '%s'", i, err);
	}
	/* a NUL byte */
	snprintf(text, sizeof text, "first:%s\nx", h);
	i = strlen(text);
	text[i - 1] = '\0';
	assert_int_equal(gw_passwd_parse(text, i, "pw", &pw, err, sizeof err),
	    MAILSEC_ESYNTAX);
	assert_string_equal(err, "pw:2: NUL or CR byte in the line");
	/* a line over the limit */
	{
		char *big = malloc(GW_PASSWD_LINE_MAX + 2);

		assert_non_null(big);
		memset(big, '#', GW_PASSWD_LINE_MAX + 1);
		big[GW_PASSWD_LINE_MAX + 1] = '\n';
		assert_int_equal(gw_passwd_parse(big, GW_PASSWD_LINE_MAX + 2,
		    "pw", &pw, err, sizeof err), MAILSEC_ELIMIT);
		assert_string_equal(err, "pw:1: line longer than 4096 bytes");
		assert_int_equal(gw_passwd_parse(big + 1,
		    GW_PASSWD_LINE_MAX + 1, "pw", &pw, err, sizeof err),
		    MAILSEC_OK);
		gw_passwd_free(pw);
		free(big);
	}
	free(h);
}

static void
test_set_delete(void **state)
{
	struct gw_passwd *pw;
	char *h1 = make_hash("one"), *h2 = make_hash("two");
	bool ok;

	(void)state;
	assert_int_equal(gw_passwd_new(&pw), MAILSEC_OK);
	assert_int_equal(gw_passwd_set(pw, "alice", h1), MAILSEC_OK);
	assert_int_equal(gw_passwd_set(pw, "bob", h1), MAILSEC_OK);
	assert_int_equal(pw->nusers, 2);
	assert_int_equal(gw_passwd_set(pw, "alice", h2), MAILSEC_OK);
	assert_int_equal(pw->nusers, 2);
	assert_int_equal(gw_passwd_check(pw, "alice", 5, "two", 3, &ok),
	    MAILSEC_OK);
	assert_true(ok);
	assert_int_equal(gw_passwd_check(pw, "alice", 5, "one", 3, &ok),
	    MAILSEC_OK);
	assert_false(ok);
	assert_int_equal(gw_passwd_set(pw, "a:b", h1), MAILSEC_EINVAL);
	assert_int_equal(gw_passwd_set(pw, "carol", "plain"), MAILSEC_EINVAL);
	assert_int_equal(gw_passwd_delete(pw, "alice"), MAILSEC_OK);
	assert_int_equal(gw_passwd_delete(pw, "alice"), MAILSEC_ENOTFOUND);
	assert_int_equal(pw->nusers, 1);
	assert_null(gw_passwd_find(pw, "alice", 5));
	assert_non_null(gw_passwd_find(pw, "bob", 3));
	gw_passwd_free(pw);
	gw_passwd_free(NULL);
	free(h1);
	free(h2);
}

struct warns {
	int n;
	char last[512];
	char all[2048];
};

static void
collect(void *arg, const char *msg)
{
	struct warns *w = arg;
	size_t used = strlen(w->all);

	w->n++;
	snprintf(w->last, sizeof w->last, "%s", msg);
	snprintf(w->all + used, sizeof w->all - used, "%s\n", msg);
}

/* Loads path, which must succeed, with its warnings collected into w. */
static struct gw_passwd *
load_warned(const char *path, struct warns *w)
{
	struct gw_passwd *pw = NULL;
	char err[512];

	memset(w, 0, sizeof *w);
	assert_int_equal(gw_passwd_load(path, &pw, collect, w, err,
	    sizeof err), MAILSEC_OK);
	return pw;
}

static int
count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static void
test_save_load(void **state)
{
	char dir[] = "/tmp/gwpwXXXXXX", path[256], err[512], *h, buf[2048];
	struct gw_passwd *pw, *pw2;
	struct stat st;
	struct warns w;
	FILE *f;
	size_t n;
	bool ok;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/passwd", dir);
	h = make_hash("pw1");

	/* missing file */
	assert_int_equal(gw_passwd_load(path, &pw, NULL, NULL, err,
	    sizeof err), MAILSEC_ENOTFOUND);
	assert_null(pw);

	/* comments and extra fields survive a rewrite */
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "# the logins\nalice:%s:x=1\n\nbob:%s\n", h, h);
	fclose(f);
	assert_int_equal(chmod(path, 0644), 0);
	pw = load_warned(path, &w);
	assert_int_equal(w.n, 1);
	assert_non_null(strstr(w.last, "world-readable"));
	assert_int_equal(gw_passwd_delete(pw, "bob"), MAILSEC_OK);
	assert_int_equal(gw_passwd_set(pw, "carol", h), MAILSEC_OK);
	assert_int_equal(gw_passwd_save(pw, path, err, sizeof err),
	    MAILSEC_OK);
	gw_passwd_free(pw);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(count_entries(dir), 1);	/* no temporary left */
	f = fopen(path, "r");
	assert_non_null(f);
	n = fread(buf, 1, sizeof buf - 1, f);
	buf[n] = '\0';
	fclose(f);
	{
		char want[1024];

		snprintf(want, sizeof want, "# the logins\nalice:%s:x=1\n\n"
		    "carol:%s\n", h, h);
		assert_string_equal(buf, want);
	}
	pw2 = load_warned(path, &w);
	assert_int_equal(w.n, 0);
	assert_int_equal(gw_passwd_check(pw2, "carol", 5, "pw1", 3, &ok),
	    MAILSEC_OK);
	assert_true(ok);
	gw_passwd_free(pw2);

	/* world-writable: loaded, with warnings naming the fix */
	assert_int_equal(chmod(path, 0666), 0);
	gw_passwd_free(load_warned(path, &w));
	assert_int_equal(w.n, 2);
	assert_non_null(strstr(w.all, "world-writable: anyone can add a "
	    "login; chmod 600 it"));
	assert_non_null(strstr(w.all, "world-readable"));
	assert_int_equal(chmod(path, 0620), 0);
	gw_passwd_free(load_warned(path, &w));
	assert_int_equal(w.n, 1);
	assert_non_null(strstr(w.last, "group-writable"));
	/* a world-writable directory without the sticky bit */
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(chmod(dir, 0777), 0);
	gw_passwd_free(load_warned(path, &w));
	assert_int_equal(w.n, 1);
	assert_non_null(strstr(w.last, "is world-writable: anyone can "
	    "replace the file"));
	assert_int_equal(chmod(dir, 0700), 0);

	/* a malformed file is refused with its line */
	f = fopen(path, "a");
	assert_non_null(f);
	fputs("broken\n", f);
	fclose(f);
	assert_int_equal(gw_passwd_load(path, &pw2, NULL, NULL, err,
	    sizeof err), MAILSEC_ESYNTAX);
	assert_non_null(strstr(err, "/passwd:5: no ':' after the login"));

	/* not a regular file; an unwritable place */
	assert_int_equal(gw_passwd_load(dir, &pw2, NULL, NULL, err,
	    sizeof err), MAILSEC_EIO);
	assert_int_equal(gw_passwd_new(&pw), MAILSEC_OK);
	assert_int_equal(gw_passwd_save(pw, "/nonexistent/dir/passwd", err,
	    sizeof err), MAILSEC_EIO);
	assert_non_null(strstr(err, "No such file or directory"));
	gw_passwd_free(pw);

	unlink(path);
	rmdir(dir);
	free(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash_round_trip),
		cmocka_unit_test(test_known_answer),
		cmocka_unit_test(test_hash_args),
		cmocka_unit_test(test_bad_hashes),
		cmocka_unit_test(test_user_names),
		cmocka_unit_test(test_parse_and_check),
		cmocka_unit_test(test_malformed_lines),
		cmocka_unit_test(test_set_delete),
		cmocka_unit_test(test_save_load),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
