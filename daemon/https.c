/*
 * daemon/https.c - the MTA-STS policy fetch over libcurl (RFC 8461 3.3):
 * "HTTPS GET https://mta-sts.DOMAIN/.well-known/mta-sts.txt", the
 * certificate valid for that host, redirects not followed, the body at
 * most the caller's limit, text/plain; and the TLS-RPT report POST (RFC
 * 8460 5.4). See daemon/https.h.
 *
 * One easy handle per request: a fresh handle carries no connection,
 * cookie or DNS state from another domain.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <curl/curl.h>

#include "https.h"

struct gw_https {
	char *ca_file;
	struct mailsec_resolver *resolver;	/* borrowed */
	long connect_ms;
	long total_ms;
};

/* The body as it arrives, capped at max bytes (+1 for the NUL). */
struct https_body {
	char *ptr;
	size_t len;
	size_t cap;
	size_t max;
	bool over;		/* the server sent more than max */
	bool nomem;
};

/* Clients alive: curl_global_init() with the first, curl_global_cleanup()
 * after the last; delivery threads create clients concurrently, so the
 * count and both calls are under one lock. */
static unsigned https_clients;
static pthread_mutex_t https_lock = PTHREAD_MUTEX_INITIALIZER;

static void
https_why(char *why, size_t whysz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
https_why(char *why, size_t whysz, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL || whysz == 0)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(why, whysz, fmt, ap);
	va_end(ap);
}

static char
https_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Case-insensitive ASCII prefix test of s against the lowercase p. */
static bool
https_prefix(const char *s, const char *p)
{
	for (; *p != '\0'; s++, p++)
		if (https_lower(*s) != *p)
			return false;
	return true;
}

/* A host name of letters, digits, '-' and '.', no empty label: all that
 * goes into curl's "HOST:PORT:ADDR" resolve entry must be this. */
static bool
https_host_ok(const char *p, size_t len)
{
	size_t i, label = 0;

	if (len == 0 || len > GW_HTTPS_HOST_MAX)
		return false;
	for (i = 0; i < len; i++) {
		char c = p[i];

		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-'))
			return false;
		if (++label > 63)
			return false;
	}
	return true;
}

/*
 * Splits "https://HOST[:PORT]/..." into host (NUL-terminated, hostsz
 * bytes) and port (443 unless given).
 */
static mailsec_err
https_url_host(const char *url, char *host, size_t hostsz, unsigned *port,
    char *why, size_t whysz)
{
	const char *p, *h;
	size_t n;
	unsigned long v = 0;

	if (url == NULL || !https_prefix(url, "https://")) {
		https_why(why, whysz, "'%s' is not an https:// URL (RFC 8461 "
		    "3.3)", url != NULL ? url : "(null)");
		return MAILSEC_EINVAL;
	}
	h = p = url + 8;
	while (*p != '\0' && *p != '/' && *p != ':' && *p != '?' &&
	    *p != '#')
		p++;
	n = (size_t)(p - h);
	if (!https_host_ok(h, n) || n >= hostsz) {
		https_why(why, whysz, "'%s': no valid host name", url);
		return MAILSEC_EINVAL;
	}
	memcpy(host, h, n);
	host[n] = '\0';
	*port = 443;
	if (*p == ':') {
		for (p++; *p >= '0' && *p <= '9' && v <= 65535; p++)
			v = v * 10 + (unsigned long)(*p - '0');
		if (v == 0 || v > 65535 || (*p != '\0' && *p != '/')) {
			https_why(why, whysz, "'%s': bad port", url);
			return MAILSEC_EINVAL;
		}
		*port = (unsigned)v;
	}
	return MAILSEC_OK;
}

/*
 * Resolves host through the mailsec resolver into curl's resolve entry
 * "HOST:PORT:ADDR[,ADDR...]" (IPv6 in brackets), so that curl connects
 * where the audit's DNS source says and nowhere else.
 */
static mailsec_err
https_resolve(struct mailsec_resolver *r, const char *host, unsigned port,
    struct curl_slist **out, char *why, size_t whysz)
{
	static const uint16_t types[] = { MAILSEC_DNS_A, MAILSEC_DNS_AAAA };
	char line[GW_HTTPS_HOST_MAX + 16 +
	    2 * GW_HTTPS_ADDR_MAX * (INET6_ADDRSTRLEN + 3)];
	char addr[INET6_ADDRSTRLEN], tmp[200];
	struct mailsec_dns_result *res = NULL;
	size_t t, i, off, naddr = 0, nfam;
	mailsec_err err = MAILSEC_OK;
	int w;

	tmp[0] = '\0';
	w = snprintf(line, sizeof line, "%s:%u:", host, port);
	if (w < 0 || (size_t)w >= sizeof line)
		return MAILSEC_EINVAL;
	off = (size_t)w;
	for (t = 0; t < sizeof types / sizeof types[0]; t++) {
		res = NULL;
		if ((err = mailsec_dns_lookup(r, host, types[t], &res)) !=
		    MAILSEC_OK) {
			https_why(why, whysz, "resolving %s: %s", host,
			    mailsec_strerror(err));
			goto done;
		}
		if (mailsec_dns_status_is_temporary(res->status) &&
		    tmp[0] == '\0')
			(void)snprintf(tmp, sizeof tmp, "%s %s: %s",
			    mailsec_dns_type_name(types[t]),
			    mailsec_dns_status_name(res->status),
			    res->why[0] != '\0' ? res->why : "no answer");
		nfam = 0;
		for (i = 0; res->status == MAILSEC_DNS_ANSWER &&
		    i < res->count && nfam < GW_HTTPS_ADDR_MAX; i++) {
			const struct mailsec_dns_rr *rr = &res->rrs[i];
			bool v6 = rr->type == MAILSEC_DNS_AAAA;

			if (rr->type != types[t])
				continue;
			if (inet_ntop(v6 ? AF_INET6 : AF_INET, v6 ?
			    (const void *)rr->u.aaaa : (const void *)rr->u.a,
			    addr, sizeof addr) == NULL)
				continue;
			w = snprintf(line + off, sizeof line - off, "%s%s%s%s",
			    naddr > 0 ? "," : "", v6 ? "[" : "", addr,
			    v6 ? "]" : "");
			if (w < 0 || (size_t)w >= sizeof line - off)
				break;
			off += (size_t)w;
			naddr++;
			nfam++;
		}
		mailsec_dns_result_free(res);
		res = NULL;
	}
	if (naddr == 0) {
		if (tmp[0] != '\0') {
			https_why(why, whysz, "cannot resolve %s (%s)", host,
			    tmp);
			err = MAILSEC_EDNS;
		} else {
			https_why(why, whysz, "%s has no address (no A or "
			    "AAAA record)", host);
			err = MAILSEC_ENOTFOUND;
		}
		goto done;
	}
	if ((*out = curl_slist_append(NULL, line)) == NULL)
		err = MAILSEC_ENOMEM;
done:
	mailsec_dns_result_free(res);
	return err;
}

static size_t
https_write(char *data, size_t size, size_t n, void *arg)
{
	struct https_body *b = arg;
	size_t k, cap;
	char *p;

	/* size is 1 (CURLOPT_WRITEFUNCTION); a product that overflows
	 * is over any limit anyway */
	if (size != 0 && n > SIZE_MAX / size) {
		b->over = true;
		return 0;
	}
	k = size * n;
	if (k == 0)
		return 0;
	if (k > b->max - b->len) {
		b->over = true;
		return 0;	/* != k: curl stops the transfer */
	}
	if (b->len + k + 1 > b->cap) {
		cap = b->cap < 4096 ? 4096 : b->cap;
		while (cap < b->len + k + 1)
			cap = cap > (b->max + 1) / 2 ? b->max + 1 : cap * 2;
		if ((p = realloc(b->ptr, cap)) == NULL) {
			b->nomem = true;
			return 0;
		}
		b->ptr = p;
		b->cap = cap;
	}
	memcpy(b->ptr + b->len, data, k);
	b->len += k;
	b->ptr[b->len] = '\0';
	return k;
}

/* RFC 8461 3.3: the media type is text/plain; parameters (charset) are
 * allowed, nothing else. */
static bool
https_text_plain(const char *ct)
{
	if (ct == NULL)
		return false;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	if (!https_prefix(ct, "text/plain"))
		return false;
	ct += 10;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return *ct == '\0' || *ct == ';';
}

mailsec_err
gw_https_new(const struct gw_https_opts *o, struct gw_https **out,
    char *why, size_t whysz)
{
	const curl_version_info_data *v;
	struct gw_https *h = NULL;
	mailsec_err err = MAILSEC_OK;
	FILE *f;

	*out = NULL;
	if ((h = calloc(1, sizeof *h)) == NULL)
		return MAILSEC_ENOMEM;
	(void)pthread_mutex_lock(&https_lock);
	if (https_clients == 0 &&
	    curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		(void)pthread_mutex_unlock(&https_lock);
		free(h);
		https_why(why, whysz, "libcurl failed to start");
		return MAILSEC_EIO;
	}
	https_clients++;
	(void)pthread_mutex_unlock(&https_lock);
	v = curl_version_info(CURLVERSION_NOW);
	if (v == NULL || (v->features & CURL_VERSION_SSL) == 0) {
		https_why(why, whysz, "libcurl has no TLS support");
		err = MAILSEC_EUNSUPPORTED;
		goto done;
	}
	h->connect_ms = GW_HTTPS_CONNECT_MS;
	h->total_ms = GW_HTTPS_TOTAL_MS;
	if (o != NULL) {
		if (o->connect_ms > 0)
			h->connect_ms = o->connect_ms;
		if (o->total_ms > 0)
			h->total_ms = o->total_ms;
		h->resolver = o->resolver;
		if (o->ca_file != NULL) {
			/* fail now rather than once per domain */
			if ((f = fopen(o->ca_file, "r")) == NULL) {
				https_why(why, whysz, "CA file %s cannot be "
				    "read", o->ca_file);
				err = MAILSEC_EINVAL;
				goto done;
			}
			fclose(f);
			if ((h->ca_file = strdup(o->ca_file)) == NULL) {
				err = MAILSEC_ENOMEM;
				goto done;
			}
		}
	}
	*out = h;
	h = NULL;
done:
	gw_https_free(h);
	return err;
}

void
gw_https_free(struct gw_https *h)
{
	if (h == NULL)
		return;
	free(h->ca_file);
	free(h);
	(void)pthread_mutex_lock(&https_lock);
	if (https_clients > 0 && --https_clients == 0)
		curl_global_cleanup();
	(void)pthread_mutex_unlock(&https_lock);
}

void
gw_https_client(struct gw_https *h, struct mailsec_https_client *c)
{
	c->get = gw_https_get;
	c->arg = h;
}

/* The host and port of url and, with a resolver, their pinned addresses
 * in *resolve (NULL without one). */
static mailsec_err
https_pin(const struct gw_https *h, const char *url,
    struct curl_slist **resolve, char *why, size_t whysz)
{
	char host[GW_HTTPS_HOST_MAX + 1];
	unsigned port;
	mailsec_err err;

	if ((err = https_url_host(url, host, sizeof host, &port, why,
	    whysz)) != MAILSEC_OK)
		return err;
	if (h->resolver != NULL)
		return https_resolve(h->resolver, host, port, resolve, why,
		    whysz);
	return MAILSEC_OK;
}

/* A transfer that failed (rc): curl's text and the error it maps to. */
static mailsec_err
https_failed(CURLcode rc, const char *errbuf, char *why, size_t whysz)
{
	https_why(why, whysz, "%s", errbuf[0] != '\0' ? errbuf :
	    curl_easy_strerror(rc));
	return rc == CURLE_OPERATION_TIMEDOUT ? MAILSEC_ETIMEOUT : MAILSEC_EIO;
}

/* Sets the options of one policy GET on c. */
static CURLcode
https_setup(const struct gw_https *h, CURL *c, const char *url,
    struct https_body *b, struct curl_slist *resolve, char *errbuf)
{
	CURLcode rc;

