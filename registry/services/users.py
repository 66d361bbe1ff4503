"""Users: created, read, listed, their passwords and admin flag changed, deleted.

Every change bumps the user's credential version, which each process's cache of verified
passwords checks against the row on every request (registry.auth.identity).
"""

from peewee import IntegrityError

from registry.errors import InvalidParameter, ResourceAlreadyExists, ResourceDoesNotExist
from registry.services.passwords import hash_password, password_problem, verify_password
from registry.store.db import db, reading
from registry.store.failures import retry_conflicts
from registry.store.statements import statement
from registry.store.tables.auth import MAX_USERNAME, User


@statement
def _user_by_name(username):
    return User.select().where(User.username == username).limit(1)


def find_user(username: str) -> User | None:
    """The user called `username`, or None."""
    return _user_by_name.first(username)


@statement
def _user_by_id(user_id):
    return User.select().where(User.id == user_id).limit(1)


def find_user_by_id(user_id: int) -> User | None:
    return _user_by_id.first(user_id)


def _existing(username: str) -> User:
    user = find_user(username)
    if user is None:
        raise ResourceDoesNotExist(f"User with username={username} not found")
    return user


def _checked_username(username: object) -> str:
    if not isinstance(username, str) or not username:
        raise InvalidParameter("Username and password cannot be empty.")
    if len(username) > MAX_USERNAME or not username.isprintable() or ":" in username:
        # A colon would split Basic credentials in the wrong place.
        raise InvalidParameter(
            f"Username must be 1 to {MAX_USERNAME} printable characters, with no colon."
        )
    return username


def _checked_password(password: object) -> str:
    problem = password_problem(password)
    if problem:
        raise InvalidParameter(problem)
    return password


def create_user(*, username: str, password: str, is_admin: bool = False) -> User:
    """A new user; the password is kept only as its argon2 hash."""
    _checked_username(username)
    password_hash = hash_password(_checked_password(password))  # outside the transaction
    try:
        with db.atomic():
            if find_user(username) is not None:
                raise _taken(username)
            return User.create(username=username, password_hash=password_hash, is_admin=is_admin)
    except IntegrityError:  # a concurrent create won the unique name
        raise _taken(username) from None


def _taken(username: str) -> ResourceAlreadyExists:
    return ResourceAlreadyExists(f"User '{username}' already exists.")


def get_user(*, username: str) -> User:
    with reading():
        return _existing(username)


def list_users() -> list[User]:
    with reading():
        return list(User.select().order_by(User.username))


def check_current_password(*, username: str, current_password: str | None, password: str) -> None:
    """The rule for changing your own password: prove the current one, and change it."""
    if not current_password:
        raise InvalidParameter("Current password is required when changing your own password.")
    user = get_user(username=username)
    if not verify_password(user.password_hash, current_password):
        raise InvalidParameter("Current password does not match.")
    if password == current_password:
        raise InvalidParameter("New password must differ from the current password.")


@retry_conflicts
def update_password(*, username: str, password: str) -> None:
    password_hash = hash_password(_checked_password(password))
    with db.atomic():
        user = _existing(username)
        User.update(
            password_hash=password_hash, credential_version=User.credential_version + 1
        ).where(User.id == user.id).execute()


@retry_conflicts
def update_admin(*, username: str, is_admin: bool) -> None:
    with db.atomic():
        user = _existing(username)
        User.update(is_admin=is_admin, credential_version=User.credential_version + 1).where(
            User.id == user.id
        ).execute()


@retry_conflicts
def delete_user(*, username: str, acting_user: str) -> None:
    if username == acting_user:
        raise InvalidParameter(
            "Users cannot delete their own account. Ask another admin to delete this user instead."
        )
    with db.atomic():
        user = _existing(username)
        user.delete_instance(recursive=True)  # their tokens and grants go with them


def ensure_admin(*, username: str, password: str) -> bool:
    """Create `username` as an admin unless an admin exists already; whether it was created."""
    with db.atomic():
        if User.select().where(User.is_admin == True).exists():  # noqa: E712 (peewee)
            return False
        if find_user(username) is not None:
            raise InvalidParameter(
                f"PODIUM_ADMIN_USERNAME={username} names an existing user who is not an admin; "
                "make them one with `podium users create --admin` under another name, or pick "
                "a new name"
            )
    create_user(username=username, password=password, is_admin=True)
    return True
