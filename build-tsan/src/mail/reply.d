build-tsan/src/mail/reply.o: src/mail/reply.c src/mail/reply.h \
 src/util/err.h
src/mail/reply.h:
src/util/err.h:
