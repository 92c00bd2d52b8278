build-tsan/src/shape/rules.o: src/shape/rules.c src/shape/rules.h \
 src/mail/config.h src/util/err.h src/mail/reply.h src/util/xmalloc.h
src/shape/rules.h:
src/mail/config.h:
src/util/err.h:
src/mail/reply.h:
src/util/xmalloc.h:
