build-tsan/src/mail/fields.o: src/mail/fields.c src/mail/fields.h \
 src/util/strbuf.h
src/mail/fields.h:
src/util/strbuf.h:
