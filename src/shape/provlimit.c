/* provlimit: see provlimit.h. */
#include "shape/provlimit.h"

#include <limits.h>

void provlimit_init(struct provlimit *p, int max_connections, double message_rate,
                    double connection_rate, int64_t now_ms)
{
	p->open = 0;
	p->learned_rate = 0;
	p->max_connections = max_connections;
	p->message_rate = message_rate;
	p->connection_rate = connection_rate;
	bucket_init(&p->messages, message_rate, now_ms);
	bucket_init(&p->connections, connection_rate, now_ms);
}

void provlimit_set(struct provlimit *p, int max_connections, double message_rate,
                   double connection_rate, int64_t now_ms)
{
	p->max_connections = max_connections;
	p->message_rate = message_rate;
	p->connection_rate = connection_rate;
	bucket_set_rate(&p->messages, provlimit_message_rate(p), now_ms);
	bucket_set_rate(&p->connections, connection_rate, now_ms);
}

double provlimit_message_rate(const struct provlimit *p)
{
	double r = p->message_rate;

	if (p->learned_rate > 0 && (r <= 0 || p->learned_rate < r))
		r = p->learned_rate;
	return r;
}

void provlimit_set_learned(struct provlimit *p, double learned_rate, int64_t now_ms)
{
	p->learned_rate = learned_rate > 0 ? learned_rate : 0;
	bucket_set_rate(&p->messages, provlimit_message_rate(p), now_ms);
}

int64_t provlimit_connection_wait(struct provlimit *p, int64_t now_ms)
{
	if (p->max_connections > 0 && p->open >= p->max_connections)
		return PROVLIMIT_FULL;
	return bucket_peek(&p->connections, now_ms);
}

void provlimit_connection_take(struct provlimit *p, int64_t now_ms)
{
	p->open++;
	(void)bucket_take(&p->connections, now_ms);
}

void provlimit_connection_closed(struct provlimit *p)
{
	if (p->open > 0)
		p->open--;
}

int64_t provlimit_message_wait(struct provlimit *p, int64_t now_ms)
{
	return bucket_peek(&p->messages, now_ms);
}

void provlimit_message_take(struct provlimit *p, int64_t now_ms)
{
	(void)bucket_take(&p->messages, now_ms);
}

int provlimit_connection_room(struct provlimit *p, int64_t now_ms)
{
	int room = p->max_connections > 0 ? p->max_connections - p->open : INT_MAX;
	if (room <= 0 || p->connection_rate <= 0)
		return room > 0 ? room : 0;
	int tokens = bucket_peek(&p->connections, now_ms) == 0 ? (int)p->connections.tokens : 0;
	return tokens < room ? tokens : room;
}

int provlimit_message_room(struct provlimit *p, int64_t now_ms)
{
	if (provlimit_message_rate(p) <= 0)
		return INT_MAX;
	return bucket_peek(&p->messages, now_ms) == 0 ? (int)p->messages.tokens : 0;
}
