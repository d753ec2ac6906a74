/*
 * cli/cli.h - shared pieces of the `mailsec` command: the subcommand
 * table, exit codes, option parsing helpers, JSON output.
 */
#ifndef MAILSEC_CLI_H
#define MAILSEC_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <mailsec/mailsec.h>

/* Exit status: 0 the command did its job (whatever the verdict),
 * 1 input or runtime error, 2 usage error. */
enum { CLI_OK = 0, CLI_ERR = 1, CLI_USAGE = 2 };

struct cli_cmd {
	const char *name;
	const char *summary;	/* one line for `mailsec help` */
	const char *usage;	/* full text for `mailsec help NAME` */
	int (*run)(int argc, char **argv);
};

/* The table, in cli/main.c. */
extern const struct cli_cmd cli_cmds[];

/* Prints "mailsec: " + message + newline to stderr; returns code. */
int cli_fail(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Usage error for cmd: message, then "try 'mailsec help CMD'". */
int cli_usage(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Reads a whole file ("-" or NULL = stdin) into a new allocation
 * (free()), at most max bytes. Returns 0, or prints why and returns 1. */
int cli_read_file(const char *path, size_t max, char **out, size_t *len);

/* `mailsec dkim rotate` (cli/cmd_rotate.c); argv[0] is "rotate". */
int cli_dkim_rotate(int argc, char **argv);

/* Parses the value s of option opt as a decimal number from min to max
 * into *out; a usage error for cmd (returned) otherwise. *out is set
 * only on success. */
int cli_number(const char *cmd, const char *opt, const char *s, long min,
    long max, long *out);

/* CLI_OK when option argv[i] has a value after it; else a usage error
 * "OPT needs a value" for cmd (returned). */
int cli_need_value(const char *cmd, int argc, char **argv, int i);

/* A word of argv that no option took: the command's one FILE ("-" is
 * stdin), kept in *file. A usage error for cmd (returned) when it looks
 * like an option or a FILE was already given. */
int cli_operand(const char *cmd, const char *arg, const char **file);

/* A NUL-terminated copy of s (free()), or NULL when out of memory. */
char *cli_strz(struct mailsec_str s);

/* Largest message the commands read. */
#define CLI_MESSAGE_MAX ((size_t)64 * 1024 * 1024)

/* Reads a message file ("-" or NULL = stdin) and parses it: *data holds
 * the bytes (free()) and *msg borrows them (mailsec_msg_free() first).
 * Returns 0, or prints what, where (line) and why and returns 1. */
int cli_read_msg(const char *path, char **data, struct mailsec_msg **msg);

/* --dns / --dns-zone: records the option if argv[*i] is one of them
 * (advancing *i past its value) and returns 1; 0 if not one of them;
 * -1 (after printing a usage error) if the value is missing. */
struct cli_dns_opts {
	const char *server;	/* --dns SERVER[@PORT][,...] */
	const char *zone;	/* --dns-zone FILE */
	unsigned timeout_ms;	/* --dns-timeout MS */
};
int cli_dns_opt(const char *cmd, int argc, char **argv, int *i,
    struct cli_dns_opts *o);
/* The same, and --json (sets *json). */
int cli_dns_json_opt(const char *cmd, int argc, char **argv, int *i,
    struct cli_dns_opts *o, bool *json);
/* Creates the resolver the options describe; prints why on failure. */
int cli_dns_resolver(const struct cli_dns_opts *o,
    struct mailsec_resolver **out);

/* JSON output: strings escaped per RFC 8259; bytes that are not valid
 * UTF-8 come out as \ufffd so the output always parses. */
void json_str(FILE *f, const char *p, size_t len);
void json_strz(FILE *f, const char *s);	/* NULL prints null */
/* A member after the first: `, "key": ` and json_strz(s). */
void json_member(FILE *f, const char *key, const char *s);

#endif /* MAILSEC_CLI_H */
