build-tsan/src/smtp/server.o: src/smtp/server.c src/smtp/server.h \
 src/util/err.h src/shape/bucket.h src/util/clock.h src/util/sockaddr.h \
 src/util/strbuf.h src/util/strmap.h src/util/xmalloc.h
src/smtp/server.h:
src/util/err.h:
src/shape/bucket.h:
src/util/clock.h:
src/util/sockaddr.h:
src/util/strbuf.h:
src/util/strmap.h:
src/util/xmalloc.h:
