/* sockaddr: "ip:port", "[v6]:port" or a bare IP (with a default port) to a
 * socket address; for the listeners' settings. */
#ifndef SLUICE_UTIL_SOCKADDR_H
#define SLUICE_UTIL_SOCKADDR_H

#include <sys/socket.h>

/* 0 and fills ss/len, or -1 if s is not an address. */
int sockaddr_parse(const char *s, int default_port, struct sockaddr_storage *ss, socklen_t *len);

#endif
