"""The native engine's Python adapter: what it reads from the reference's model is what the model holds."""

from __future__ import annotations

import dataclasses

import discretion_native
from discretion.engine.model import Request


def test_every_suite_request_reads_from_python_field_for_field(suite_requests):
    assert len(suite_requests) > 100
    for name, request in suite_requests:
        echoed = discretion_native.echo_request(request)
        # Every field of the reference's request appears, by name, in what the native side read.
        for field in dataclasses.fields(Request):
            assert f"{field.name}: " in echoed, (name, field.name)
        for item in request.items:
            assert f'id: "{item.id}"' in echoed or "\\" in item.id, name
        assert f'action: "{request.action}"' in echoed, name
