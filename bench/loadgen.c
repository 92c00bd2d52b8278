/*
 * loadgen: the benchmark's client for SMTP submission and the HTTP API
 * (bench/submission.py builds and runs it). One thread per connection,
 * blocking sockets: each connection is opened (EHLO, STARTTLS, AUTH PLAIN)
 * before the clock starts, then sends messages over it until N are done.
 *
 *   loadgen smtp --host IP --port P [--conns 50] [--n 20000] [--rate R]
 *                [--user U --pass P] [--starttls] [--from ADDR] [--size 2048]
 *   loadgen http --host IP --port P [...] --key API_KEY
 *
 * SMTP: MAIL, RCPT and DATA in one write (PIPELINING), then the message and
 * its final "." in one write; the latency is from that write to the 250.
 * HTTP: POST /v1/messages on a keep-alive connection with a JSON body
 * {"from", "to", "raw"}; the latency is from the request's write to the
 * end of the response (202).
 * --rate R paces the clients: message k is sent no earlier than k/R s
 * after the start (0: as fast as the server answers).
 * Recipients: user<k>@d<k % 1000>.bench.test.
 *
 * Prints key=value lines: ok, failed, seconds (start to the last answer),
 * rate, p50_ms, p90_ms, p99_ms, p999_ms, max_ms (from the final "." or
 * the request to the answer), txn_p50_ms, txn_p99_ms (SMTP: from MAIL to
 * the 250 after the dot), setup_s, cpu_s (this process, user + system,
 * during the measured part); and first of all, as soon as the clock starts,
 * t0 (CLOCK_MONOTONIC seconds, for the caller's own measurements).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static struct {
	int http;
	const char *host, *user, *pass, *from, *key;
	int port, conns, n, size, starttls;
	double rate;
} opt = {.host = "127.0.0.1",
         .port = 587,
         .conns = 50,
         .n = 20000,
         .size = 2048,
         .from = "news@news.sluice.test"};

static SSL_CTX *ctx;
static pthread_barrier_t ready, go;
static atomic_int next_k, nfailed, nready_failed;
static double t0;
static double *lat;     /* per message, ms; NAN when it failed */
static double *done_at; /* per message, when it was answered */
static double *txn_lat; /* per message, ms from MAIL (or the request) to the last answer */
static char *body;      /* the message after its headers, CRLF, without the dot */
static size_t body_len;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sleep_until(double t)
{
	struct timespec ts = {(time_t)t, (long)((t - (time_t)t) * 1e9)};
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

/* ---- a connection: a socket, maybe TLS, a read buffer ---- */

struct conn {
	int fd;
	SSL *ssl;
	char buf[16384];
	size_t r, w;
};

static int c_write(struct conn *c, const char *p, size_t n)
{
	while (n) {
		ssize_t k = c->ssl ? SSL_write(c->ssl, p, (int)n) : write(c->fd, p, n);
		if (k <= 0) {
			if (!c->ssl && k < 0 && errno == EINTR)
				continue;
			return -1;
		}
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

static int c_fill(struct conn *c)
{
	if (c->r == c->w)
		c->r = c->w = 0;
	else if (c->w == sizeof(c->buf)) {
		memmove(c->buf, c->buf + c->r, c->w - c->r);
		c->w -= c->r;
		c->r = 0;
	}
	ssize_t k = c->ssl ? SSL_read(c->ssl, c->buf + c->w, (int)(sizeof(c->buf) - c->w))
	                   : read(c->fd, c->buf + c->w, sizeof(c->buf) - c->w);
	if (k <= 0)
		return -1;
	c->w += (size_t)k;
	return 0;
}

/* One line without its CRLF into out (truncated to n). */
static int c_line(struct conn *c, char *out, size_t n)
{
	for (;;) {
		char *nl = memchr(c->buf + c->r, '\n', c->w - c->r);
		if (nl) {
			size_t len = (size_t)(nl - (c->buf + c->r));
			size_t k = len && nl[-1] == '\r' ? len - 1 : len;
			if (k >= n)
				k = n - 1;
			memcpy(out, c->buf + c->r, k);
			out[k] = 0;
			c->r += len + 1;
			return 0;
		}
		if (c_fill(c) != 0)
			return -1;
	}
}

/* An SMTP reply's code (the last line's text in text), or -1. */
static int smtp_reply(struct conn *c, char *text, size_t n)
{
	for (;;) {
		if (c_line(c, text, n) != 0 || strlen(text) < 3)
			return -1;
		if (text[3] != '-')
			return atoi(text);
	}
}

static int c_read_n(struct conn *c, size_t n)
{
	while (n) {
		if (c->r == c->w && c_fill(c) != 0)
			return -1;
		size_t k = c->w - c->r < n ? c->w - c->r : n;
		c->r += k;
		n -= k;
	}
	return 0;
}

static void warnx(const char *fmt, ...)
{
	static atomic_int said;
	if (atomic_fetch_add(&said, 1) >= 10)
		return;
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int c_open(struct conn *c)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(opt.port)};
	int one = 1;

	memset(c, 0, sizeof(*c));
	inet_pton(AF_INET, opt.host, &sa.sin_addr);
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		warnx("connect %s:%d: %s", opt.host, opt.port, strerror(errno));
		return -1;
	}
	return 0;
}

static int c_tls(struct conn *c)
{
	c->ssl = SSL_new(ctx);
	SSL_set_fd(c->ssl, c->fd);
	if (SSL_connect(c->ssl) != 1) {
		warnx("TLS handshake failed");
		return -1;
	}
	return 0;
}

static void c_close(struct conn *c)
{
	if (c->ssl) {
		SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
	}
	close(c->fd);
}

/* ---- SMTP ---- */

static int smtp_setup(struct conn *c)
{
	char t[1024], cmd[1200];

	if (c_open(c) != 0 || smtp_reply(c, t, sizeof(t)) != 220)
		return -1;
	if (c_write(c, "EHLO loadgen.bench.test\r\n", 25) != 0 ||
	    smtp_reply(c, t, sizeof(t)) != 250)
		return -1;
	if (opt.starttls) {
		if (c_write(c, "STARTTLS\r\n", 10) != 0 || smtp_reply(c, t, sizeof(t)) != 220 ||
		    c_tls(c) != 0)
			return -1;
		if (c_write(c, "EHLO loadgen.bench.test\r\n", 25) != 0 ||
		    smtp_reply(c, t, sizeof(t)) != 250)
			return -1;
	}
	if (opt.user) {
		/* AUTH PLAIN: base64 of NUL user NUL password */
		unsigned char raw[600];
		size_t ul = strlen(opt.user), pl = strlen(opt.pass);
		raw[0] = 0;
		memcpy(raw + 1, opt.user, ul);
		raw[1 + ul] = 0;
		memcpy(raw + 2 + ul, opt.pass, pl);
		char b64[900];
		EVP_EncodeBlock((unsigned char *)b64, raw, (int)(2 + ul + pl));
		int n = snprintf(cmd, sizeof(cmd), "AUTH PLAIN %s\r\n", b64);
		int code;
		if (c_write(c, cmd, (size_t)n) != 0 ||
		    (code = smtp_reply(c, t, sizeof(t))) != 235) {
			warnx("AUTH: %s", t);
			return -1;
		}
	}
	return 0;
}

static void rcpt_of(int k, char *out, size_t n)
{
	snprintf(out, n, "user%d@d%d.bench.test", k, k % 1000);
}

static int smtp_send(struct conn *c, int k)
{
	char rcpt[64], env[512], t[1024], head[512];
	int code;

	rcpt_of(k, rcpt, sizeof(rcpt));
	int n = snprintf(env, sizeof(env), "MAIL FROM:<%s>\r\nRCPT TO:<%s>\r\nDATA\r\n", opt.from,
	                 rcpt);
	double t0m = now();
	if (c_write(c, env, (size_t)n) != 0)
		return -1;
	int c1 = smtp_reply(c, t, sizeof(t));
	int c2 = c1 < 0 ? -1 : smtp_reply(c, t, sizeof(t));
	int c3 = c2 < 0 ? -1 : smtp_reply(c, t, sizeof(t));
	if (c3 < 0)
		return -1;
	if (c1 != 250 || c2 != 250 || c3 != 354) {
		warnx("message %d: %d %d %d %s", k, c1, c2, c3, t);
		if (c3 == 354 && c_write(c, ".\r\n", 3) == 0)
			smtp_reply(c, t, sizeof(t));
		if (c_write(c, "RSET\r\n", 6) != 0 || smtp_reply(c, t, sizeof(t)) < 0)
			return -1;
		return 1;
	}
	int h = snprintf(head, sizeof(head),
	                 "From: <%s>\r\nTo: <%s>\r\nSubject: Benchmark message %d\r\n\r\n",
	                 opt.from, rcpt, k);
	/* the whole message and its dot in one write */
	char *msg = malloc((size_t)h + body_len + 8);
	memcpy(msg, head, (size_t)h);
	memcpy(msg + h, body, body_len);
	memcpy(msg + h + body_len, ".\r\n", 3);
	double t1 = now();
	int rc = c_write(c, msg, (size_t)h + body_len + 3);
	free(msg);
	if (rc != 0 || (code = smtp_reply(c, t, sizeof(t))) < 0)
		return -1;
	double t2 = now();
	if (code != 250) {
		warnx("message %d: after the dot: %s", k, t);
		return 1;
	}
	lat[k] = (t2 - t1) * 1e3;
	txn_lat[k] = (t2 - t0m) * 1e3;
	done_at[k] = t2;
	return 0;
}

/* ---- HTTP ---- */

static char *json_escape(const char *s, size_t n, size_t *out_len)
{
	char *o = malloc(n * 2 + 1), *p = o;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (ch == '\r')
			*p++ = '\\', *p++ = 'r';
		else if (ch == '\n')
			*p++ = '\\', *p++ = 'n';
		else if (ch == '"' || ch == '\\')
			*p++ = '\\', *p++ = ch;
		else
			*p++ = ch;
	}
	*out_len = (size_t)(p - o);
	return o;
}

static char *ebody; /* the body, JSON-escaped */
static size_t ebody_len;

static int http_send(struct conn *c, int k)
{
	char rcpt[64], head[512], t[1024], req[1024];
	size_t hl;

	rcpt_of(k, rcpt, sizeof(rcpt));
	int h = snprintf(head, sizeof(head),
	                 "From: <%s>\r\nTo: <%s>\r\nSubject: Benchmark message %d\r\n\r\n",
	                 opt.from, rcpt, k);
	char *eh = json_escape(head, (size_t)h, &hl);
	char pre[256];
	int pl = snprintf(pre, sizeof(pre), "{\"from\":\"%s\",\"to\":[\"%s\"],\"raw\":\"", opt.from,
	                  rcpt);
	size_t clen = (size_t)pl + hl + ebody_len + 2;
	int rl = snprintf(req, sizeof(req),
	                  "POST /v1/messages HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"
	                  "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
	                  opt.host, opt.key, clen);
	size_t total = (size_t)rl + clen;
	char *msg = malloc(total), *p = msg;
	memcpy(p, req, (size_t)rl), p += rl;
	memcpy(p, pre, (size_t)pl), p += pl;
	memcpy(p, eh, hl), p += hl;
	memcpy(p, ebody, ebody_len), p += ebody_len;
	memcpy(p, "\"}", 2);
	free(eh);
	double t1 = now();
	int rc = c_write(c, msg, total);
	free(msg);
	if (rc != 0 || c_line(c, t, sizeof(t)) != 0)
		return -1;
	int status = strlen(t) > 12 ? atoi(t + 9) : -1;
	char status_line[256];
	snprintf(status_line, sizeof(status_line), "%s", t);
	long len = 0;
	int close_after = 0;
	for (;;) {
		if (c_line(c, t, sizeof(t)) != 0)
			return -1;
		if (!t[0])
			break;
		if (strncasecmp(t, "Content-Length:", 15) == 0)
			len = atol(t + 15);
		if (strncasecmp(t, "Connection:", 11) == 0 && strstr(t + 11, "close"))
			close_after = 1;
	}
	size_t from = c->r;
	if (c_read_n(c, (size_t)len) != 0)
		return -1;
	double t2 = now();
	if (status != 202) {
		/* the body was consumed; show its start when it is still in the buffer */
		warnx("message %d: %s %.*s", k, status_line,
		      (int)(c->r >= from && c->r - from < 300 ? c->r - from : 0), c->buf + from);
		return close_after ? -1 : 1;
	}
	lat[k] = txn_lat[k] = (t2 - t1) * 1e3;
	done_at[k] = t2;
	return close_after ? 2 : 0;
}

/* ---- the clients ---- */

static void *client(void *arg)
{
	struct conn *c = calloc(1, sizeof(*c));
	int ok = opt.http ? c_open(c) : smtp_setup(c);

	(void)arg;
	if (ok != 0)
		atomic_fetch_add(&nready_failed, 1);
	pthread_barrier_wait(&ready);
	pthread_barrier_wait(&go); /* t0 is set */
	if (ok != 0) {
		free(c);
		return NULL;
	}
	for (;;) {
		int k = atomic_fetch_add(&next_k, 1);
		if (k >= opt.n)
			break;
		if (opt.rate > 0)
			sleep_until(t0 + k / opt.rate);
		int rc = opt.http ? http_send(c, k) : smtp_send(c, k);
		if (rc != 0 && rc != 2)
			atomic_fetch_add(&nfailed, 1);
		if (rc < 0 || rc == 2) { /* the connection is gone: a new one */
			c_close(c);
			if ((opt.http ? c_open(c) : smtp_setup(c)) != 0) {
				warnx("a client could not reconnect");
				break;
			}
		}
	}
	if (!opt.http && c_write(c, "QUIT\r\n", 6) == 0) {
		char t[256];
		smtp_reply(c, t, sizeof(t));
	}
	c_close(c);
	free(c);
	return NULL;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double pct(const double *v, size_t n, double p)
{
	if (!n)
		return NAN;
	size_t i = (size_t)ceil(p * n) - 1;
	return v[i >= n ? n - 1 : i];
}

static double cpu_now(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec / 1e6;
}

static void usage(void)
{
	fprintf(stderr, "usage: loadgen smtp|http --host IP --port P [--conns N] [--n N] "
	                "[--rate R] [--user U --pass P] [--starttls] [--key K] [--from A] "
	                "[--size B]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	opt.http = strcmp(argv[1], "http") == 0;
	if (!opt.http && strcmp(argv[1], "smtp") != 0)
		usage();
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--starttls") == 0) {
			opt.starttls = 1;
			continue;
		}
		if (!v)
			usage();
		i++;
		if (strcmp(a, "--host") == 0)
			opt.host = v;
		else if (strcmp(a, "--port") == 0)
			opt.port = atoi(v);
		else if (strcmp(a, "--conns") == 0)
			opt.conns = atoi(v);
		else if (strcmp(a, "--n") == 0)
			opt.n = atoi(v);
		else if (strcmp(a, "--rate") == 0)
			opt.rate = atof(v);
		else if (strcmp(a, "--user") == 0)
			opt.user = v;
		else if (strcmp(a, "--pass") == 0)
			opt.pass = v;
		else if (strcmp(a, "--key") == 0)
			opt.key = v;
		else if (strcmp(a, "--from") == 0)
			opt.from = v;
		else if (strcmp(a, "--size") == 0)
			opt.size = atoi(v);
		else
			usage();
	}
	if ((opt.user && !opt.pass) || (opt.http && !opt.key) || opt.conns < 1 || opt.n < 1)
		usage();

	/* the body: lines of text up to about size bytes with the headers */
	size_t cap = (size_t)opt.size + 200;
	body = malloc(cap);
	body_len = 0;
	while (body_len + 100 < (size_t)opt.size - 100) {
		int k = snprintf(
		    body + body_len, cap - body_len,
		    "The quick brown fox jumps over the lazy dog, line %zu of the body.\r\n",
		    body_len / 70);
		body_len += (size_t)k;
	}
	ebody = json_escape(body, body_len, &ebody_len);

	ctx = SSL_CTX_new(TLS_client_method());
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	lat = malloc(sizeof(double) * (size_t)opt.n);
	done_at = malloc(sizeof(double) * (size_t)opt.n);
	txn_lat = malloc(sizeof(double) * (size_t)opt.n);
	for (int i = 0; i < opt.n; i++)
		lat[i] = done_at[i] = txn_lat[i] = NAN;
	pthread_barrier_init(&ready, NULL, (unsigned)opt.conns + 1);
	pthread_barrier_init(&go, NULL, (unsigned)opt.conns + 1);
	pthread_t *th = calloc((size_t)opt.conns, sizeof(*th));
	double s0 = now();
	for (int i = 0; i < opt.conns; i++) {
		pthread_attr_t at;
		pthread_attr_init(&at);
		pthread_attr_setstacksize(&at, 256 * 1024);
		pthread_create(&th[i], &at, client, NULL);
		pthread_attr_destroy(&at);
	}
	/* every client connected (and authenticated): the clock starts, then they go */
	pthread_barrier_wait(&ready);
	t0 = now();
	double setup_done = t0;
	printf("t0=%.6f\n", t0); /* first, at once: the caller's measurements start here */
	fflush(stdout);
	pthread_barrier_wait(&go);
	double cpu0 = cpu_now();
	for (int i = 0; i < opt.conns; i++)
		pthread_join(th[i], NULL);
	double cpu1 = cpu_now();

	double *v = malloc(sizeof(double) * (size_t)opt.n);
	double *txn = malloc(sizeof(double) * (size_t)opt.n);
	size_t ok = 0;
	double last = t0;
	for (int i = 0; i < opt.n; i++)
		if (!isnan(lat[i])) {
			txn[ok] = txn_lat[i];
			v[ok++] = lat[i];
			if (done_at[i] > last)
				last = done_at[i];
		}
	qsort(v, ok, sizeof(double), cmp);
	double secs = last - t0;
	printf("ok=%zu\nfailed=%d\nclients_not_ready=%d\nseconds=%.3f\nrate=%.1f\n", ok,
	       atomic_load(&nfailed), atomic_load(&nready_failed), secs, secs > 0 ? ok / secs : 0);
	printf("p50_ms=%.3f\np90_ms=%.3f\np99_ms=%.3f\np999_ms=%.3f\nmax_ms=%.3f\n",
	       pct(v, ok, 0.50), pct(v, ok, 0.90), pct(v, ok, 0.99), pct(v, ok, 0.999),
	       ok ? v[ok - 1] : NAN);
	qsort(txn, ok, sizeof(double), cmp);
	printf("txn_p50_ms=%.3f\ntxn_p99_ms=%.3f\n", pct(txn, ok, 0.50), pct(txn, ok, 0.99));
	printf("setup_s=%.3f\ncpu_s=%.3f\n", setup_done - s0, cpu1 - cpu0);
	return ok ? 0 : 1;
}
