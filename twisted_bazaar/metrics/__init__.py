"""
Prometheus metrics of a node or a tracker (``--metrics ENDPOINT``).

Each daemon (and each node of a simulation or test) has its own
C{prometheus_client} L{CollectorRegistry}, so one process may host many.
The values are kept current by the code paths themselves (plain counters
bumped where messages pass, sales commit and buys resolve), and a scrape
only copies them: its cost is bounded by the number of message types,
purposes and items, never by the traffic or the state.

    - L{twisted_bazaar.metrics.traffic}: messages and bytes in and out by
      type, drops and errors by reason, counted by every link;
    - L{twisted_bazaar.metrics.node}: a node's metrics (trade, links,
      store commits, search-to-buyOK latency);
    - L{twisted_bazaar.metrics.tracker}: a tracker's;
    - L{twisted_bazaar.metrics.lag}: reactor lag;
    - L{twisted_bazaar.metrics.web}: C{/metrics} over twisted.web.
"""
