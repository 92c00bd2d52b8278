build-tsan/src/queue/dlog.o: src/queue/dlog.c src/queue/dlog.h \
 src/util/err.h src/util/clock.h src/util/strbuf.h src/util/xmalloc.h
src/queue/dlog.h:
src/util/err.h:
src/util/clock.h:
src/util/strbuf.h:
src/util/xmalloc.h:
