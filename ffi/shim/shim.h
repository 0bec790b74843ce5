/* C shim: real symbols for DPDK's `static inline` functions and macros that
 * bindgen cannot call. Kept tiny; each is a one-line forward. */
#ifndef SDWAN_SHIM_H
#define SDWAN_SHIM_H
#include <stdint.h>
#include <rte_mbuf.h>
#include <rte_lpm.h>

int sdwan_errno(void);
uint16_t sdwan_rx_burst(uint16_t port, uint16_t queue, struct rte_mbuf **pkts, uint16_t n);
uint16_t sdwan_tx_burst(uint16_t port, uint16_t queue, struct rte_mbuf **pkts, uint16_t n);
struct rte_mbuf *sdwan_pktmbuf_alloc(struct rte_mempool *mp);
int sdwan_pktmbuf_alloc_bulk(struct rte_mempool *mp, struct rte_mbuf **mbufs, unsigned count);
void sdwan_pktmbuf_free(struct rte_mbuf *m);
uint16_t sdwan_pktmbuf_headroom(const struct rte_mbuf *m);
uint16_t sdwan_pktmbuf_tailroom(const struct rte_mbuf *m);
unsigned sdwan_lcore_id(void);
uint64_t sdwan_rdtsc(void);
uint64_t sdwan_tsc_hz(void);
int sdwan_lpm_lookup(struct rte_lpm *lpm, uint32_t ip, uint32_t *next_hop);
int sdwan_lpm_lookup_bulk(const struct rte_lpm *lpm, const uint32_t *ips, uint32_t *next_hops, unsigned n);
#endif
