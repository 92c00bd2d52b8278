build-tsan/src/queue/load.o: src/queue/load.c src/dns/mx.h \
 src/queue/scheduler_int.h src/mail/config.h src/util/err.h \
 src/mail/providers.h src/queue/scheduler.h src/queue/store.h \
 src/shape/throttle.h src/shape/bucket.h src/smtp/client.h \
 src/mail/reply.h src/util/strbuf.h src/util/strmap.h src/util/clock.h \
 src/util/xmalloc.h
src/dns/mx.h:
src/queue/scheduler_int.h:
src/mail/config.h:
src/util/err.h:
src/mail/providers.h:
src/queue/scheduler.h:
src/queue/store.h:
src/shape/throttle.h:
src/shape/bucket.h:
src/smtp/client.h:
src/mail/reply.h:
src/util/strbuf.h:
src/util/strmap.h:
src/util/clock.h:
src/util/xmalloc.h:
