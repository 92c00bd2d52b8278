build-tsan/src/queue/store.o: src/queue/store.c src/queue/store.h \
 src/util/err.h src/queue/store_int.h src/util/xmalloc.h
src/queue/store.h:
src/util/err.h:
src/queue/store_int.h:
src/util/xmalloc.h:
