build-tsan/src/msg/verp.o: src/msg/verp.c src/msg/verp.h
src/msg/verp.h:
