build-tsan/src/cli/list.o: src/cli/list.c src/cli/cli.h src/dns/mx.h \
 src/dns/resolver.h src/util/err.h src/list/csv.h src/util/strbuf.h \
 src/list/hygiene.h src/list/recipients.h src/mail/address.h \
 src/list/suppress.h src/mail/config.h src/util/strmap.h \
 src/util/xmalloc.h
src/cli/cli.h:
src/dns/mx.h:
src/dns/resolver.h:
src/util/err.h:
src/list/csv.h:
src/util/strbuf.h:
src/list/hygiene.h:
src/list/recipients.h:
src/mail/address.h:
src/list/suppress.h:
src/mail/config.h:
src/util/strmap.h:
src/util/xmalloc.h:
