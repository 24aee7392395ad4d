"""Schemas reject bad data with a message that names the table, column and rows."""
import pandas as pd
import pytest

from forecast.errors import DataError
from forecast.schemas import validate


def good():
    return pd.DataFrame({"kommun_kod": ["0180", "0180"], "year": ["2019", "2019"], "age": ["16", "17"],
                         "sex": ["män", "män"], "population": ["5000", "4900"]})


def test_valid_table_is_typed_and_ordered():
    df = validate(good()[["population", "sex", "age", "year", "kommun_kod"]], "population_single_age")
    assert list(df.columns) == ["kommun_kod", "year", "age", "sex", "population"]
    assert df.population.sum() == 9900
    assert str(df.year.dtype) == "Int64"


@pytest.mark.parametrize("change, column, words", [
    (lambda d: d.drop(columns="sex"), "sex", "required column missing"),
    (lambda d: d.assign(population=["5000", "-3"]), "population", "negative"),
    (lambda d: d.assign(age=["16", "16"]), "kommun_kod", "duplicate key"),
    (lambda d: d.assign(kommun_kod=["180", "0180"]), "kommun_kod", "malformed"),
    (lambda d: d.assign(population=["5000", "4 900x"]), "population", "not a number"),
    (lambda d: d.assign(sex=["män", "okänt"]), "sex", "not allowed"),
    (lambda d: d.assign(age=["16", "101"]), "age", "above"),
    (lambda d: d.assign(population=["5000", ""]), "population", "empty value"),
    (lambda d: d.assign(extra=1), "extra", "unexpected column"),
])
def test_bad_data_fails_with_named_column(change, column, words):
    with pytest.raises(DataError) as e:
        validate(change(good()), "population_single_age", source="x.csv")
    assert e.value.column == column
    assert words in str(e.value)
    assert "x.csv" in str(e.value)


def test_unknown_municipality_code():
    with pytest.raises(DataError, match="unknown municipality code") as e:
        validate(good().assign(kommun_kod=["0180", "0999"]), "population_single_age",
                 known_codes={"0180"})
    assert "0999" in str(e.value)
