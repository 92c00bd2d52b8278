build-tsan/src/msg/lint.o: src/msg/lint.c src/msg/lint.h \
 src/msg/template.h src/util/err.h src/util/strbuf.h src/bounce/mime.h
src/msg/lint.h:
src/msg/template.h:
src/util/err.h:
src/util/strbuf.h:
src/bounce/mime.h:
