from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trigger.naming import MAX_NAME, is_valid_name, job_run_name


def test_the_name_is_the_job_and_a_hash_of_the_key() -> None:
    name = job_run_name("certsync", "0b9e2f4c-6d1a-4c53-9a0e-5f8d2c7b1e34")

    assert name.startswith("certsync-")
    assert len(name) == len("certsync-") + 12
    assert is_valid_name(name)


def test_the_same_key_gives_the_same_name() -> None:
    assert job_run_name("certsync", "n-1") == job_run_name("certsync", "n-1")


def test_distinct_keys_give_distinct_names() -> None:
    names = {job_run_name("certsync", f"notification-{i}") for i in range(10_000)}

    assert len(names) == 10_000


def test_distinct_jobs_give_distinct_names_for_one_key() -> None:
    assert job_run_name("certsync-a", "n-1") != job_run_name("certsync-b", "n-1")


def test_a_long_job_name_is_shortened_to_fit() -> None:
    name = job_run_name("j" * 63, "n-1")

    assert len(name) == MAX_NAME
    assert is_valid_name(name)


def test_a_long_job_name_sharing_a_prefix_still_differs() -> None:
    assert job_run_name("j" * 60 + "a", "n-1") != job_run_name("j" * 60 + "b", "n-1")


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


@given(job=st.text(max_size=80), key=st.text(max_size=200))
def test_any_job_and_key_give_a_valid_name(job: str, key: str) -> None:
    name = job_run_name(job, key)

    assert is_valid_name(name)
    assert name == job_run_name(job, key)
