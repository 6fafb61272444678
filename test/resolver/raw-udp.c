/*
 * Sends UDP datagrams with any source address and port, which no ordinary socket can (the
 * kernel never binds port 0): the resolver's hostile-traffic tests need datagrams "from"
 * port 0 and from addresses a reply cannot go to. Linux, root (a raw socket, IP_HDRINCL).
 *
 * Compiled by the tests themselves (test/resolver/raw-udp.ts, `gcc`): a raw socket is the one
 * way to forge a source port as root on Linux without extra tools, and Node has none.
 *
 * Reads lines "SRC_IP SRC_PORT DST_IP DST_PORT COUNT GAP_MICROSECONDS HEX_PAYLOAD" on stdin;
 * sends the payload COUNT times as an IPv4 datagram, GAP_MICROSECONDS apart, and then writes
 * "sent N" (N: datagrams sent so far) on stdout, or "error ..." on stderr.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int hexval(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

int main(void) {
  int fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
  if (fd < 0) { fprintf(stderr, "error socket: %s\n", strerror(errno)); return 1; }
  int on = 1;
  if (setsockopt(fd, IPPROTO_IP, IP_HDRINCL, &on, sizeof on) < 0) { fprintf(stderr, "error IP_HDRINCL: %s\n", strerror(errno)); return 1; }
  static char line[140000];
  static unsigned char packet[65536];
  unsigned long sent = 0;
  setvbuf(stdout, NULL, _IOLBF, 0);
  while (fgets(line, sizeof line, stdin)) {
    char src[64], dst[64];
    unsigned sport, dport;
    unsigned long count, gap;
    int used = 0;
    if (sscanf(line, "%63s %u %63s %u %lu %lu %n", src, &sport, dst, &dport, &count, &gap, &used) < 6) { fprintf(stderr, "error bad line\n"); continue; }
    struct iphdr *ip = (struct iphdr *)packet;
    struct udphdr *udp = (struct udphdr *)(packet + sizeof *ip);
    unsigned char *payload = packet + sizeof *ip + sizeof *udp;
    size_t room = sizeof packet - sizeof *ip - sizeof *udp, n = 0;
    for (const char *p = line + used; hexval(p[0]) >= 0 && hexval(p[1]) >= 0 && n < room; p += 2) payload[n++] = (unsigned char)(hexval(p[0]) << 4 | hexval(p[1]));
    memset(ip, 0, sizeof *ip);
    ip->version = 4;
    ip->ihl = 5;
    ip->ttl = 64;
    ip->protocol = IPPROTO_UDP;
    ip->tot_len = htons((unsigned short)(sizeof *ip + sizeof *udp + n));
    if (inet_pton(AF_INET, src, &ip->saddr) != 1 || inet_pton(AF_INET, dst, &ip->daddr) != 1) { fprintf(stderr, "error bad address\n"); continue; }
    udp->source = htons((unsigned short)sport);
    udp->dest = htons((unsigned short)dport);
    udp->len = htons((unsigned short)(sizeof *udp + n));
    udp->check = 0; /* optional over IPv4 */
    struct sockaddr_in to = { .sin_family = AF_INET, .sin_addr.s_addr = ip->daddr };
    struct timespec pause = { .tv_sec = (time_t)(gap / 1000000), .tv_nsec = (long)(gap % 1000000) * 1000 };
    for (unsigned long i = 0; i < count; i++) {
      if (sendto(fd, packet, sizeof *ip + sizeof *udp + n, 0, (struct sockaddr *)&to, sizeof to) < 0) fprintf(stderr, "error sendto: %s\n", strerror(errno));
      else sent++;
      if (gap > 0) nanosleep(&pause, NULL);
    }
    printf("sent %lu\n", sent);
  }
  return 0;
}
