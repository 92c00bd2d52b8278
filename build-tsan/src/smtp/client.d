build-tsan/src/smtp/client.o: src/smtp/client.c src/smtp/client.h \
 src/dns/mx.h src/mail/config.h src/util/err.h src/mail/reply.h \
 src/smtp/client_int.h src/util/xmalloc.h
src/smtp/client.h:
src/dns/mx.h:
src/mail/config.h:
src/util/err.h:
src/mail/reply.h:
src/smtp/client_int.h:
src/util/xmalloc.h:
