/*
 * lib/smtp/data.c - the message stream after DATA (RFC 5321 4.1.1.4 end
 * of data, 4.5.2 transparency) and BDAT (RFC 3030 2, 3).
 *
 * DATA ends only at CRLF "." CRLF. A CR or LF that is not part of a CRLF
 * pair makes the message invalid but never ends it, so every published
 * SMTP smuggling end marker ("\n.\n", "\r.\r", "\r\n.\n", "\n.\r\n", ...)
 * is message content here and the session stays in step with a strict
 * peer (RFC 5321 2.3.8; CVE-2023-51764, CVE-2023-51765, CVE-2023-51766).
 */
#include <inttypes.h>
#include <string.h>

#include "smtp/smtp_int.h"

/* DATA states. */
enum {
	DS_BOL = 0,	/* at the beginning of a line (after CRLF) */
	DS_TEXT,	/* inside a line */
	DS_CR,		/* inside a line, last byte CR (already emitted) */
	DS_DOT,		/* "." at the beginning of a line, held */
	DS_DOT_CR,	/* "." CR at the beginning of a line, both held */
	DS_END		/* CRLF "." CRLF seen */
};

/* BDAT state: the last byte was a CR (bare unless LF follows). */
#define BS_CR	1

void
mailsec_smtp_data_init(struct mailsec_smtp_data *d,
    const struct mailsec_smtp_data_opts *opts)
{
	memset(d, 0, sizeof *d);
	if (opts != NULL)
		d->opts = *opts;
	if (d->opts.line_max == 0)
		d->opts.line_max = MAILSEC_SMTP_TEXT_LINE_MAX;
	d->state = DS_BOL;
}

/* The message is refused already: stop writing it. */
static bool
refused(const struct mailsec_smtp_data *d)
{
	unsigned stop = MAILSEC_SMTP_DATA_TOO_BIG | MAILSEC_SMTP_DATA_SINK_ERR;

	if (d->opts.mode != MAILSEC_SMTP_MODE_BDAT_BINARY)
		stop |= MAILSEC_SMTP_DATA_BARE_LF | MAILSEC_SMTP_DATA_BARE_CR;
	return (d->flags & stop) != 0;
}

/* Counts n message bytes and passes them on unless refused. */
static void
emit(struct mailsec_smtp_data *d, const char *p, size_t n)
{
	mailsec_err err;

	if (n == 0)
		return;
	if (d->opts.size_max > 0 && (d->size > d->opts.size_max ||
	    n > d->opts.size_max - d->size))
		d->flags |= MAILSEC_SMTP_DATA_TOO_BIG;
	d->size = UINT64_MAX - d->size < n ? UINT64_MAX : d->size + n;
	if (refused(d) || d->opts.sink == NULL)
		return;
	err = d->opts.sink(d->opts.sink_arg, p, n);
	if (err != MAILSEC_OK) {
		d->flags |= MAILSEC_SMTP_DATA_SINK_ERR;
		d->sink_err = err;
	}
}

static void
bad_byte(struct mailsec_smtp_data *d, unsigned flag, uint64_t off)
{
	if ((d->flags & (MAILSEC_SMTP_DATA_BARE_LF |
	    MAILSEC_SMTP_DATA_BARE_CR)) == 0)
		d->bad_offset = off;
	d->flags |= flag;
}

/* A text byte of a line (not CR, not LF): length and content checks. */
static inline void
text_byte(struct mailsec_smtp_data *d, unsigned char c)
{
	d->line_len++;
	if (c >= 0x80)
		d->flags |= MAILSEC_SMTP_DATA_8BIT;
	else if (c == 0)
		d->flags |= MAILSEC_SMTP_DATA_NUL;
}

/* A line ended by CRLF: the limit counts the CRLF (RFC 5321 4.5.3.1.6). */
static void
line_end(struct mailsec_smtp_data *d)
{
	if (d->line_len > d->longest_line)
		d->longest_line = d->line_len;
	if (d->line_len + 2 > d->opts.line_max)
		d->flags |= MAILSEC_SMTP_DATA_LONG_LINE;
	d->line_len = 0;
}

/*
 * DATA mode. Message bytes are emitted as spans of the input; only a
 * leading "." (and "." CR) is held, since it may be stuffing or the end.
 */
