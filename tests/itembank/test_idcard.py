import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from itembank.core.idcard import (IdNumberError, mask_id_number, normalise_id_number, parse_resident_id,
                                  resident_check_digit)

# GB 11643-1999's worked example: 11010519491231002X
VALID = "11010519491231002X"


def test_standard_example_parses():
    r = parse_resident_id(VALID)
    assert r.birth_date == dt.date(1949, 12, 31)
    assert r.sex == "F"
    assert r.region == "110105"


def test_lowercase_x_is_normalised():
    assert parse_resident_id(VALID.lower()).number == VALID


@pytest.mark.parametrize("number, fragment", [
    ("11010519491231002", "18"),
    ("110105194912310021", "校验码"),
    ("11010519491331002X", "出生日期"),
    ("1101051949123100AX", "前17位"),
    ("", "18"),
])
def test_invalid_numbers_say_why(number, fragment):
    with pytest.raises(IdNumberError) as e:
        parse_resident_id(number)
    assert fragment in e.value.reason


@given(st.dates(min_value=dt.date(1930, 1, 1), max_value=dt.date(2010, 12, 31)), st.integers(0, 999))
def test_generated_numbers_round_trip(birth, seq):
    first = f"410102{birth:%Y%m%d}{seq:03d}"
    n = first + resident_check_digit(first)
    assert parse_resident_id(n).birth_date == birth
    wrong = first + ("0" if n[-1] != "0" else "1")
    with pytest.raises(IdNumberError):
        parse_resident_id(wrong)


def test_other_document_types_and_unknown_type():
    assert normalise_id_number("passport", " e1234567 ") == "E1234567"
    with pytest.raises(IdNumberError):
        normalise_id_number("passport", "12")
    with pytest.raises(IdNumberError, match="unknown ID type"):
        normalise_id_number("library_card", "123456")


def test_mask_keeps_first_six_and_last_four():
    assert mask_id_number(VALID) == "110105********002X"
