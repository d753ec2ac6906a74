set(MAILSEC_DNS_SOURCES dns/resolver.c dns/zone.c dns/zone_parse.c dns/unbound.c)
