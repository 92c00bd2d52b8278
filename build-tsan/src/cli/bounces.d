build-tsan/src/cli/bounces.o: src/cli/bounces.c src/bounce/classify.h \
 src/mail/config.h src/util/err.h src/bounce/inbound.h \
 src/bounce/report.h src/cli/cli.h src/list/suppress.h src/queue/dlog.h \
 src/queue/store.h src/util/strbuf.h
src/bounce/classify.h:
src/mail/config.h:
src/util/err.h:
src/bounce/inbound.h:
src/bounce/report.h:
src/cli/cli.h:
src/list/suppress.h:
src/queue/dlog.h:
src/queue/store.h:
src/util/strbuf.h:
