build-tsan/src/cli/report.o: src/cli/report.c src/cli/report.h \
 src/queue/store.h src/util/err.h src/mail/providers.h \
 src/queue/scheduler.h src/mail/config.h src/util/clock.h \
 src/util/strmap.h src/util/xmalloc.h
src/cli/report.h:
src/queue/store.h:
src/util/err.h:
src/mail/providers.h:
src/queue/scheduler.h:
src/mail/config.h:
src/util/clock.h:
src/util/strmap.h:
src/util/xmalloc.h:
