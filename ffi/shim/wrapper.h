/* Headers bindgen reads for the sdwan-ffi binding (DPDK 22.11). */
#include <rte_config.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_lpm.h>
#include <rte_lpm6.h>
#include <rte_cycles.h>
#include "shim.h"
