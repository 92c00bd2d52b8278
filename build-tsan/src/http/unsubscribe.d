build-tsan/src/http/unsubscribe.o: src/http/unsubscribe.c \
 src/http/unsubscribe.h src/util/err.h src/util/sockaddr.h \
 src/util/xmalloc.h
src/http/unsubscribe.h:
src/util/err.h:
src/util/sockaddr.h:
src/util/xmalloc.h:
