build-tsan/src/util/strmap.o: src/util/strmap.c src/util/strmap.h \
 src/util/xmalloc.h
src/util/strmap.h:
src/util/xmalloc.h:
