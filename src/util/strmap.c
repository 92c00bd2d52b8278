/* strmap: open addressing with linear probing and backward-shift deletion. */
#include "util/strmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/xmalloc.h"

struct slot {
	char *key;
	void *value;
	uint32_t hash;
};

struct strmap {
	struct slot *slots;
	size_t cap; /* a power of two */
	size_t count;
};

static uint32_t hash(const char *s)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

struct strmap *strmap_new(void)
{
	struct strmap *m = xcalloc(1, sizeof(*m));
	m->cap = 16;
	m->slots = xcalloc(m->cap, sizeof(struct slot));
	return m;
}

void strmap_free(struct strmap *m, void (*free_value)(void *))
{
	if (!m)
		return;
	for (size_t i = 0; i < m->cap; i++) {
		if (!m->slots[i].key)
			continue;
		free(m->slots[i].key);
		if (free_value)
			free_value(m->slots[i].value);
	}
	free(m->slots);
	free(m);
}

static size_t find(const struct strmap *m, const char *key, uint32_t h)
{
	size_t i = h & (m->cap - 1);
	while (m->slots[i].key && (m->slots[i].hash != h || strcmp(m->slots[i].key, key) != 0))
		i = (i + 1) & (m->cap - 1);
	return i;
}

void *strmap_get(const struct strmap *m, const char *key)
{
	struct slot *s = &m->slots[find(m, key, hash(key))];
	return s->key ? s->value : NULL;
}

static void grow(struct strmap *m)
{
	struct slot *old = m->slots;
	size_t oldcap = m->cap;

	m->cap *= 2;
	m->slots = xcalloc(m->cap, sizeof(struct slot));
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].key)
			m->slots[find(m, old[i].key, old[i].hash)] = old[i];
	free(old);
}

void *strmap_put(struct strmap *m, const char *key, void *value)
{
	if ((m->count + 1) * 4 > m->cap * 3)
		grow(m);
	uint32_t h = hash(key);
	struct slot *s = &m->slots[find(m, key, h)];
	if (s->key) {
		void *prev = s->value;
		s->value = value;
		return prev;
	}
	s->key = xstrdup(key);
	s->hash = h;
	s->value = value;
	m->count++;
	return NULL;
}

void *strmap_remove(struct strmap *m, const char *key)
{
	size_t i = find(m, key, hash(key));
	if (!m->slots[i].key)
		return NULL;
	void *value = m->slots[i].value;
	free(m->slots[i].key);
	m->slots[i].key = NULL;
	m->count--;
	/* Shift back the entries of the probe run that follows. */
	size_t j = i;
	for (;;) {
		j = (j + 1) & (m->cap - 1);
		if (!m->slots[j].key)
			break;
		size_t home = m->slots[j].hash & (m->cap - 1);
		int between = (i <= j) ? (i < home && home <= j) : (i < home || home <= j);
		if (between)
			continue;
		m->slots[i] = m->slots[j];
		m->slots[j].key = NULL;
		i = j;
	}
	return value;
}

size_t strmap_count(const struct strmap *m)
{
	return m->count;
}

int strmap_next(const struct strmap *m, size_t *pos, const char **key, void **value)
{
	while (*pos < m->cap) {
		struct slot *s = &m->slots[(*pos)++];
		if (s->key) {
			*key = s->key;
			*value = s->value;
			return 1;
		}
	}
	return 0;
}
