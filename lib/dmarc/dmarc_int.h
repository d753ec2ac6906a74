/*
 * lib/dmarc/dmarc_int.h - DMARC internals shared by record.c, psl.c and
 * dmarc.c.
 */
#ifndef MS_DMARC_INT_H
#define MS_DMARC_INT_H

#include <stdbool.h>
#include <stddef.h>

#include <mailsec/dmarc.h>
#include <mailsec/domain.h>

#include "core/core.h"

/* Labels of a domain name (no final dot). */
size_t ms_dmarc_labels(const char *d);

/* The last n labels of d (a pointer into d); d itself when it has n or
 * fewer. */
const char *ms_dmarc_suffix(const char *d, size_t n);

/* d equals dom or is a subdomain of it (ASCII case-insensitive). */
bool ms_dmarc_within(const char *d, const char *dom);

/* Normalizes (p, len) into out (MAILSEC_DOMAIN_MAX); false when it is
 * not a domain name. */
bool ms_dmarc_norm(const char *p, size_t len, char *out);

#endif /* MS_DMARC_INT_H */
