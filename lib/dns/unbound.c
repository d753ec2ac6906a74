/* Placeholder until the libunbound backend lands. */
#include "dns/dns_int.h"

mailsec_err
mailsec_resolver_new_unbound(const struct mailsec_unbound_opts *opts,
    struct mailsec_resolver **out, struct mailsec_diag *diag)
{
	(void)opts; (void)out;
	return ms_diag(diag, MAILSEC_EUNSUPPORTED, 0, 0, "not built yet");
}
