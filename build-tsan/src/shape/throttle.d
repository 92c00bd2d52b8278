build-tsan/src/shape/throttle.o: src/shape/throttle.c \
 src/shape/throttle.h src/mail/config.h src/util/err.h src/shape/bucket.h
src/shape/throttle.h:
src/mail/config.h:
src/util/err.h:
src/shape/bucket.h:
