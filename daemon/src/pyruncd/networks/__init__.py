"""Container networking: bridge networks with IPAM, veths, NAT and published ports, and name resolution."""
