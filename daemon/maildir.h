/*
 * daemon/maildir.h - delivery of one message into one Maildir
 * (https://cr.yp.to/proto/maildir.html): write tmp/NAME, fsync, link to
 * new/NAME, fsync new/.
 *
 * The queue runner names each delivery after the queue ID and the
 * recipient's index ("<time>.Q<id>R<index>.<host>"), so a delivery that
 * is repeated after a crash finds its own earlier copy (in new/, or in
 * cur/ once a reader moved it) instead of delivering twice.
 */
#ifndef MAILSEC_DAEMON_MAILDIR_H
#define MAILSEC_DAEMON_MAILDIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <mailsec/err.h>

/* What goes into the file: prefix bytes, then len bytes of fd from off. */
struct maildir_src {
	const char *prefix;
	size_t prefix_len;
	int fd;
	off_t off;
	uint64_t len;
};

/* Longest mailbox (local-part) directory name. */
#define MAILDIR_USER_MAX 64

/*
 * Turns the local-part of a recipient address into its mailbox
 * directory name (ASCII lowercased; "postmaster" in any case is
 * "postmaster"). Refuses (MAILSEC_ESYNTAX) quoted local-parts, "." at
 * either end, "..", '/', bytes below 0x21 and 0x7f, and names over
 * MAILDIR_USER_MAX: the name must be safe as one path component.
 * out has MAILDIR_USER_MAX + 1 bytes.
 */
mailsec_err maildir_user(const char *local, size_t len, char *out);

/*
 * Delivers src into <rootfd>/<domain>/<user>/ (directories created as
 * needed with mode 0700, their creation made durable) under the
 * file name name. domain and user must be single path components
 * (maildir_user(), mailsec_domain_normalize()).
 * careful: a previous attempt may have delivered it already and a reader
 * may have moved it to cur/: look there too (a readdir of cur/).
 * *already is set when the delivery had already happened. Returns
 * MAILSEC_OK once the file and its new/ entry are durable; MAILSEC_EIO
 * (diag says which step) on a disk error.
 */
mailsec_err maildir_deliver(int rootfd, const char *domain, const char *user,
    const char *name, const struct maildir_src *src, bool careful,
    bool *already, struct mailsec_diag *diag);

#endif /* MAILSEC_DAEMON_MAILDIR_H */
