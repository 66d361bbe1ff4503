"""What every table shares: the database proxy, table naming, and the time unit.

Timestamps are milliseconds since the epoch, as on the wire.
"""

import time

from peewee import Model

from registry.store.db import db


def now_ms() -> int:
    return int(time.time() * 1000)


class BaseModel(Model):
    class Meta:
        database = db
        legacy_table_names = False
