build-tsan/src/bounce/mime.o: src/bounce/mime.c src/bounce/mime.h \
 src/util/strbuf.h
src/bounce/mime.h:
src/util/strbuf.h:
