build-tsan/src/list/recipients.o: src/list/recipients.c \
 src/list/recipients.h src/list/csv.h src/util/err.h src/util/strbuf.h \
 src/mail/address.h src/mail/fields.h src/util/xmalloc.h
src/list/recipients.h:
src/list/csv.h:
src/util/err.h:
src/util/strbuf.h:
src/mail/address.h:
src/mail/fields.h:
src/util/xmalloc.h:
