build-tsan/src/shape/warmup.o: src/shape/warmup.c src/shape/warmup.h \
 src/mail/config.h src/util/err.h
src/shape/warmup.h:
src/mail/config.h:
src/util/err.h:
