/*
 * server_tls: TLS for the SMTP server's sessions (see server.h): STARTTLS
 * (RFC 3207) on a plaintext connection, and the accepting bufferevent of
 * implicit TLS (port 465, RFC 8314). The handshake's deadline and the
 * CONNECTED event that turns TLS_HANDSHAKE into TLS_ON are server.c's.
 */
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/ssl.h>

#include "smtp/server_int.h"
#include "util/clock.h"

int srv_starttls_offered(const struct session *s)
{
	return s->srv->p.tls && !s->srv->p.implicit_tls && s->tls == TLS_NONE;
}

/* The 220 goes out in plaintext on the socket's bufferevent; the TLS
 * filter is put over it at once (the client speaks only after reading the
 * 220). Whatever the client sent behind STARTTLS is dropped, unread: it
 * came before TLS and must not be taken as a command of the TLS session
 * (CVE-2011-0411). The session starts over: no EHLO, no AUTH. srv_on_read
 * sees s->bev change and stops reading the old one. */
void srv_cmd_starttls(struct session *s, const char *arg)
{
	struct smtp_server *srv = s->srv;

	if (!srv->p.tls || srv->p.implicit_tls) {
		srv_reply(s, "502 5.5.2 command not implemented");
		s->bad++;
		return;
	}
	if (s->tls != TLS_NONE) {
		srv_reply(s, "503 5.5.1 TLS already active");
		s->bad++;
		return;
	}
	if (*arg) {
		srv_reply(s, "501 5.5.4 syntax: STARTTLS");
		s->bad++;
		return;
	}
	SSL *ssl = SSL_new(srv->p.tls);
	if (!ssl) {
		srv_reply(s, "454 4.7.0 TLS not available due to temporary reason");
		return;
	}
	srv_reply(s, "220 2.0.0 Ready to start TLS");
	struct evbuffer *in = bufferevent_get_input(s->bev);
	evbuffer_drain(in, evbuffer_get_length(in));
	struct bufferevent *tls = bufferevent_openssl_filter_new(
	    srv->p.base, s->bev, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (!tls) {
		SSL_free(ssl);
		srv_closing(s);
		return;
	}
	s->bev = tls;
	s->tls = TLS_HANDSHAKE;
	srv_reset_transaction(s);
	srv_forget_auth(s);
	s->state = SS_GREET;
	s->line_ms = clock_mono_ms(); /* the handshake has idle_ms, like a line */
	s->last_crlf = 1;
	bufferevent_openssl_set_allow_dirty_shutdown(tls, 1);
	bufferevent_setcb(tls, srv_on_read, srv_on_write, srv_on_event, s);
	bufferevent_setwatermark(tls, EV_READ, 0, SMTP_SERVER_DATA_LINE_MAX + 1024);
	bufferevent_enable(tls, EV_READ | EV_WRITE);
}

struct bufferevent *srv_tls_accept(struct smtp_server *srv, evutil_socket_t fd)
{
	SSL *ssl = SSL_new(srv->p.tls);
	struct bufferevent *bev =
	    ssl ? bufferevent_openssl_socket_new(srv->p.base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
	                                         BEV_OPT_CLOSE_ON_FREE)
	        : NULL;

	if (bev)
		bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	else if (ssl)
		SSL_free(ssl);
	return bev;
}