static void
feed_data(struct mailsec_smtp_data *d, const char *p, size_t len,
    size_t *consumed)
{
	const char *span = p;	/* start of bytes not emitted yet */
	size_t i = 0;
	unsigned char c;

#define FLUSH(to) do { emit(d, span, (size_t)((p + (to)) - span)); } while (0)
	while (i < len && d->state != DS_END) {
		c = (unsigned char)p[i];
		switch (d->state) {
		case DS_BOL:
			if (c == '.') {
				FLUSH(i);
				d->state = DS_DOT;
				i++;
				span = p + i;	/* the dot is held */
				continue;
			}
			d->state = DS_TEXT;
			continue;	/* same byte as text */
		case DS_DOT:
			if (c == '\r') {
				d->state = DS_DOT_CR;
				i++;
				span = p + i;
				continue;
			}
			/* RFC 5321 4.5.2: the leading dot is removed. It was
			 * never emitted; the span starts at c. */
			d->state = DS_TEXT;
			span = p + i;
			continue;
		case DS_DOT_CR:
			if (c == '\n') {
				d->state = DS_END;
				i++;
				span = p + i;
				continue;
			}
			/* "." CR x: the dot goes, the CR is bare. */
			bad_byte(d, MAILSEC_SMTP_DATA_BARE_CR, d->wire + i - 1);
			emit(d, "\r", 1);
			d->line_len++;
			d->state = DS_TEXT;
			span = p + i;
			continue;
		case DS_CR:
			if (c == '\n') {
				line_end(d);
				d->state = DS_BOL;
				i++;
				continue;
			}
			bad_byte(d, MAILSEC_SMTP_DATA_BARE_CR, d->wire + i - 1);
			d->line_len++;	/* the CR was part of the line */
			d->state = DS_TEXT;
			continue;
		case DS_TEXT:
		default:
			/* the hot loop: plain text bytes */
			while (i < len) {
				c = (unsigned char)p[i];
				if (c == '\r' || c == '\n')
					break;
				text_byte(d, c);
				i++;
			}
			if (i == len)
				break;
			if (c == '\r') {
				d->state = DS_CR;
			} else {
				bad_byte(d, MAILSEC_SMTP_DATA_BARE_LF,
				    d->wire + i);
				d->line_len++;
			}
			i++;
			continue;
		}
	}
	if (d->state == DS_END) {
		/* The span ended before the held ".\r\n" (already cut). */
		d->done = true;
	} else if (d->state != DS_DOT && d->state != DS_DOT_CR) {
		FLUSH(i);
	}
#undef FLUSH
	*consumed = i;
}

/* BDAT modes: exact byte counts, no stuffing; bare CR/LF across chunks. */
static void
feed_bdat(struct mailsec_smtp_data *d, const char *p, size_t len,
    size_t *consumed)
{
	bool text = d->opts.mode != MAILSEC_SMTP_MODE_BDAT_BINARY;
	size_t n, i;
	unsigned char c;

	n = d->chunk_left < len ? (size_t)d->chunk_left : len;
	for (i = 0; i < n; i++) {
		c = (unsigned char)p[i];
		if (d->state == BS_CR) {
			d->state = 0;
			if (c == '\n') {
				line_end(d);
				continue;
			}
			if (text)
				bad_byte(d, MAILSEC_SMTP_DATA_BARE_CR,
				    d->wire + i - 1);
			d->line_len++;
		}
		if (c == '\r') {
			d->state = BS_CR;
		} else if (c == '\n') {
			if (text)
				bad_byte(d, MAILSEC_SMTP_DATA_BARE_LF,
				    d->wire + i);
			d->line_len++;
		} else {
			text_byte(d, c);
		}
	}
	emit(d, p, n);
	d->chunk_left -= n;
	*consumed = n;
	if (d->chunk_left == 0 && d->last) {
		d->done = true;
		if (d->state == BS_CR) {
			/* a final CR without LF */
			if (text)
				bad_byte(d, MAILSEC_SMTP_DATA_BARE_CR,
				    d->wire + n - 1);
			d->flags |= MAILSEC_SMTP_DATA_NO_FINAL_CRLF;
		} else if (d->line_len > 0 || d->size == 0) {
			d->flags |= MAILSEC_SMTP_DATA_NO_FINAL_CRLF;
		}
	}
}

mailsec_err
mailsec_smtp_data_feed(struct mailsec_smtp_data *d, const char *p,
    size_t len, size_t *consumed)
{
	size_t used = 0;

	if (consumed != NULL)
		*consumed = 0;
	if (d == NULL || consumed == NULL || (p == NULL && len > 0))
		return MAILSEC_EINVAL;
	if (d->opts.mode == MAILSEC_SMTP_MODE_DATA) {
		if (d->done)
			return MAILSEC_ESTATE;
		feed_data(d, p, len, &used);
	} else {
		if (d->done || (d->chunk_left == 0 && len > 0))
			return MAILSEC_ESTATE;
		feed_bdat(d, p, len, &used);
	}
	d->wire += used;
	*consumed = used;
	return MAILSEC_OK;
}

mailsec_err
mailsec_smtp_bdat_chunk(struct mailsec_smtp_data *d, uint64_t size,
    bool last)
{
	size_t dummy;

	if (d == NULL)
		return MAILSEC_EINVAL;
	if (d->opts.mode == MAILSEC_SMTP_MODE_DATA || d->last ||
	    d->chunk_left > 0)
		return MAILSEC_ESTATE;
	d->chunk_left = size;
	d->last = last;
	d->chunks++;
	if (size == 0)
		feed_bdat(d, NULL, 0, &dummy);	/* a LAST of 0 ends it */
	return MAILSEC_OK;
}

bool
mailsec_smtp_data_verdict(const struct mailsec_smtp_data *d,
    struct mailsec_smtp_reply *r)
{
	if (d->opts.mode != MAILSEC_SMTP_MODE_BDAT_BINARY &&
	    (d->flags & (MAILSEC_SMTP_DATA_BARE_LF |
	    MAILSEC_SMTP_DATA_BARE_CR))) {
		mailsec_smtp_reply_set(r, 554, "5.6.0",
		    "Message refused: bare CR or LF at byte %" PRIu64
		    " (RFC 5321 2.3.8)", d->bad_offset);
		return false;
	}
	if (d->flags & MAILSEC_SMTP_DATA_TOO_BIG) {
		mailsec_smtp_reply_set(r, 552, "5.3.4",
		    "Message size exceeds fixed maximum message size");
		return false;
	}
	if (d->flags & MAILSEC_SMTP_DATA_SINK_ERR) {
		mailsec_smtp_reply_set(r, 451, "4.3.0",
		    "Local error in processing");
		return false;
	}
	return true;
}
