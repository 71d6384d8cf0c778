"""Canaduck's benchmark: ratios from one interleaved run (``python -m bench --help``).

The bench starts everything it measures as real processes on loopback ports: lean stub
upstreams that sleep a known delay and count calls (``stub``), the gateway under uvicorn,
the naive Flask aggregator the gateway replaces (``naive``), and a load generator (wrk when
installed, else a raw asyncio client in a process of its own, ``loadgen``). Nothing here
is imported by the services.
"""
