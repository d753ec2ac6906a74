/*
 * cli/cmd_passwd.c - `mailsec passwd`: add a login or change its
 * password, delete one, list them, in the gateway's password file
 * (daemon/passwd.h). Passwords come from the terminal, typed twice
 * without echo, or once from standard input with --stdin.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "cli.h"
#include "config.h"
#include "passwd.h"

#define PASSWD_DEFAULT "./var/passwd"

static void
on_warn(void *arg, const char *msg)
{
	(void)arg;
	fprintf(stderr, "mailsec passwd: warning: %s\n", msg);
}

/* Reads one line (without its newline) from fd into buf; -1 on error,
 * -2 when longer than the buffer, else the length. */
static ssize_t
read_line(int fd, char *buf, size_t bufsz)
{
	size_t n = 0;
	ssize_t r;
	char c;

	for (;;) {
		r = read(fd, &c, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0 || c == '\n')
			break;
		if (n + 1 >= bufsz) {
			/* drain the rest of the line */
			while ((r = read(fd, &c, 1)) == 1 && c != '\n')
				;
			return -2;
		}
		buf[n++] = c;
	}
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	return (ssize_t)n;
}

/* Prompts on the terminal and reads a line with echo off. */
static ssize_t
tty_read(int tty, const char *prompt, char *buf, size_t bufsz)
{
	struct termios old, quiet;
	sigset_t block, saved;
	ssize_t n;
	bool restore;

	if (write(tty, prompt, strlen(prompt)) < 0)
		return -1;
	/* no ^C between "echo off" and "echo on" */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTSTP);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &saved);
	restore = tcgetattr(tty, &old) == 0;
	if (restore) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
		quiet.c_lflag |= ICANON;
		tcsetattr(tty, TCSAFLUSH, &quiet);
	}
	n = read_line(tty, buf, bufsz);
	if (restore)
		tcsetattr(tty, TCSAFLUSH, &old);
	sigprocmask(SIG_SETMASK, &saved, NULL);
	if (write(tty, "\n", 1) < 0)
		n = n < 0 ? n : -1;
	return n;
}

static int
get_password(bool from_stdin, char *pw, size_t pwsz)
{
	char again[GW_PASSWD_PASS_MAX + 2];
	ssize_t n, m;
	int tty, rc = CLI_ERR;

	if (from_stdin) {
		n = read_line(STDIN_FILENO, pw, pwsz);
	} else {
		if ((tty = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC)) ==
		    -1)
			return cli_fail(CLI_ERR, "passwd: no terminal to read "
			    "the password from; use --stdin");
		n = tty_read(tty, "New password: ", pw, pwsz);
		if (n >= 0) {
			m = tty_read(tty, "Repeat it: ", again, sizeof again);
			if (m != n || strcmp(pw, again) != 0) {
				close(tty);
				OPENSSL_cleanse(again, sizeof again);
				return cli_fail(CLI_ERR, "passwd: the "
				    "passwords differ; nothing changed");
			}
		}
		close(tty);
		OPENSSL_cleanse(again, sizeof again);
	}
	if (n == -2)
		cli_fail(CLI_ERR, "passwd: password longer than %d bytes",
		    GW_PASSWD_PASS_MAX);
	else if (n < 0)
		cli_fail(CLI_ERR, "passwd: cannot read the password: %s",
		    strerror(errno));
	else if (n == 0)
		cli_fail(CLI_ERR, "passwd: empty password refused");
	else
		rc = CLI_OK;
	return rc;
}

int cmd_passwd(int argc, char **argv);

