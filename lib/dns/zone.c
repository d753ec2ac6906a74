/* Placeholder until the zone backend lands. */
#include "dns/dns_int.h"

mailsec_err
mailsec_resolver_new_zone_file(const char *path, struct mailsec_resolver **out,
    struct mailsec_diag *diag)
{
	(void)path; (void)out;
	return ms_diag(diag, MAILSEC_EUNSUPPORTED, 0, 0, "not built yet");
}

mailsec_err
mailsec_resolver_new_zone_mem(const char *text, size_t len, const char *origin,
    struct mailsec_resolver **out, struct mailsec_diag *diag)
{
	(void)text; (void)len; (void)origin; (void)out;
	return ms_diag(diag, MAILSEC_EUNSUPPORTED, 0, 0, "not built yet");
}
