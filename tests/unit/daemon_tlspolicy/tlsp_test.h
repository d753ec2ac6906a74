/*
 * tests/unit/daemon_tlspolicy/tlsp_test.h - what the TLS policy tests
 * share: a settable clock for tlsp_set_clock() and resolvers made from
 * zone text.
 */
#ifndef TLSP_TEST_H
#define TLSP_TEST_H

#include <stdint.h>

#include <mailsec/dns.h>

/* 2024-03-01T00:00:00Z */
#define DAY0 1709251200LL

/* What test_clock() returns; DAY0 + 3600 at the start. */
extern int64_t clock_now;

/* The clock for tlsp_set_clock(): clock_now. */
int64_t test_clock(void *arg);

/* A resolver answering from the zone text; fails the test when the text
 * is refused. */
struct mailsec_resolver *zone(const char *text);

#endif /* TLSP_TEST_H */
