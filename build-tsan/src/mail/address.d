build-tsan/src/mail/address.o: src/mail/address.c src/mail/address.h \
 src/util/err.h src/util/xmalloc.h
src/mail/address.h:
src/util/err.h:
src/util/xmalloc.h:
