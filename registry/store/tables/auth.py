"""Who may use the registry: users, their access tokens, their grants, and failed sign-ins.

Levels are MLflow's permission names, stored as numbers so that "at least EDIT" is a comparison
in SQL: search results are filtered in the query, never after it.
"""

from peewee import (
    BigIntegerField,
    BooleanField,
    CharField,
    ForeignKeyField,
    IntegerField,
    TextField,
)

from registry.store.tables.base import BaseModel, now_ms

# MLflow's levels, weakest first. USE is READ here: Podium has nothing that only USE unlocks.
# Spaced out, so a level between two (a stage permission, say) can be added without renumbering
# the grants already stored.
# The two stage levels are Databricks': EDIT plus moving versions among None, Staging and
# Archived (and approving requests to go there), or among every stage including Production.
LEVELS = {
    "NO_PERMISSIONS": 0,
    "READ": 10,
    "USE": 20,
    "EDIT": 30,
    "MANAGE_STAGING_VERSIONS": 34,
    "MANAGE_PRODUCTION_VERSIONS": 37,
    "MANAGE": 40,
}
LEVEL_NAMES = {number: name for name, number in LEVELS.items()}
READ, EDIT, MANAGE = LEVELS["READ"], LEVELS["EDIT"], LEVELS["MANAGE"]
MANAGE_STAGING = LEVELS["MANAGE_STAGING_VERSIONS"]
MANAGE_PRODUCTION = LEVELS["MANAGE_PRODUCTION_VERSIONS"]

# What a grant may be on, as MLflow names them; the resource id is a model name or an
# experiment id.
RESOURCE_TYPES = ("registered_model", "experiment")

MAX_USERNAME = 256
MAX_PASSWORD = 1024  # argon2's work does not grow with it, but parsing the request does


class User(BaseModel):
    username = CharField(max_length=MAX_USERNAME, unique=True)
    password_hash = TextField()  # argon2id, with its parameters and salt
    is_admin = BooleanField(default=False)
    # Bumped by every password or admin change: each process's cache of verified passwords
    # compares it with the row on every request, so a change takes effect everywhere at once.
    credential_version = IntegerField(default=1)
    created = BigIntegerField(default=now_ms)


class AccessToken(BaseModel):
    user = ForeignKeyField(User, on_delete="CASCADE", index=True)
    name = CharField(max_length=256)
    digest = CharField(max_length=64, unique=True)  # SHA-256 of the token; the token is not kept
    created = BigIntegerField(default=now_ms)
    expires = BigIntegerField(null=True)
    last_used = BigIntegerField(null=True)


class Grant(BaseModel):
    user = ForeignKeyField(User, on_delete="CASCADE")
    resource_type = CharField(max_length=32)
    resource_id = CharField(max_length=256)
    level = IntegerField()

    class Meta:
        indexes = ((("user", "resource_type", "resource_id"), True),)


class LoginFailure(BaseModel):
    """One failed sign-in: counted per user name and address to slow guessing down."""

    key = CharField(max_length=64, index=True)  # SHA-256 of user name and address
    at = BigIntegerField(default=now_ms)


AUTH_TABLES = [User, AccessToken, Grant, LoginFailure]
