"""Read an offline W&B run file back (wandb 0.31 no longer ships a Python reader for its ``.wandb`` files).

The file is ``:W&B`` + magic 0xBEE1 + version (7 bytes), then LevelDB-log records in 32 KiB blocks: each
fragment has a 7-byte header (crc32, little-endian length, type 1 full / 2 first / 3 middle / 4 last) and
carries a serialized ``wandb_internal_pb2.Record``.
"""

from __future__ import annotations

import time

from google.protobuf.message import DecodeError
from wandb.proto import wandb_internal_pb2

BLOCK = 32 * 1024
HEADER = 7


def read_records(path, timeout: float = 60.0) -> list:
    """The records of a finished run. The W&B service may still be writing the file when ``finish()`` has returned
    (seen under load): wait for the run's ``exit`` record, up to ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            records = _parse(path)
        except DecodeError:  # a record half written
            if time.monotonic() > deadline:
                raise
            records = []
        if any(r.WhichOneof("record_type") == "exit" for r in records) or time.monotonic() > deadline:
            return records
        time.sleep(0.2)


def _parse(path) -> list:
    data = open(path, "rb").read()
    if data[:4] != b":W&B":
        raise ValueError(f"{path}: not a W&B run file")
    records, pending, position = [], b"", HEADER
    while position + HEADER <= len(data):
        space = BLOCK - position % BLOCK
        if space < HEADER:
            position += space
            continue
        length = int.from_bytes(data[position + 4 : position + 6], "little")
        kind = data[position + 6]
        if kind == 0:  # zero padding up to the block end
            position += space
            continue
        chunk = data[position + HEADER : position + HEADER + length]
        position += HEADER + length
        if kind == 2:
            pending = chunk
            continue
        if kind == 3:
            pending += chunk
            continue
        payload = pending + chunk if kind == 4 else chunk
        record = wandb_internal_pb2.Record()
        record.ParseFromString(payload)
        records.append(record)
    return records


def history_keys(records) -> set[str]:
    return {item.key or "/".join(item.nested_key) for r in records if r.WhichOneof("record_type") == "history"
            for item in r.history.item}


def run_record(records):
    return next(r.run for r in records if r.WhichOneof("record_type") == "run")
