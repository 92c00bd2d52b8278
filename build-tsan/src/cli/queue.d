build-tsan/src/cli/queue.o: src/cli/queue.c src/cli/cli.h \
 src/queue/store.h src/util/err.h src/util/clock.h
src/cli/cli.h:
src/queue/store.h:
src/util/err.h:
src/util/clock.h:
