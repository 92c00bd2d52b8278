build-tsan/src/mail/providers.o: src/mail/providers.c \
 src/mail/providers.h
src/mail/providers.h:
