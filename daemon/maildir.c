/*
 * daemon/maildir.c - one message into one Maildir, durably and at most
 * once (see maildir.h; the protocol is https://cr.yp.to/proto/maildir.html).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/core.h"
#include "maildir.h"
#include "queue_int.h"	/* qf_write_all(), qf_pread_all() */

#define MAILDIR_COPY_CHUNK 65536

mailsec_err
maildir_user(const char *local, size_t len, char *out)
{
	size_t i;
	unsigned char c;

	out[0] = '\0';
	if (len == 0 || len > MAILDIR_USER_MAX)
		return MAILSEC_ESYNTAX;
	if (local[0] == '.' || local[len - 1] == '.')
		return MAILSEC_ESYNTAX;
	for (i = 0; i < len; i++) {
		c = (unsigned char)local[i];
		/* '"' and '\\': quoted local-parts are refused outright. */
		if (c < 0x21 || c == 0x7f || c == '/' || c == '"' ||
		    c == '\\')
			return MAILSEC_ESYNTAX;
		if (c == '.' && i + 1 < len && local[i + 1] == '.')
			return MAILSEC_ESYNTAX;
		out[i] = (char)ms_tolower(c);
	}
	out[len] = '\0';
	return MAILSEC_OK;
}

/* Opens dir name under parent, creating it (and making the creation
 * durable by syncing parent) when missing. */
static int
open_subdir(int parent, const char *name, bool *created)
{
	int fd;

	*created = false;
	fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0 || errno != ENOENT)
		return fd;
	if (mkdirat(parent, name, 0700) != 0 && errno != EEXIST)
		return -1;
	if (fsync(parent) != 0)
		return -1;
	*created = true;
	return openat(parent, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

static int
copy_src(int out, const struct maildir_src *src)
{
	char buf[MAILDIR_COPY_CHUNK];
	uint64_t left = src->len;
	off_t off = src->off;
	size_t want;

	if (src->prefix_len > 0 &&
	    qf_write_all(out, src->prefix, src->prefix_len) != 0)
		return -1;
	while (left > 0) {
		want = left < sizeof buf ? (size_t)left : sizeof buf;
		/* errno EIO when the queue file is shorter than said. */
		if (qf_pread_all(src->fd, buf, want, off) != 0 ||
		    qf_write_all(out, buf, want) != 0)
			return -1;
		off += (off_t)want;
		left -= want;
	}
	return 0;
}

/* Is there an entry "name" or "name:..." in cur/ (a reader moved it)? */
static int
in_cur(int mbox, const char *name, bool *found)
{
	DIR *d;
	struct dirent *de;
	size_t nlen = strlen(name);
	int fd;

	*found = false;
	fd = openat(mbox, "cur", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	d = fdopendir(fd);
	if (d == NULL) {
		close(fd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, name, nlen) == 0 &&
		    (de->d_name[nlen] == '\0' || de->d_name[nlen] == ':')) {
			*found = true;
			break;
		}
	}
	closedir(d);
	return 0;
}

mailsec_err
maildir_deliver(int rootfd, const char *domain, const char *user,
    const char *name, const struct maildir_src *src, bool careful,
    bool *already, struct mailsec_diag *diag)
{
	static const char *const sub[] = { "tmp", "new", "cur" };
	int dfd = -1, mbox = -1, tmpfd = -1, newfd = -1, fd = -1;
	bool created, found;
	const char *step = "";
	mailsec_err err = MAILSEC_EIO;
	size_t i;

	*already = false;
	step = "domain directory";
	if ((dfd = open_subdir(rootfd, domain, &created)) < 0)
		goto fail;
	step = "mailbox directory";
	if ((mbox = open_subdir(dfd, user, &created)) < 0)
		goto fail;
	for (i = 0; i < MS_ARRAY_LEN(sub); i++) {
		step = sub[i];
		if ((fd = open_subdir(mbox, sub[i], &created)) < 0)
			goto fail;
		if (i == 0)
			tmpfd = fd;
		else if (i == 1)
			newfd = fd;
		else
			close(fd);
		fd = -1;
	}
	if (careful) {
		/* Delivered before the crash and already read? */
		step = "new/ lookup";
		if (faccessat(newfd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
			*already = true;
			goto done;
		}
		step = "cur/ scan";
		if (in_cur(mbox, name, &found) != 0)
			goto fail;
		if (found) {
			*already = true;
			goto done;
		}
	}
	/* The name is ours alone (queue ID + recipient index): a leftover
	 * of an interrupted attempt is removed, never truncated (it may be
	 * the same inode as a new/ entry when the crash came after link). */
	step = "tmp/ file";
	if (unlinkat(tmpfd, name, 0) != 0 && errno != ENOENT)
		goto fail;
	fd = openat(tmpfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600);
	if (fd < 0)
		goto fail;
	step = "writing";
	if (copy_src(fd, src) != 0)
		goto fail;
	step = "fsync";
	if (fsync(fd) != 0)
		goto fail;
	close(fd);
	fd = -1;
	step = "link into new/";
	if (linkat(tmpfd, name, newfd, name, 0) != 0) {
		if (errno != EEXIST)
			goto fail;
		/* Our own earlier delivery: the one in new/ stands. */
		*already = true;
	}
	(void)unlinkat(tmpfd, name, 0);
	step = "fsync new/";
	if (fsync(newfd) != 0)
		goto fail;
done:
	err = MAILSEC_OK;
	goto out;
fail:
	err = ms_diag(diag, MAILSEC_EIO, 0, 0, "maildir %s/%s: %s: %s", domain,
	    user, step, strerror(errno));
out:
	if (fd >= 0)
		close(fd);
	if (tmpfd >= 0)
		close(tmpfd);
	if (newfd >= 0)
		close(newfd);
	if (mbox >= 0)
		close(mbox);
	if (dfd >= 0)
		close(dfd);
	return err;
}
