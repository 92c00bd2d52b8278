build-tsan/src/cli/suppress.o: src/cli/suppress.c src/cli/cli.h \
 src/list/csv.h src/util/err.h src/util/strbuf.h src/list/suppress.h \
 src/mail/config.h src/mail/address.h src/util/clock.h
src/cli/cli.h:
src/list/csv.h:
src/util/err.h:
src/util/strbuf.h:
src/list/suppress.h:
src/mail/config.h:
src/mail/address.h:
src/util/clock.h:
