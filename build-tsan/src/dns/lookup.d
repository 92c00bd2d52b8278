build-tsan/src/dns/lookup.o: src/dns/lookup.c src/dns/lookup.h \
 src/util/err.h src/dns/resolver.h src/util/strbuf.h src/util/xmalloc.h
src/dns/lookup.h:
src/util/err.h:
src/dns/resolver.h:
src/util/strbuf.h:
src/util/xmalloc.h:
