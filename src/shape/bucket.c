/* bucket: see bucket.h. */
#include "shape/bucket.h"

static double burst_of(double per_second)
{
	return per_second > 1.0 ? per_second : 1.0;
}

static void refill(struct bucket *b, int64_t now_ms)
{
	if (now_ms > b->last_ms) {
		b->tokens += (double)(now_ms - b->last_ms) * b->per_ms;
		if (b->tokens > b->burst)
			b->tokens = b->burst;
	}
	b->last_ms = now_ms;
}

void bucket_init(struct bucket *b, double per_second, int64_t now_ms)
{
	b->per_ms = per_second / 1000.0;
	b->burst = burst_of(per_second);
	b->tokens = b->burst;
	b->last_ms = now_ms;
}

void bucket_set_rate(struct bucket *b, double per_second, int64_t now_ms)
{
	refill(b, now_ms);
	b->per_ms = per_second / 1000.0;
	b->burst = burst_of(per_second);
	if (b->tokens > b->burst)
		b->tokens = b->burst;
}

int64_t bucket_peek(struct bucket *b, int64_t now_ms)
{
	if (b->per_ms <= 0)
		return 0;
	refill(b, now_ms);
	if (b->tokens >= 1.0)
		return 0;
	int64_t wait = (int64_t)((1.0 - b->tokens) / b->per_ms) + 1;
	return wait > 0 ? wait : 1;
}

int64_t bucket_take(struct bucket *b, int64_t now_ms)
{
	if (b->per_ms <= 0)
		return 0;
	refill(b, now_ms);
	if (b->tokens >= 1.0) {
		b->tokens -= 1.0;
		return 0;
	}
	int64_t wait = (int64_t)((1.0 - b->tokens) / b->per_ms) + 1;
	return wait > 0 ? wait : 1;
}
