/*
 * daemon/log.h - the gateway's log: one line per event, to stderr or to
 * syslog (facility mail), with a level threshold. Lines are "key=value"
 * after the subject (docs/gateway.md, "The log line"); text that came
 * from a peer goes through log_escape() first, so a client cannot forge
 * lines or fields.
 */
#ifndef GW_LOG_H
#define GW_LOG_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

#if defined(__GNUC__)
#define GW_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define GW_PRINTF(a, b)
#endif

/* Room log_escape() needs for len bytes of input, NUL included. */
#define LOG_ESC_SIZE(len)	((len) * 4 + 1)

/*
 * Sets the target and threshold; ident names the process in syslog and
 * in stderr lines ("mailsec[1234]"). Call again after fork() or on
 * reload; cheap.
 */
void log_init(enum gw_log_target target, enum gw_log_level level,
    const char *ident);

/* Whether a line of this level would be written. */
bool log_enabled(enum gw_log_level level);

/* log_warn adds ": strerror(errno)", log_warnx does not. */
void log_warn(const char *fmt, ...) GW_PRINTF(1, 2);
void log_warnx(const char *fmt, ...) GW_PRINTF(1, 2);
void log_error(const char *fmt, ...) GW_PRINTF(1, 2);
void log_notice(const char *fmt, ...) GW_PRINTF(1, 2);
void log_info(const char *fmt, ...) GW_PRINTF(1, 2);
void log_debug(const char *fmt, ...) GW_PRINTF(1, 2);

/*
 * Copies (p, len) into out (outsz bytes, always NUL-terminated, cut to
 * fit) as one log token: bytes 0x21..0x7e pass except '\\' and '"';
 * everything else (space, control bytes, 8-bit bytes) becomes "\xHH".
 * An empty input gives "-". Returns out.
 */
char *log_escape(char *out, size_t outsz, const char *p, size_t len);

#endif /* GW_LOG_H */
