"""Amounts are exact for any uint256 however they are written: `scaled` for programs,
`grouped` for people (the same digits), `units` for a rule's sentence."""

from __future__ import annotations

from decimal import Decimal, localcontext

from hypothesis import given
from hypothesis import strategies as st

from monitor.amounts import grouped, scaled, shown, units

UINT256 = st.integers(0, 2**256 - 1)


@given(value=UINT256, decimals=st.integers(0, 77))
def test_people_read_the_same_digits_grouped_by_thousands(value: int, decimals: int) -> None:
    text = shown(value, decimals)
    assert text.replace(",", "") == scaled(value, decimals)
    whole = text.partition(".")[0].split(",")
    assert 1 <= len(whole[0]) <= 3 and all(len(group) == 3 for group in whole[1:])
    with localcontext() as context:
        context.prec = 200
        assert Decimal(text.replace(",", "")) == Decimal(value).scaleb(-decimals)


def test_examples() -> None:
    assert scaled(1234500, 6) == "1.2345"
    assert grouped("147915.12759") == "147,915.12759"
    assert grouped("-1000") == "-1,000"
    assert shown(308972280195, 6) == "308,972.280195"
    assert units(147915.12759) == "147,915.13"
    assert units(12500.5) == "12,500.5"
    assert units(100.0) == "100"
