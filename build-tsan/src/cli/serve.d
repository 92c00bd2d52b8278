build-tsan/src/cli/serve.o: src/cli/serve.c src/bounce/inbound.h \
 src/util/err.h src/cli/cli.h src/cli/env.h src/mail/config.h \
 src/queue/scheduler.h src/http/unsubscribe.h src/list/suppress.h \
 src/mail/fields.h src/util/strbuf.h src/msg/template.h src/queue/store.h \
 src/smtp/server.h src/util/clock.h src/util/xmalloc.h
src/bounce/inbound.h:
src/util/err.h:
src/cli/cli.h:
src/cli/env.h:
src/mail/config.h:
src/queue/scheduler.h:
src/http/unsubscribe.h:
src/list/suppress.h:
src/mail/fields.h:
src/util/strbuf.h:
src/msg/template.h:
src/queue/store.h:
src/smtp/server.h:
src/util/clock.h:
src/util/xmalloc.h:
