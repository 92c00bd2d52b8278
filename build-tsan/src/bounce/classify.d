build-tsan/src/bounce/classify.o: src/bounce/classify.c \
 src/bounce/classify.h src/mail/config.h src/util/err.h src/mail/reply.h \
 src/util/xmalloc.h
src/bounce/classify.h:
src/mail/config.h:
src/util/err.h:
src/mail/reply.h:
src/util/xmalloc.h:
