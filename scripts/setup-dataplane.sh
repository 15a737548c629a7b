#!/usr/bin/env bash
# Installs the tools the agents and their scenario tests use (iproute2 for
# `ip`/`bridge`, dnsmasq-base for DHCP; iputils-ping, busybox's udhcpc and ISC
# dhclient for DHCPv6 as the instances' tools; procps for sysctl; nftables,
# conntrack and iputils-arping for the L3 agent's NAT, its conntrack flushes
# and gratuitous ARP; Open vSwitch, whose daemons the OVS tests start per
# node themselves; ethtool for checksum offload on test veths), with apt-get, when they are missing and we
# are root. Without root it only says what is missing: the privileged tests
# skip then (outside CI).
set -euo pipefail

need=()
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v bridge >/dev/null 2>&1 || need+=(iproute2)
command -v ping >/dev/null 2>&1 || need+=(iputils-ping)
command -v dnsmasq >/dev/null 2>&1 || need+=(dnsmasq-base)
command -v busybox >/dev/null 2>&1 || need+=(busybox)
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v dhclient >/dev/null 2>&1 || need+=(isc-dhcp-client)
command -v sysctl >/dev/null 2>&1 || need+=(procps)
command -v nft >/dev/null 2>&1 || need+=(nftables)
command -v conntrack >/dev/null 2>&1 || need+=(conntrack)
command -v arping >/dev/null 2>&1 || need+=(iputils-arping)
command -v radvd >/dev/null 2>&1 || need+=(radvd)
command -v ovs-vswitchd >/dev/null 2>&1 || need+=(openvswitch-switch)
command -v ethtool >/dev/null 2>&1 || need+=(ethtool)
if [ ${#need[@]} -eq 0 ]; then
    exit 0
fi
# shellcheck disable=SC2207
need=($(printf '%s\n' "${need[@]}" | sort -u))
if [ "$(id -u)" != 0 ]; then
    echo "setup-dataplane: missing ${need[*]} (not root: not installing; privileged tests will skip)" >&2
    exit 0
fi
echo "setup-dataplane: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
# Packages must not start their services (the system Open vSwitch, dnsmasq,
# radvd): the tests run their own instances.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy"
    chmod 755 "$policy"
    trap 'rm -f "$policy"' EXIT
fi
apt-get update -qq
apt-get install -y -qq "${need[@]}" >/dev/null
