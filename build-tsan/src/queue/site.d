build-tsan/src/queue/site.o: src/queue/site.c src/queue/dlog.h \
 src/util/err.h src/queue/scheduler_int.h src/dns/mx.h src/mail/config.h \
 src/mail/providers.h src/queue/scheduler.h src/queue/store.h \
 src/shape/throttle.h src/shape/bucket.h src/smtp/client.h \
 src/mail/reply.h src/util/strbuf.h src/util/strmap.h src/shape/warmup.h \
 src/util/clock.h src/util/xmalloc.h
src/queue/dlog.h:
src/util/err.h:
src/queue/scheduler_int.h:
src/dns/mx.h:
src/mail/config.h:
src/mail/providers.h:
src/queue/scheduler.h:
src/queue/store.h:
src/shape/throttle.h:
src/shape/bucket.h:
src/smtp/client.h:
src/mail/reply.h:
src/util/strbuf.h:
src/util/strmap.h:
src/shape/warmup.h:
src/util/clock.h:
src/util/xmalloc.h:
