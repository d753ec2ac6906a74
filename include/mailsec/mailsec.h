/*
 * mailsec/mailsec.h - the whole public API of libmailsec.
 */
#ifndef MAILSEC_H
#define MAILSEC_H

#include <mailsec/err.h>
#include <mailsec/str.h>
#include <mailsec/version.h>
#include <mailsec/msg.h>
#include <mailsec/addr.h>
#include <mailsec/domain.h>

#include <mailsec/dns.h>
#include <mailsec/spf.h>
#include <mailsec/dkim.h>
#include <mailsec/authres.h>
#include <mailsec/dmarc.h>
#include <mailsec/arc.h>
#include <mailsec/smtp.h>
#include <mailsec/dsn.h>
#include <mailsec/smtp_client.h>
#include <mailsec/report.h>
#include <mailsec/mtasts.h>

#endif /* MAILSEC_H */
