build-tsan/src/mail/yaml_doc.o: src/mail/yaml_doc.c src/mail/yaml_doc.h \
 src/util/err.h src/util/xmalloc.h
src/mail/yaml_doc.h:
src/util/err.h:
src/util/xmalloc.h:
