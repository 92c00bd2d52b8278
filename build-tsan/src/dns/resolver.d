build-tsan/src/dns/resolver.o: src/dns/resolver.c src/dns/resolver.h \
 src/util/err.h src/util/strbuf.h src/util/xmalloc.h
src/dns/resolver.h:
src/util/err.h:
src/util/strbuf.h:
src/util/xmalloc.h:
