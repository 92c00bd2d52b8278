build-tsan/src/list/suppress.o: src/list/suppress.c src/list/suppress.h \
 src/mail/config.h src/util/err.h src/bounce/classify.h src/util/strmap.h \
 src/util/xmalloc.h
src/list/suppress.h:
src/mail/config.h:
src/util/err.h:
src/bounce/classify.h:
src/util/strmap.h:
src/util/xmalloc.h:
