"""Per-tenant secrets sealed at rest, opened with any configured key, resealed with the first."""

from __future__ import annotations

from pathlib import Path

import pytest

from bureau.errors import UsageError
from bureau.store.sealing import Sealer, local_key, new_secret_key


def test_a_sealed_secret_opens_and_never_shows_its_plaintext() -> None:
    sealer = Sealer([new_secret_key()])
    sealed = sealer.seal("whsec_abc")
    assert "whsec_abc" not in sealed and sealed.startswith("sealed:")
    assert sealer.open(sealed) == "whsec_abc"
    assert sealer.reseal(sealed) is None, "sealed with the first key already"


def test_rotation_reseals_with_the_new_key_and_the_old_one_can_go() -> None:
    old, new = new_secret_key(), new_secret_key()
    sealed = Sealer([old]).seal("whsec_abc")
    rotating = Sealer([new, old])
    resealed = rotating.reseal(sealed)
    assert resealed is not None and Sealer([new]).open(resealed) == "whsec_abc"
    with pytest.raises(UsageError, match="put back"):
        Sealer([new]).open(sealed)


def test_a_plain_value_from_before_sealing_is_read_and_resealed() -> None:
    sealer = Sealer([new_secret_key()])
    assert sealer.open("whsec_plain") == "whsec_plain"
    resealed = sealer.reseal("whsec_plain")
    assert resealed is not None and sealer.open(resealed) == "whsec_plain"


def test_keys_are_checked_and_the_local_one_is_private(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="Fernet keys"):
        Sealer(["not a key"])
    key = local_key(tmp_path / "data")
    assert local_key(tmp_path / "data") == key, "made once"
    assert ((tmp_path / "data" / "secret-key").stat().st_mode & 0o777) == 0o600
    Sealer([key])