int
cmd_passwd(int argc, char **argv)
{
	const char *file = NULL, *config = NULL, *state_dir = NULL;
	const char *user = NULL, *del = NULL;
	bool list = false, from_stdin = false;
	struct gw_config cfg;
	struct gw_passwd *pw = NULL;
	char err[GW_CONFIG_ERR_MAX], hash[GW_PASSWD_HASH_MAX];
	char pass[GW_PASSWD_PASS_MAX + 2], *dflt = NULL;
	size_t i;
	int a, rc = CLI_ERR;
	bool existed;
	mailsec_err e;

	for (a = 1; a < argc; a++) {
		const char *s = argv[a];

		if ((strcmp(s, "--file") == 0 || strcmp(s, "--config") == 0 ||
		    strcmp(s, "--state-dir") == 0 ||
		    strcmp(s, "--delete") == 0) && a + 1 >= argc)
			return cli_usage("passwd", "%s needs a value", s);
		if (strcmp(s, "--file") == 0)
			file = argv[++a];
		else if (strcmp(s, "--config") == 0)
			config = argv[++a];
		else if (strcmp(s, "--state-dir") == 0)
			state_dir = argv[++a];
		else if (strcmp(s, "--delete") == 0)
			del = argv[++a];
		else if (strcmp(s, "--list") == 0)
			list = true;
		else if (strcmp(s, "--stdin") == 0)
			from_stdin = true;
		else if (s[0] == '-' && s[1] != '\0')
			return cli_usage("passwd", "unknown option '%s'", s);
		else if (user == NULL)
			user = s;
		else
			return cli_usage("passwd", "one USER at a time");
	}
	if ((user != NULL) + (del != NULL) + list != 1)
		return cli_usage("passwd", "give USER, --delete USER or "
		    "--list");
	if (file != NULL && (config != NULL || state_dir != NULL))
		return cli_usage("passwd", "--file excludes --config and "
		    "--state-dir");
	if (file == NULL && (config != NULL || state_dir != NULL)) {
		e = config != NULL ? gw_config_load(config, &cfg, err,
		    sizeof err) : gw_config_defaults(&cfg);
		if (e != MAILSEC_OK)
			return cli_fail(CLI_ERR, "%s", config != NULL ? err :
			    "out of memory");
		if (state_dir != NULL &&
		    gw_config_set_state_dir(&cfg, state_dir) != MAILSEC_OK) {
			gw_config_free(&cfg);
			return cli_usage("passwd", "bad --state-dir");
		}
		dflt = strdup(cfg.auth.password_file);
		gw_config_free(&cfg);
		if (dflt == NULL)
			return cli_fail(CLI_ERR, "out of memory");
		file = dflt;
	}
	if (file == NULL)
		file = PASSWD_DEFAULT;

	e = gw_passwd_load(file, &pw, on_warn, NULL, err, sizeof err);
	existed = e == MAILSEC_OK;
	if (e == MAILSEC_ENOTFOUND && user != NULL)
		e = gw_passwd_new(&pw);
	if (e != MAILSEC_OK) {
		cli_fail(CLI_ERR, "passwd: %s", err[0] != '\0' ? err :
		    mailsec_strerror(e));
		goto out;
	}
	if (list) {
		for (i = 0; i < pw->n; i++)
			if (pw->v[i].user != NULL)
				printf("%s\n", pw->v[i].user);
		rc = CLI_OK;
		goto out;
	}
	if (del != NULL) {
		if (gw_passwd_delete(pw, del) != MAILSEC_OK) {
			cli_fail(CLI_ERR, "passwd: %s: no login '%s'", file,
			    del);
			goto out;
		}
	} else {
		if (!gw_passwd_user_ok(user, strlen(user))) {
			rc = cli_usage("passwd", "'%s' cannot be a login "
			    "(1-%d bytes, no spaces, ':' or control "
			    "characters)", user, GW_PASSWD_USER_MAX);
			goto out;
		}
		if (get_password(from_stdin, pass, sizeof pass) != CLI_OK)
			goto out;
		e = gw_passwd_hash(pass, strlen(pass), NULL, hash, sizeof hash);
		OPENSSL_cleanse(pass, sizeof pass);
		if (e != MAILSEC_OK) {
			cli_fail(CLI_ERR, "passwd: hashing failed: %s",
			    mailsec_strerror(e));
			goto out;
		}
		existed = gw_passwd_find(pw, user, strlen(user)) != NULL;
		if ((e = gw_passwd_set(pw, user, hash)) != MAILSEC_OK) {
			cli_fail(CLI_ERR, "passwd: %s", mailsec_strerror(e));
			goto out;
		}
	}
	if (gw_passwd_save(pw, file, err, sizeof err) != MAILSEC_OK) {
		cli_fail(CLI_ERR, "passwd: %s", err);
		goto out;
	}
	if (del != NULL)
		fprintf(stderr, "mailsec passwd: %s: deleted '%s'\n", file,
		    del);
	else
		fprintf(stderr, "mailsec passwd: %s: %s '%s'\n", file,
		    existed ? "changed the password of" : "added", user);
	rc = CLI_OK;
out:
	OPENSSL_cleanse(pass, sizeof pass);
	gw_passwd_free(pw);
	free(dflt);
	return rc;
}
