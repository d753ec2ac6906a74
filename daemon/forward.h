/*
 * daemon/forward.h - forwarding aliases: the forward { } section of
 * mailsec.conf (docs/forwarding.md). A local address (or every address
 * of a local domain) whose mail goes on to other addresses, usually at
 * other domains: the session accepts RCPT TO the alias as local and puts
 * the targets into the envelope instead (the queue delivers them, remote
 * ones through remote delivery); the pipeline ARC-seals such a message
 * (RFC 8617 5.1) when arc.seal is on.
 *
 * Expansion is one level: targets are never looked up again, so an
 * alias cannot loop through the gateway, and each alias has at most
 * FWD_TARGETS_MAX targets.
 */
#ifndef GW_FORWARD_H
#define GW_FORWARD_H

#include <stdbool.h>
#include <stddef.h>

#include <mailsec/err.h>

#include "config.h"

/* Targets of one alias. */
#define FWD_TARGETS_MAX		100
/* A local part (RFC 5321 4.5.3.1.1). */
#define FWD_LOCAL_MAX		64

/*
 * Configuration checks in the shape of config.c's check functions: NULL
 * when v is acceptable (with *norm set to the normalized copy, the
 * caller's to free), else why not.
 *
 * fwd_check_alias: "local@domain" or "@domain"; the local part
 * lowercased (the session matches it ASCII case-insensitively), the
 * domain normalized (lowercase A-labels).
 * fwd_check_target: "local@domain" with a dot-string local part (RFC
 * 5321 4.1.2: atext and single dots, no quoting), kept as written, and
 * the domain normalized.
 */
const char *fwd_check_alias(const char *v, char **norm);
const char *fwd_check_target(const char *v, char **norm);

/*
 * The alias RCPT TO local@domain hits, or NULL: an alias of the address
 * itself (local part ASCII case-insensitive, domain in any case, with or
 * without a final dot) first, else one of the whole domain. A domain
 * alias never takes postmaster (RFC 5321 4.5.1: it stays local). The
 * result lives in cfg.
 */
const struct gw_forward_alias *fwd_lookup(const struct gw_config *cfg,
    const char *local, size_t llen, const char *domain, size_t dlen);

/*
 * The DSN ORCPT (RFC 3461 4.2, decoded "type;address" as the queue
 * keeps it) of a recipient expanded from original: the client's own
 * (given, may be NULL) when it sent one, else "rfc822;" + original when
 * original is printable US-ASCII, else none. *out is NULL or a string
 * (free()). MAILSEC_ENOMEM.
 */
mailsec_err fwd_orcpt(const char *given, const char *original, char **out);

#endif /* GW_FORWARD_H */
