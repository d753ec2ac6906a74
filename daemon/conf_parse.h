/*
 * daemon/conf_parse.h - the syntax of mailsec.conf: a small, strict parser
 * for the nginx/UCL-like subset rspamd users know, producing a tree of
 * nodes that each carry their line and column. What the options mean is
 * daemon/config.c's business; this file only knows the grammar:
 *
 *   file    = *entry
 *   entry   = key [ "=" ] value ";"
 *           / key [ label ] [ "=" ] "{" *entry "}" [ ";" ]
 *   value   = scalar / "[" [ scalar *( "," scalar ) [ "," ] ] "]"
 *   key, label, scalar = word / "quoted string"
 *
 * A word is printable ASCII except whitespace and ; { } [ ] , = " ' # \.
 * Strings are double-quoted, on one line, with \" \\ \n \t \r escapes and
 * UTF-8 allowed. Comments: # and // to the end of the line, and C-style
 * block comments; they start only where a token could. Numbers with
 * suffixes and booleans are scalars the caller interprets (conf_size,
 * conf_time, conf_bool).
 */
#ifndef GW_CONF_PARSE_H
#define GW_CONF_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mailsec/err.h>

#define CONF_MAX_FILE	(1024 * 1024)	/* bytes in one config file */
#define CONF_MAX_DEPTH	16		/* nested sections */
#define CONF_MAX_TOKENS	65536		/* tokens in one file */
#define CONF_MAX_STRING	4096		/* bytes in one key or value */
#define CONF_MAX_LIST	1024		/* items in one [ ] list */

enum conf_kind {
	CONF_SCALAR,			/* key value; */
	CONF_LIST,			/* key [a, b]; items are scalars */
	CONF_SECTION			/* key [label] { ... } */
};

struct conf_node {
	enum conf_kind kind;
	char *key;		/* NUL-terminated; NULL for list items, root */
	char *label;		/* section "label" { }, else NULL */
	char *val;		/* scalar: unescaped value, NUL-terminated */
	size_t vlen;		/* strlen(val) (values hold no NUL) */
	bool quoted;		/* the scalar was a "string" */
	unsigned line;		/* 1-based line of the key (or item) */
	unsigned col;		/* 1-based byte column of it */
	struct conf_node *child;	/* first entry / item */
	struct conf_node *last;		/* last entry / item */
	size_t nchild;
	struct conf_node *next;		/* next sibling */
};

/*
 * Parses (text, len); name is the file name used in error messages.
 * On success *root is a CONF_SECTION holding the top-level entries
 * (conf_free() it). On failure *root is NULL and err (if errlen > 0)
 * holds "NAME:LINE:COL: what is wrong". Returns MAILSEC_OK,
 * MAILSEC_ESYNTAX, MAILSEC_ELIMIT (a CONF_MAX_* bound) or MAILSEC_ENOMEM.
 */
mailsec_err conf_parse(const char *text, size_t len, const char *name,
    struct conf_node **root, char *err, size_t errlen);

/* Frees a tree from conf_parse(); NULL is a no-op. */
void conf_free(struct conf_node *root);

/* The first entry named key in section sec, or NULL. */
const struct conf_node *conf_get(const struct conf_node *sec,
    const char *key);

/*
 * Scalar interpretation. Each returns true and stores the value, or
 * false when the scalar is not of that form (the caller says why).
 * conf_bool: yes/no, true/false, on/off (ASCII case-insensitive).
 * conf_uint: decimal digits only, at most UINT64_MAX.
 * conf_size: a number with an optional k, m or g suffix (powers of 1024,
 *   case-insensitive, optional trailing "b"/"ib": 35m, 35MiB); bytes.
 * conf_time: a number with an optional ms, s, min, h or d suffix (no
 *   suffix: seconds); the result is in milliseconds.
 */
bool conf_bool(const char *s, bool *out);
bool conf_uint(const char *s, uint64_t *out);
bool conf_size(const char *s, uint64_t *out);
bool conf_time(const char *s, uint64_t *ms);

#endif /* GW_CONF_PARSE_H */
