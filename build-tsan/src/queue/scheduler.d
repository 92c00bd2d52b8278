build-tsan/src/queue/scheduler.o: src/queue/scheduler.c \
 src/queue/scheduler.h src/mail/config.h src/util/err.h \
 src/queue/scheduler_int.h src/dns/mx.h src/mail/providers.h \
 src/queue/store.h src/shape/throttle.h src/shape/bucket.h \
 src/smtp/client.h src/mail/reply.h src/util/strbuf.h src/util/strmap.h \
 src/bounce/classify.h src/list/suppress.h src/msg/dkim.h \
 src/msg/template.h src/msg/verp.h src/queue/dlog.h src/shape/rules.h \
 src/shape/warmup.h src/util/clock.h src/util/xmalloc.h
src/queue/scheduler.h:
src/mail/config.h:
src/util/err.h:
src/queue/scheduler_int.h:
src/dns/mx.h:
src/mail/providers.h:
src/queue/store.h:
src/shape/throttle.h:
src/shape/bucket.h:
src/smtp/client.h:
src/mail/reply.h:
src/util/strbuf.h:
src/util/strmap.h:
src/bounce/classify.h:
src/list/suppress.h:
src/msg/dkim.h:
src/msg/template.h:
src/msg/verp.h:
src/queue/dlog.h:
src/shape/rules.h:
src/shape/warmup.h:
src/util/clock.h:
src/util/xmalloc.h:
