build-tsan/src/util/sockaddr.o: src/util/sockaddr.c src/util/sockaddr.h
src/util/sockaddr.h:
