build-tsan/src/dns/mx.o: src/dns/mx.c src/dns/mx.h src/dns/resolver.h \
 src/util/err.h src/util/clock.h src/util/strbuf.h src/util/strmap.h \
 src/util/xmalloc.h
src/dns/mx.h:
src/dns/resolver.h:
src/util/err.h:
src/util/clock.h:
src/util/strbuf.h:
src/util/strmap.h:
src/util/xmalloc.h:
