"""Staff accounts on a real database: argon2id hashes, sign-in, sessions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from sqlmodel import select

from agent.staff.accounts import AccountError, StaffAccounts, token_hash
from agent.contracts import StaffRole
from agent.store import AccountStore, Database, UsernameTaken
from agent.store.tables import StaffUser, StaffUserSession


@pytest.fixture
def accounts(database: Database) -> StaffAccounts:
    return StaffAccounts(AccountStore(database), timedelta(hours=1))


async def test_the_password_is_stored_as_an_argon2id_hash_and_verifies(
    accounts: StaffAccounts, database: Database
) -> None:
    member = await accounts.add("Alice", "Alice Ng", "correct horse battery", StaffRole.ADMIN)
    assert (member.username, member.display_name, member.role) == ("alice", "Alice Ng", StaffRole.ADMIN)
    [user] = await database.run(lambda s: list(s.exec(select(StaffUser)).all()))
    assert user.password_hash.startswith("$argon2id$")
    assert "correct horse battery" not in user.password_hash
    assert PasswordHasher().verify(user.password_hash, "correct horse battery")

    assert await accounts.login("alice", "wrong password") is None
    assert await accounts.login("nobody", "correct horse battery") is None
    opened = await accounts.login("ALICE", "correct horse battery")
    assert opened is not None and opened.session.staff == member


async def test_sessions_are_stored_hashed_and_end_at_logout(accounts: StaffAccounts, database: Database) -> None:
    await accounts.add("bob", "Bob Ray", "correct horse battery")
    opened = await accounts.login("bob", "correct horse battery")
    assert opened is not None
    [row] = await database.run(lambda s: list(s.exec(select(StaffUserSession)).all()))
    assert row.token_hash == token_hash(opened.token) != opened.token
    found = await accounts.session(opened.token)
    assert found is not None and found.csrf_token == opened.session.csrf_token
    assert await accounts.session(row.token_hash) is None  # the stored hash is not a token
    await accounts.logout(opened.token)
    assert await accounts.session(opened.token) is None


async def test_refuses_duplicates_and_weak_input(accounts: StaffAccounts) -> None:
    await accounts.add("carol", "Carol", "correct horse battery")
    with pytest.raises(UsernameTaken):
        await accounts.add("Carol", "Another Carol", "correct horse battery")
    with pytest.raises(AccountError, match="at least"):
        await accounts.add("dave", "Dave", "short")
    with pytest.raises(AccountError, match="username"):
        await accounts.add("dave smith", "Dave", "correct horse battery")
    with pytest.raises(AccountError, match="display name"):
        await accounts.add("dave", "  ", "correct horse battery")
