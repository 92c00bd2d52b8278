build-tsan/src/cli/env.o: src/cli/env.c src/cli/env.h src/mail/config.h \
 src/util/err.h src/queue/scheduler.h src/bounce/classify.h src/dns/mx.h \
 src/dns/resolver.h src/msg/dkim.h src/util/strbuf.h src/queue/dlog.h \
 src/queue/store.h src/shape/rules.h src/mail/reply.h
src/cli/env.h:
src/mail/config.h:
src/util/err.h:
src/queue/scheduler.h:
src/bounce/classify.h:
src/dns/mx.h:
src/dns/resolver.h:
src/msg/dkim.h:
src/util/strbuf.h:
src/queue/dlog.h:
src/queue/store.h:
src/shape/rules.h:
src/mail/reply.h:
