build-tsan/src/msg/dkim.o: src/msg/dkim.c src/msg/dkim.h \
 src/mail/config.h src/util/err.h src/util/strbuf.h src/util/xmalloc.h
src/msg/dkim.h:
src/mail/config.h:
src/util/err.h:
src/util/strbuf.h:
src/util/xmalloc.h:
