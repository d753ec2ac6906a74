set(MAILSEC_DNS_SOURCES dns/resolver.c dns/zone.c dns/unbound.c)
