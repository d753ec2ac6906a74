/*
 * daemon/log.c - stderr or syslog lines with a level threshold
 * (daemon/log.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define LOG_LINE_MAX	4096	/* one line, longer ones are cut */

static enum gw_log_target log_target = GW_LOG_STDERR;
static enum gw_log_level log_level = GW_LOG_INFO;
static char log_ident[32] = "mailsec";

void
log_init(enum gw_log_target target, enum gw_log_level level,
    const char *ident)
{
	if (ident != NULL &&
	    (size_t)snprintf(log_ident, sizeof log_ident, "%s", ident) >=
	    sizeof log_ident)
		log_ident[sizeof log_ident - 1] = '\0';
	if (log_target == GW_LOG_SYSLOG)
		closelog();
	log_target = target;
	log_level = level;
	if (target == GW_LOG_SYSLOG)
		openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

bool
log_enabled(enum gw_log_level level)
{
	return level <= log_level;
}

static int
syslog_prio(enum gw_log_level level)
{
	switch (level) {
	case GW_LOG_ERROR:
		return LOG_ERR;
	case GW_LOG_WARNING:
		return LOG_WARNING;
	case GW_LOG_NOTICE:
		return LOG_NOTICE;
	case GW_LOG_INFO:
		return LOG_INFO;
	case GW_LOG_DEBUG:
	default:
		return LOG_DEBUG;
	}
}

static const char *
level_name(enum gw_log_level level)
{
	static const char *const names[] = {
		"error", "warning", "notice", "info", "debug"
	};

	return (unsigned)level < sizeof names / sizeof names[0] ?
	    names[level] : "debug";
}

static void __attribute__((format(printf, 3, 0)))
log_vline(enum gw_log_level level, int errnum, const char *fmt, va_list ap)
{
	char line[LOG_LINE_MAX];
	size_t n;
	int r;

	if (!log_enabled(level))
		return;
	r = vsnprintf(line, sizeof line, fmt, ap);
	if (r < 0)
		return;
	n = (size_t)r < sizeof line ? (size_t)r : sizeof line - 1;
	if (errnum != 0 && n < sizeof line - 1)
		(void)snprintf(line + n, sizeof line - n, ": %s",
		    strerror(errnum));
	if (log_target == GW_LOG_SYSLOG) {
		syslog(syslog_prio(level), "%s", line);
		return;
	}
	{
		char ts[32];
		struct tm tm;
		struct timespec now;

		clock_gettime(CLOCK_REALTIME, &now);
		gmtime_r(&now.tv_sec, &tm);
		if (strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm) == 0)
			ts[0] = '\0';
		/* one write(2) per line: workers share stderr */
		{
			char out[LOG_LINE_MAX + 128];
			int m = snprintf(out, sizeof out,
			    "%s.%03ldZ %s[%ld] %s: %s\n", ts,
			    (long)(now.tv_nsec / 1000000), log_ident,
			    (long)getpid(), level_name(level), line);

			if (m > 0) {
				size_t len = (size_t)m < sizeof out ?
				    (size_t)m : sizeof out - 1;

				if (len == sizeof out - 1)
					out[len - 1] = '\n';
				(void)!write(STDERR_FILENO, out, len);
			}
		}
	}
}

#define LOG_FN(name, level, witherr)					\
void									\
name(const char *fmt, ...)						\
{									\
	va_list ap;							\
	int errnum = (witherr) ? errno : 0;				\
									\
	va_start(ap, fmt);						\
	log_vline(level, errnum, fmt, ap);				\
	va_end(ap);							\
}

LOG_FN(log_warn, GW_LOG_WARNING, 1)
LOG_FN(log_warnx, GW_LOG_WARNING, 0)
LOG_FN(log_error, GW_LOG_ERROR, 0)
LOG_FN(log_notice, GW_LOG_NOTICE, 0)
LOG_FN(log_info, GW_LOG_INFO, 0)
LOG_FN(log_debug, GW_LOG_DEBUG, 0)

char *
log_escape(char *out, size_t outsz, const char *p, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0, i;

	if (outsz == 0)
		return out;
	if (p == NULL || len == 0) {
		(void)snprintf(out, outsz, "-");
		return out;
	}
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c >= 0x21 && c <= 0x7e && c != '\\' && c != '"') {
			if (o + 1 >= outsz)
				break;
			out[o++] = (char)c;
		} else {
			if (o + 4 >= outsz)
				break;
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
	return out;
}
