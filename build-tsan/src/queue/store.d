build-tsan/src/queue/store.o: src/queue/store.c src/queue/store.h \
 src/util/err.h src/util/xmalloc.h
src/queue/store.h:
src/util/err.h:
src/util/xmalloc.h:
