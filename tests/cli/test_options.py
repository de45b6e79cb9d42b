"""Shared CLI value parsers: HxW sizes and second ranges, and their one-line errors."""

import click
import pytest

from motionlens.cli.options import hw_callback, hw_list_callback, parse_hw, seconds_range_callback


def test_hw_is_height_then_width():
    assert parse_hw("240x320") == (240, 320)
    assert parse_hw(" 48X64 ") == (48, 64)
    assert hw_callback(None, None, "16x17") == (16, 17)
    assert hw_callback(None, None, None) is None
    assert hw_list_callback(None, None, "120x160, 240x320") == [(120, 160), (240, 320)]


@pytest.mark.parametrize("text", ["48by64", "48x", "x64", "15x64", "64x8", "-48x64", "48x64x3", ""])
def test_bad_sizes_are_rejected(text):
    with pytest.raises(click.BadParameter, match="is not HxW"):
        parse_hw(text)
    with pytest.raises(click.BadParameter, match="or a comma list"):
        hw_list_callback(None, None, f"48x64,{text}")


def test_seconds_range():
    assert seconds_range_callback(None, None, "1-10") == (1.0, 10.0)
    assert seconds_range_callback(None, None, " 2.5 ") == (2.5, 2.5)
    with pytest.raises(click.BadParameter, match="0 < MIN <= MAX"):
        seconds_range_callback(None, None, "5-2")
    with pytest.raises(click.BadParameter, match="0 < MIN <= MAX"):
        seconds_range_callback(None, None, "0")
    with pytest.raises(click.BadParameter, match="not seconds MIN-MAX"):
        seconds_range_callback(None, None, "1s-2s")
