build-tsan/src/queue/lane.o: src/queue/lane.c src/queue/scheduler_int.h \
 src/dns/mx.h src/mail/config.h src/util/err.h src/mail/providers.h \
 src/queue/scheduler.h src/queue/store.h src/shape/throttle.h \
 src/shape/bucket.h src/smtp/client.h src/mail/reply.h src/util/strbuf.h \
 src/util/strmap.h src/util/xmalloc.h
src/queue/scheduler_int.h:
src/dns/mx.h:
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
src/util/xmalloc.h:
