"""The gRPC adapter: the only package that imports grpc, protobuf and prometheus_client.

    convert       wire messages <-> the engine's Request/Decision, with request validation
    status        every error -> one gRPC status, in one place
    servicer      PolicyService: convert in, decide, convert out (and count, and log)
    metrics       the Prometheus metrics, the gRPC server metrics interceptor, the /metrics page
    decision_log  one JSON line per decision, written off the request path, never content
    tls           server credentials from PEM files, renewed without a restart
    app           ServerSettings, create_server() -> (server, port), serve()
    workers       several processes on one port, and the supervisor that keeps them

The modules are imported by name (`discretion.server.app`) rather than
re-exported here, so importing the converter does not load the store.
"""