	if ((rc = curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf)) !=
	    CURLE_OK ||
	    (rc = curl_easy_setopt(c, CURLOPT_URL, url)) != CURLE_OK ||
#if LIBCURL_VERSION_NUM >= 0x075500
	    (rc = curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https")) !=
	    CURLE_OK ||
#else
	    (rc = curl_easy_setopt(c, CURLOPT_PROTOCOLS,
	    (long)CURLPROTO_HTTPS)) != CURLE_OK ||
#endif
	    /* RFC 8461 3.3: "HTTP 3xx redirects MUST NOT be followed" */
	    (rc = curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L)) !=
	    CURLE_OK ||
	    (rc = curl_easy_setopt(c, CURLOPT_SSLVERSION,
	    (long)CURL_SSLVERSION_TLSv1_2)) != CURLE_OK ||
	    (rc = curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L)) !=
	    CURLE_OK ||
	    (rc = curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L)) !=
	    CURLE_OK ||
	    (rc = curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
	    h->connect_ms)) != CURLE_OK ||
	    (rc = curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, h->total_ms)) !=
	    CURLE_OK ||
	    (rc = curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L)) != CURLE_OK ||
	    /* a Content-Length over the limit fails before the body */
	    (rc = curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE,
	    (curl_off_t)b->max)) != CURLE_OK ||
	    (rc = curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, https_write)) !=
	    CURLE_OK ||
	    (rc = curl_easy_setopt(c, CURLOPT_WRITEDATA, b)) != CURLE_OK ||
	    (rc = curl_easy_setopt(c, CURLOPT_USERAGENT, "mailsec")) !=
	    CURLE_OK)
		return rc;
	if (h->ca_file != NULL &&
	    ((rc = curl_easy_setopt(c, CURLOPT_CAINFO, h->ca_file)) !=
	    CURLE_OK ||
	    /* the file instead of the store, not beside it */
	    (rc = curl_easy_setopt(c, CURLOPT_CAPATH, NULL)) != CURLE_OK))
		return rc;
	/* pinned addresses: a proxy would resolve the name itself */
	if (resolve != NULL &&
	    ((rc = curl_easy_setopt(c, CURLOPT_RESOLVE, resolve)) !=
	    CURLE_OK ||
	    (rc = curl_easy_setopt(c, CURLOPT_NOPROXY, "*")) != CURLE_OK))
		return rc;
	return CURLE_OK;
}

mailsec_err
gw_https_get(void *arg, const char *url, size_t max, int *status,
    char **body, size_t *len, char *why, size_t whysz)
{
	const struct gw_https *h = arg;
	struct https_body b = { NULL, 0, 0, 0, false, false };
	struct curl_slist *resolve = NULL;
	char errbuf[CURL_ERROR_SIZE];
	const char *ct = NULL;
	mailsec_err err = MAILSEC_OK;
	long code = 0;
	CURL *c = NULL;
	CURLcode rc;

	*status = 0;
	*body = NULL;
	*len = 0;
	if (h == NULL || max == 0 || max > (size_t)INT32_MAX) {
		https_why(why, whysz, "bad arguments");
		return MAILSEC_EINVAL;
	}
	b.max = max;
	errbuf[0] = '\0';
	if ((err = https_pin(h, url, &resolve, why, whysz)) != MAILSEC_OK)
		goto done;
	if ((c = curl_easy_init()) == NULL) {
		err = MAILSEC_ENOMEM;
		goto done;
	}
	if ((rc = https_setup(h, c, url, &b, resolve, errbuf)) != CURLE_OK) {
		https_why(why, whysz, "libcurl: %s", curl_easy_strerror(rc));
		err = MAILSEC_EUNSUPPORTED;
		goto done;
	}
	rc = curl_easy_perform(c);
	if (b.nomem) {
		err = MAILSEC_ENOMEM;
		goto done;
	}
	if (b.over || rc == CURLE_FILESIZE_EXCEEDED) {
		https_why(why, whysz, "the policy is larger than %zu bytes "
		    "(RFC 8461 3.3): transfer stopped", max);
		err = MAILSEC_ELIMIT;
		goto done;
	}
	if (rc != CURLE_OK) {
		err = https_failed(rc, errbuf, why, whysz);
		goto done;
	}
	if (curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code) != CURLE_OK ||
	    curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct) != CURLE_OK) {
		https_why(why, whysz, "no HTTP response");
		err = MAILSEC_EIO;
		goto done;
	}
	/* the type of an error page is not the policy's business */
	if (code >= 200 && code <= 299 && !https_text_plain(ct)) {
		https_why(why, whysz, "HTTP %ld with media type '%s', not "
		    "text/plain (RFC 8461 3.3)", code, ct != NULL ? ct :
		    "(none)");
		err = MAILSEC_EUNSUPPORTED;
		goto done;
	}
	if (b.ptr == NULL && (b.ptr = calloc(1, 1)) == NULL) {
		err = MAILSEC_ENOMEM;
		goto done;
	}
	*status = (int)code;
	*body = b.ptr;
	*len = b.len;
	b.ptr = NULL;
