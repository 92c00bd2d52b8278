build-tsan/src/mail/config_yaml.o: src/mail/config_yaml.c \
 src/mail/config_yaml.h src/mail/yaml_doc.h src/util/err.h \
 src/mail/config.h src/mail/reply.h src/util/strbuf.h src/util/utf8.h \
 src/util/xmalloc.h
src/mail/config_yaml.h:
src/mail/yaml_doc.h:
src/util/err.h:
src/mail/config.h:
src/mail/reply.h:
src/util/strbuf.h:
src/util/utf8.h:
src/util/xmalloc.h:
