/*
 * fuzz/fuzz_dns_wire.c - the libunbound backend's wire decoders: RDATA
 * of every decoded type, and the answer-packet scan that follows CNAMEs.
 * Input: byte 0 picks the mode (even: packet scan; odd: RDATA of the
 * type chosen by byte 1), the rest is the wire data.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dns_int.h"

mailsec_err ms_unbound_rdata_decode(uint16_t type, const uint8_t *p,
    size_t len, struct mailsec_dns_rr *rr);
mailsec_err ms_unbound_packet_scan(const uint8_t *pkt, size_t len,
    char **canonical);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint16_t types[] = {
	MAILSEC_DNS_A, MAILSEC_DNS_AAAA, MAILSEC_DNS_MX, MAILSEC_DNS_NS,
	MAILSEC_DNS_CNAME, MAILSEC_DNS_PTR, MAILSEC_DNS_TXT, MAILSEC_DNS_SPF,
	MAILSEC_DNS_TLSA, 65
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mailsec_dns_rr rr;
	char *canonical = NULL;
	uint8_t *copy;

	if (size < 2)
		return 0;
	/* an exact-size heap copy so ASan sees any over-read */
	copy = malloc(size - 2 ? size - 2 : 1);
	if (copy == NULL)
		return 0;
	memcpy(copy, data + 2, size - 2);
	if ((data[0] & 1) == 0) {
		if (ms_unbound_packet_scan(copy, size - 2, &canonical) ==
		    MAILSEC_OK) {
			if (canonical == NULL || strlen(canonical) > 1024)
				abort();
			free(canonical);
		}
	} else if (ms_unbound_rdata_decode(types[data[1] % 10], copy,
	    size - 2, &rr) == MAILSEC_OK) {
		if ((rr.type == MAILSEC_DNS_TXT || rr.type == MAILSEC_DNS_SPF)
		    && rr.u.txt.len > size)
			abort();
		ms_dns_rr_cleanup(&rr);
	}
	free(copy);
	return 0;
}
