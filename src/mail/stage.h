/*
 * stage: where in a delivery a reply or outcome came from, as one enum with
 * one name table. The first stages are the SMTP dialogue (smtp/client.h
 * reports them); the others are sluice's own steps (dns, render, load,
 * expiry: a recipient's own expiry ended it unsent), a
 * reply read later from a bounce (dsn), and the non-reply records of the
 * delivery log (warmup, monitor, inbound). The names are the strings the
 * delivery log prints and the config's rules name (docs/delivery-log.md);
 * the hot path compares the enum, names are parsed only from config.
 *
 * STAGE_CONNECT is 0 on purpose: a zeroed SMTP result is a connection
 * failure. Rules that match "any stage" hold a mask (stage_bit), 0 = any.
 */
#ifndef SLUICE_MAIL_STAGE_H
#define SLUICE_MAIL_STAGE_H

enum stage {
	/* the SMTP dialogue */
	STAGE_CONNECT = 0,
	STAGE_BANNER,
	STAGE_EHLO,
	STAGE_STARTTLS,
	STAGE_MAIL,
	STAGE_RCPT,
	STAGE_DATA,
	STAGE_DOT,
	STAGE_RSET,
	STAGE_QUIT,
	/* sluice's own steps, and a reply reported later */
	STAGE_DNS,
	STAGE_RENDER,
	STAGE_LOAD,
	STAGE_EXPIRY,
	STAGE_DSN,
	/* delivery-log records that are not a reply */
	STAGE_WARMUP,
	STAGE_MONITOR,
	STAGE_INBOUND,
	STAGE_COUNT
};

/* The stage's static name ("rcpt"); never NULL for a valid stage. */
const char *stage_name(enum stage s);
/* The stage named s: 0 and *out set, or -1 if s names none. */
int stage_parse(const char *s, enum stage *out);
/* The stages a config rule (reply rule, classify rule) may name: connect,
 * banner, ehlo, starttls, mail, rcpt, data, dot, dns, render, dsn. */
int stage_in_rules(enum stage s);

/* A set of stages for matching: 0 means any stage. */
#define stage_bit(s)            (1u << (unsigned)(s))
#define stage_mask_has(mask, s) (!(mask) || ((mask)&stage_bit(s)))

#endif
