"""The gRPC adapter: the only package that imports grpc and protobuf.

    convert     wire messages <-> the engine's Request/Decision, with request validation
    status      every error -> one gRPC status, in one place
    servicer    PolicyService: convert in, decide, convert out
    app         ServerSettings, create_server() -> (server, port), serve()

The modules are imported by name (`discretion.server.app`) rather than
re-exported here, so importing the converter does not load the store.
"""
