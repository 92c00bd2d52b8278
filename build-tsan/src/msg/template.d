build-tsan/src/msg/template.o: src/msg/template.c src/msg/template.h \
 src/util/err.h src/util/strbuf.h src/mail/fields.h src/util/clock.h \
 src/util/utf8.h src/util/xmalloc.h
src/msg/template.h:
src/util/err.h:
src/util/strbuf.h:
src/mail/fields.h:
src/util/clock.h:
src/util/utf8.h:
src/util/xmalloc.h:
