from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.run_names import (
    DOCTOR,
    MAX_PARTS,
    MAX_RUN_NAME,
    ROTATION,
    is_valid_name,
    run_name,
)


def test_the_name_is_the_job_and_a_hash_of_the_key() -> None:
    name = run_name("certsync", ROTATION, "0b9e2f4c-6d1a-4c53-9a0e-5f8d2c7b1e34")

    assert name.startswith("certsync-")
    assert len(name) == len("certsync-") + 12
    assert is_valid_name(name)


def test_the_same_key_gives_the_same_name() -> None:
    assert run_name("certsync", ROTATION, "n-1") == run_name("certsync", ROTATION, "n-1")


def test_distinct_keys_give_distinct_names() -> None:
    names = {run_name("certsync", ROTATION, f"notification-{i}") for i in range(10_000)}

    assert len(names) == 10_000


def test_distinct_jobs_give_distinct_names_for_one_key() -> None:
    assert run_name("certsync-a", ROTATION, "n-1") != run_name("certsync-b", ROTATION, "n-1")


def test_a_long_job_name_is_shortened_to_fit_the_cli_limit_with_any_part() -> None:
    for part in (None, 1, MAX_PARTS):
        name = run_name("j" * 63, ROTATION, "n-1", part)

        assert len(name) <= MAX_RUN_NAME == 53
        assert is_valid_name(name, MAX_RUN_NAME)
    assert len(run_name("j" * 63, ROTATION, "n-1", MAX_PARTS)) == MAX_RUN_NAME


def test_parts_share_the_notification_hash_and_differ() -> None:
    whole = run_name("certsync", ROTATION, "n-1")
    parts = [run_name("certsync", ROTATION, "n-1", i) for i in (1, 2, 3)]

    assert parts == [f"{whole}-1", f"{whole}-2", f"{whole}-3"]


@pytest.mark.parametrize("part", [0, -1, MAX_PARTS + 1])
def test_a_part_outside_the_range_is_an_error(part: int) -> None:
    with pytest.raises(ValueError, match="outside"):
        run_name("certsync", ROTATION, "n-1", part)


def test_a_long_job_name_sharing_a_prefix_still_differs() -> None:
    assert run_name("j" * 60 + "a", ROTATION, "n-1") != run_name("j" * 60 + "b", ROTATION, "n-1")


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("certsync", True),
        ("a", True),
        ("a-1", True),
        ("a" * 63, True),
        ("a" * 64, False),
        ("-a", False),
        ("a-", False),
        ("A", False),
        ("a_b", False),
        ("", False),
    ],
)
def test_valid_names(name: str, valid: bool) -> None:
    assert is_valid_name(name) is valid


@given(
    job=st.text(max_size=80),
    key=st.text(max_size=200),
    part=st.none() | st.integers(1, MAX_PARTS),
)
def test_any_job_key_and_part_give_a_valid_run_name(job: str, key: str, part: int | None) -> None:
    name = run_name(job, ROTATION, key, part)

    assert is_valid_name(name, MAX_RUN_NAME)
    assert name == run_name(job, ROTATION, key, part)


@pytest.mark.parametrize("purpose", [DOCTOR, "canary"])
def test_a_purpose_follows_the_job_and_fits_the_longest_job_name(purpose: str) -> None:
    assert run_name("certsync", purpose, "k").startswith(f"certsync-{purpose}-")
    longest = run_name("j" * 63, purpose, "k")
    assert len(longest) <= MAX_RUN_NAME
    assert is_valid_name(longest, MAX_RUN_NAME)
    assert run_name("certsync", purpose, "k") != run_name("certsync", ROTATION, "k")


@pytest.mark.parametrize("purpose", ["Doctor", "dry-run", "a" * 11])
def test_a_purpose_is_one_short_lowercase_word(purpose: str) -> None:
    with pytest.raises(ValueError, match="purpose"):
        run_name("certsync", purpose, "k")
