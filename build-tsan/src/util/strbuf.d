build-tsan/src/util/strbuf.o: src/util/strbuf.c src/util/strbuf.h \
 src/util/xmalloc.h
src/util/strbuf.h:
src/util/xmalloc.h:
