build-tsan/src/shape/bucket.o: src/shape/bucket.c src/shape/bucket.h
src/shape/bucket.h:
