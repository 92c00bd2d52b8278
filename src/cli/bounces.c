/*
 * sluice bounces: read bounces and feedback reports outside the listener.
 *   parse FILE...   prints what each message is (JSON), changes nothing;
 *   import PATH...  processes a Maildir, an mbox or single message files the
 *                   way `serve` would (suppression and the delivery log), for
 *                   senders whose bounces land in a mailbox.
 * Exit status: 0 done; 2 usage, config or state error.
 */
#include <dirent.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mail/classify.h"
#include "inbound/inbound.h"
#include "bounce/json.h"
#include "bounce/parse.h"
#include "cli/cli.h"
#include "engine/env.h"
#include "store/suppress.h"
#include "mail/config.h"
#include "dlog/dlog.h"
#include "store/store.h"
#include "util/log.h"
#include "util/strbuf.h"

#define MESSAGE_MAX (50 * 1024 * 1024)

static int read_file(const char *path, struct strbuf *out)
{
	FILE *f = fopen(path, "rb");
	char buf[65536];
	size_t n;

	strbuf_reset(out);
	if (!f)
		return -1;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0 && out->len < MESSAGE_MAX)
		strbuf_add(out, buf, n);
	fclose(f);
	return 0;
}

static int cmd_parse(int argc, char **argv)
{
	struct classifier *cls;
	struct err e;
	struct strbuf msg = STRBUF_INIT;
	int rc = 0;

	if (argc < 2)
		return cli_usage("bounces", stderr);
	if (classifier_new(NULL, 0, &cls, &e) != 0) {
		log_error("%s", e.msg);
		return EXIT_USAGE;
	}
	struct bounce_report *r = malloc(sizeof(*r));
	for (int i = 1; i < argc && r; i++) {
		if (read_file(argv[i], &msg) != 0) {
			log_error("%s: cannot read: %m", argv[i]);
			rc = EXIT_USAGE;
			continue;
		}
		bounce_parse(msg.data ? msg.data : "", msg.len, r);
		char *s = bounce_json(r, cls);
		printf("%s\n", s);
		free(s);
	}
	free(r);
	strbuf_free(&msg);
	classifier_free(cls);
	return rc;
}

/* ---- import ---- */

struct tally {
	long messages, found, suppressed, failed;
	long kinds[8];
	const char *names[8];
};

static void count(struct tally *t, const struct inbound_result *res)
{
	t->messages++;
	t->found += res->recipient[0] != '\0';
	t->suppressed += res->action && strcmp(res->action, "strike") != 0 &&
	                 strcmp(res->action, "soft_bounce") != 0 &&
	                 strcmp(res->action, "cleared") != 0;
	for (int i = 0; i < 8; i++) {
		if (!t->names[i])
			t->names[i] = res->kind;
		if (strcmp(t->names[i], res->kind) == 0) {
			t->kinds[i]++;
			return;
		}
	}
}

static int import_one(struct inbound *in, const char *where, const char *data, size_t len,
                      struct tally *t)
{
	struct inbound_result res;
	struct err e;
	size_t nres;

	if (inbound_process(in, NULL, 0, NULL, data, len, &res, 1, &nres, &e) != 0) {
		log_error("%s: %s", where, e.msg);
		t->failed++;
		return -1;
	}
	count(t, &res);
	return 0;
}

/* An mbox: messages start at "From " lines (at the start or after a blank line). */
static int import_mbox(struct inbound *in, const char *path, const struct strbuf *b,
                       struct tally *t)
{
	const char *p = b->data, *end = b->data + b->len, *start = NULL;
	int n = 0;

	for (const char *line = p; line < end;) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		const char *next = nl ? nl + 1 : end;
		if (end - line >= 5 && memcmp(line, "From ", 5) == 0 &&
		    (line == p || (line - p >= 2 && line[-2] == '\n'))) {
			if (start && import_one(in, path, start, (size_t)(line - start), t) != 0)
				return -1;
			start = next, n++;
		}
		line = next;
	}
	if (start && start < end)
		return import_one(in, path, start, (size_t)(end - start), t);
	return n ? 0 : import_one(in, path, p, b->len, t);
}

static int import_path(struct inbound *in, const char *path, struct tally *t, int depth)
{
	struct stat sb;
	struct strbuf b = STRBUF_INIT;
	int rc = 0;

	if (stat(path, &sb) != 0) {
		log_error("%s: %m", path);
		return -1;
	}
	if (S_ISDIR(sb.st_mode) && depth < 2) { /* a Maildir (cur/, new/) or a directory of files */
		struct dirent **ents;
		int n = scandir(path, &ents, NULL, alphasort);
		for (int i = 0; i < n; i++) {
			char sub[4096];
			if (ents[i]->d_name[0] != '.' && strcmp(ents[i]->d_name, "tmp") != 0 &&
			    rc == 0) {
				snprintf(sub, sizeof(sub), "%s/%s", path, ents[i]->d_name);
				rc = import_path(in, sub, t, depth + 1);
			}
			free(ents[i]);
		}
		free(ents);
		return n < 0 ? -1 : rc;
	}
	if (!S_ISREG(sb.st_mode) || read_file(path, &b) != 0)
		return 0;
	rc = import_mbox(in, path, &b, t);
	strbuf_free(&b);
	if (t->messages % 1000 == 0 && t->messages)
		log_info("imported %ld messages...", t->messages);
	return rc;
}

static int cmd_import(int argc, char **argv)
{
	static const struct option longopts[] = {{"config", required_argument, NULL, 'c'},
	                                         {"state", required_argument, NULL, 's'},
	                                         {NULL, 0, NULL, 0}};
	const char *config = NULL, *state = NULL;
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:s:", longopts, NULL)) != -1) {
		if (ch == 'c')
			config = optarg;
		else if (ch == 's')
			state = optarg;
		else
			return EXIT_USAGE;
	}
	if (!config || optind >= argc)
		return cli_usage("bounces", stderr);
	struct config cfg;
	struct err e;
	struct store *st = NULL;
	struct suppress *sp = NULL;
	struct dlog *log = NULL;
	struct classifier *cls = NULL;
	int rc = EXIT_USAGE;
	if (config_load(config, &cfg, &e) != 0) {
		log_error("config: %s", e.msg);
		config_free(&cfg);
		return EXIT_USAGE;
	}
	const char *dir = state ? state : cfg.state_dir ? cfg.state_dir : "sluice-state";
	if (store_open(dir, &st, &e) != 0 || suppress_open(dir, &sp, &e) != 0 ||
	    dlog_open(dir, &log, &e) != 0 ||
	    classifier_new(cfg.classify, cfg.nclassify, &cls, &e)) {
		log_error("%s", e.msg);
	} else {
		struct inbound in;
		inbound_init(&in, &cfg, st, sp, log, cls);
		in.log_all = 1; /* the operator's own mailbox: every message is logged */
		in.sink = (struct monitor_sink){cli_print_sign, NULL};
		struct tally t = {0};
		rc = 0;
		for (int i = optind; i < argc && rc == 0; i++)
			if (import_path(&in, argv[i], &t, 0) != 0)
				rc = EXIT_USAGE;
		printf("%-22s %9s\n", "kind", "messages");
		for (int i = 0; i < 8 && t.names[i]; i++)
			printf("%-22s %9ld\n", t.names[i], t.kinds[i]);
		printf("%-22s %9ld\n%-22s %9ld\n%-22s %9ld\n", "total", t.messages,
		       "recipient found", t.found, "suppressed", t.suppressed);
	}
	classifier_free(cls);
	dlog_close(log);
	suppress_close(sp);
	store_close(st);
	config_free(&cfg);
	return rc;
}

int cli_bounces(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "parse") == 0)
		return cmd_parse(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "import") == 0)
		return cmd_import(argc - 1, argv + 1);
	return cli_usage("bounces", stderr);
}