done:
	free(b.ptr);
	curl_slist_free_all(resolve);
	if (c != NULL)
		curl_easy_cleanup(c);
	return err;
}

/* The POST answer's body is not wanted; this much of it is read. */
#define HTTPS_POST_ANSWER_MAX 65536

mailsec_err
gw_https_post(struct gw_https *h, const char *url, const char *content_type,
    const void *body, size_t len, int *status, char *why, size_t whysz)
{
	struct https_body b = { NULL, 0, 0, HTTPS_POST_ANSWER_MAX, false,
	    false };
	struct curl_slist *resolve = NULL, *hdr = NULL;
	char errbuf[CURL_ERROR_SIZE], ctline[128];
	mailsec_err err = MAILSEC_OK;
	long code = 0;
	CURL *c = NULL;
	CURLcode rc;
	int w;

	*status = 0;
	if (h == NULL || content_type == NULL || (body == NULL && len > 0) ||
	    len > (size_t)INT32_MAX) {
		https_why(why, whysz, "bad arguments");
		return MAILSEC_EINVAL;
	}
	errbuf[0] = '\0';
	w = snprintf(ctline, sizeof ctline, "Content-Type: %s", content_type);
	if (w < 0 || (size_t)w >= sizeof ctline) {
		https_why(why, whysz, "content type too long");
		return MAILSEC_EINVAL;
	}
	if ((err = https_pin(h, url, &resolve, why, whysz)) != MAILSEC_OK)
		goto done;
	if ((c = curl_easy_init()) == NULL ||
	    (hdr = curl_slist_append(NULL, ctline)) == NULL) {
		err = MAILSEC_ENOMEM;
		goto done;
	}
	if ((rc = https_setup(h, c, url, &b, resolve, errbuf)) != CURLE_OK ||
	    (rc = curl_easy_setopt(c, CURLOPT_POST, 1L)) != CURLE_OK ||
	    (rc = curl_easy_setopt(c, CURLOPT_POSTFIELDS, body)) !=
	    CURLE_OK ||
	    (rc = curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)len)) != CURLE_OK ||
	    (rc = curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr)) !=
	    CURLE_OK) {
		https_why(why, whysz, "libcurl: %s", curl_easy_strerror(rc));
		err = MAILSEC_EUNSUPPORTED;
		goto done;
	}
	rc = curl_easy_perform(c);
	if (b.nomem) {
		err = MAILSEC_ENOMEM;
		goto done;
	}
	/* an answer too long to keep still answered */
	if (rc != CURLE_OK && !b.over && rc != CURLE_FILESIZE_EXCEEDED) {
		err = https_failed(rc, errbuf, why, whysz);
		goto done;
	}
	if (curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code) != CURLE_OK ||
	    code == 0) {
		https_why(why, whysz, "no HTTP response");
		err = MAILSEC_EIO;
		goto done;
	}
	*status = (int)code;
done:
	free(b.ptr);
	curl_slist_free_all(hdr);
	curl_slist_free_all(resolve);
	if (c != NULL)
		curl_easy_cleanup(c);
	return err;
}
