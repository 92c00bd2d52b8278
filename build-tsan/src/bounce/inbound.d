build-tsan/src/bounce/inbound.o: src/bounce/inbound.c \
 src/bounce/inbound.h src/util/err.h src/bounce/classify.h \
 src/mail/config.h src/bounce/report.h src/list/suppress.h src/msg/verp.h \
 src/queue/dlog.h src/queue/store.h src/util/clock.h
src/bounce/inbound.h:
src/util/err.h:
src/bounce/classify.h:
src/mail/config.h:
src/bounce/report.h:
src/list/suppress.h:
src/msg/verp.h:
src/queue/dlog.h:
src/queue/store.h:
src/util/clock.h:
