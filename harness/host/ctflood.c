/*
 * ctflood: writes Ethernet frames into one end of a veth pair (AF_PACKET) so the network
 * namespace on the other end sees real TCP/UDP flows, and its conntrack table fills fast
 * without a single socket. Used by harness/host/ctd-host (fill, full, invalid); compiled on demand
 * with `gcc -O2 -fno-strict-aliasing`.
 *
 * The namespace routes the "client" range and the "server" range to two ifb devices (NOARP,
 * they drop everything they transmit), so every generated packet is forwarded, tracked,
 * confirmed at POSTROUTING and then discarded: nothing leaves the namespace.
 *
 * Modes
 *   assured    per flow SYN (client->server), SYN-ACK (server->client), ACK (client->server):
 *              ESTABLISHED [ASSURED]
 *   unreplied  per flow one TCP SYN (or UDP datagram) from --src to a server, never answered:
 *              SYN_SENT / UDP [UNREPLIED]
 *   invalid    packets conntrack rejects as INVALID (counted in `conntrack -S` invalid):
 *              SYN+FIN, TCP with a bad checksum, ACK far outside the window of an established
 *              flow (the last only with --to forward, it needs a flow this program created)
 *
 * Every flow tuple is derived from a flow number j = offset + i, so runs with disjoint
 * offsets never reuse a tuple. Prints one JSON line with what was sent.
 *
 * --ipv6 (assured and unreplied): the same flows as IPv6 packets; an IPv4 address A of the
 * tuple becomes CLIENTS6::A or SERVERS6::A (its 32 bits as the last 32 bits of
 * 2001:db8:18::/64 and 2001:db8:19::/64, which the namespace routes to the same ifb devices);
 * --src and --dominant then take IPv6 addresses.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define FRAME_MAX 96 /* IPv6 + TCP: 14 + 40 + 20 */
#define BATCH 1024
#define SPORT_BASE 1024u
#define SPORT_SPAN 64000u

enum mode { M_ASSURED, M_UNREPLIED, M_INVALID };
enum kind { K_SYNFIN, K_BADSUM, K_OOW };

struct opts {
	const char *ifname;
	uint8_t src_mac[6], dst_mac[6];
	enum mode mode;
	unsigned long long count, offset;
	uint32_t clients, servers; /* network base addresses, host order */
	uint32_t src_count, dst_count;
	uint32_t dominant; /* 0 = none */
	unsigned dominant_pct;
	uint32_t src; /* unreplied: the one source */
	uint32_t local; /* invalid --to local: the namespace's own address */
	uint16_t dport;
	int udp;
	int to_local;
	int kinds; /* bitmask of 1<<kind */
	int ipv6;
	uint8_t src6[16], dominant6[16]; /* --ipv6: the literal --src / --dominant */
};

/* --ipv6: the /64 prefixes (first 12 bytes; the last 4 are the tuple's IPv4 address). */
static const uint8_t CLIENTS6[12] = { 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x18 };
static const uint8_t SERVERS6[12] = { 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x19 };
/* Stand-ins in the IPv4 tuple for the IPv6 --src / --dominant (outside 198.18.0.0/15). */
#define SRC6_MARK 0xfffffffeu
#define DOMINANT6_MARK 0xfffffffdu

static uint8_t frames[BATCH][FRAME_MAX];
static struct iovec iovs[BATCH];
static struct mmsghdr msgs[BATCH];
static unsigned nframes;
static unsigned long long packets_sent;
static int sock;

static void die(const char *msg)
{
	fprintf(stderr, "ctflood: %s%s%s\n", msg, errno ? ": " : "", errno ? strerror(errno) : "");
	exit(1);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: ctflood --ifname IF --src-mac MAC --dst-mac MAC --mode assured|unreplied|invalid\n"
		"               --count N [--offset J] [--clients A.B.0.0] [--servers A.B.0.0]\n"
		"               [--src-count K] [--dst-count D] [--dominant IP [--dominant-pct P]]\n"
		"               [--src IP] [--proto tcp|udp] [--dport P]\n"
		"               [--to local|forward] [--local IP] [--kind mix|synfin|badsum|oow]\n"
		"               [--ipv6 1]\n");
	exit(2);
}

static void parse_mac(const char *s, uint8_t *mac)
{
	unsigned v[6];
	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6)
		usage();
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
}

static uint32_t parse_ip(const char *s)
{
	struct in_addr a;
	if (inet_pton(AF_INET, s, &a) != 1) {
		fprintf(stderr, "ctflood: bad IPv4 address %s\n", s);
		exit(2);
	}
	return ntohl(a.s_addr);
}

static uint32_t sum16(const void *data, size_t len, uint32_t sum)
{
	const uint8_t *p = data;
	while (len > 1) {
		sum += (uint32_t)(p[0] << 8 | p[1]);
		p += 2;
		len -= 2;
	}
	if (len)
		sum += (uint32_t)(p[0] << 8);
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void flush(void)
{
	unsigned done = 0;
	while (done < nframes) {
		int n = sendmmsg(sock, msgs + done, nframes - done, 0);
		if (n < 0) {
			if (errno == EINTR || errno == ENOBUFS || errno == EAGAIN) {
				usleep(100);
				continue;
			}
			die("sendmmsg");
		}
		done += (unsigned)n;
	}
	packets_sent += nframes;
	nframes = 0;
}

/* The IPv6 address standing for the tuple's IPv4 address a (see --ipv6). */
static void addr6(const struct opts *o, uint32_t a, int server, uint8_t out[16])
{
	if (!server && a == SRC6_MARK) {
		memcpy(out, o->src6, 16);
		return;
	}
	if (!server && a == DOMINANT6_MARK) {
		memcpy(out, o->dominant6, 16);
		return;
	}
	memcpy(out, server ? SERVERS6 : CLIENTS6, 12);
	uint32_t n = htonl(a);
	memcpy(out + 12, &n, 4);
}

/*
 * Appends one frame: TCP, or UDP (udp = 1); IPv4, or IPv6 with o->ipv6 (the server of the pair is
 * the address in the server range of tuple()). bad_csum corrupts the L4 checksum.
 */
static void frame(const struct opts *o, uint32_t saddr, uint32_t daddr, uint16_t sport, uint16_t dport,
		  int udp, uint8_t flags, uint32_t seq, uint32_t ack, int bad_csum, uint16_t id)
{
	if (nframes == BATCH)
		flush();
	uint8_t *f = frames[nframes];
	memset(f, 0, FRAME_MAX);
	memcpy(f, o->dst_mac, 6);
	memcpy(f + 6, o->src_mac, 6);
	size_t l4len = udp ? 8 : 20;
	uint8_t *l4;
	uint32_t psum;
	size_t total;
	if (o->ipv6) {
		f[12] = 0x86;
		f[13] = 0xdd;
		uint8_t *ip = f + 14;
		ip[0] = 0x60;
		ip[2] = (uint8_t)(id >> 12 & 0x0f); /* flow label from the packet id: varied, harmless */
		ip[3] = (uint8_t)(id >> 4);
		ip[4] = (uint8_t)(l4len >> 8);
		ip[5] = (uint8_t)l4len;
		ip[6] = udp ? IPPROTO_UDP : IPPROTO_TCP;
		ip[7] = 64;
		/* The client is the source of SYN/ACK/datagrams and the destination of SYN-ACKs. */
		int client_is_src = !(saddr > o->servers && saddr <= o->servers + o->dst_count);
		addr6(o, saddr, !client_is_src, ip + 8);
		addr6(o, daddr, client_is_src, ip + 24);
		uint8_t pseudo[40] = {0};
		memcpy(pseudo, ip + 8, 32);
		pseudo[34] = (uint8_t)(l4len >> 8);
		pseudo[35] = (uint8_t)l4len;
		pseudo[39] = ip[6];
		psum = sum16(pseudo, 40, 0);
		l4 = ip + 40;
		total = 14 + 40 + l4len;
	} else {
		f[12] = 0x08;
		f[13] = 0x00;
		uint8_t *ip = f + 14;
		uint16_t tot = (uint16_t)(20 + l4len);
		ip[0] = 0x45;
		ip[2] = (uint8_t)(tot >> 8);
		ip[3] = (uint8_t)tot;
		ip[4] = (uint8_t)(id >> 8);
		ip[5] = (uint8_t)id;
		ip[6] = 0x40; /* DF */
		ip[8] = 64;
		ip[9] = udp ? IPPROTO_UDP : IPPROTO_TCP;
		uint32_t s = htonl(saddr), d = htonl(daddr);
		memcpy(ip + 12, &s, 4);
		memcpy(ip + 16, &d, 4);
		uint16_t ipc = fold(sum16(ip, 20, 0));
		ip[10] = (uint8_t)(ipc >> 8);
		ip[11] = (uint8_t)ipc;
		uint8_t pseudo[12];
		memcpy(pseudo, ip + 12, 8);
		pseudo[8] = 0;
		pseudo[9] = ip[9];
		pseudo[10] = 0;
		pseudo[11] = (uint8_t)l4len;
		psum = sum16(pseudo, 12, 0);
		l4 = ip + 20;
		total = 14 + tot;
	}

	l4[0] = (uint8_t)(sport >> 8);
	l4[1] = (uint8_t)sport;
	l4[2] = (uint8_t)(dport >> 8);
	l4[3] = (uint8_t)dport;
	int csum_off;
	if (udp) {
		l4[4] = 0;
		l4[5] = 8;
		csum_off = 6;
	} else {
		l4[4] = (uint8_t)(seq >> 24);
		l4[5] = (uint8_t)(seq >> 16);
		l4[6] = (uint8_t)(seq >> 8);
		l4[7] = (uint8_t)seq;
		l4[8] = (uint8_t)(ack >> 24);
		l4[9] = (uint8_t)(ack >> 16);
		l4[10] = (uint8_t)(ack >> 8);
		l4[11] = (uint8_t)ack;
		l4[12] = 5 << 4;
		l4[13] = flags;
		l4[14] = 0xfa; /* window 64240 */
		l4[15] = 0xf0;
		csum_off = 16;
	}
	uint16_t c = fold(sum16(l4, l4len, psum));
	if (udp && c == 0)
		c = 0xffff;
	if (bad_csum)
		c = (uint16_t)(c ^ 0x5a5a);
	l4[csum_off] = (uint8_t)(c >> 8);
	l4[csum_off + 1] = (uint8_t)c;

	iovs[nframes].iov_base = f;
	iovs[nframes].iov_len = total;
	nframes++;
}

/* The tuple of flow j: unique for every j (server and source port from j, dport bumped on wrap). */
static void tuple(const struct opts *o, unsigned long long j, uint32_t *client, uint32_t *server,
		  uint16_t *sport, uint16_t *dport)
{
	unsigned long long r = j / o->dst_count;
	*server = o->servers + 1 + (uint32_t)(j % o->dst_count);
	*sport = (uint16_t)(SPORT_BASE + r % SPORT_SPAN);
	*dport = (uint16_t)(o->dport + r / SPORT_SPAN);
	if (o->mode == M_UNREPLIED) {
		*client = o->src;
	} else if (o->dominant && (j * 2654435761u) % 100 < o->dominant_pct) {
		*client = o->dominant;
	} else {
		uint32_t k = (uint32_t)((j * 40503u) % o->src_count);
		*client = o->clients + 1 + (k / 254) * 256 + k % 254; /* skip .0 and .255 */
	}
}

static uint32_t isn(unsigned long long j, uint32_t salt)
{
	uint64_t x = (j + 1) * 0x9e3779b97f4a7c15ull ^ salt;
	x ^= x >> 29;
	return (uint32_t)x;
}

#define F_FIN 0x01
#define F_SYN 0x02
#define F_RST 0x04
#define F_ACK 0x10

int main(int argc, char **argv)
{
	struct opts o = {0};
	o.mode = (enum mode)-1;
	o.clients = parse_ip("198.18.0.0");
	o.servers = parse_ip("198.19.0.0");
	o.src_count = 250;
	o.dst_count = 8;
	o.dominant_pct = 80;
	o.dport = 443;
	o.to_local = 1;
	o.kinds = 0;
	int have_src_mac = 0, have_dst_mac = 0, have_count = 0;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (i + 1 >= argc)
			usage();
		const char *v = argv[++i];
		if (!strcmp(a, "--ifname")) o.ifname = v;
		else if (!strcmp(a, "--src-mac")) { parse_mac(v, o.src_mac); have_src_mac = 1; }
		else if (!strcmp(a, "--dst-mac")) { parse_mac(v, o.dst_mac); have_dst_mac = 1; }
		else if (!strcmp(a, "--mode")) {
			if (!strcmp(v, "assured")) o.mode = M_ASSURED;
			else if (!strcmp(v, "unreplied")) o.mode = M_UNREPLIED;
			else if (!strcmp(v, "invalid")) o.mode = M_INVALID;
			else usage();
		}
		else if (!strcmp(a, "--count")) { o.count = strtoull(v, NULL, 10); have_count = 1; }
		else if (!strcmp(a, "--offset")) o.offset = strtoull(v, NULL, 10);
		else if (!strcmp(a, "--clients")) o.clients = parse_ip(v);
		else if (!strcmp(a, "--servers")) o.servers = parse_ip(v);
		else if (!strcmp(a, "--src-count")) o.src_count = (uint32_t)strtoul(v, NULL, 10);
		else if (!strcmp(a, "--dst-count")) o.dst_count = (uint32_t)strtoul(v, NULL, 10);
		else if (!strcmp(a, "--dominant")) {
			if (inet_pton(AF_INET6, v, o.dominant6) == 1) o.dominant = DOMINANT6_MARK;
			else o.dominant = parse_ip(v);
		}
		else if (!strcmp(a, "--dominant-pct")) o.dominant_pct = (unsigned)strtoul(v, NULL, 10);
		else if (!strcmp(a, "--src")) {
			if (inet_pton(AF_INET6, v, o.src6) == 1) o.src = SRC6_MARK;
			else o.src = parse_ip(v);
		}
		else if (!strcmp(a, "--ipv6")) o.ipv6 = strcmp(v, "0") != 0;
		else if (!strcmp(a, "--local")) o.local = parse_ip(v);
		else if (!strcmp(a, "--dport")) o.dport = (uint16_t)strtoul(v, NULL, 10);
		else if (!strcmp(a, "--proto")) {
			if (!strcmp(v, "udp")) o.udp = 1;
			else if (!strcmp(v, "tcp")) o.udp = 0;
			else usage();
		}
		else if (!strcmp(a, "--to")) {
			if (!strcmp(v, "local")) o.to_local = 1;
			else if (!strcmp(v, "forward")) o.to_local = 0;
			else usage();
		}
		else if (!strcmp(a, "--kind")) {
			if (!strcmp(v, "mix")) o.kinds = 0;
			else if (!strcmp(v, "synfin")) o.kinds = 1 << K_SYNFIN;
			else if (!strcmp(v, "badsum")) o.kinds = 1 << K_BADSUM;
			else if (!strcmp(v, "oow")) o.kinds = 1 << K_OOW;
			else usage();
		}
		else usage();
	}
	if (!o.ifname || !have_src_mac || !have_dst_mac || !have_count || (int)o.mode < 0)
		usage();
	if (o.src_count < 1 || o.src_count > 254u * 256u || o.dst_count < 1 || o.dst_count > 65000 ||
	    o.dominant_pct > 100)
		usage();
	if (o.ipv6 && o.mode == M_INVALID) {
		fprintf(stderr, "ctflood: --ipv6 is for --mode assured and unreplied\n");
		return 2;
	}
	if (!o.ipv6 && (o.src == SRC6_MARK || o.dominant == DOMINANT6_MARK)) {
		fprintf(stderr, "ctflood: an IPv6 --src/--dominant needs --ipv6 1\n");
		return 2;
	}
	if (o.ipv6 && ((o.mode == M_UNREPLIED && o.src != SRC6_MARK) || (o.dominant && o.dominant != DOMINANT6_MARK))) {
		fprintf(stderr, "ctflood: with --ipv6, --src and --dominant take IPv6 addresses\n");
		return 2;
	}
	if (o.mode == M_UNREPLIED && !o.src) {
		fprintf(stderr, "ctflood: --mode unreplied needs --src IP\n");
		return 2;
	}
	if (o.mode == M_INVALID) {
		if (o.to_local && !o.local) {
			fprintf(stderr, "ctflood: --to local needs --local IP\n");
			return 2;
		}
		if (o.kinds == 0)
			o.kinds = o.to_local ? (1 << K_SYNFIN | 1 << K_BADSUM)
					     : (1 << K_SYNFIN | 1 << K_BADSUM | 1 << K_OOW);
		if (o.to_local && (o.kinds & 1 << K_OOW)) {
			fprintf(stderr, "ctflood: --kind oow needs --to forward (it needs a flow this program made)\n");
			return 2;
		}
	}

	sock = socket(AF_PACKET, SOCK_RAW, 0); /* protocol 0: this socket never receives */
	if (sock < 0)
		die("socket(AF_PACKET) (needs root / CAP_NET_RAW)");
	struct sockaddr_ll sll = {0};
	sll.sll_family = AF_PACKET;
	sll.sll_ifindex = (int)if_nametoindex(o.ifname);
	if (!sll.sll_ifindex)
		die("if_nametoindex");
	if (bind(sock, (struct sockaddr *)&sll, sizeof sll) < 0)
		die("bind");
	int one = 1;
	setsockopt(sock, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one);
	int sndbuf = 16 << 20;
	setsockopt(sock, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof sndbuf);
	for (unsigned i = 0; i < BATCH; i++) {
		msgs[i].msg_hdr.msg_iov = &iovs[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}

	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	unsigned long long flows = 0;

	if (o.mode == M_ASSURED) {
		for (unsigned long long i = 0; i < o.count; i++) {
			unsigned long long j = o.offset + i;
			uint32_t c, s;
			uint16_t sp, dp;
			tuple(&o, j, &c, &s, &sp, &dp);
			uint32_t ci = isn(j, 0x1234), si = isn(j, 0xabcd);
			uint16_t id = (uint16_t)j;
			frame(&o, c, s, sp, dp, 0, F_SYN, ci, 0, 0, id);
			frame(&o, s, c, dp, sp, 0, F_SYN | F_ACK, si, ci + 1, 0, id);
			frame(&o, c, s, sp, dp, 0, F_ACK, ci + 1, si + 1, 0, (uint16_t)(id + 1));
			flows++;
		}
	} else if (o.mode == M_UNREPLIED) {
		for (unsigned long long i = 0; i < o.count; i++) {
			unsigned long long j = o.offset + i;
			uint32_t c, s;
			uint16_t sp, dp;
			tuple(&o, j, &c, &s, &sp, &dp);
			frame(&o, c, s, sp, dp, o.udp, F_SYN, isn(j, 0x77), 0, 0, (uint16_t)j);
			flows++;
		}
	} else {
		/* One established flow (tuple of flow number `offset`) for the out-of-window ACKs. */
		uint32_t oc = 0, os = 0, oci = 0, osi = 0;
		uint16_t osp = 0, odp = 0;
		if (o.kinds & 1 << K_OOW) {
			tuple(&o, o.offset, &oc, &os, &osp, &odp);
			oci = isn(o.offset, 0x1234);
			osi = isn(o.offset, 0xabcd);
			frame(&o, oc, os, osp, odp, 0, F_SYN, oci, 0, 0, 1);
			frame(&o, os, oc, odp, osp, 0, F_SYN | F_ACK, osi, oci + 1, 0, 1);
			frame(&o, oc, os, osp, odp, 0, F_ACK, oci + 1, osi + 1, 0, 2);
			flush();
			packets_sent -= 3; /* setup packets are not INVALID ones */
		}
		int kinds[3], nk = 0;
		for (int k = 0; k < 3; k++)
			if (o.kinds & 1 << k)
				kinds[nk++] = k;
		for (unsigned long long i = 0; i < o.count; i++) {
			unsigned long long j = o.offset + 1 + i;
			uint32_t c, s;
			uint16_t sp, dp;
			tuple(&o, j, &c, &s, &sp, &dp);
			if (o.to_local) {
				s = o.local;
				dp = 9; /* discard: nothing listens */
			}
			switch (kinds[i % (unsigned long long)nk]) {
			case K_SYNFIN:
				frame(&o, c, s, sp, dp, 0, F_SYN | F_FIN, isn(j, 5), 0, 0, (uint16_t)j);
				break;
			case K_BADSUM:
				frame(&o, c, s, sp, dp, 0, F_SYN, isn(j, 6), 0, 1, (uint16_t)j);
				break;
			case K_OOW:
				frame(&o, oc, os, osp, odp, 0, F_ACK, oci + 1 + 0x40000000u + (uint32_t)i, osi + 1, 0,
				      (uint16_t)(3 + i));
				break;
			}
		}
	}
	flush();
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	const char *mn = o.mode == M_ASSURED ? "assured" : o.mode == M_UNREPLIED ? "unreplied" : "invalid";
	printf("{\"mode\":\"%s\",\"flows\":%llu,\"packets\":%llu,\"seconds\":%.3f%s}\n", mn, flows, packets_sent, secs,
	       o.ipv6 ? ",\"ipv6\":true" : "");
	return 0;
}
