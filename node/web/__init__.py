"""The browser's way in (spec 15.8): the node's pages over HTTPS, and the client protocol over a
WebSocket (this package) and over WebTransport (``node.transport.webtransport``), all on the ``[web]``
port, into the same client runtime as the node's own QUIC binding (``Node.serve_client``)."""
