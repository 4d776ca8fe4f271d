"""Yjs's sync protocol (y-protocols' sync and auth messages), framed and read.

A message's first number is its kind (sync, awareness, auth, query awareness); a sync
message's second is its step (step 1: a state vector; step 2: what the other side lacks;
or an update), then the payload with its length. Pure: no Django, no socket.
"""

from __future__ import annotations

from pycrdt import Doc

MESSAGE_SYNC = 0
MESSAGE_AWARENESS = 1
MESSAGE_AUTH = 2
MESSAGE_QUERY_AWARENESS = 3
SYNC_STEP1 = 0
SYNC_STEP2 = 1
SYNC_UPDATE = 2
# The update of a document with nothing in it: what a client that has nothing to add sends.
EMPTY_UPDATE = b"\x00\x00"


class ProtocolError(ValueError):
    """A binary frame that is not a message of Yjs's sync protocol."""


def _read_var_uint(data: bytes, offset: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        if offset >= len(data) or shift > 63:
            raise ProtocolError("The message ends inside a number.")
        byte = data[offset]
        offset += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, offset


def _write_var_uint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    out.append(value)
    return bytes(out)


def message_read(data: bytes) -> tuple[int, int | None, bytes]:
    """(kind, sync step or None, payload) of a client's binary frame.

    A sync message's payload is the state vector (step 1) or the update (step 2, update);
    an awareness message's payload is left as it is."""
    kind, offset = _read_var_uint(data, 0)
    if kind != MESSAGE_SYNC:
        return kind, None, data[offset:]
    step, offset = _read_var_uint(data, offset)
    if step not in (SYNC_STEP1, SYNC_STEP2, SYNC_UPDATE):
        raise ProtocolError(f"Unknown sync step {step}.")
    length, offset = _read_var_uint(data, offset)
    if offset + length != len(data):
        raise ProtocolError("The message's length does not match its content.")
    return kind, step, data[offset:]


def message_sync(step: int, payload: bytes) -> bytes:
    return bytes([MESSAGE_SYNC, step]) + _write_var_uint(len(payload)) + payload


def message_denied(reason: str) -> bytes:
    """The auth message a Yjs provider reads as "permission denied: <reason>"."""
    text = reason.encode()
    return bytes([MESSAGE_AUTH, 0]) + _write_var_uint(len(text)) + text


def update_check(update: bytes) -> None:
    """Refuse bytes that are not a Yjs update (applied to an empty document, a real update
    decodes; what it depends on is kept pending, not refused)."""
    try:
        Doc().apply_update(update)
    except Exception as error:  # noqa: BLE001 - the decoder's errors have no common base
        raise ProtocolError(f"Not a document update: {error}") from None
