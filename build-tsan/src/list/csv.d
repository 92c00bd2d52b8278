build-tsan/src/list/csv.o: src/list/csv.c src/list/csv.h src/util/err.h \
 src/util/strbuf.h src/util/utf8.h
src/list/csv.h:
src/util/err.h:
src/util/strbuf.h:
src/util/utf8.h:
