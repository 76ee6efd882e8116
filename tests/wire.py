"""The engine's request as the wire message a platform would send: the inverse of `server.convert`.

Walks the model and the proto side by side, field by field (their names are
the same all the way down; test_convert checks it), so a property drawn over
model requests can be asked of the server's front door.
"""

from __future__ import annotations

import dataclasses

from google.protobuf.message import Message

from discretion.engine import model
from discretion.engine.instants import SECOND
from discretion.server._gen.discretion.v1 import policy_pb2 as pb


def to_wire(request: model.Request) -> pb.CheckRequest:
    message = pb.CheckRequest()
    _fill(message, request)
    return message


def _fill(message: Message, record) -> None:
    fields = message.DESCRIPTOR.fields_by_name
    for f in dataclasses.fields(record):
        value = getattr(record, f.name)
        field = fields[f.name]
        if value is None:
            continue  # unset: a timestamp or an optional flag not given
        if field.message_type is not None and field.message_type.full_name == "google.protobuf.Timestamp":
            seconds, nanos = divmod(value, SECOND)
            getattr(message, f.name).FromNanoseconds(seconds * SECOND + nanos)
        elif field.message_type is not None and field.message_type.full_name == "google.protobuf.Struct":
            if value:
                getattr(message, f.name).update(value)
        elif field.message_type is not None and field.message_type.GetOptions().map_entry:
            getattr(message, f.name).update(value)
        elif field.is_repeated and field.message_type is not None:
            for element in value:
                _fill(getattr(message, f.name).add(), element)
        elif field.is_repeated:
            getattr(message, f.name).extend(value)
        elif field.message_type is not None:
            _fill(getattr(message, f.name), value)
        elif field.enum_type is not None:
            setattr(message, f.name, enum_number(field.enum_type, value))
        else:
            setattr(message, f.name, value)


def enum_number(enum, word: str) -> int:
    """The wire number of a domain word (`ai_tool` -> DESTINATION_KIND_AI_TOOL); "" is the zero value."""
    if not word:
        return 0
    prefix = enum.values_by_number[0].name.removesuffix("UNSPECIFIED")
    return enum.values_by_name[prefix + word.upper()].number


def enum_fields(message: pb.CheckRequest) -> list[tuple[str, Message, str]]:
    """Every enum field of `message`, as (violation path, the message holding it, field name)."""
    found = []

    def walk(node: Message, path: str) -> None:
        for field in node.DESCRIPTOR.fields:
            where = f"{path}{field.name}"
            if field.enum_type is not None and not field.is_repeated:
                found.append((where, node, field.name))
            elif field.message_type is not None and not field.message_type.GetOptions().map_entry \
                    and not field.message_type.full_name.startswith("google.protobuf."):
                if field.is_repeated:
                    for index, element in enumerate(getattr(node, field.name)):
                        walk(element, f"{where}[{index}].")
                else:  # set or not: an enum in an absent sub-message can still be sent
                    walk(getattr(node, field.name), f"{where}.")

    walk(message, "")
    return found
