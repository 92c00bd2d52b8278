build-tsan/src/smtp/transaction.o: src/smtp/transaction.c \
 src/smtp/client_int.h src/mail/reply.h src/util/err.h src/smtp/client.h \
 src/dns/mx.h src/mail/config.h
src/smtp/client_int.h:
src/mail/reply.h:
src/util/err.h:
src/smtp/client.h:
src/dns/mx.h:
src/mail/config.h:
