"""The simulator's balance ledger: strict events happen as drawn, background ones shrink."""

from __future__ import annotations

import pytest

from monitor.sim.ledger import HOUR, Book, settle

START = 1_767_571_200
A, B, C = ("0x" + c * 40 for c in "abc")


def _book() -> Book:
    return Book(1, 6, START, days=10)


def test_background_moves_leave_what_later_strict_moves_need() -> None:
    book = _book()
    book.mint(START, A, 100, strict=True)
    book.add(START + HOUR, A, B, 100)  # wants everything
    book.add(START + 5 * HOUR, A, C, 60, strict=True)
    assert [(t.receiver, t.amount) for t in settle(book)] == [(A, 100), (B, 40), (C, 60)]


def test_a_strict_inflow_before_a_strict_outflow_counts_towards_it() -> None:
    book = _book()
    book.mint(START, A, 50)
    book.add(START + 2 * HOUR, A, B, None)  # all A can spare
    book.mint(START + 4 * HOUR, A, 30, strict=True)
    book.add(START + 6 * HOUR, A, C, 70, strict=True)
    # A must keep 40 of its 50: the strict 30 arriving later covers the rest of the 70.
    assert [t.amount for t in settle(book)] == [50, 10, 30, 70]


def test_moves_share_the_block_of_their_grain_in_the_order_drawn() -> None:
    book = _book()
    book.mint(START + 10, A, 5, grain=HOUR)
    book.add(START + 20, A, B, 5, grain=HOUR)
    assert [t.timestamp for t in settle(book)] == [START, START]


def test_a_strict_move_that_would_overdraw_is_refused() -> None:
    book = _book()
    book.mint(START, A, 10, strict=True)
    book.add(START + HOUR, A, B, 11, strict=True)
    with pytest.raises(RuntimeError, match="overdraws"):
        settle(book)


def test_background_moves_past_the_window_are_left_out() -> None:
    book = _book()
    book.mint(book.end, A, 10)
    assert settle(book) == []
