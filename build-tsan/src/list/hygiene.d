build-tsan/src/list/hygiene.o: src/list/hygiene.c src/list/hygiene.h \
 src/list/suppress.h src/mail/config.h src/util/err.h src/mail/address.h
src/list/hygiene.h:
src/list/suppress.h:
src/mail/config.h:
src/util/err.h:
src/mail/address.h:
