build-tsan/src/util/workers.o: src/util/workers.c src/util/workers.h \
 src/util/xmalloc.h
src/util/workers.h:
src/util/xmalloc.h:
