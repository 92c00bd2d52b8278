build-tsan/src/dns/spf.o: src/dns/spf.c src/dns/spf.h src/dns/lookup.h \
 src/util/err.h
src/dns/spf.h:
src/dns/lookup.h:
src/util/err.h:
