build-tsan/src/queue/sign.o: src/queue/sign.c src/msg/dkim.h \
 src/mail/config.h src/util/err.h src/util/strbuf.h \
 src/queue/scheduler_int.h src/dns/mx.h src/mail/providers.h \
 src/queue/scheduler.h src/queue/store.h src/shape/throttle.h \
 src/shape/bucket.h src/smtp/client.h src/mail/reply.h src/util/strmap.h \
 src/util/workers.h src/util/xmalloc.h
src/msg/dkim.h:
src/mail/config.h:
src/util/err.h:
src/util/strbuf.h:
src/queue/scheduler_int.h:
src/dns/mx.h:
src/mail/providers.h:
src/queue/scheduler.h:
src/queue/store.h:
src/shape/throttle.h:
src/shape/bucket.h:
src/smtp/client.h:
src/mail/reply.h:
src/util/strmap.h:
src/util/workers.h:
src/util/xmalloc.h:
