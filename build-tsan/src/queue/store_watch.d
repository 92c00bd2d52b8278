build-tsan/src/queue/store_watch.o: src/queue/store_watch.c \
 src/queue/store.h src/util/err.h src/queue/store_int.h
src/queue/store.h:
src/util/err.h:
src/queue/store_int.h:
