build-tsan/src/bounce/report.o: src/bounce/report.c src/bounce/report.h \
 src/bounce/mime.h src/util/strbuf.h
src/bounce/report.h:
src/bounce/mime.h:
src/util/strbuf.h:
